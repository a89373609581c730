import { Time, duration } from '../../format';
import type { HookRun } from '../../types';
import { DataTable } from '../../components/DataTable';

/** Hook runs with code, message and output (output folded; long outputs scroll). */
export function HookRuns({ runs }: { runs: HookRun[] }) {
  return (
    <DataTable
      className="grid hooks"
      rows={runs}
      rowKey={(h, i) => `${h.name}-${h.run_no}-${i}`}
      rowAttributes={(h) => ({ 'data-hook': h.name })}
      columns={[
        {
          header: 'Hook',
          className: 'mono',
          cell: (h) => (
            <>
              {h.name}
              {h.run_no > 0 && <span className="muted"> (partial {h.run_no})</span>}
            </>
          ),
        },
        { header: 'Source', className: 'mono small break-all', cell: (h) => `${h.type}: ${h.source}` },
        {
          header: 'Code',
          cell: (h) => (
            <span className={`badge ${h.code >= 200 && h.code <= 299 ? 'ok' : 'bad'}`}>{h.code}</span>
          ),
        },
        { header: 'Message', cell: (h) => h.message },
        { header: 'Started', cell: (h) => <Time iso={h.started_at} seconds /> },
        { header: 'Took', cell: (h) => duration(h.started_at, h.finished_at) },
        {
          header: 'Output',
          cell: (h) =>
            h.output ? (
              <details>
                <summary>show ({h.output.length} chars)</summary>
                <pre className="output">{h.output}</pre>
              </details>
            ) : (
              <span className="muted">empty</span>
            ),
        },
      ]}
    />
  );
}
