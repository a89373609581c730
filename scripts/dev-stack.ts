import fs from 'node:fs';
import path from 'node:path';
import {
  describeExit,
  isPortFree,
  killAllManaged,
  spawnManaged,
  waitUntil,
  type ManagedProcess,
} from './lib/processes';
import {
  REPO_ROOT,
  provideMongo,
  provideTemporal,
  type MongoServer,
  type TemporalServer,
} from './lib/servers';
import { devWebhookSecret } from './lib/dev-secrets';

/**
 * `npm run dev`: FerretDB, the Temporal dev server with its UI, the fleet lab, the worker and the API, with
 * prefixed output, readiness checks, one summary box, and a clean stop on Ctrl-C or when any of them dies.
 * Runs compiled (dist/scripts/dev-stack.js); scripts/dev.sh builds first.
 */

const USAGE = `Usage: npm run dev [-- --skip lab,worker,api]

Environment (defaults in brackets):
  TEMPORAL_PORT [7233]  TEMPORAL_UI_PORT [8233]  FERRETDB_PORT [27017]  LAB_PORT [4566]  API_PORT [8080]
  PATCHWAVE_DATA_DIR [.data]   FerretDB files, the Temporal SQLite file and the generated webhook signing
                               secret (webhook-signing-secret); they survive restarts
  PATCHWAVE_WEBHOOK_SECRET     sign webhooks with this instead of the generated secret
  PATCHWAVE_TEMPORAL_LOG_LEVEL [error]   the Temporal dev server's log level (debug, info, warn, error)
  TEMPORAL_ADDRESS / MONGODB_URI   use these servers instead of starting Temporal / FerretDB`;

type AppName = 'lab' | 'worker' | 'api';
const APP_NAMES: AppName[] = ['lab', 'worker', 'api'];
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const COLORS: Record<string, number> = { ferretdb: 36, temporal: 35, lab: 33, worker: 32, api: 34 };

function say(msg: string) {
  console.log(paint(1, `[dev] ${msg}`));
}

function prefixer(name: string) {
  const label = paint(COLORS[name] ?? 0, name.padEnd(8));
  return (line: string) => console.log(`${label} | ${line}`);
}

function envPort(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`${name}=${raw} is not a TCP port`);
  return port;
}

function parseSkip(argv: string[]): Set<AppName> {
  const skip = new Set<AppName>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      console.log(USAGE);
      process.exit(0);
    }
    const value = arg === '--skip' ? argv[++i] : arg.startsWith('--skip=') ? arg.slice(7) : undefined;
    if (value === undefined) throw new Error(`unknown argument ${arg}\n${USAGE}`);
    for (const name of value.split(',').filter(Boolean)) {
      if (!APP_NAMES.includes(name as AppName))
        throw new Error(`--skip takes ${APP_NAMES.join(', ')}; got ${name}`);
      skip.add(name as AppName);
    }
  }
  return skip;
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  await res.body?.cancel();
  return res.ok;
}

/** Everything started, in start order; stopped in reverse. */
class Stack {
  private readonly servers: { stop(): Promise<void> }[] = [];
  private readonly apps: ManagedProcess[] = [];
  private stopping: Promise<never> | undefined;

  addServer(s: { stop(): Promise<void>; process?: ManagedProcess }) {
    this.servers.push(s);
    if (s.process) this.watch(s.process);
  }

  addApp(p: ManagedProcess) {
    this.apps.push(p);
    this.watch(p);
  }

  get isStopping() {
    return this.stopping !== undefined;
  }

  private watch(p: ManagedProcess) {
    void p.exited.then((info) => {
      if (this.isStopping) return;
      say(`${p.name} exited unexpectedly (${describeExit(info)}); stopping the rest.`);
      void this.shutdown(1);
    });
  }

  shutdown(code: number): Promise<never> {
    this.stopping ??= (async () => {
      say('stopping…');
      // Apps first (they use the servers); the API and worker before the lab they call.
      const byName = (n: string) => this.apps.filter((p) => p.name === n);
      await Promise.all([...byName('api'), ...byName('worker')].map((p) => p.stop(STOP_GRACE_MS)));
      await Promise.all(byName('lab').map((p) => p.stop(STOP_GRACE_MS)));
      await Promise.all(this.servers.map((s) => s.stop()));
      say('stopped.');
      process.exit(code);
    })();
    return this.stopping;
  }

  forceKill() {
    say('second interrupt: killing everything now.');
    killAllManaged('SIGKILL');
    process.exit(130);
  }
}

const stack = new Stack();

async function main() {
  const skip = parseSkip(process.argv.slice(2));
  const ports = {
    temporal: envPort('TEMPORAL_PORT', 7233),
    temporalUi: envPort('TEMPORAL_UI_PORT', 8233),
    ferret: envPort('FERRETDB_PORT', 27017),
    lab: envPort('LAB_PORT', 4566),
    api: envPort('API_PORT', 8080),
  };
  const dataDir = path.resolve(REPO_ROOT, process.env.PATCHWAVE_DATA_DIR ?? '.data');
  const entry = (app: AppName) => path.join(REPO_ROOT, 'dist', app, 'main.js');

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => (stack.isStopping ? stack.forceKill() : void stack.shutdown(0)));
  }

  // Fail before starting anything if a fixed port is taken: the usual cause is a second `npm run dev`.
  const wanted: [string, number, string][] = [];
  if (!process.env.TEMPORAL_ADDRESS) {
    wanted.push(
      ['Temporal', ports.temporal, 'TEMPORAL_PORT'],
      ['Temporal UI', ports.temporalUi, 'TEMPORAL_UI_PORT'],
    );
  }
  if (!process.env.MONGODB_URI) wanted.push(['FerretDB', ports.ferret, 'FERRETDB_PORT']);
  if (!skip.has('lab') && fs.existsSync(entry('lab'))) wanted.push(['fleet lab', ports.lab, 'LAB_PORT']);
  if (!skip.has('api') && fs.existsSync(entry('api'))) wanted.push(['API', ports.api, 'API_PORT']);
  const taken = [];
  for (const [what, port, variable] of wanted) {
    if (!(await isPortFree(port)))
      taken.push(`  ${what}: port ${port} is in use (another \`npm run dev\`?); set ${variable}`);
  }
  if (taken.length > 0) throw new Error(`cannot start:\n${taken.join('\n')}`);

  // ---- servers
  say(`data directory: ${dataDir}`);
  const [mongoResult, temporalResult] = await Promise.allSettled([
    provideMongo({
      dataDir: path.join(dataDir, 'ferretdb'),
      port: ports.ferret,
      // FerretDB's WARN level dumps a whole wire message whenever a driver says goodbye (endSessions).
      logLevel: 'error',
      onLine: prefixer('ferretdb'),
    }),
    provideTemporal({
      port: ports.temporal,
      uiPort: ports.temporalUi,
      dbFile: path.join(dataDir, 'temporal.db'),
      // At "warn" the dev server's own internal pollers fill the console at every stop.
      logLevel: (process.env.PATCHWAVE_TEMPORAL_LOG_LEVEL as 'warn' | undefined) ?? 'error',
      onLine: prefixer('temporal'),
    }),
  ]);
  for (const r of [mongoResult, temporalResult]) if (r.status === 'fulfilled') stack.addServer(r.value);
  if (mongoResult.status === 'rejected') throw mongoResult.reason;
  if (temporalResult.status === 'rejected') throw temporalResult.reason;
  const mongo: MongoServer = mongoResult.value;
  const temporal: TemporalServer = temporalResult.value;
  say(`Temporal ready at ${temporal.address}${temporal.process ? '' : ' (external)'}`);
  say(`MongoDB protocol ready at ${mongo.uri}${mongo.process ? '' : ' (external)'}`);

  // ---- apps
  const webhook = devWebhookSecret(dataDir);
  const webhookSecretWhere =
    webhook.source === 'environment'
      ? 'PATCHWAVE_WEBHOOK_SECRET from your environment'
      : `${path.relative(process.cwd(), webhook.file!) || webhook.file} (PATCHWAVE_WEBHOOK_SECRET of the worker and API)`;
  say(
    `webhook signing secret: ${webhookSecretWhere}${webhook.source === 'generated' ? ', generated now' : ''}`,
  );
  const appEnv: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: temporal.namespace,
    MONGODB_URI: mongo.uri,
    LAB_PORT: String(ports.lab),
    API_PORT: String(ports.api),
    // Every AWS call goes to the fleet lab, never to real AWS, whatever the shell has configured.
    AWS_ENDPOINT_URL: `http://127.0.0.1:${ports.lab}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'lab',
    AWS_SECRET_ACCESS_KEY: 'lab',
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_S3_FORCE_PATH_STYLE: 'true',
    // Machines' patch filters go to the lab's S3 as BaselineOverride files (docs/aws-fields.md).
    PATCHWAVE_BASELINE_BUCKET: process.env.PATCHWAVE_BASELINE_BUCKET ?? 'patchwave-baselines',
    PATCHWAVE_HTTP_ALLOWLIST: '127.0.0.1,localhost',
    // The console links events and machine runs to the UI; an external Temporal keeps the shell's setting.
    PATCHWAVE_TEMPORAL_UI_URL: temporal.uiUrl ?? process.env.PATCHWAVE_TEMPORAL_UI_URL,
    // Webhook channels without their own secret_ref are signed with it (and accepted by the API).
    PATCHWAVE_WEBHOOK_SECRET: webhook.secret,
  };
  const status: Record<AppName, string> = { lab: '', worker: '', api: '' };
  let bootstrapLine: string | undefined;

  const startApp = (app: AppName, onLine = prefixer(app)): ManagedProcess | undefined => {
    if (skip.has(app)) {
      status[app] = 'skipped (--skip)';
      return undefined;
    }
    if (!fs.existsSync(entry(app))) {
      status[app] =
        `NOT RUNNING: ${path.relative(REPO_ROOT, entry(app))} is missing (${app}/main.ts not written or not built)`;
      say(
        `${app}: ${path.relative(REPO_ROOT, entry(app))} is missing, so the ${app} is not started; the rest runs.`,
      );
      return undefined;
    }
    const proc = spawnManaged({
      name: app,
      command: process.execPath,
      args: [entry(app)],
      cwd: REPO_ROOT,
      env: appEnv,
      onLine,
    });
    stack.addApp(proc);
    return proc;
  };

  const lab = startApp('lab');
  if (lab) {
    await waitUntil(() => httpOk(`http://127.0.0.1:${ports.lab}/_lab/health`), {
      what: `fleet lab on port ${ports.lab}`,
      timeoutMs: START_TIMEOUT_MS,
      process: lab,
    });
    status.lab = `http://127.0.0.1:${ports.lab}`;
  }

  const worker = startApp('worker');
  if (worker)
    status.worker = `running (pid ${worker.pid}, task queue ${appEnv.PATCHWAVE_TASK_QUEUE ?? 'patchwave'})`;

  const apiPrint = prefixer('api');
  const api = startApp('api', (line) => {
    if (/bootstrap admin api key/i.test(line)) bootstrapLine = line.trim();
    apiPrint(line);
  });
  if (api) {
    await waitUntil(() => httpOk(`http://127.0.0.1:${ports.api}/healthz`), {
      what: `API on port ${ports.api}`,
      timeoutMs: START_TIMEOUT_MS,
      process: api,
    });
    status.api = `http://127.0.0.1:${ports.api}/api/v1`;
  }

  printBox({
    ports,
    temporal,
    mongo,
    status,
    bootstrapLine,
    apiRunning: Boolean(api),
    webhookSecret: webhookSecretWhere,
  });
  await new Promise<never>(() => undefined); // runs until a signal or a child's death ends the process
}

function printBox(o: {
  ports: { api: number; lab: number };
  temporal: TemporalServer;
  mongo: MongoServer;
  status: Record<AppName, string>;
  bootstrapLine?: string;
  apiRunning: boolean;
  webhookSecret: string;
}) {
  const apiKey = !o.apiRunning
    ? '(API not running)'
    : o.bootstrapLine
      ? // Just the key (the line's text is in the api output above): "pw_key_… (shown once: keep it)".
        o.bootstrapLine.replace(/^.*\(shown once\):\s*(\S+).*$/i, '$1 (shown once: keep it)')
      : 'created on an earlier start and shown only then; set PATCHWAVE_BOOTSTRAP_KEY, or delete .data for a new one';
  const rows: [string, string][] = [
    [
      'Console',
      o.apiRunning ? `http://127.0.0.1:${o.ports.api}/ (sign in with the API key)` : '(API not running)',
    ],
    ['API', o.status.api],
    ['OpenAPI', o.apiRunning ? `http://127.0.0.1:${o.ports.api}/openapi.json` : '(API not running)'],
    ['API key', apiKey],
    ['Temporal UI', o.temporal.uiUrl ?? `not started here (external Temporal at ${o.temporal.address})`],
    ['Temporal', o.temporal.address],
    ['MongoDB', o.mongo.uri],
    ['Fleet lab', o.status.lab],
    ['Worker', o.status.worker],
    ['Webhook key', o.webhookSecret],
  ];
  const lines = [
    'Patchwave dev stack is up. Ctrl-C stops everything.',
    '',
    ...rows.map(([k, v]) => `${k.padEnd(12)} ${v}`),
  ];
  const width = Math.max(...lines.map((l) => l.length));
  console.log(
    [
      '┌' + '─'.repeat(width + 2) + '┐',
      ...lines.map((l) => `│ ${l.padEnd(width)} │`),
      '└' + '─'.repeat(width + 2) + '┘',
    ].join('\n'),
  );
}

main().catch((e: unknown) => {
  // A child that died has been reported already, with its output, by the stack.
  if (!stack.isStopping) say(`failed: ${(e as Error).message ?? e}`);
  void stack.shutdown(1);
});
