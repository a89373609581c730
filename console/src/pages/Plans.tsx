import { Link, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, download, listAll, qs } from '../api';
import { useAuth } from '../auth';
import { Time } from '../format';
import type { EventSummary, Machine, Plan } from '../types';
import { ConfirmButton, Empty, ErrorBox, EventBadge, Loading, noPerm } from '../components/ui';
import { NextRun, nextRuns } from '../components/forms';
import { DataTable } from '../components/DataTable';
import { HookList } from './PlanForm';

export function Plans() {
  const { can } = useAuth();
  const plans = useQuery({ queryKey: ['plans', 'all'], queryFn: () => listAll<Plan>('/plans') });
  return (
    <section aria-labelledby="plans-title">
      <div className="page-head">
        <h1 id="plans-title">Plans</h1>
        <div className="actions">
          {can('plan', 'create') && (
            <Link className="button primary" to="/plans/new">
              New plan
            </Link>
          )}
        </div>
      </div>
      <ErrorBox error={plans.error} />
      {plans.isPending ? (
        <Loading what="plans" />
      ) : !plans.data?.length ? (
        <Empty>
          No plans yet. A plan says which machines to patch, when and in which order.{' '}
          {can('plan', 'create') ? (
            <Link to="/plans/new">Create the first plan</Link>
          ) : (
            'Ask an admin for a key that may create plans.'
          )}
          {can('machine', 'create') && (
            <>
              {' '}
              (register its <Link to="/machines/new">machines</Link> first).
            </>
          )}
        </Empty>
      ) : (
        <DataTable
          rows={plans.data}
          rowKey={(p) => p.id}
          columns={[
            { header: 'Name', cell: (p) => <Link to={`/plans/${p.id}`}>{p.name}</Link> },
            { header: 'Schedule (UTC)', cell: (p) => p.cron, className: 'mono' },
            { header: 'Next run', cell: (p) => <NextRun cron={p.cron} /> },
            { header: 'Window', cell: (p) => `${p.window_hours} h` },
            { header: 'Machines', cell: (p) => (p.machines ? p.machines.length : 'by tags') },
            { header: 'Hooks', cell: (p) => `${p.pre_hooks.length} pre · ${p.post_hooks.length} post` },
            { header: 'Enabled', cell: (p) => (p.enabled ? 'yes' : <span className="muted">no</span>) },
          ]}
        />
      )}
    </section>
  );
}

export function PlanView() {
  const { id = '' } = useParams();
  const { can } = useAuth();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const plan = useQuery({ queryKey: ['plan', id], queryFn: () => api<Plan>('GET', `/plans/${id}`) });
  const machines = useQuery({
    queryKey: ['machines', 'all'],
    queryFn: () => listAll<Machine>('/machines'),
    enabled: can('machine', 'list'),
  });
  const events = useQuery({
    queryKey: ['events', 'plan', id],
    queryFn: async () =>
      await listAll<EventSummary>(
        `/events${qs({ plan_id: id, from: new Date(Date.now() - 7 * 86_400_000).toISOString() })}`,
        2,
      ),
    enabled: can('event', 'list'),
    refetchInterval: 15_000,
  });
  const execute = useMutation({
    mutationFn: () => api<EventSummary>('POST', `/plans/${id}/execute`),
    onSuccess: (ev) => {
      void qc.invalidateQueries({ queryKey: ['events'] });
      navigate(`/events/${encodeURIComponent(ev.id)}`);
    },
  });
  const remove = useMutation({
    mutationFn: () => api('DELETE', `/plans/${id}`),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['plans'] });
      navigate('/plans');
    },
  });
  // The auditor's export: fetched with the key in the header (never in a URL), then saved from a blob.
  const csv = useMutation({
    mutationFn: () => download(`/plans/${encodeURIComponent(id)}/compliance.csv`, `compliance-${id}.csv`),
  });
  if (plan.isPending) return <Loading what="the plan" />;
  if (plan.error) return <ErrorBox error={plan.error} />;
  const p = plan.data;
  const names = new Map((machines.data ?? []).map((m) => [m.id, m.name]));
  const next = nextRuns(p.cron, 5);
  return (
    <section aria-labelledby="plan-title">
      <p className="small">
        <Link to="/plans">← Plans</Link>
      </p>
      <div className="page-head">
        <h1 id="plan-title">{p.name}</h1>
        {!p.enabled && <span className="badge idle">disabled</span>}
        <div className="actions">
          <button
            type="button"
            className="primary"
            disabled={!can('plan', 'execute', p.id) || execute.isPending}
            title={
              can('plan', 'execute', p.id) ? 'Creates an event that starts now' : noPerm('plan', 'execute')
            }
            onClick={() => execute.mutate()}
          >
            {execute.isPending ? 'Starting…' : 'Run now'}
          </button>
          <button
            type="button"
            onClick={() => csv.mutate()}
            disabled={csv.isPending}
            title="One row per missing or failed patch per machine, from the machines' last scans"
          >
            {csv.isPending ? 'Preparing CSV…' : 'Download compliance (CSV)'}
          </button>
          {can('plan', 'update', p.id) && (
            <Link className="button" to={`/plans/${p.id}/edit`}>
              Edit
            </Link>
          )}
          <ConfirmButton
            label="Delete"
            className="danger"
            confirm="Delete this plan? Its upcoming events go too."
            disabled={!can('plan', 'delete', p.id)}
            title={can('plan', 'delete', p.id) ? undefined : noPerm('plan', 'delete')}
            onConfirm={() => remove.mutate()}
          />
        </div>
      </div>
      <ErrorBox error={execute.error ?? remove.error ?? csv.error} />
      <div className="panel">
        <dl className="kv">
          <dt>Id</dt>
          <dd className="mono">{p.id}</dd>
          {p.description && (
            <>
              <dt>Description</dt>
              <dd>{p.description}</dd>
            </>
          )}
          <dt>Schedule</dt>
          <dd>
            <span className="mono">{p.cron}</span> (UTC) · window {p.window_hours} h
          </dd>
          <dt>Next runs</dt>
          <dd>
            {'times' in next
              ? next.times.map((t) => (
                  <div key={t}>
                    <Time iso={t} />
                  </div>
                ))
              : next.error}
          </dd>
          <dt>Limits</dt>
          <dd>
            {p.max_concurrency ? `${p.max_concurrency} machines at once` : 'no concurrency limit'} ·{' '}
            {p.max_errors ? `stop after ${p.max_errors} failures` : 'no error limit'}
            {p.max_unavailable
              ? ` · at most ${p.max_unavailable.max} per ${p.max_unavailable.tag} at once`
              : ''}
          </dd>
          {p.waves && (
            <>
              <dt>Waves</dt>
              <dd>
                {p.waves.map((w) => `${w}%`).join(' → ')} by{' '}
                {p.wave_by && p.wave_by !== 'hash' ? `tag ${p.wave_by.tag}` : 'machine ID hash'}
              </dd>
            </>
          )}
          <dt>Notification groups</dt>
          <dd>
            {p.notification_groups.length ? (
              p.notification_groups.join(', ')
            ) : (
              <span className="muted">none</span>
            )}
          </dd>
        </dl>
      </div>
      <div className="cols">
        <div className="panel">
          <h2>Machines</h2>
          {p.machines ? (
            p.machines.length ? (
              <table className="grid">
                <thead>
                  <tr>
                    <th scope="col">Order</th>
                    <th scope="col">Machine</th>
                    <th scope="col">Host hooks</th>
                  </tr>
                </thead>
                <tbody>
                  {[...p.machines]
                    .sort((a, b) => a.order - b.order)
                    .map((m) => (
                      <tr key={m.machine_id}>
                        <td className="num">{m.order}</td>
                        <td>
                          <Link to={`/machines/${m.machine_id}`}>
                            {names.get(m.machine_id) ?? m.machine_id}
                          </Link>
                        </td>
                        <td>
                          {m.pre_host_hooks.length} pre · {m.post_host_hooks.length} post
                        </td>
                      </tr>
                    ))}
                </tbody>
              </table>
            ) : (
              <Empty>No machines: edit the plan to add some.</Empty>
            )
          ) : (
            <pre className="mono">{JSON.stringify(p.dynamic, null, 2)}</pre>
          )}
        </div>
        <div className="panel">
          <h2>Hooks</h2>
          <h3>Pre hooks</h3>
          <HookList hooks={p.pre_hooks} />
          <h3>Post hooks</h3>
          <HookList hooks={p.post_hooks} />
        </div>
      </div>
      {can('event', 'list') && (
        <>
          <h2>Events (last 7 days and upcoming)</h2>
          {events.data?.length ? (
            <table className="grid">
              <tbody>
                {events.data.map((e) => (
                  <tr key={e.id}>
                    <td>
                      <Time iso={e.start} />
                    </td>
                    <td>
                      <EventBadge status={e.status} />
                    </td>
                    <td>
                      <Link to={`/events/${encodeURIComponent(e.id)}`}>{e.id}</Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <Empty>
              {events.isPending
                ? 'Loading…'
                : 'No events in this period. Run now creates one that starts at once.'}
            </Empty>
          )}
        </>
      )}
    </section>
  );
}
