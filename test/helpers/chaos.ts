/**
 * Harness for crash and outage tests (test/integration/resilience-*.test.ts and the long `npm run chaos`):
 * the worker runs as its own child process (`node dist/worker/main.js`, the production entry point) so it
 * can be SIGKILLed and restarted, while the fleet lab and the real API run in this process. Also the checks
 * both suites share: what the lab saw (commands per machine step, overlaps) against what the store recorded.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import type { Db, MongoClient } from 'mongodb';
import { createLab, type Lab } from '../../lab/server';
import { createApp } from '../../api/app';
import { ensureBootstrap } from '../../api/bootstrap';
import { createOrchestrator } from '../../api/orchestrator';
import { loadConfig, type Config } from '../../common/config';
import { AuthStore } from '../../store/auth';
import { COLLECTIONS, connectMongo } from '../../store/db';
import { ensureApiIndexes } from '../../store/indexes';
import { createReportsPort } from '../../store/reports';
import { EventRecords, type CommandDoc } from '../../store/event-records';
import { REPO_ROOT } from '../../scripts/lib/servers';
import { spawnManaged, type ExitInfo, type ManagedProcess } from '../../scripts/lib/processes';
import { listenOnLoopback } from '../../api/listen';

let built = false;

/** Makes sure dist/ matches the sources (scripts/setup.sh skips the build when nothing changed). */
export function ensureBuilt(): void {
  if (built) return;
  execFileSync('bash', ['scripts/setup.sh', '--allow-build-errors'], {
    cwd: REPO_ROOT,
    stdio: 'pipe',
    timeout: 600_000,
  });
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'worker', 'main.js')))
    throw new Error('dist/worker/main.js was not built');
  built = true;
}

/** The environment that makes a separate process load exactly `config` (common/config.ts reads env only). */
export function envOf(config: Config): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) if (v !== undefined) out[k] = String(v);
  return out;
}

export interface WorkerProcess {
  /** Times the worker was started (1 after the first start). */
  readonly starts: number;
  readonly pid: number | undefined;
  /** SIGKILL: no shutdown, no completion of in-flight tasks, exactly like a crashed host. */
  kill(): Promise<ExitInfo | undefined>;
  /** Starts it again (after kill or an unexpected exit) and waits until it polls. */
  start(): Promise<void>;
  /** Graceful stop (SIGTERM, SIGKILL after a grace period). */
  stop(): Promise<void>;
  /** Exits nobody asked for (the worker died on its own); the chaos run restarts and counts them. */
  readonly unexpectedExits: ExitInfo[];
  onUnexpectedExit?: (info: ExitInfo) => void;
}

/**
 * `node dist/worker/main.js` with `config` as its environment. Ready when it prints that it polls; its output
 * goes to `logFile`.
 */
export function workerProcess(
  config: Config,
  opts: { logFile: string; extraEnv?: Record<string, string>; distDir?: string },
): WorkerProcess {
  ensureBuilt();
  const entry = path.join(opts.distDir ?? path.join(REPO_ROOT, 'dist'), 'worker', 'main.js');
  let proc: ManagedProcess | undefined;
  let starts = 0;
  let expectingExit = false;
  const unexpectedExits: ExitInfo[] = [];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...envOf(config),
    AWS_ACCESS_KEY_ID: 'lab',
    AWS_SECRET_ACCESS_KEY: 'lab',
    ...opts.extraEnv,
  };
  // Jest's worker variables would make the child think it runs under jest; it must not.
  delete env.JEST_WORKER_ID;

  const w: WorkerProcess = {
    get starts() {
      return starts;
    },
    get pid() {
      return proc && !proc.hasExited() ? proc.pid : undefined;
    },
    unexpectedExits,
    async start() {
      if (proc && !proc.hasExited()) throw new Error('worker is already running');
      let ready!: () => void;
      const polling = new Promise<void>((r) => (ready = r));
      fs.appendFileSync(opts.logFile, `\n----- worker start #${starts + 1} at ${new Date().toISOString()}\n`);
      const p = spawnManaged({
        name: 'worker',
        command: process.execPath,
        args: [entry],
        cwd: REPO_ROOT,
        env,
        logFile: opts.logFile,
        onLine: (line) => {
          if (line.includes('worker polling task queue')) ready();
        },
      });
      proc = p;
      starts++;
      expectingExit = false;
      void p.exited.then((info) => {
        if (expectingExit || proc !== p) return;
        unexpectedExits.push(info);
        w.onUnexpectedExit?.(info);
      });
      const exited = p.exited.then((info) => {
        throw new Error(`worker exited before polling (${JSON.stringify(info)}):\n${p.recentOutput(40)}`);
      });
      await Promise.race([polling, exited, timeout(120_000, 'worker to start polling')]);
    },
    async kill() {
      const p = proc;
      if (!p || p.hasExited()) return undefined;
      expectingExit = true;
      try {
        // The worker runs in its own process group (see spawnManaged): the group is the worker.
        process.kill(-p.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      return p.exited;
    },
    async stop() {
      const p = proc;
      if (!p || p.hasExited()) return;
      expectingExit = true;
      await p.stop(15_000);
    },
  };
  return w;
}

function timeout(ms: number, what: string): Promise<never> {
  return new Promise((_, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    t.unref();
  });
}

export interface ChaosStack {
  lab: Lab;
  db: { client: MongoClient; db: Db; dbName: string; close(): Promise<void> };
  config: Config;
  apiUrl: string;
  key: string;
  worker: WorkerProcess;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  lab_<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

export interface ChaosStackOptions {
  temporalAddress: string;
  namespace: string;
  mongoUri: string;
  dbName: string;
  taskQueue: string;
  /** Worker output goes here. */
  logFile: string;
  labSpeed?: number;
  env?: Record<string, string>;
  /** Keep the database on close (the chaos run reports from it). */
  keepDb?: boolean;
  /** A private copy of dist/ for the worker, so a rebuild during a long run cannot change its code. */
  distDir?: string;
}

/**
 * Lab and API in this process, worker as a child process: the same shape as test/helpers/stack.ts's Stack
 * (so the e2e fleet helpers work on it) plus the worker handle.
 */
export async function startChaosStack(opts: ChaosStackOptions): Promise<ChaosStack> {
  const lab = await createLab({ speed: opts.labSpeed ?? 1 });
  const { client, db } = await connectMongo(opts.mongoUri, opts.dbName);
  const config = loadConfig({
    TEMPORAL_ADDRESS: opts.temporalAddress,
    TEMPORAL_NAMESPACE: opts.namespace,
    PATCHWAVE_TASK_QUEUE: opts.taskQueue,
    MONGODB_URI: opts.mongoUri,
    MONGODB_DB: opts.dbName,
    AWS_ENDPOINT_URL: lab.url,
    AWS_REGION: 'us-east-1',
    AWS_S3_FORCE_PATH_STYLE: 'true',
    PATCHWAVE_HTTP_ALLOWLIST: '127.0.0.1,localhost',
    SSM_POLL_MIN_MS: '200',
    SSM_POLL_MAX_MS: '1000',
    HOOK_TIMEOUT_MS: '20000',
    API_RATE_LIMIT_PER_SEC: '10000',
    API_RATE_LIMIT_BURST: '10000',
    LOG_LEVEL: 'warn',
    ...opts.env,
  });
  process.env.AWS_ACCESS_KEY_ID ??= 'lab';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'lab';

  await new EventRecords(db).ensureIndexes();
  await ensureApiIndexes(db);
  const boot = await ensureBootstrap(new AuthStore(db), config);
  const worker = workerProcess(config, { logFile: opts.logFile, distDir: opts.distDir });
  await worker.start();
  const orchestrator = await createOrchestrator({
    temporalAddress: config.TEMPORAL_ADDRESS,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.PATCHWAVE_TASK_QUEUE,
    db,
  });
  const app = createApp({
    db,
    orchestrator,
    config,
    logger: pino({ level: 'silent' }),
    reports: createReportsPort(db),
  });
  const { server, url: apiUrl } = await listenOnLoopback(app);
  const key = boot.generatedSecret!;

  async function api<T>(method: string, p: string, body?: unknown) {
    const res = await fetch(`${apiUrl}${p}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed as T };
  }
  async function lab_<T>(method: string, p: string, body?: unknown): Promise<T> {
    const res = await fetch(`${lab.url}${p}`, {
      method,
      headers: body !== undefined ? { 'content-type': 'application/json' } : {},
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`lab ${method} ${p}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  const dbHandle = {
    client,
    db,
    dbName: opts.dbName,
    close: async () => {
      if (!opts.keepDb) await db.dropDatabase().catch(() => undefined);
      await client.close();
    },
  };
  return {
    lab,
    db: dbHandle,
    config,
    apiUrl,
    key,
    worker,
    api,
    lab_,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await worker.stop();
      await orchestrator.close();
      await lab.close();
      await dbHandle.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// What the cloud saw

export interface LabCommandSeen {
  command_id: string;
  document_name: string;
  comment: string;
  requested_at: string;
  started_at: string | null;
  ended_at: string | null;
  status: string;
}

const LAB_TERMINAL = new Set(['Success', 'Failed', 'Cancelled', 'TimedOut']);

export interface CommandAudit {
  /** Commands the lab received on the machines looked at. */
  commandsChecked: number;
  /** Machine steps (request keys, as Comment hashes) that got more than one SSM command. */
  duplicates: { ssmMachineId: string; comment: string; commandIds: string[] }[];
  /** Commands the lab received that the store does not know (Patchwave lost track of them). */
  untracked: { ssmMachineId: string; commandId: string }[];
  /** Commands the store recorded that the lab never received. */
  phantom: string[];
  /** Commands still running in the lab, or never marked ended in the store. */
  unfinished: string[];
  overlaps: unknown[];
}

/**
 * Compares what the lab received on `ssmMachineIds` with the `commands` collection: one command per machine
 * step (its Comment is a hash of the step's request key), every command tracked and finished, no overlaps.
 */
export async function auditCommands(
  lab: Pick<ChaosStack, 'lab_'>,
  db: Db,
  ssmMachineIds: string[],
): Promise<CommandAudit> {
  const audit: CommandAudit = {
    commandsChecked: 0,
    duplicates: [],
    untracked: [],
    phantom: [],
    unfinished: [],
    overlaps: [],
  };
  const stored = await db
    .collection<CommandDoc>(COLLECTIONS.commands)
    .find({ ssm_machine_id: { $in: ssmMachineIds } })
    .toArray();
  const storedById = new Map(stored.map((c) => [c._id, c]));
  const seen = new Set<string>();
  for (const ssmId of ssmMachineIds) {
    const cmds = await lab.lab_<LabCommandSeen[]>('GET', `/_lab/machines/${ssmId}/commands`);
    audit.commandsChecked += cmds.length;
    const byComment = new Map<string, string[]>();
    for (const c of cmds) {
      seen.add(c.command_id);
      byComment.set(c.comment, [...(byComment.get(c.comment) ?? []), c.command_id]);
      const doc = storedById.get(c.command_id);
      if (!doc) audit.untracked.push({ ssmMachineId: ssmId, commandId: c.command_id });
      if (!LAB_TERMINAL.has(c.status) || !doc?.ended_at) audit.unfinished.push(c.command_id);
    }
    for (const [comment, ids] of byComment)
      if (ids.length > 1) audit.duplicates.push({ ssmMachineId: ssmId, comment, commandIds: ids });
  }
  audit.phantom = stored.filter((c) => !seen.has(c._id)).map((c) => c._id);
  const overlaps = await lab.lab_<{ machine_id: string }[]>('GET', '/_lab/overlaps');
  audit.overlaps = overlaps.filter((o) => ssmMachineIds.includes(o.machine_id));
  return audit;
}

export interface HookCallAudit {
  /** Hook functions looked at. */
  hooksChecked: number;
  calls: number;
  /** Functions (one per hook step) called more than once. */
  repeated: { name: string; calls: string[] }[];
}

/** Each lab function stands for exactly one hook step: more than one invocation means it was called twice. */
export async function auditHookCalls(
  lab: Pick<ChaosStack, 'lab_'>,
  fns: { kind: 'lambdas' | 'azure'; name: string }[],
): Promise<HookCallAudit> {
  const out: HookCallAudit = { hooksChecked: fns.length, calls: 0, repeated: [] };
  for (const f of fns) {
    const inv = await lab.lab_<{ received_at: string }[]>('GET', `/_lab/${f.kind}/${f.name}/invocations`);
    out.calls += inv.length;
    if (inv.length > 1) out.repeated.push({ name: f.name, calls: inv.map((i) => i.received_at) });
  }
  return out;
}
