import { Time } from '../../format';
import type { EventDetail, PatchRef } from '../../types';
import { MachineBadge } from '../../components/ui';

const refs = (ps?: PatchRef[]) =>
  ps && ps.length ? (
    ps.map((p) => (
      <div key={p.kb_id} className="small">
        <span className="mono">{p.kb_id}</span> {p.title}
      </div>
    ))
  ) : (
    <span className="muted">none</span>
  );

/**
 * The patch manifest a run recorded (docs/behaviour.md#manifest): per operating system, every patch installed on
 * the machines that ended SUCCESS / SUCCESS_MANUAL, with the SnapshotIds used.
 */
export function ManifestPanel({ event }: { event: EventDetail }) {
  const m = event.manifest;
  if (!m) return null;
  return (
    <section className="panel" aria-labelledby="manifest-title" data-testid="manifest">
      <h2 id="manifest-title">Patch manifest</h2>
      <p className="muted small">
        What the successful machines installed, recorded <Time iso={m.recorded_at} seconds /> (run {m.run_no}
        ). A later pipeline step with promotion <code>exact_previous_step</code> installs exactly this.
      </p>
      {m.operating_systems.length === 0 && (
        <p className="muted">No machine ended successfully: the manifest is empty.</p>
      )}
      {m.operating_systems.map((os) => (
        <div key={os.operating_system}>
          <h3>
            {os.operating_system}{' '}
            <span className="muted small">
              · {os.machines.length} machine{os.machines.length === 1 ? '' : 's'} · snapshot{' '}
              {os.snapshot_ids.length ? <span className="mono">{os.snapshot_ids.join(', ')}</span> : 'none'}
            </span>
          </h3>
          {os.patches.length === 0 ? (
            <p className="muted">Nothing installed.</p>
          ) : (
            <table className="grid">
              <thead>
                <tr>
                  <th scope="col">Title</th>
                  <th scope="col">KB</th>
                  <th scope="col">Classification</th>
                  <th scope="col">Severity</th>
                  <th scope="col">CVEs</th>
                  <th scope="col">Machines</th>
                </tr>
              </thead>
              <tbody>
                {os.patches.map((p) => (
                  <tr key={p.kb_id + p.title} data-testid="manifest-patch">
                    <td>{p.title}</td>
                    <td className="mono">{p.kb_id}</td>
                    <td>{p.classification}</td>
                    <td>{p.severity}</td>
                    <td className="mono small">{p.cve_ids?.join(', ') || ''}</td>
                    <td>{p.machines}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      ))}
    </section>
  );
}

/** A promoted step's check (docs/behaviour.md#promotion-check): the promoted set against what each machine installed. */
export function PromotionCheckPanel({ event }: { event: EventDetail }) {
  const c = event.promotion_check;
  if (!c) return null;
  const exact = c.mode === 'exact_previous_step';
  return (
    <section className="panel" aria-labelledby="promotion-title" data-testid="promotion-check">
      <h2 id="promotion-title">Promotion check</h2>
      <p className="small">
        <code>{c.mode}</code> from step {c.previous_step + 1}
        {c.cutoff && <> · patches published before {c.cutoff}</>}
        {c.previous_start && (
          <>
            {' '}
            (the previous step started <Time iso={c.previous_start} />)
          </>
        )}
        {exact && c.clean !== undefined && (
          <>
            {' '}
            ·{' '}
            <span className={`badge ${c.clean ? 'ok' : 'warn'}`}>
              {c.clean ? 'every machine installed exactly the set' : 'differs from the promoted set'}
            </span>
          </>
        )}
        <span className="muted">
          {' '}
          · checked <Time iso={c.checked_at} seconds />
          {c.excluded.length > 0 && <> · excluded: {c.excluded.join(', ')}</>}
        </span>
      </p>
      {c.promoted?.map((os) => (
        <p key={os.operating_system} className="small">
          Promoted for {os.operating_system}: {os.patches.map((p) => p.title).join(', ') || 'nothing'}
        </p>
      ))}
      <table className="grid">
        <thead>
          <tr>
            <th scope="col">Machine</th>
            <th scope="col">Status</th>
            <th scope="col">OS</th>
            <th scope="col">Installed</th>
            {exact && <th scope="col">Missing</th>}
            {exact && <th scope="col">Unexpected</th>}
          </tr>
        </thead>
        <tbody>
          {c.machines.map((m) => (
            <tr key={m.machine_id}>
              <td>{m.name}</td>
              <td>
                <MachineBadge status={m.status} />
              </td>
              <td>{m.operating_system}</td>
              <td>{refs(m.installed)}</td>
              {exact && <td>{refs(m.missing)}</td>}
              {exact && <td>{refs(m.unexpected)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
