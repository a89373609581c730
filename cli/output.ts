/** Rendering of API answers: `json` prints them as they are; `table` picks readable columns. */
export type Format = 'table' | 'json';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export type Column = [header: string, get: (row: Record<string, unknown>) => unknown];

export function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

export function table(rows: Record<string, unknown>[], columns: Column[]): string {
  const cells = rows.map((r) => columns.map(([, get]) => cell(get(r)).replace(/\s+/g, ' ')));
  const widths = columns.map(([h], i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(columns.map(([h]) => h.toUpperCase())), ...cells.map(line)].join('\n');
}

export function keyValues(obj: Record<string, unknown>, skip: string[] = []): string {
  const keys = Object.keys(obj).filter((k) => !skip.includes(k));
  const width = Math.max(0, ...keys.map((k) => k.length));
  return keys.map((k) => `${k.padEnd(width)}  ${cell(obj[k])}`).join('\n');
}

const get = (path: string) => (r: Record<string, unknown>) =>
  path
    .split('.')
    .reduce<unknown>(
      (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
      r,
    );
const count = (path: string) => (r: Record<string, unknown>) => {
  const v = get(path)(r);
  return Array.isArray(v) ? v.length : '';
};

/** Columns of each resource's list. */
export const COLUMNS: Record<string, Column[]> = {
  machine: [
    ['id', get('id')],
    ['name', get('name')],
    ['provider', get('provider')],
    ['ssm id', get('access.ssm_machine_id')],
    ['region', get('access.region')],
    ['plans', count('plans')],
    ['last patching', (r) => (get('last_patching.status')(r) as string) ?? ''],
  ],
  plan: [
    ['id', get('id')],
    ['name', get('name')],
    ['cron', get('cron')],
    ['window h', get('window_hours')],
    ['machines', (r) => (r.dynamic ? 'dynamic' : count('machines')(r))],
    ['enabled', get('enabled')],
  ],
  pipeline: [
    ['id', get('id')],
    ['name', get('name')],
    ['cron', get('cron')],
    ['steps', (r) => ((r.steps as { policy: string }[]) ?? []).map((s) => s.policy).join(' → ')],
  ],
  event: [
    ['id', get('id')],
    ['plan', get('plan_name')],
    ['start', get('start')],
    ['end', get('end')],
    ['status', get('status')],
    ['pipeline', get('pipeline_id')],
  ],
  'notification-group': [
    ['id', get('id')],
    ['name', get('name')],
    ['min severity', get('min_severity')],
    ['channels', (r) => ((r.channels as { type: string }[]) ?? []).map((c) => c.type).join(',')],
  ],
  role: [
    ['id', get('id')],
    ['name', get('name')],
    ['builtin', get('builtin')],
    ['rules', count('rules')],
  ],
  'role-binding': [
    ['id', get('id')],
    ['api key', get('api_key_id')],
    ['role', get('role_id')],
    ['created', get('created_at')],
  ],
  'api-key': [
    ['id', get('id')],
    ['name', get('name')],
    ['customer', get('customer_id')],
    ['created', get('created_at')],
    ['last used', get('last_used_at')],
  ],
  customer: [
    ['id', get('id')],
    ['name', get('name')],
    ['bootstrap', get('bootstrap')],
    ['created', get('created_at')],
  ],
  audit: [
    ['at', get('at')],
    ['actor', get('actor')],
    ['action', get('action')],
    ['resource', get('resource')],
    ['resource id', get('resource_id')],
  ],
};

/** An event with its machines, hooks and timeline, for people. */
export function eventDetail(ev: Record<string, unknown>): string {
  const parts = [keyValues(ev, ['machines', 'hooks', 'timeline', 'customer_id'])];
  const machines = (ev.machines as Record<string, unknown>[]) ?? [];
  if (machines.length)
    parts.push(
      '\nMACHINES\n' +
        table(machines, [
          ['machine', get('machine_id')],
          ['name', get('name')],
          ['ssm id', get('ssm_machine_id')],
          ['order', get('order')],
          ['status', get('status')],
          ['started', get('started_at')],
          ['ended', get('ended_at')],
          ['command', get('command_id')],
          [
            'hooks',
            (r) =>
              ((r.hooks as { name: string; code: number }[]) ?? [])
                .map((h) => `${h.name}:${h.code}`)
                .join(' '),
          ],
          ['reason', (r) => get('reason')(r) ?? get('action_taken')(r)],
        ]),
    );
  const hooks = (ev.hooks as Record<string, unknown>[]) ?? [];
  if (hooks.length)
    parts.push(
      '\nHOOKS\n' +
        table(hooks, [
          ['name', get('name')],
          ['type', get('type')],
          ['code', get('code')],
          ['message', get('message')],
          ['finished', get('finished_at')],
        ]),
    );
  const timeline = (ev.timeline as Record<string, unknown>[]) ?? [];
  if (timeline.length)
    parts.push(
      '\nTIMELINE\n' +
        table(timeline, [
          ['at', get('at')],
          ['type', get('type')],
          ['machine', get('machine_id')],
          ['message', get('message')],
        ]),
    );
  return parts.join('\n');
}
