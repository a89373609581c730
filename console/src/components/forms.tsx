import { useMemo, type ReactNode } from 'react';
import { CronExpressionParser } from 'cron-parser';
import { ApiError } from '../api';
import { Time, utc } from '../format';
import type { HookDef } from '../types';
import { Field } from './ui';

/**
 * The API's field messages by path, from a 400 (the request itself is wrong) or a 409 that names fields (valid,
 * but conflicts with state: an unknown id, a refused URL, a taken name); `at('machines')` also gathers
 * `machines.0.machine_id` etc.
 */
export function fieldErrors(error: unknown) {
  const fields =
    error instanceof ApiError && (error.status === 400 || error.status === 409) ? error.fields() : {};
  const at = (path: string): string | undefined => {
    const hits = Object.entries(fields).filter(([p]) => p === path || p.startsWith(`${path}.`));
    if (!hits.length) return undefined;
    return hits.map(([p, m]) => (p === path ? m : `${p.slice(path.length + 1)}: ${m}`)).join('; ');
  };
  return { fields, at, any: Object.keys(fields).length > 0 };
}

/** The next few times a 5-field UTC cron fires, computed with the same library the API validates with. */
export function nextRuns(cron: string, count = 5): { times: string[] } | { error: string } {
  const expr = cron.trim();
  if (expr.split(/\s+/).length !== 5)
    return { error: 'needs exactly 5 fields: minute hour day-of-month month day-of-week' };
  try {
    const it = CronExpressionParser.parse(expr, { tz: 'UTC', currentDate: new Date() });
    return { times: it.take(count).map((d) => d.toISOString() ?? '') };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** When a cron fires next, in UTC (a dash when the expression does not parse). */
export function NextRun({ cron }: { cron: string }) {
  const next = nextRuns(cron, 1);
  return 'times' in next ? <Time iso={next.times[0]} /> : <span className="muted">—</span>;
}

export function CronField({
  id,
  value,
  onChange,
  error,
}: {
  id: string;
  value: string;
  onChange: (v: string) => void;
  error?: string;
}) {
  const preview = useMemo(() => nextRuns(value), [value]);
  return (
    <Field
      id={id}
      label="Schedule (cron, UTC)"
      error={error}
      hint={
        'times' in preview ? (
          <span data-testid="cron-next">Next: {preview.times.map((t) => utc(t)).join(' · ')}</span>
        ) : (
          value.trim() && <span>Not a valid schedule yet: {preview.error}</span>
        )
      }
    >
      <input
        id={id}
        type="text"
        className="mono"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        placeholder="0 3 * * 0"
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
      />
    </Field>
  );
}

const HOOK_PLACEHOLDER: Record<HookDef['type'], string> = {
  lambda: 'arn:aws:lambda:us-east-1:123456789012:function:drain',
  azure: 'https://fn.azurewebsites.net/api/drain?code=…',
  script: 's3://bucket/scripts/pre.sh',
};

/** An ordered list of hooks (type, source, method for Azure, optional name). */
export function HooksEditor({
  id,
  label,
  hooks,
  onChange,
  error,
  allowScript,
}: {
  id: string;
  label: string;
  hooks: HookDef[];
  onChange: (h: HookDef[]) => void;
  error?: string;
  allowScript?: boolean;
}) {
  const set = (i: number, h: Partial<HookDef>) =>
    onChange(hooks.map((x, j) => (j === i ? ({ ...x, ...h } as HookDef) : x)));
  return (
    <Field id={id} label={label} error={error} group>
      {hooks.map((h, i) => (
        <div className="row" key={i} role="group" aria-label={`${label} ${i + 1}`}>
          <select
            aria-label={`${label} ${i + 1} type`}
            value={h.type}
            onChange={(e) => {
              const type = e.target.value as HookDef['type'];
              // Only Azure functions take a method (the API's hook schema is a union on type).
              const next: HookDef =
                type === 'azure'
                  ? { type, source: h.source, name: h.name, method: 'method' in h ? h.method : 'GET' }
                  : { type, source: h.source, name: h.name };
              onChange(hooks.map((x, j) => (j === i ? next : x)));
            }}
          >
            <option value="lambda">Lambda</option>
            <option value="azure">Azure Function</option>
            {(allowScript || h.type === 'script') && <option value="script">Script (S3)</option>}
          </select>
          <input
            type="text"
            aria-label={`${label} ${i + 1} source`}
            className="mono grow"
            value={h.source}
            placeholder={HOOK_PLACEHOLDER[h.type]}
            onChange={(e) => set(i, { source: e.target.value })}
          />
          {h.type === 'azure' && (
            <select
              aria-label={`${label} ${i + 1} method`}
              value={h.method ?? 'GET'}
              onChange={(e) => set(i, { method: e.target.value as 'GET' | 'POST' })}
            >
              <option>GET</option>
              <option>POST</option>
            </select>
          )}
          <button
            type="button"
            aria-label={`Remove ${label} ${i + 1}`}
            onClick={() => onChange(hooks.filter((_, j) => j !== i))}
          >
            Remove
          </button>
        </div>
      ))}
      <button
        type="button"
        id={`${id}-add`}
        onClick={() => onChange([...hooks, { type: 'lambda', source: '' }])}
      >
        Add {label.toLowerCase().replace(/s$/, '')}
      </button>
    </Field>
  );
}

export function FormActions({ children }: { children: ReactNode }) {
  return <div className="form-actions">{children}</div>;
}

/** Numbers from text inputs: empty = unset. */
export function numOrUndef(v: string): number | undefined {
  if (v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : (v as unknown as number); // let the API name a non-number
}
