import { useMutation } from '@tanstack/react-query';
import { api } from '../../api';
import { Time } from '../../format';
import type { EventPreview } from '../../types';
import { Empty, ErrorBox } from '../../components/ui';

const seconds = (s?: number) =>
  s === undefined ? '–' : s < 90 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`;

/**
 * What an event will do, computed now on the worker (`GET /events/:id/preview`, docs/behaviour.md#preview):
 * its targets with their SSM ping status and platform, a dry-run call to each hook, and the order groups with
 * predicted times. It takes a few seconds (SSM look-ups, one call per hook), so it runs on demand.
 */
export function PreviewPanel({ eventId }: { eventId: string }) {
  const preview = useMutation({
    mutationFn: () => api<EventPreview>('GET', `/events/${encodeURIComponent(eventId)}/preview`),
  });
  const p = preview.data;
  return (
    <section className="panel" aria-labelledby="preview-title" aria-busy={preview.isPending}>
      <div className="page-head">
        <h2 id="preview-title">Preview</h2>
        <div className="actions">
          <button type="button" onClick={() => preview.mutate()} disabled={preview.isPending}>
            {preview.isPending ? 'Previewing…' : p ? 'Preview again' : 'Preview'}
          </button>
        </div>
      </div>
      {preview.isPending && (
        <p className="loading" role="status">
          <span className="spinner" aria-hidden="true" /> Resolving the targets, asking SSM and calling each
          hook with a dry run…
        </p>
      )}
      <ErrorBox error={preview.error} />
      {!p && !preview.isPending && !preview.error && (
        <p className="muted small">
          Resolves the targets now, reads each machine&apos;s SSM ping status and platform, calls each hook
          with a dry run and predicts the order groups&apos; times from the plan&apos;s past events. Takes a
          few seconds.
        </p>
      )}
      {p && (
        <div data-testid="preview">
          <p className="small">
            Computed <Time iso={p.computed_at} seconds /> · {p.operation} · {p.machines.length} target
            {p.machines.length === 1 ? '' : 's'}
            {p.targets_re_resolved_at_start && (
              <>
                {' '}
                · <span className="badge warn">re-resolved at start</span>{' '}
                <span className="muted">(a dynamic plan: these are its selectors resolved now)</span>
              </>
            )}
          </p>
          {p.target_error && <div className="error">Targets not resolved: {p.target_error}</div>}

          <h3>Targets</h3>
          {p.machines.length === 0 ? (
            <Empty>No target: the plan selects no machine now.</Empty>
          ) : (
            <table className="grid">
              <thead>
                <tr>
                  <th scope="col">Order</th>
                  <th scope="col">Machine</th>
                  <th scope="col">SSM managed node</th>
                  <th scope="col">Ping</th>
                  <th scope="col">Platform</th>
                </tr>
              </thead>
              <tbody>
                {p.machines.map((m) => (
                  <tr key={m.ssm_machine_id} data-testid="preview-machine" data-machine-id={m.machine_id}>
                    <td>{m.order}</td>
                    <td>
                      {m.name}
                      {m.excluded && <span className="badge idle"> excluded</span>}
                      {!m.machine_id && <span className="muted small"> (not registered)</span>}
                    </td>
                    <td className="mono">{m.ssm_machine_id}</td>
                    <td>
                      <span className={`badge ${m.ping_status === 'Online' ? 'ok' : 'bad'}`}>
                        {m.ping_status}
                      </span>
                    </td>
                    <td>
                      {[m.platform_type, m.platform_name, m.platform_version].filter(Boolean).join(' · ') || (
                        <span className="muted">unknown</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}

          <h3>Hooks (dry run)</h3>
          {p.hooks.length === 0 ? (
            <Empty>The plan has no hook.</Empty>
          ) : (
            <table className="grid">
              <thead>
                <tr>
                  <th scope="col">Hook</th>
                  <th scope="col">Reachable</th>
                  <th scope="col">Message</th>
                </tr>
              </thead>
              <tbody>
                {p.hooks.map((h, i) => (
                  <tr key={i} data-testid="preview-hook">
                    <td>
                      {h.name} <span className="muted small">{h.type}</span>
                      {h.machine_id && <span className="muted small"> · machine {h.machine_id}</span>}
                      <div className="mono small">{h.source}</div>
                    </td>
                    <td>
                      <span className={`badge ${h.reachable ? 'ok' : 'bad'}`}>
                        {h.reachable ? 'yes' : 'no'}
                      </span>
                      {h.http_status !== undefined && (
                        <span className="muted small"> HTTP {h.http_status}</span>
                      )}
                      <span className="muted small"> · {h.duration_ms} ms</span>
                    </td>
                    <td>{h.message}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}

          <h3>Order groups and waves</h3>
          <p className="small">
            Window <Time iso={p.start} /> → <Time iso={p.end} /> · predicted end{' '}
            {p.predicted_end ? <Time iso={p.predicted_end} /> : <span className="muted">unknown</span>}
            {p.predicted_overrun && (
              <>
                {' '}
                <span className="badge bad" data-testid="preview-overrun">
                  predicted overrun
                </span>
              </>
            )}
          </p>
          <p className="muted small">
            From {p.prediction.past_events} past event{p.prediction.past_events === 1 ? '' : 's'} (
            {p.prediction.basis}
            ): a wave takes {seconds(p.prediction.machine_seconds)}, the first machine starts after{' '}
            {seconds(p.prediction.pre_hooks_seconds)}.
          </p>
          {p.groups.length === 0 ? (
            <Empty>No order group: no machine would run.</Empty>
          ) : (
            <table className="grid">
              <thead>
                <tr>
                  <th scope="col">Order</th>
                  <th scope="col">Machines</th>
                  <th scope="col">Batches</th>
                  <th scope="col">Predicted start</th>
                  <th scope="col">Predicted end</th>
                </tr>
              </thead>
              <tbody>
                {p.groups.map((g) => (
                  <tr key={g.order}>
                    <td>
                      {g.order}
                      {g.wave_percent !== undefined && (
                        <span className="muted small"> · up to {g.wave_percent} %</span>
                      )}
                    </td>
                    <td>{g.machines}</td>
                    <td>{g.waves}</td>
                    <td>
                      {g.predicted_start ? (
                        <Time iso={g.predicted_start} />
                      ) : (
                        <span className="muted">–</span>
                      )}
                    </td>
                    <td>
                      {g.predicted_end ? <Time iso={g.predicted_end} /> : <span className="muted">–</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </section>
  );
}
