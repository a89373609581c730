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
  'freeze-calendar': [
    ['id', get('id')],
    ['name', get('name')],
    ['mode', get('mode')],
    ['attach', (r) => (get('attach.to')(r) as string) ?? ''],
    ['next freeze', (r) => (r.upcoming_freezes as { start: string }[] | undefined)?.[0]?.start ?? ''],
    ['enabled', get('enabled')],
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
  const parts = [
    keyValues(ev, [
      'machines',
      'hooks',
      'timeline',
      'customer_id',
      'manifest',
      'promotion_check',
      'approval',
    ]),
  ];
  const approval = ev.approval as
    | { by: string; at: string; via: string; targets: number; target_digest: string; target_error?: string }
    | undefined;
  if (approval)
    parts.push(
      `approval  by ${approval.by} at ${approval.at} (${approval.via}) on ${approval.targets} target(s), digest ${approval.target_digest}${approval.target_error ? ` — targets not resolved: ${approval.target_error}` : ''}`,
    );
  const manifest = ev.manifest as { operating_systems?: { patches: unknown[] }[] } | undefined;
  if (manifest)
    parts.push(
      `manifest  ${(manifest.operating_systems ?? []).reduce((n, o) => n + o.patches.length, 0)} patch(es) on ${manifest.operating_systems?.length ?? 0} operating system(s) (patchwave event manifest ${cell(ev.id)})`,
    );
  const check = ev.promotion_check as
    | { mode: string; previous_step: number; cutoff?: string; clean?: boolean; machines: unknown[] }
    | undefined;
  if (check)
    parts.push(
      `promotion ${check.mode} from step ${check.previous_step + 1}${check.cutoff ? ` (released until ${check.cutoff})` : ''}: ${check.clean === undefined ? `${check.machines.length} machine(s) checked` : check.clean ? 'every machine installed exactly the promoted set' : 'a machine has missing or unexpected patches'} (-o json: promotion_check)`,
    );
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
          // 0 = the scheduled run, 1… = partial runs: a hook run again keeps its earlier runs.
          ['run', get('run_no')],
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

const counts = (r: Record<string, unknown>) =>
  Object.entries((r as Record<string, Record<string, number>>) ?? {})
    .map(([k, n]) => `${k}:${n}`)
    .join(' ');

/** A machine's last scan: its counts, then one line per missing or failed patch. */
export function machineCompliance(c: Record<string, unknown>): string {
  const parts = [
    keyValues(c, ['patches', 'counts', 'missing_by_severity', 'missing_by_classification', 'oldest_missing']),
    `missing by severity        ${counts(c.missing_by_severity as Record<string, unknown>)}`,
    `missing by classification  ${counts(c.missing_by_classification as Record<string, unknown>)}`,
  ];
  const oldest = c.oldest_missing as Record<string, string> | undefined;
  if (oldest) parts.push(`oldest missing             ${oldest.kb_id} (released ${oldest.release_date})`);
  const patches = (c.patches as Record<string, unknown>[]) ?? [];
  if (patches.length)
    parts.push(
      '\nPATCHES\n' +
        table(patches, [
          ['state', get('state')],
          ['kb', get('kb_id')],
          ['severity', get('severity')],
          ['classification', get('classification')],
          ['released', get('release_date')],
          ['title', get('title')],
        ]),
    );
  return parts.join('\n');
}

/** A plan's compliance: totals, then one line per machine. */
export function planCompliance(c: Record<string, unknown>): string {
  const t = (c.totals as Record<string, unknown>) ?? {};
  const oldest = c.oldest_missing as Record<string, string> | undefined;
  const head = [
    `plan                       ${cell(c.plan_id)}`,
    `machines                   ${cell(t.machines)} (compliant ${cell(t.compliant)}, non-compliant ${cell(t.non_compliant)}, not scanned ${cell(t.not_scanned)})`,
    `missing                    ${cell(t.missing)} (failed ${cell(t.failed)})`,
    `missing by severity        ${counts(t.missing_by_severity as Record<string, unknown>)}`,
    `missing by classification  ${counts(t.missing_by_classification as Record<string, unknown>)}`,
    `last scan                  ${cell(c.last_scan_at)}`,
    ...(oldest
      ? [
          `oldest missing             ${oldest.kb_id} on ${oldest.machine_id} (released ${oldest.release_date})`,
        ]
      : []),
  ];
  const machines = (c.machines as Record<string, unknown>[]) ?? [];
  return [
    head.join('\n'),
    '\nMACHINES\n' +
      table(machines, [
        ['machine', get('machine_id')],
        ['name', get('name')],
        ['status', get('status')],
        ['missing', get('counts.missing')],
        ['failed', get('counts.failed')],
        ['scanned', get('scanned_at')],
        ['oldest missing', (r) => get('oldest_missing.release_date')(r)],
      ]),
  ].join('\n');
}

/** A patch manifest (GET /events/:id manifest), one table per operating system. */
export function manifestText(m: Record<string, unknown>): string {
  const oses = (m.operating_systems as Record<string, unknown>[]) ?? [];
  const head = `recorded ${cell(m.recorded_at)} (run ${cell(m.run_no)})`;
  if (!oses.length) return `${head}\nno machine ended SUCCESS or SUCCESS_MANUAL: the manifest is empty`;
  return [
    head,
    ...oses.map(
      (o) =>
        `\n${cell(o.operating_system)}: ${(o.machines as string[]).length} machine(s), SnapshotId ${(o.snapshot_ids as string[]).join(', ') || '-'}\n` +
        table((o.patches as Record<string, unknown>[]) ?? [], [
          ['kb', get('kb_id')],
          ['title', get('title')],
          ['classification', get('classification')],
          ['severity', get('severity')],
          ['cves', (r) => ((r.cve_ids as string[] | undefined) ?? []).join(' ')],
          ['machines', get('machines')],
        ]),
    ),
  ].join('\n');
}

/** An event's preview: the summary, then machines, hooks and groups. */
export function eventPreview(p: Record<string, unknown>): string {
  const parts = [keyValues(p, ['machines', 'hooks', 'groups', 'prediction'])];
  if (p.targets_re_resolved_at_start)
    parts.push('targets                    resolved now; re-resolved at start (dynamic plan)');
  parts.push(`prediction                 ${cell((p.prediction as Record<string, unknown>)?.basis)}`);
  parts.push(
    '\nMACHINES\n' +
      table((p.machines as Record<string, unknown>[]) ?? [], [
        ['machine', get('machine_id')],
        ['name', get('name')],
        ['ssm id', get('ssm_machine_id')],
        ['order', get('order')],
        ['ping', get('ping_status')],
        ['platform', (r) => [get('platform_name')(r), get('platform_version')(r)].filter(Boolean).join(' ')],
        ['excluded', get('excluded')],
      ]),
  );
  const hooks = (p.hooks as Record<string, unknown>[]) ?? [];
  if (hooks.length)
    parts.push(
      '\nHOOKS (dry run)\n' +
        table(hooks, [
          ['name', get('name')],
          ['machine', get('machine_id')],
          ['type', get('type')],
          ['reachable', get('reachable')],
          ['message', get('message')],
        ]),
    );
  parts.push(
    '\nGROUPS\n' +
      table((p.groups as Record<string, unknown>[]) ?? [], [
        ['order', get('order')],
        ['machines', get('machines')],
        ['waves', get('waves')],
        ['predicted start', get('predicted_start')],
        ['predicted end', get('predicted_end')],
      ]),
  );
  return parts.join('\n');
}
