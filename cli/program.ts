import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import {
  ApiCallError,
  Client,
  EXIT,
  UsageError,
  profilePath,
  readProfiles,
  resolveConnection,
} from './client';
import {
  COLUMNS,
  eventDetail,
  eventPreview,
  keyValues,
  machineCompliance,
  manifestText,
  planCompliance,
  table,
  type Format,
  type Io,
} from './output';
import { waitForEvents } from './wait';

export interface CliEnv {
  env: NodeJS.ProcessEnv;
  io: Io;
  /** Reads a file, or standard input for `-`. */
  readInput: (path: string) => Promise<string>;
  writeFile: (path: string, data: Buffer | string) => void;
}

interface Globals {
  output: Format;
  profile?: string;
  apiUrl?: string;
}

type Json = Record<string, unknown>;

/** Resources with plain CRUD, their path and the operations they have. */
const RESOURCES: {
  name: string;
  path: string;
  alias?: string;
  ops: ('list' | 'get' | 'create' | 'update' | 'patch' | 'delete')[];
  /** A field that can be read from a text file (`--ics-file cal.ics` sets `ics`) on create/update/patch. */
  textFile?: { option: string; field: string; description: string };
}[] = [
  { name: 'machine', path: 'machines', ops: ['list', 'get', 'create', 'update', 'patch', 'delete'] },
  { name: 'plan', path: 'plans', ops: ['list', 'get', 'create', 'update', 'patch', 'delete'] },
  { name: 'pipeline', path: 'pipelines', ops: ['list', 'get', 'create', 'update', 'patch', 'delete'] },
  {
    name: 'notification-group',
    alias: 'ng',
    path: 'notification-groups',
    ops: ['list', 'get', 'create', 'update', 'patch', 'delete'],
  },
  {
    name: 'freeze-calendar',
    alias: 'fc',
    path: 'freeze-calendars',
    ops: ['list', 'get', 'create', 'update', 'patch', 'delete'],
    textFile: {
      option: 'ics-file',
      field: 'ics',
      description: 'iCalendar (.ics) file to upload (- for stdin)',
    },
  },
  { name: 'role', path: 'roles', ops: ['list', 'get', 'create', 'update', 'patch', 'delete'] },
  { name: 'customer', path: 'customers', ops: ['list', 'get', 'create', 'update', 'patch', 'delete'] },
  { name: 'api-key', path: 'api-keys', ops: ['get', 'delete'] },
  { name: 'role-binding', path: 'role-bindings', ops: ['get', 'delete'] },
];

const enc = encodeURIComponent;

/** `--set a.b=1 --set name=x` → {a: {b: 1}, name: "x"} (values are JSON when they parse, else strings). */
function fromSets(sets: string[]): Json {
  const out: Json = {};
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq < 1) throw new UsageError(`--set expects key=value, got "${s}"`);
    const keys = s.slice(0, eq).split('.');
    const raw = s.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    let target = out;
    for (const k of keys.slice(0, -1)) target = (target[k] ??= {}) as Json;
    target[keys[keys.length - 1]] = value;
  }
  return out;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];
const commaList = (v: string, prev: string[] = []) => [
  ...prev,
  ...v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
];

function positiveSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`expected a number of seconds, got "${v}"`);
  return n;
}

export async function run(argv: string[], cli: CliEnv): Promise<number> {
  const { io } = cli;
  let exitCode: number = EXIT.ok;
  const program = new Command('patchwave')
    .description('Command line for the Patchwave API')
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'),
    )
    .option('--profile <name>', 'profile from the config file (default: env, then the "default" profile)')
    .option('--api-url <url>', 'API base URL (default: PATCHWAVE_API_URL or the profile)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, '')),
      writeErr: (s) => io.err(s.replace(/\n$/, '')),
    });

  const globals = (cmd: Command) => cmd.optsWithGlobals() as Globals & Json;
  const client = (cmd: Command) => new Client(resolveConnection(globals(cmd), cli.env));
  const print = (cmd: Command, value: unknown, render: () => string) =>
    io.out(globals(cmd).output === 'json' ? JSON.stringify(value, null, 2) : render());

  async function readJson(path: string): Promise<Json> {
    let text: string;
    try {
      text = await cli.readInput(path);
    } catch (e) {
      throw new UsageError(`cannot read ${path}: ${(e as Error).message}`);
    }
    try {
      return JSON.parse(text) as Json;
    } catch (e) {
      throw new UsageError(`${path} is not valid JSON: ${(e as Error).message}`);
    }
  }

  async function readText(path: string): Promise<string> {
    try {
      return await cli.readInput(path);
    } catch (e) {
      throw new UsageError(`cannot read ${path}: ${(e as Error).message}`);
    }
  }

  /** The body from --file or --set, plus a field read from a text file (`textFile`) when one is given. */
  async function bodyWithText(
    opts: Json & { file?: string; set?: string[] },
    textFile: { option: string; field: string } | undefined,
  ): Promise<Json> {
    const camel = textFile?.option.replace(/-(\w)/g, (_m, c: string) => c.toUpperCase());
    const path = camel ? (opts[camel] as string | undefined) : undefined;
    if (!path) return bodyFrom(opts);
    const body = opts.file || opts.set?.length ? await bodyFrom(opts) : {};
    return { ...body, [textFile!.field]: await readText(path) };
  }

  async function bodyFrom(opts: { file?: string; set?: string[] }, required = true): Promise<Json> {
    if (opts.file && opts.set?.length) throw new UsageError('give either --file or --set, not both');
    if (opts.file) return readJson(opts.file);
    if (opts.set?.length) return fromSets(opts.set);
    if (required)
      throw new UsageError('give the object with --file FILE.json (or - for stdin) or --set key=value');
    return {};
  }

  /** Lists one page, or every page with --all. */
  async function list(cmd: Command, path: string, query: URLSearchParams, columns: string, all: boolean) {
    const c = client(cmd);
    const items: Json[] = [];
    let token: string | null = null;
    let page: { items: Json[]; continuation_token: string | null };
    do {
      const q = new URLSearchParams(query);
      if (token) q.set('continuation_token', token);
      const qs = q.toString();
      page = await c.request('GET', `/api/v1/${path}${qs ? `?${qs}` : ''}`);
      items.push(...page.items);
      token = page.continuation_token;
    } while (all && token);
    const answer = { items, continuation_token: all ? null : page.continuation_token };
    print(cmd, answer, () => table(items, COLUMNS[columns]));
    if (!all && page.continuation_token && globals(cmd).output === 'table')
      io.err(`(more: --continuation-token ${page.continuation_token}, or --all)`);
  }

  const listOptions = (cmd: Command) =>
    cmd
      .option('--limit <n>', 'items per page (1-500)')
      .option('--continuation-token <token>', 'continue a previous listing')
      .option('--all', 'follow continuation tokens and print everything');
  const pageQuery = (o: Json) => {
    const q = new URLSearchParams();
    if (o.limit) q.set('limit', String(o.limit));
    if (o.continuationToken) q.set('continuation_token', String(o.continuationToken));
    return q;
  };

  // ---------- plain resources ----------
  for (const r of RESOURCES) {
    const group = program.command(r.name).description(`${r.name}s`);
    if (r.alias) group.alias(r.alias);
    const one = (cmd: Command, v: unknown) => print(cmd, v, () => keyValues(v as Json));
    if (r.ops.includes('list'))
      listOptions(group.command('list').description(`list ${r.name}s`)).action(
        async (o: Json, cmd: Command) => list(cmd, r.path, pageQuery(o), r.name, Boolean(o.all)),
      );
    if (r.ops.includes('get'))
      group
        .command('get <id>')
        .description(`show one ${r.name}`)
        .action(async (id: string, _o: Json, cmd: Command) =>
          one(cmd, await client(cmd).request('GET', `/api/v1/${r.path}/${enc(id)}`)),
        );
    const withText = (cmd: Command) =>
      r.textFile ? cmd.option(`--${r.textFile.option} <file>`, r.textFile.description) : cmd;
    if (r.ops.includes('create'))
      withText(group.command('create'))
        .description(`create a ${r.name} from JSON`)
        .option('-f, --file <file>', 'JSON file with the object (- for stdin)')
        .option('--set <key=value>', 'set a field (repeatable; dotted keys nest)', collect)
        .action(async (o: Json, cmd: Command) =>
          one(cmd, await client(cmd).request('POST', `/api/v1/${r.path}`, await bodyWithText(o, r.textFile))),
        );
    if (r.ops.includes('update'))
      withText(group.command('update <id>'))
        .description(`replace a ${r.name} with the given JSON (PUT: every field)`)
        .option('-f, --file <file>', 'JSON file with the whole object (- for stdin)')
        .option('--set <key=value>', 'set a field (repeatable)', collect)
        .action(async (id: string, o: Json, cmd: Command) =>
          one(
            cmd,
            await client(cmd).request(
              'PUT',
              `/api/v1/${r.path}/${enc(id)}`,
              await bodyWithText(o, r.textFile),
            ),
          ),
        );
    if (r.ops.includes('patch'))
      withText(group.command('patch <id>'))
        .description(`change some fields of a ${r.name} (JSON merge patch; null removes a field)`)
        .option('-f, --file <file>', 'JSON file with the fields to change (- for stdin)')
        .option('--set <key=value>', 'set a field (repeatable; dotted keys nest)', collect)
        .action(async (id: string, o: Json, cmd: Command) =>
          one(
            cmd,
            await client(cmd).request(
              'PATCH',
              `/api/v1/${r.path}/${enc(id)}`,
              await bodyWithText(o, r.textFile),
            ),
          ),
        );
    if (r.ops.includes('delete'))
      group
        .command('delete <id>')
        .description(`delete a ${r.name}`)
        .action(async (id: string, _o: Json, cmd: Command) => {
          await client(cmd).request('DELETE', `/api/v1/${r.path}/${enc(id)}`);
          print(cmd, { deleted: id }, () => `deleted ${r.name} ${id}`);
        });
  }

  // ---------- execute with --wait ----------
  const waitOptions = (cmd: Command) =>
    cmd
      .option('--wait', 'poll the event(s) and print progress until finished')
      .option('--interval <seconds>', 'polling interval for --wait', positiveSeconds, 2)
      .option('--timeout <seconds>', 'give up waiting after this long (0 = never)', positiveSeconds, 0);

  async function waitAndPrint(cmd: Command, ids: string[], o: Json, afterRunNo?: number) {
    const c = client(cmd);
    let result;
    try {
      result = await waitForEvents(c, ids, io, {
        intervalMs: Number(o.interval) * 1000,
        timeoutMs: Number(o.timeout) * 1000,
        afterRunNo,
      });
    } catch (e) {
      if (e instanceof ApiCallError) throw e;
      throw new ApiCallError(0, 'wait_failed', (e as Error).message, null);
    }
    const detailed = await Promise.all(ids.map((id) => c.request<Json>('GET', `/api/v1/events/${enc(id)}`)));
    print(cmd, detailed.length === 1 ? detailed[0] : detailed, () => detailed.map(eventDetail).join('\n\n'));
    if (!result.ok) {
      io.err(`finished: ${result.events.map((e) => `${e.id} ${e.status}`).join(', ')}`);
      exitCode = EXIT.eventFailed;
    }
  }

  const plan = program.commands.find((c) => c.name() === 'plan')!;
  waitOptions(plan.command('execute <id>').description('start an event of the plan now')).action(
    async (id: string, o: Json, cmd: Command) => {
      const ev = await client(cmd).request<Json>('POST', `/api/v1/plans/${enc(id)}/execute`);
      if (o.wait) {
        io.err(`event ${String(ev.id)} started`);
        return waitAndPrint(cmd, [String(ev.id)], o);
      }
      print(cmd, ev, () => keyValues(ev));
    },
  );
  // Machine holds (docs/behaviour.md#machine-holds).
  const machine = program.commands.find((c) => c.name() === 'machine')!;
  machine
    .command('hold <id>')
    .description('put a machine on hold: events omit it (OMITTED, "on hold") until the hold ends')
    .requiredOption('--reason <text>', 'why it is not patched (shown on events and reports)')
    .option('--until <date-time>', 'when the hold ends by itself (ISO 8601, e.g. 2030-01-31T00:00:00Z)')
    .option('--days <n>', 'or: the hold ends this many days from now', (v: string) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0)
        throw new UsageError(`expected a positive number of days, got "${v}"`);
      return n;
    })
    .action(async (id: string, o: Json, cmd: Command) => {
      if ((o.until === undefined) === (o.days === undefined))
        throw new UsageError('machine hold needs either --until or --days');
      const until =
        (o.until as string | undefined) ??
        new Date(Date.now() + (o.days as number) * 86_400_000).toISOString();
      const m = await client(cmd).request<Json>('PUT', `/api/v1/machines/${enc(id)}/hold`, {
        reason: o.reason,
        until,
      });
      print(cmd, m, () => keyValues(m));
    });
  machine
    .command('release <id>')
    .description("end a machine's hold now")
    .action(async (id: string, _o: Json, cmd: Command) => {
      const m = await client(cmd).request<Json>('DELETE', `/api/v1/machines/${enc(id)}/hold`);
      print(cmd, m, () => keyValues(m));
    });

  const pipeline = program.commands.find((c) => c.name() === 'pipeline')!;
  waitOptions(pipeline.command('execute <id>').description('start a run of the pipeline now')).action(
    async (id: string, o: Json, cmd: Command) => {
      const run = await client(cmd).request<{ run_id: string; event_ids: string[] }>(
        'POST',
        `/api/v1/pipelines/${enc(id)}/execute`,
      );
      if (o.wait && run.event_ids.length) {
        io.err(`pipeline run ${run.run_id} started: ${run.event_ids.join(', ')}`);
        return waitAndPrint(cmd, run.event_ids, o);
      }
      print(cmd, run, () => keyValues(run as unknown as Json));
    },
  );

  // ---------- api keys and role bindings ----------
  const apiKey = program.commands.find((c) => c.name() === 'api-key')!;
  listOptions(
    apiKey
      .command('list')
      .description('list API keys')
      .option('--customer <id>', 'another customer (super-admin)'),
  ).action(async (o: Json, cmd: Command) => {
    const q = pageQuery(o);
    if (o.customer) q.set('customer_id', String(o.customer));
    return list(cmd, 'api-keys', q, 'api-key', Boolean(o.all));
  });
  apiKey
    .command('create')
    .description('create an API key; its secret is printed once')
    .requiredOption('--name <name>', 'a name for people')
    .option('--customer <id>', 'for another customer (super-admin only)')
    .option('--role <role_id>', 'bind a role (repeatable)', collect)
    .action(async (o: Json, cmd: Command) => {
      const body: Json = { name: o.name };
      if (o.customer) body.customer_id = o.customer;
      if (o.role) body.role_ids = o.role;
      const key = await client(cmd).request<Json>('POST', '/api/v1/api-keys', body);
      print(cmd, key, () => keyValues(key));
      if (globals(cmd).output === 'table') io.err('Store the secret now: it is not shown again.');
    });
  const binding = program.commands.find((c) => c.name() === 'role-binding')!;
  listOptions(
    binding
      .command('list')
      .description('list role bindings')
      .option('--api-key <id>', 'of this key')
      .option('--role <id>', 'of this role'),
  ).action(async (o: Json, cmd: Command) => {
    const q = pageQuery(o);
    if (o.apiKey) q.set('api_key_id', String(o.apiKey));
    if (o.role) q.set('role_id', String(o.role));
    return list(cmd, 'role-bindings', q, 'role-binding', Boolean(o.all));
  });
  binding
    .command('create')
    .description('bind a role to an API key')
    .requiredOption('--api-key <id>', 'API key id')
    .requiredOption('--role <id>', 'role id')
    .action(async (o: Json, cmd: Command) => {
      const b = await client(cmd).request<Json>('POST', '/api/v1/role-bindings', {
        api_key_id: o.apiKey,
        role_id: o.role,
      });
      print(cmd, b, () => keyValues(b));
    });

  // ---------- events ----------
  const event = program
    .command('event')
    .description(
      'events: list, show, create, approve, delete, exclude, change status, partial runs, reports',
    );
  listOptions(
    event
      .command('list')
      .description('list events ordered by start')
      .option('--from <iso>', 'start at or after')
      .option('--to <iso>', 'start before')
      .option('--status <status>', 'status (repeatable or comma list)', commaList)
      .option('--plan <id>', 'of this plan')
      .option('--pipeline <id>', 'of this pipeline')
      .option('--machine <id>', 'with this machine'),
  ).action(async (o: Json, cmd: Command) => {
    const q = pageQuery(o);
    for (const [flag, param] of [
      ['from', 'from'],
      ['to', 'to'],
      ['plan', 'plan_id'],
      ['pipeline', 'pipeline_id'],
      ['machine', 'machine_id'],
    ])
      if (o[flag]) q.set(param, String(o[flag]));
    if (o.status) q.set('status', (o.status as string[]).join(','));
    return list(cmd, 'events', q, 'event', Boolean(o.all));
  });
  event
    .command('get <id>')
    .description('show an event with its machines, hooks and timeline')
    .action(async (id: string, _o: Json, cmd: Command) => {
      const ev = await client(cmd).request<Json>('GET', `/api/v1/events/${enc(id)}`);
      print(cmd, ev, () => eventDetail(ev));
    });
  waitOptions(
    event
      .command('create')
      .description('create an ad-hoc event of a plan with an exact window')
      .requiredOption('--plan <id>', 'plan id')
      .requiredOption('--start <iso>', 'window start (ISO 8601)')
      .requiredOption('--end <iso>', 'window end (ISO 8601)')
      .option('--operation <op>', "install or scan (this event only; default: the plan's operation)"),
  ).action(async (o: Json, cmd: Command) => {
    const ev = await client(cmd).request<Json>('POST', '/api/v1/events', {
      plan_id: o.plan,
      start: o.start,
      end: o.end,
      ...(o.operation !== undefined ? { operation: o.operation } : {}),
    });
    if (o.wait) return waitAndPrint(cmd, [String(ev.id)], o);
    print(cmd, ev, () => keyValues(ev));
  });
  waitOptions(
    event.command('execute <plan_id>').description('start an event of a plan now (same as plan execute)'),
  ).action(async (id: string, o: Json, cmd: Command) => {
    const ev = await client(cmd).request<Json>('POST', `/api/v1/plans/${enc(id)}/execute`);
    if (o.wait) {
      io.err(`event ${String(ev.id)} started`);
      return waitAndPrint(cmd, [String(ev.id)], o);
    }
    print(cmd, ev, () => keyValues(ev));
  });
  waitOptions(event.command('watch <id...>').description('print progress until the event(s) finish')).action(
    async (ids: string[], o: Json, cmd: Command) => waitAndPrint(cmd, ids, o),
  );
  const simpleAction = (name: string, description: string, method: string, suffix: string) =>
    event
      .command(`${name} <id>`)
      .description(description)
      .action(async (id: string, _o: Json, cmd: Command) => {
        const ev = await client(cmd).request<Json>(method, `/api/v1/events/${enc(id)}${suffix}`);
        print(cmd, ev, () => keyValues(ev));
      });
  simpleAction(
    'approve',
    'approve an event (and its NOT_APPROVED pipeline step); inside a run_with_approval freeze it takes two API keys: the first stays NOT_APPROVED (1 of 2)',
    'POST',
    '/approve',
  );
  simpleAction('delete', 'delete an event that has not started', 'DELETE', '');
  simpleAction('resume', 'resume a HALTED event (the health gates are read again first)', 'POST', '/resume');
  for (const [name, description, required] of [
    ['override', 'override the health gates of a HALTED event for the rest of its run', true],
    ['abort', 'abort a HALTED event: machines not started become OMITTED', false],
  ] as const) {
    const c = event.command(`${name} <id>`).description(description);
    (required ? c.requiredOption.bind(c) : c.option.bind(c))('--reason <text>', 'why (recorded)');
    c.action(async (id: string, o: Json, cmd: Command) => {
      const ev = await client(cmd).request<Json>('POST', `/api/v1/events/${enc(id)}/${name}`, {
        ...(o.reason !== undefined ? { reason: o.reason } : {}),
      });
      print(cmd, ev, () => keyValues(ev));
    });
  }
  event
    .command('exclude <id>')
    .description('exclude machines from an event that has not started')
    .requiredOption('--machines <ids>', 'machine ids (comma list or repeat)', commaList)
    .action(async (id: string, o: Json, cmd: Command) => {
      const ev = await client(cmd).request<Json>('POST', `/api/v1/events/${enc(id)}/exclude`, {
        machine_ids: o.machines,
      });
      print(cmd, ev, () => keyValues(ev));
    });
  event
    .command('change_status [event_id] [machine_id]')
    .alias('change-status')
    .description(
      'set a manual status on a machine of a finished event (from --file change.json or arguments)',
    )
    .option('-f, --file <file>', 'JSON {event_id, machine_id, manual_status, action_taken}')
    .option('--status <status>', 'SUCCESS_MANUAL | FAILED_MANUAL | IN_PROGRESS_MANUAL | REBOOTING_MANUAL')
    .option('--action-taken <text>', 'what was done by hand (required for SUCCESS_MANUAL and FAILED_MANUAL)')
    .action(async (eventId: string | undefined, machineId: string | undefined, o: Json, cmd: Command) => {
      const fromFile = o.file ? await readJson(String(o.file)) : {};
      const e = eventId ?? (fromFile.event_id as string | undefined);
      const m = machineId ?? (fromFile.machine_id as string | undefined);
      const status = (o.status as string | undefined) ?? (fromFile.manual_status as string | undefined);
      const action = (o.actionTaken as string | undefined) ?? (fromFile.action_taken as string | undefined);
      if (!e || !m || !status)
        throw new UsageError(
          'change_status needs event_id, machine_id and manual_status (from --file or arguments and --status)',
        );
      // The seed writes statuses as `Success_manual`; the API's are upper case.
      const body: Json = { manual_status: status.toUpperCase() };
      if (action !== undefined && action !== '') body.action_taken = action;
      const ev = await client(cmd).request<Json>(
        'POST',
        `/api/v1/events/${enc(e)}/machines/${enc(m)}/status`,
        body,
      );
      print(cmd, ev, () => keyValues(ev));
    });
  waitOptions(
    event
      .command('partial <id>')
      .description('patch again a finished event: all machines and hooks unless narrowed')
      .option('--machines <ids>', 'only these machines (comma list or repeat)', commaList)
      .option('--pre-hooks <names>', 'only these global pre hooks, e.g. pre_0,pre_2', commaList)
      .option('--no-pre-hooks', 'do not run the global pre hooks again')
      .option('--post-hooks <names>', 'only these global post hooks, e.g. post_1', commaList)
      .option('--no-post-hooks', 'do not run the global post hooks again')
      .option('--no-host-hooks', 'do not run host hooks of the chosen machines again')
      .option(
        '--machine-hooks <machine=names>',
        'host hooks of one machine to run again, e.g. mch_1=pre_host_0,post_host_1 or mch_1=none (repeat per machine)',
        (v: string, prev: string[] = []) => [...prev, v],
      ),
  ).action(async (id: string, o: Json, cmd: Command) => {
    const c = client(cmd);
    const choice = (v: unknown) => (v === false ? false : Array.isArray(v) ? v : true);
    const body: Json = { pre_hooks: choice(o.preHooks), post_hooks: choice(o.postHooks) };
    const machines = o.machines as string[] | undefined;
    if (machines?.length) body.machine_ids = machines;
    const hostHooks: Record<string, { pre: boolean | string[]; post: boolean | string[] }> = {};
    if (o.hostHooks === false) {
      const ids =
        machines ??
        (
          (await c.request<{ machines: { machine_id: string }[] }>('GET', `/api/v1/events/${enc(id)}`))
            .machines ?? []
        ).map((m) => m.machine_id);
      for (const m of ids) hostHooks[m] = { pre: false, post: false };
    }
    for (const spec of (o.machineHooks as string[] | undefined) ?? []) {
      const eq = spec.indexOf('=');
      if (eq <= 0) throw new UsageError(`--machine-hooks ${spec}: expected <machine_id>=<hook names|none>`);
      const names = spec
        .slice(eq + 1)
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n && n !== 'none');
      const odd = names.find((n) => !/^(pre|post)_host_\d+$/.test(n));
      if (odd)
        throw new UsageError(
          `--machine-hooks ${spec}: ${odd} is not a host hook name (pre_host_0, post_host_1, …)`,
        );
      // The list is the machine's whole choice: its pre_host_* and post_host_* names, nothing else.
      hostHooks[spec.slice(0, eq)] = {
        pre: names.filter((n) => n.startsWith('pre_host_')),
        post: names.filter((n) => n.startsWith('post_host_')),
      };
    }
    if (Object.keys(hostHooks).length) body.host_hooks = hostHooks;
    const ev = await c.request<Json>('POST', `/api/v1/events/${enc(id)}/partial`, body);
    if (o.wait) {
      io.err(`partial run of ${id} requested`);
      return waitAndPrint(cmd, [id], o, Number(ev.run_no ?? 0));
    }
    print(cmd, ev, () => keyValues(ev));
  });
  event
    .command('manifest <id>')
    .description('show what the event installed on its successful machines, per operating system')
    .action(async (id: string, _o: Json, cmd: Command) => {
      const ev = await client(cmd).request<Json>('GET', `/api/v1/events/${enc(id)}`);
      const manifest = ev.manifest as Json | undefined;
      if (!manifest)
        throw new ApiCallError(
          0,
          'no_manifest',
          `event ${id} has no manifest yet: it is recorded when a run ends`,
          null,
        );
      print(cmd, manifest, () => manifestText(manifest));
    });
  event
    .command('preview <id>')
    .description('what the event will do: targets, agents, hook reachability, groups with predicted times')
    .action(async (id: string, _o: Json, cmd: Command) => {
      const p = await client(cmd).request<Json>('GET', `/api/v1/events/${enc(id)}/preview`);
      print(cmd, p, () => eventPreview(p));
    });
  event
    .command('report <id>')
    .description('download the event report (PDF)')
    .requiredOption('--out-file <file>', 'where to write the PDF')
    .action(async (id: string, o: Json, cmd: Command) => {
      const file = await client(cmd).download(`/api/v1/events/${enc(id)}/report`);
      cli.writeFile(String(o.outFile), file.body);
      io.err(`wrote ${file.body.length} bytes to ${String(o.outFile)}`);
    });
  event
    .command('log <id> <machine_id>')
    .description('print the patch log of a machine in an event')
    .option('--out-file <file>', 'write it to a file instead')
    .action(async (id: string, machineId: string, o: Json, cmd: Command) => {
      const file = await client(cmd).download(`/api/v1/events/${enc(id)}/machines/${enc(machineId)}/log`);
      if (o.outFile) {
        cli.writeFile(String(o.outFile), file.body);
        io.err(`wrote ${file.body.length} bytes to ${String(o.outFile)}`);
      } else io.out(file.body.toString('utf8').replace(/\n$/, ''));
    });

  // ---------- compliance ----------
  const compliance = program
    .command('compliance')
    .description("patch compliance as the machines' last scans found it (scan-only plans)");
  compliance
    .command('machine <id>')
    .description("a machine's last scan: counts and each missing or failed patch")
    .action(async (id: string, _o: Json, cmd: Command) => {
      const c = await client(cmd).request<Json>('GET', `/api/v1/machines/${enc(id)}/compliance`);
      print(cmd, c, () => machineCompliance(c));
    });
  compliance
    .command('plan <id>')
    .description("a plan's machines: compliant / missing N, by severity and classification")
    .option('--csv', 'print the CSV export (one row per missing patch per machine) instead')
    .option('--out-file <file>', 'write the CSV export to a file')
    .action(async (id: string, o: Json, cmd: Command) => {
      if (o.csv || o.outFile) {
        const file = await client(cmd).download(`/api/v1/plans/${enc(id)}/compliance.csv`);
        if (o.outFile) {
          cli.writeFile(String(o.outFile), file.body);
          io.err(`wrote ${file.body.length} bytes to ${String(o.outFile)}`);
        } else io.out(file.body.toString('utf8').replace(/\r?\n$/, ''));
        return;
      }
      const c = await client(cmd).request<Json>('GET', `/api/v1/plans/${enc(id)}/compliance`);
      print(cmd, c, () => planCompliance(c));
    });

  // ---------- audit, status, profiles ----------
  const audit = program.command('audit').description('the audit log');
  listOptions(
    audit
      .command('list')
      .description('changes made through the API, newest first')
      .option('--resource <name>', 'e.g. plan, event')
      .option('--resource-id <id>', 'one object')
      .option('--action <action>', 'e.g. create, approve')
      .option('--actor <api_key_id>', 'made by this key')
      .option('--from <iso>', 'at or after')
      .option('--to <iso>', 'before'),
  ).action(async (o: Json, cmd: Command) => {
    const q = pageQuery(o);
    for (const [flag, param] of [
      ['resource', 'resource'],
      ['resourceId', 'resource_id'],
      ['action', 'action'],
      ['actor', 'actor'],
      ['from', 'from'],
      ['to', 'to'],
    ])
      if (o[flag]) q.set(param, String(o[flag]));
    return list(cmd, 'audit', q, 'audit', Boolean(o.all));
  });

  program
    .command('status')
    .description('is the API ready (store and Temporal reachable)?')
    .action(async (_o: Json, cmd: Command) => {
      const conn = resolveConnection(globals(cmd), cli.env);
      const res = await fetch(`${conn.apiUrl}/readyz`).catch((e) => {
        throw new ApiCallError(
          0,
          'unreachable',
          `cannot reach ${conn.apiUrl}: ${(e as Error).message}`,
          null,
        );
      });
      const body = (await res.json()) as Json;
      if (!res.ok) {
        const err = body.error as { code: string; message: string; details: unknown };
        throw new ApiCallError(res.status, err.code, err.message, err.details);
      }
      print(cmd, body, () => keyValues({ status: body.status, ...(body.checks as Json) }));
    });

  const profile = program.command('profile').description('connection profiles in the config file');
  profile
    .command('save')
    .description('save --api-url and the API key under a profile name (file mode 0600)')
    .option('--api-key <key>', 'API key (default: PATCHWAVE_API_KEY)')
    .option('--name <profile>', 'profile name', 'default')
    .action(async (o: Json, cmd: Command) => {
      // --api-url is the global option: it is parsed by the program whichever side of `save` it is.
      const url = globals(cmd).apiUrl;
      if (!url) throw new UsageError('give --api-url URL');
      const key = (o.apiKey as string | undefined) ?? cli.env.PATCHWAVE_API_KEY;
      if (!key) throw new UsageError('give --api-key or set PATCHWAVE_API_KEY');
      const path = profilePath(cli.env);
      const file = readProfiles(cli.env);
      file.profiles[String(o.name)] = { api_url: url, api_key: key };
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      writeFileSync(path, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 });
      chmodSync(path, 0o600); // the file holds keys; an older file may have been created wider
      io.err(`saved profile "${String(o.name)}" in ${path}`);
    });
  profile
    .command('list')
    .description('profile names and URLs (never keys)')
    .action(async (_o: Json, cmd: Command) => {
      const rows = Object.entries(readProfiles(cli.env).profiles).map(([name, p]) => ({
        name,
        api_url: p.api_url,
      }));
      print(cmd, rows, () =>
        table(rows, [
          ['name', (r) => r.name],
          ['api url', (r) => r.api_url],
        ]),
      );
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    return report(e, io);
  }
}

function report(e: unknown, io: Io): number {
  if (e instanceof CommanderError) {
    return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (e instanceof UsageError) {
    io.err(`patchwave: ${e.message}`);
    return EXIT.usage;
  }
  if (e instanceof ApiCallError) {
    io.err(`Error${e.status ? ` ${e.status}` : ''} (${e.code}): ${e.message}`);
    if (Array.isArray(e.details)) {
      for (const d of e.details as { in?: string; path?: string; message?: string }[])
        io.err(
          `  - ${[d.in, d.path].filter(Boolean).join('.') || '(body)'}: ${d.message ?? JSON.stringify(d)}`,
        );
    } else if (e.details && typeof e.details === 'object') {
      io.err(`  ${JSON.stringify(e.details)}`);
    }
    return EXIT.api;
  }
  io.err(`patchwave: ${(e as Error).stack ?? String(e)}`);
  return EXIT.api;
}

export const nodeCliEnv = (): CliEnv => ({
  env: process.env,
  io: { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n') },
  readInput: async (path) => {
    if (path !== '-') return readFileSync(path, 'utf8');
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
  writeFile: (path, data) => writeFileSync(path, data),
});
