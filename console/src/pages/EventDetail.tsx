import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, download, listAll, qs } from '../api';
import { useAuth } from '../auth';
import { Time, duration } from '../format';
import type { EventDetail as Ev, EventSummary, Plan } from '../types';
import { FINISHED } from '../format';
import { ConfirmButton, Empty, ErrorBox, EventBadge, Loading, noPerm } from '../components/ui';
import { workflowIds, workflowUrl } from '../temporal';
import { MachinesTable } from './event/MachinesTable';
import { HookRuns } from './event/HookRuns';
import { PartialPanel } from './event/PartialPanel';
import { ExcludePanel } from './event/ExcludePanel';
import { HaltedPanel } from './event/HaltedPanel';
import { PreviewPanel } from './event/PreviewPanel';
import { ManifestPanel, PromotionCheckPanel } from './event/ManifestPanel';

const NOT_STARTED = ['NEW', 'NOT_APPROVED', 'APPROVED'];

export function EventDetail() {
  const { id = '' } = useParams();
  const { me, can } = useAuth();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [panel, setPanel] = useState<'partial' | 'exclude' | null>(null);

  const ev = useQuery({
    queryKey: ['event', id],
    queryFn: () => api<Ev>('GET', `/events/${encodeURIComponent(id)}`),
    // Live while it runs; an upcoming event is checked now and then (its start, an approval elsewhere).
    refetchInterval: (q) => {
      const s = q.state.data?.status;
      if (s === 'IN_PROGRESS' || s === 'HALTED') return 2_000;
      if (s && NOT_STARTED.includes(s)) return 10_000;
      return 30_000;
    },
  });
  const e = ev.data;
  const plan = useQuery({
    queryKey: ['plan', e?.plan_id],
    queryFn: () => api<Plan>('GET', `/plans/${e!.plan_id}`),
    enabled: !!e && can('plan', 'get', e.plan_id),
  });

  // The events an approval would approve with this one: every NOT_APPROVED event of the same pipeline step.
  const stepEvents = useQuery({
    queryKey: ['events', 'step', e?.pipeline_run_id, e?.step],
    queryFn: async () =>
      (
        await listAll<EventSummary>(`/events${qs({ pipeline_id: e!.pipeline_id, status: ['NOT_APPROVED'] })}`)
      ).filter((x) => x.pipeline_run_id === e!.pipeline_run_id && x.step === e!.step),
    enabled: e?.status === 'NOT_APPROVED' && !!e.pipeline_id,
  });

  const done = (next?: unknown) => {
    void qc.invalidateQueries({ queryKey: ['event', id] });
    void qc.invalidateQueries({ queryKey: ['events'] });
    return next;
  };
  const approve = useMutation({
    mutationFn: () => api('POST', `/events/${encodeURIComponent(id)}/approve`),
    onSuccess: () => done(),
  });
  const remove = useMutation({
    mutationFn: () => api('DELETE', `/events/${encodeURIComponent(id)}`),
    onSuccess: () => done(),
  });
  const report = useMutation({
    mutationFn: () => download(`/events/${encodeURIComponent(id)}/report`, `${id}.pdf`),
  });

  if (ev.isPending) return <Loading what="the event" />;
  if (ev.error)
    return (
      <section>
        <h1>Event {id}</h1>
        <ErrorBox error={ev.error} />
        <p>
          <Link to="/events">Back to the events</Link>
        </p>
      </section>
    );
  if (!e) return null;

  const finished = FINISHED.includes(e.status);
  const notStarted = NOT_STARTED.includes(e.status);
  const eventUi = workflowUrl(me, workflowIds.event(e.id));
  const others = (stepEvents.data ?? []).filter((x) => x.id !== e.id);

  return (
    <section aria-labelledby="event-title">
      <p className="small">
        <Link to="/events">← Events</Link>
      </p>
      <div className="page-head">
        <h1 id="event-title">{e.plan_name}</h1>
        <EventBadge status={e.status} />
        {(e.status === 'IN_PROGRESS' || e.status === 'HALTED') && (
          <span className="muted small">live · refreshes every 2 s</span>
        )}
        <div className="actions">
          {finished && (
            <button
              type="button"
              className="primary"
              disabled={!can('event', 'execute', e.id)}
              title={can('event', 'execute', e.id) ? undefined : noPerm('event', 'execute')}
              onClick={() => setPanel(panel === 'partial' ? null : 'partial')}
              aria-expanded={panel === 'partial'}
            >
              Run partial patching
            </button>
          )}
          {notStarted && (
            <button
              type="button"
              disabled={!can('event', 'update', e.id)}
              title={can('event', 'update', e.id) ? undefined : noPerm('event', 'update')}
              onClick={() => setPanel(panel === 'exclude' ? null : 'exclude')}
              aria-expanded={panel === 'exclude'}
            >
              Exclude machines
            </button>
          )}
          {notStarted && (
            <ConfirmButton
              label="Delete"
              className="danger"
              confirm="The event becomes DELETED and will not run."
              disabled={!can('event', 'delete', e.id) || remove.isPending}
              title={can('event', 'delete', e.id) ? undefined : noPerm('event', 'delete')}
              onConfirm={() => remove.mutate()}
            />
          )}
          {can('report', 'get', e.id) &&
            (finished || e.status === 'IN_PROGRESS' || e.status === 'HALTED') && (
              <button type="button" onClick={() => report.mutate()} disabled={report.isPending}>
                {report.isPending ? 'Preparing report…' : 'Download report (PDF)'}
              </button>
            )}
          {eventUi && (
            <a className="button" href={eventUi} target="_blank" rel="noreferrer">
              Temporal UI ↗
            </a>
          )}
        </div>
      </div>
      <ErrorBox error={remove.error ?? report.error} />

      {e.status === 'NOT_APPROVED' && (
        <section className="panel approve" aria-labelledby="approve-title">
          <h2 id="approve-title">Waiting for approval</h2>
          <p>
            {e.pipeline_id ? (
              <>
                Approving this event approves <strong>every not-approved event of its pipeline step</strong>
                {stepEvents.data ? (
                  others.length ? (
                    <>
                      {' '}
                      (this one and {others.length} other{others.length === 1 ? '' : 's'}:{' '}
                      {others.map((o, i) => (
                        <span key={o.id}>
                          {i ? ', ' : ''}
                          <Link to={`/events/${encodeURIComponent(o.id)}`}>{o.plan_name}</Link>
                        </span>
                      ))}
                      )
                    </>
                  ) : (
                    ' (only this one is waiting)'
                  )
                ) : null}
                . They become <em>Approved</em>, and turn <em>Upcoming</em> once every event of the earlier
                steps has finished (or been deleted); then they run at their scheduled time. While an earlier
                step is still running or waiting, approved events stay <em>Approved</em> and do not run.
              </>
            ) : (
              'Approving lets this event run at its scheduled time.'
            )}
          </p>
          <button
            type="button"
            className="primary"
            disabled={!can('event', 'update', e.id) || approve.isPending}
            title={can('event', 'update', e.id) ? undefined : noPerm('event', 'update')}
            onClick={() => approve.mutate()}
          >
            {approve.isPending ? 'Approving…' : e.pipeline_id ? 'Approve the step' : 'Approve'}
          </button>
          <ErrorBox error={approve.error} />
        </section>
      )}

      {e.status === 'HALTED' && <HaltedPanel event={e} onDone={() => done()} />}

      {panel === 'partial' && (
        <PartialPanel event={e} plan={plan.data} onDone={() => (setPanel(null), done())} />
      )}
      {panel === 'exclude' && (
        <ExcludePanel event={e} plan={plan.data} onDone={() => (setPanel(null), done())} />
      )}

      <div className="panel">
        <dl className="kv">
          <dt>Event</dt>
          <dd className="mono">{e.id}</dd>
          <dt>Window</dt>
          <dd>
            <Time iso={e.start} /> → <Time iso={e.end} />
          </dd>
          <dt>Plan</dt>
          <dd>
            <Link to={`/plans/${e.plan_id}`}>{e.plan_name}</Link>
          </dd>
          {e.pipeline_id && (
            <>
              <dt>Pipeline</dt>
              <dd>
                <Link to={`/pipelines/${e.pipeline_id}`}>{e.pipeline_id}</Link> · step {(e.step ?? 0) + 1} ·
                run <span className="mono">{e.pipeline_run_id}</span>
              </dd>
            </>
          )}
          <dt>Ran</dt>
          <dd>
            {e.started_at ? (
              <>
                <Time iso={e.started_at} seconds /> → <Time iso={e.finished_at} seconds />{' '}
                <span className="muted">({duration(e.started_at, e.finished_at)})</span>
              </>
            ) : (
              <span className="muted">not started</span>
            )}
            {e.run_no > 0 && <span className="muted"> · partial run {e.run_no}</span>}
          </dd>
          {e.approval && (
            <>
              <dt>Approved</dt>
              <dd>
                by {e.approval.by} <Time iso={e.approval.at} seconds />{' '}
                <span className="muted">
                  ({e.approval.via === 'temporal_signal' ? 'Temporal signal' : 'API'}) on {e.approval.targets}{' '}
                  target(s), digest <span className="mono">{e.approval.target_digest}</span>; asked again if
                  they change by more than {Math.round(e.approval.reapproval_threshold * 1000) / 10} % before
                  the window opens
                  {e.approval.target_error ? ` · targets not resolved: ${e.approval.target_error}` : ''}
                </span>
              </dd>
            </>
          )}
          {e.failure_reasons.length > 0 && (
            <>
              <dt>Why it failed</dt>
              <dd>
                <ul className="reasons">
                  {e.failure_reasons.map((r) => (
                    <li key={r}>{r}</li>
                  ))}
                </ul>
              </dd>
            </>
          )}
        </dl>
      </div>

      {e.status !== 'DELETED' && <PreviewPanel key={e.id} eventId={e.id} />}
      <ManifestPanel event={e} />
      <PromotionCheckPanel event={e} />

      <h2>Machines</h2>
      {e.machines.length === 0 ? (
        <Empty>
          {notStarted
            ? 'Machines are listed here once the event starts. The plan lists them; exclude some above before it starts.'
            : 'This event had no machines.'}
        </Empty>
      ) : (
        <MachinesTable event={e} onChanged={() => done()} />
      )}

      <h2>Global hooks</h2>
      {e.hooks.length === 0 ? (
        <Empty>No global hook has run in this event.</Empty>
      ) : (
        <HookRuns runs={e.hooks} />
      )}

      <h2>Timeline</h2>
      {e.timeline.length === 0 ? (
        <Empty>Nothing has happened yet.</Empty>
      ) : (
        <table className="grid timeline">
          <thead>
            <tr>
              <th scope="col">At</th>
              <th scope="col">What</th>
              <th scope="col">Machine</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            {e.timeline.map((t, i) => (
              <tr key={i}>
                <td>
                  <Time iso={t.at} seconds />
                </td>
                <td className="mono">{t.type}</td>
                <td className="mono">{t.machine_id ?? ''}</td>
                <td>{t.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {e.status === 'DELETED' && (
        <p className="muted">
          This event was deleted. <button onClick={() => navigate('/events')}>Back to the events</button>
        </p>
      )}
    </section>
  );
}
