import { useMemo, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { listAll, qs } from '../api';
import { useAuth } from '../auth';
import { EVENT_LABEL, Time, fromInputUtc, toInputUtc, utc } from '../format';
import type { EventSummary, Machine, Pipeline, Plan } from '../types';
import { EVENT_STATUSES } from '../format';
import { Empty, ErrorBox, EventBadge, Loading } from '../components/ui';
import { DataTable } from '../components/DataTable';

const HOUR = 3_600_000;
type Range = 'upcoming' | 'past7' | 'past30' | 'custom';
const RANGES: { id: Range; label: string }[] = [
  { id: 'upcoming', label: 'Upcoming (next 3 days)' },
  { id: 'past7', label: 'Past 7 days' },
  { id: 'past30', label: 'Past 30 days' },
  { id: 'custom', label: 'Custom range' },
];

/** Rounded to the minute so the query key (and the cache) does not change on every render. */
function nowMinute() {
  return Math.floor(Date.now() / 60_000) * 60_000;
}

function rangeBounds(range: Range, from?: string, to?: string): { from?: string; to?: string } {
  const now = nowMinute();
  switch (range) {
    case 'upcoming':
      // Still-running events started before now: the window reaches back one day so they stay in view.
      return { from: new Date(now - 24 * HOUR).toISOString(), to: new Date(now + 73 * HOUR).toISOString() };
    case 'past7':
      return { from: new Date(now - 7 * 24 * HOUR).toISOString(), to: new Date(now).toISOString() };
    case 'past30':
      return { from: new Date(now - 30 * 24 * HOUR).toISOString(), to: new Date(now).toISOString() };
    case 'custom':
      return { from, to };
  }
}

export function Events() {
  const { can } = useAuth();
  const [params, setParams] = useSearchParams();
  const range = (params.get('range') as Range) || 'upcoming';
  const statuses = params.get('status')?.split(',').filter(Boolean) ?? [];
  const view = params.get('view') === 'list' ? 'list' : 'agenda';
  const filters = {
    plan_id: params.get('plan_id') ?? undefined,
    pipeline_id: params.get('pipeline_id') ?? undefined,
    machine_id: params.get('machine_id') ?? undefined,
  };
  const [minute] = useState(nowMinute);
  const bounds = useMemo(
    () => rangeBounds(range, params.get('from') ?? undefined, params.get('to') ?? undefined),
    [range, params.get('from'), params.get('to'), minute],
  );
  const set = (k: string, v: string | undefined) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    setParams(next, { replace: true });
  };

  const query = qs({ ...bounds, status: statuses, ...filters });
  const events = useQuery({
    queryKey: ['events', query],
    queryFn: () => listAll<EventSummary>(`/events${query}`),
    refetchInterval: (q) => (q.state.data?.some((e) => e.status === 'IN_PROGRESS') ? 5_000 : 30_000),
  });
  const plans = useQuery({
    queryKey: ['plans', 'all'],
    queryFn: () => listAll<Plan>('/plans'),
    enabled: can('plan', 'list'),
  });
  const pipelines = useQuery({
    queryKey: ['pipelines', 'all'],
    queryFn: () => listAll<Pipeline>('/pipelines'),
    enabled: can('pipeline', 'list'),
  });
  const machines = useQuery({
    queryKey: ['machines', 'all'],
    queryFn: () => listAll<Machine>('/machines'),
    enabled: can('machine', 'list'),
  });

  const past = range === 'past7' || range === 'past30';
  const items = useMemo(() => {
    const list = [...(events.data ?? [])];
    return past ? list.reverse() : list;
  }, [events.data, past]);
  const anyFilter = statuses.length > 0 || Object.values(filters).some(Boolean);

  return (
    <section aria-labelledby="events-title">
      <div className="page-head">
        <h1 id="events-title">Events</h1>
        <div className="tabs" role="tablist" aria-label="View">
          <button role="tab" aria-selected={view === 'agenda'} onClick={() => set('view', undefined)}>
            Agenda
          </button>
          <button role="tab" aria-selected={view === 'list'} onClick={() => set('view', 'list')}>
            List
          </button>
        </div>
      </div>

      <form className="filters" aria-label="Event filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Time
          <select
            value={range}
            onChange={(e) => set('range', e.target.value === 'upcoming' ? undefined : e.target.value)}
          >
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        {range === 'custom' && (
          <>
            <label>
              From (UTC)
              <input
                type="datetime-local"
                value={toInputUtc(params.get('from') ?? undefined)}
                onChange={(e) => set('from', fromInputUtc(e.target.value))}
              />
            </label>
            <label>
              To (UTC)
              <input
                type="datetime-local"
                value={toInputUtc(params.get('to') ?? undefined)}
                onChange={(e) => set('to', fromInputUtc(e.target.value))}
              />
            </label>
          </>
        )}
        {can('plan', 'list') && (
          <label>
            Plan
            <select value={filters.plan_id ?? ''} onChange={(e) => set('plan_id', e.target.value)}>
              <option value="">All plans</option>
              {plans.data?.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
        )}
        {can('pipeline', 'list') && (
          <label>
            Pipeline
            <select value={filters.pipeline_id ?? ''} onChange={(e) => set('pipeline_id', e.target.value)}>
              <option value="">All pipelines</option>
              {pipelines.data?.map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
        )}
        {can('machine', 'list') && (
          <label>
            Machine
            <select value={filters.machine_id ?? ''} onChange={(e) => set('machine_id', e.target.value)}>
              <option value="">All machines</option>
              {machines.data?.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <fieldset className="statuses">
          <legend>Status</legend>
          {EVENT_STATUSES.map((s) => (
            <label key={s} className="check">
              <input
                type="checkbox"
                checked={statuses.includes(s)}
                onChange={(e) =>
                  set(
                    'status',
                    (e.target.checked ? [...statuses, s] : statuses.filter((x) => x !== s)).join(','),
                  )
                }
              />
              {EVENT_LABEL[s]}
            </label>
          ))}
        </fieldset>
        {anyFilter && (
          <button
            type="button"
            onClick={() => setParams(range === 'upcoming' ? {} : { range }, { replace: true })}
          >
            Clear filters
          </button>
        )}
      </form>

      <p className="muted small">
        {bounds.from ? `Starting from ${utc(bounds.from)}` : 'Any start'}
        {bounds.to ? ` to before ${utc(bounds.to)}` : ''}
        {events.data ? ` · ${events.data.length} event${events.data.length === 1 ? '' : 's'}` : ''}
      </p>

      <ErrorBox error={events.error} />
      {events.isPending ? (
        <Loading what="events" />
      ) : items.length === 0 ? (
        <Empty>
          {anyFilter ? (
            'No event matches these filters. Clear a filter or widen the time range.'
          ) : range === 'upcoming' ? (
            <>
              No upcoming events. Events appear here for the next 3 days once a plan has a schedule:{' '}
              <Link to="/plans/new">create a plan</Link>, or run one now from its page.
            </>
          ) : (
            'No events in this time range. Choose another range above.'
          )}
        </Empty>
      ) : view === 'agenda' ? (
        <Agenda events={items} />
      ) : (
        <EventTable events={items} />
      )}
    </section>
  );
}

function Agenda({ events }: { events: EventSummary[] }) {
  const days = new Map<string, EventSummary[]>();
  for (const e of events) {
    const day = e.start.slice(0, 10);
    days.set(day, [...(days.get(day) ?? []), e]);
  }
  return (
    <div className="agenda">
      {[...days].map(([day, list]) => (
        <section key={day} className="day" aria-label={day}>
          <h2>
            {new Date(`${day}T00:00:00Z`).toLocaleDateString('en-GB', {
              weekday: 'long',
              day: 'numeric',
              month: 'long',
              year: 'numeric',
              timeZone: 'UTC',
            })}{' '}
            <span className="muted">(UTC)</span>
          </h2>
          <ul>
            {list.map((e) => (
              <li key={e.id}>
                <Link to={`/events/${encodeURIComponent(e.id)}`} className="agenda-item">
                  <span className="when">
                    {utc(e.start).slice(11, 16)}–{utc(e.end).slice(11, 16)}
                  </span>
                  <span className="what">
                    {e.plan_name}
                    {e.pipeline_id && <span className="muted"> · pipeline step {(e.step ?? 0) + 1}</span>}
                  </span>
                  <EventBadge status={e.status} />
                </Link>
              </li>
            ))}
          </ul>
        </section>
      ))}
    </div>
  );
}

function EventTable({ events }: { events: EventSummary[] }) {
  return (
    <DataTable
      rows={events}
      rowKey={(e) => e.id}
      columns={[
        { header: 'Start', cell: (e) => <Time iso={e.start} /> },
        { header: 'End', cell: (e) => <Time iso={e.end} /> },
        { header: 'Plan', cell: (e) => <Link to={`/plans/${e.plan_id}`}>{e.plan_name}</Link> },
        {
          header: 'Pipeline',
          cell: (e) =>
            e.pipeline_id ? (
              <Link to={`/pipelines/${e.pipeline_id}`}>step {(e.step ?? 0) + 1}</Link>
            ) : (
              <span className="muted">—</span>
            ),
        },
        { header: 'Status', cell: (e) => <EventBadge status={e.status} /> },
        { header: 'Event', cell: (e) => <Link to={`/events/${encodeURIComponent(e.id)}`}>{e.id}</Link> },
      ]}
    />
  );
}
