import { Link } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { ApiError, api } from '../../api';
import { Time } from '../../format';
import type { MachineCompliance } from '../../types';
import { ErrorBox } from '../../components/ui';

const counts = (rec: Record<string, number>) => {
  const entries = Object.entries(rec).sort((a, b) => b[1] - a[1]);
  return entries.length ? entries.map(([k, n]) => `${k} ${n}`).join(' · ') : 'none';
};

/**
 * A machine's compliance as its last scan left it (`GET /machines/:id/compliance`,
 * docs/behaviour.md#scan-only-plans-and-compliance): missing counts by severity and classification, the scan
 * time and the oldest missing patch. The API answers 404 until a scan ran.
 */
export function CompliancePanel({ machineId }: { machineId: string }) {
  const c = useQuery({
    queryKey: ['machine', machineId, 'compliance'],
    queryFn: () => api<MachineCompliance>('GET', `/machines/${machineId}/compliance`),
    retry: (n, e) => !(e instanceof ApiError && e.status === 404) && n < 2,
  });
  const notScanned = c.error instanceof ApiError && c.error.status === 404;
  const x = c.data;
  return (
    <section className="panel" aria-labelledby="compliance-title" data-testid="compliance">
      <h2 id="compliance-title">Compliance</h2>
      {c.isPending && <p className="muted">Loading the last scan…</p>}
      {notScanned && (
        <p className="muted">
          Not scanned yet: run a plan with <code>operation: scan</code> over this machine (or a one-off scan
          event).
        </p>
      )}
      {!notScanned && <ErrorBox error={c.error} />}
      {x && (
        <dl className="kv">
          <dt>Status</dt>
          <dd>
            <span className={`badge ${x.status === 'COMPLIANT' ? 'ok' : 'warn'}`} data-status={x.status}>
              {x.status === 'COMPLIANT' ? 'Compliant' : `Missing ${x.counts.missing}`}
            </span>
            {x.counts.failed > 0 && <span className="badge bad"> {x.counts.failed} failed</span>}
          </dd>
          <dt>Last scan</dt>
          <dd>
            <Time iso={x.scanned_at} seconds />{' '}
            <span className="muted">
              ({x.operation}, event <Link to={`/events/${encodeURIComponent(x.event_id)}`}>{x.event_id}</Link>
              )
            </span>
          </dd>
          <dt>Missing by severity</dt>
          <dd data-testid="compliance-severity">{counts(x.missing_by_severity)}</dd>
          <dt>Missing by classification</dt>
          <dd>{counts(x.missing_by_classification)}</dd>
          <dt>Oldest missing</dt>
          <dd data-testid="compliance-oldest">
            {x.oldest_missing ? (
              <>
                {x.oldest_missing.title} <span className="mono small">{x.oldest_missing.kb_id}</span>{' '}
                <span className="muted">released {x.oldest_missing.release_date}</span>
              </>
            ) : (
              'none'
            )}
          </dd>
          <dt>Counts</dt>
          <dd className="small">
            installed {x.counts.installed} · pending reboot {x.counts.installed_pending_reboot} · other{' '}
            {x.counts.installed_other} · rejected {x.counts.installed_rejected} · not applicable{' '}
            {x.counts.not_applicable}
          </dd>
        </dl>
      )}
      {x && x.patches.length > 0 && (
        <details>
          <summary>
            {x.patches.length} missing or failed patch{x.patches.length === 1 ? '' : 'es'}
            {x.patches_truncated ? ' (truncated)' : ''}
          </summary>
          <table className="grid">
            <thead>
              <tr>
                <th scope="col">Title</th>
                <th scope="col">KB</th>
                <th scope="col">State</th>
                <th scope="col">Classification</th>
                <th scope="col">Severity</th>
                <th scope="col">Released</th>
                <th scope="col">CVEs</th>
              </tr>
            </thead>
            <tbody>
              {x.patches.map((p) => (
                <tr key={p.kb_id + p.title}>
                  <td>{p.title}</td>
                  <td className="mono">{p.kb_id}</td>
                  <td>{p.state}</td>
                  <td>{p.classification}</td>
                  <td>{p.severity}</td>
                  <td>{p.release_date ?? ''}</td>
                  <td className="mono small">{p.cve_ids?.join(', ') ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </section>
  );
}
