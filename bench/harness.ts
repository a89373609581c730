/**
 * What every benchmark scenario stands on: a fresh database, a fresh fleet lab and ONE fresh worker (its own
 * task queue, and its own process when measuring) on the shared Temporal and MongoDB-protocol servers; the
 * real orchestrator (api/orchestrator.ts) to start events; fleet and plan seeding straight into the store.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { Db, MongoClient } from 'mongodb';
import { createLab, type Lab } from '../lab/server';
import { generatedIds } from '../lab/schemas';
import { createOrchestrator } from '../api/orchestrator';
import type { Actor } from '../api/orchestrator-port';
import { loadConfig, type Config } from '../common/config';
import { newId } from '../common/ids';
import { connectMongo, COLLECTIONS } from '../store/db';
import { EventRecords, type EventDoc } from '../store/event-records';
import { ensureApiIndexes } from '../store/indexes';
import { PlanStore } from '../store/plans';
import { PlanInput } from '../domain/plan';
import { eventIdFor } from '../domain/event';
import { forkWorker, inlineWorker, type WorkerHost } from './worker-host';
import { procTreeUsage, type ProcessUsage } from './worker-usage';

export interface BenchEnv {
  temporalAddress: string;
  namespace: string;
  mongoUri: string;
  /** 'process' measures the worker exactly; 'inline' is for the CI smoke run (no compiled code needed). */
  worker: { mode: 'process'; script: string; bundlePath?: string; overrides?: object } | { mode: 'inline' };
  /** Scratch: worker logs, CPU profiles. */
  workDir: string;
  /** Server processes this run started, so their CPU can be shown beside the worker's. */
  serverPids?: { temporal?: number; mongo?: number };
  /** Temporal server log to scan for history-limit warnings (only when this run started the server). */
  temporalLogFile?: string;
  /**
   * Worker processes per scenario, all polling the scenario's one task queue (default 1; 'process' mode only).
   * With more than one, event runs measure how the machine runs were spread over them (bench/worker-spread.ts).
   */
  workers?: number;
  /** Write a V8 CPU profile of the worker of these scenarios (names), into workDir/profiles. */
  profile?: string[];
  log?: (line: string) => void;
}

export const CUSTOMER = 'cus_bench';
export const ACTOR: Actor = { customer_id: CUSTOMER, api_key_id: 'key_bench' };
export const LAMBDA_ARN = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;

export interface BenchStack {
  name: string;
  env: BenchEnv;
  lab: Lab;
  db: Db;
  mongo: MongoClient;
  config: Config;
  client: Client;
  orchestrator: Awaited<ReturnType<typeof createOrchestrator>>;
  /** The scenario's worker; with several (BenchEnv.workers), all of them together (CPU summed). */
  worker: WorkerHost;
  /** Each worker process, and the identity it reports to Temporal (BENCH_WORKER_IDENTITY). */
  workers: { host: WorkerHost; identity: string }[];
  /** Lab seconds per real second. */
  speed: number;
  /** CPU of the servers and of this process when the stack opened. */
  /** Usage when the stack opened (the worker's after its start-up, which is not charged to the scenario). */
  baseline: { self: ProcessUsage; worker: ProcessUsage; temporal?: ProcessUsage; mongo?: ProcessUsage };
  close(): Promise<void>;
}

const suffix = () => randomBytes(4).toString('hex');

/**
 * Polling settings are real milliseconds; the lab runs `speed` times faster than real time. Scaling the
 * defaults (2 s → 60 s) by the speed makes the AWS call counts what they would be at real speed.
 */
export function scaledSsmEnv(speed: number): Record<string, string> {
  return {
    SSM_POLL_MIN_MS: String(Math.max(1, Math.round(2_000 / speed))),
    SSM_POLL_MAX_MS: String(Math.max(1, Math.round(60_000 / speed))),
    SSM_UNKNOWN_GRACE_MS: String(Math.max(1, Math.round(300_000 / speed))),
  };
}

export async function openStack(
  env: BenchEnv,
  opts: {
    name: string;
    speed: number;
    workerEnv?: Record<string, string>;
    /** Prepares the lab before the worker starts; returns more worker environment (e.g. a lab queue URL). */
    labSetup?: (lab: Lab) => Record<string, string>;
  },
): Promise<BenchStack> {
  const name = `${opts.name}-${suffix()}`;
  const self0 = selfUsage();
  const lab = await createLab({ speed: opts.speed });
  const labEnv = opts.labSetup?.(lab) ?? {};
  const dbName = `bench_${opts.name.replace(/[^a-z0-9]/gi, '_').slice(0, 30)}_${suffix()}`;
  const { client: mongo, db } = await connectMongo(env.mongoUri, dbName);
  const configEnv: Record<string, string> = {
    TEMPORAL_ADDRESS: env.temporalAddress,
    TEMPORAL_NAMESPACE: env.namespace,
    PATCHWAVE_TASK_QUEUE: `bench-${name}`,
    MONGODB_URI: env.mongoUri,
    MONGODB_DB: dbName,
    AWS_ENDPOINT_URL: lab.url,
    AWS_REGION: 'us-east-1',
    AWS_S3_FORCE_PATH_STYLE: 'true',
    PATCHWAVE_HTTP_ALLOWLIST: '127.0.0.1,localhost',
    LOG_LEVEL: 'warn',
    ...scaledSsmEnv(opts.speed),
    ...opts.workerEnv,
    ...labEnv,
  };
  const config = loadConfig(configEnv);
  process.env.AWS_ACCESS_KEY_ID ??= 'lab';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'lab';
  await Promise.all([new EventRecords(db).ensureIndexes(), ensureApiIndexes(db)]);

  let workers: { host: WorkerHost; identity: string }[];
  if (env.worker.mode === 'process') {
    const w = env.worker;
    const profiling = env.profile?.includes(opts.name);
    // One directory per scenario: the main thread and the workflow threads each write a profile.
    const profileDir = path.join(env.workDir, 'profiles', opts.name);
    if (profiling) fs.mkdirSync(profileDir, { recursive: true });
    const count = Math.max(1, Math.floor(env.workers ?? 1));
    workers = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const identity = `bench-worker-${i + 1}-${name}`;
        const host = await forkWorker({
          script: w.script,
          env: {
            ...process.env,
            ...configEnv,
            AWS_ACCESS_KEY_ID: 'lab',
            AWS_SECRET_ACCESS_KEY: 'lab',
            BENCH_WORKER_IDENTITY: identity,
            ...(w.bundlePath ? { BENCH_WORKFLOW_BUNDLE: w.bundlePath } : {}),
            ...(w.overrides ? { BENCH_WORKER_OVERRIDES: JSON.stringify(w.overrides) } : {}),
            // A profiled scenario also traces the worker's store commands (bench/store-trace.ts).
            ...(profiling ? { BENCH_STORE_TRACE: path.join(profileDir, `store-${i + 1}.json`) } : {}),
          },
          execArgv: profiling ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
          logFile: path.join(env.workDir, `worker-${name}${count > 1 ? `-${i + 1}` : ''}.log`),
        });
        return { host, identity };
      }),
    );
  } else {
    workers = [{ host: await inlineWorker(config, db), identity: '' }];
  }
  const worker = workers.length === 1 ? workers[0].host : allWorkers(workers.map((x) => x.host));
  const orchestrator = await createOrchestrator({
    temporalAddress: env.temporalAddress,
    namespace: env.namespace,
    taskQueue: config.PATCHWAVE_TASK_QUEUE,
    db,
  });
  const connection = await Connection.connect({ address: env.temporalAddress });
  const client = new Client({ connection, namespace: env.namespace });
  const baseline = {
    self: self0,
    worker: await worker.usage(),
    temporal: env.serverPids?.temporal ? procTreeUsage(env.serverPids.temporal) : undefined,
    mongo: env.serverPids?.mongo ? procTreeUsage(env.serverPids.mongo) : undefined,
  };
  let closed = false;
  return {
    name,
    env,
    lab,
    db,
    mongo,
    config,
    client,
    orchestrator,
    worker,
    workers,
    speed: opts.speed,
    baseline,
    async close() {
      if (closed) return;
      closed = true;
      await worker.stop().catch(() => undefined);
      await orchestrator.close();
      await connection.close();
      await lab.close();
      // Scenario databases are big and never read again.
      await db.dropDatabase().catch(() => undefined);
      await mongo.close();
    },
  };
}

/** Several worker processes as one: CPU and memory summed (each process's peak, added). */
function allWorkers(hosts: WorkerHost[]): WorkerHost {
  const sum = (us: ProcessUsage[]): ProcessUsage => {
    const add = (k: 'cpu_user_s' | 'cpu_system_s' | 'cpu_s' | 'peak_rss_mib' | 'rss_mib') =>
      us.reduce((t, u) => t + u[k], 0);
    const heaps = us.map((u) => u.peak_heap_used_mib).filter((h): h is number => h !== undefined);
    return {
      cpu_user_s: add('cpu_user_s'),
      cpu_system_s: add('cpu_system_s'),
      cpu_s: add('cpu_s'),
      peak_rss_mib: add('peak_rss_mib'),
      rss_mib: add('rss_mib'),
      ...(heaps.length ? { peak_heap_used_mib: heaps.reduce((a, b) => a + b, 0) } : {}),
    };
  };
  return {
    mode: hosts[0].mode,
    pid: hosts[0].pid,
    usage: async () => sum(await Promise.all(hosts.map((h) => h.usage()))),
    stop: async () => sum(await Promise.all(hosts.map((h) => h.stop()))),
  };
}

export function selfUsage(): ProcessUsage {
  const r = process.resourceUsage();
  return {
    cpu_user_s: r.userCPUTime / 1e6,
    cpu_system_s: r.systemCPUTime / 1e6,
    cpu_s: (r.userCPUTime + r.systemCPUTime) / 1e6,
    peak_rss_mib: r.maxRSS / 1024,
    rss_mib: process.memoryUsage().rss / 2 ** 20,
  };
}

export interface CommandBehaviour {
  duration_s: number;
  outcome?: 'success' | 'no_updates' | 'failed';
}

export interface SeededMachine {
  id: string;
  ssmId: string;
}

/** Loads `count` online Linux machines into the lab, each running `command`; returns their SSM ids. */
export function loadLabFleet(
  lab: Lab,
  count: number,
  command: CommandBehaviour | CommandBehaviour[],
  prefix = 'i-0b',
): string[] {
  // A list: each SSM command a machine receives takes its next entry (the last one repeats).
  const behaviour = {
    platform: 'Linux' as const,
    online: true,
    commands: (Array.isArray(command) ? command : [command]).map((c) => ({
      outcome: 'success' as const,
      ...c,
    })),
  };
  lab.state.loadFleet({ generate: { count, prefix, behaviour } });
  return generatedIds({ count, prefix });
}

/** `count` lab machines and their Patchwave machine records (stored directly, as the API would store them). */
export async function seedMachines(
  stack: BenchStack,
  count: number,
  command: CommandBehaviour | CommandBehaviour[],
  prefix = 'i-0b',
): Promise<SeededMachine[]> {
  const ssmIds = loadLabFleet(stack.lab, count, command, prefix);
  const now = new Date().toISOString();
  const machines = ssmIds.map((ssmId) => ({ id: newId('mch'), ssmId }));
  const docs = machines.map((m, i) => ({
    _id: m.id,
    customer_id: CUSTOMER,
    name: `bench-${i}`,
    provider: 'AWS',
    metadata: [],
    access: { ssm_machine_id: m.ssmId, region: 'us-east-1' },
    reboot_policy: 'NEVER',
    created_at: now,
    updated_at: now,
  }));
  const coll = stack.db.collection<Record<string, unknown> & { _id: string }>(COLLECTIONS.machines);
  for (let i = 0; i < docs.length; i += 1000)
    await coll.insertMany(docs.slice(i, i + 1000), { ordered: false });
  return machines;
}

export interface PlanShape {
  machines: SeededMachine[];
  maxConcurrency?: number;
  /** Lambda function names (the lab answers success at once). */
  globalHooks?: { pre: string[]; post: string[] };
  hostHooks?: { pre: string[]; post: string[] };
}

export async function seedPlan(stack: BenchStack, shape: PlanShape): Promise<string> {
  const lambda = (name: string) => ({ type: 'lambda' as const, source: LAMBDA_ARN(name) });
  const input = PlanInput.parse({
    name: `bench-${suffix()}`,
    cron: '0 3 * * 0',
    window_hours: 6,
    machines: shape.machines.map((m) => ({
      machine_id: m.id,
      pre_host_hooks: (shape.hostHooks?.pre ?? []).map(lambda),
      post_host_hooks: (shape.hostHooks?.post ?? []).map(lambda),
    })),
    pre_hooks: (shape.globalHooks?.pre ?? []).map(lambda),
    post_hooks: (shape.globalHooks?.post ?? []).map(lambda),
    ...(shape.maxConcurrency ? { max_concurrency: shape.maxConcurrency } : {}),
    // A plan nobody schedules: the benchmark starts its events itself.
    enabled: false,
  });
  const id = newId('pln');
  const now = new Date().toISOString();
  await stack.db.collection<Record<string, unknown> & { _id: string }>(COLLECTIONS.plans).insertOne({
    ...PlanStore.withDerived(input),
    _id: id,
    customer_id: CUSTOMER,
    created_at: now,
    updated_at: now,
  });
  return id;
}

/**
 * Creates one event per plan whose window opens `leadMs` from now (on a whole second), through the real
 * orchestrator. Opening the window in the future makes "window open → first command" a real measurement:
 * the event workflow sleeps until the start like a scheduled event does.
 */
export async function createEvents(
  stack: BenchStack,
  planIds: string[],
  leadMs = 3_000,
): Promise<{ eventIds: string[]; windowStartMs: number }> {
  const windowStartMs = Math.ceil((Date.now() + leadMs) / 1000) * 1000;
  const start = new Date(windowStartMs).toISOString();
  const end = new Date(windowStartMs + 6 * 3600_000).toISOString();
  const eventIds = await Promise.all(
    planIds.map(async (planId) => {
      const rec = await stack.orchestrator.createEvent(planId, start, end, ACTOR);
      if (rec.id !== eventIdFor(planId, start)) throw new Error(`unexpected event id ${rec.id}`);
      return rec.id;
    }),
  );
  if (Date.now() >= windowStartMs)
    stack.env.log?.(`  warning: events were created after their window opened; raise the lead time`);
  return { eventIds, windowStartMs };
}

const FINISHED = ['DONE', 'DONE_MANUAL', 'DONE_PARTIAL', 'DONE_ERROR', 'DONE_ERROR_MANUAL'];
const MACHINE_DONE = [
  'SUCCESS',
  'SUCCESS_NO_UPDATES',
  'FAILED',
  'NOT_AVAILABLE',
  'TIMED_OUT',
  'NOT_IN_TIME_WINDOW',
  'OMITTED',
  'ERROR',
  'EXCLUDED',
];

/** Waits (polling the store, never sleeping a fixed time) until every event has its final status. */
export async function waitForEvents(
  stack: BenchStack,
  eventIds: string[],
  opts: { timeoutMs: number; total: number },
): Promise<void> {
  const events = stack.db.collection<EventDoc>(COLLECTIONS.events);
  const deadline = Date.now() + opts.timeoutMs;
  let lastReport = Date.now();
  for (;;) {
    const docs = await events.find({ _id: { $in: eventIds } }, { projection: { status: 1 } }).toArray();
    const done = docs.filter((d) => FINISHED.includes(d.status)).length;
    if (done === eventIds.length) return;
    if (Date.now() - lastReport > 15_000) {
      lastReport = Date.now();
      const machinesDone = await stack.db
        .collection(COLLECTIONS.eventMachines)
        .countDocuments({ event_id: { $in: eventIds }, status: { $in: MACHINE_DONE } });
      stack.env.log?.(
        `  … ${done}/${eventIds.length} events finished, ${machinesDone}/${opts.total} machines`,
      );
    }
    if (Date.now() > deadline) {
      const statuses = docs.map((d) => d.status).join(', ');
      throw new Error(
        `events not finished after ${Math.round(opts.timeoutMs / 1000)} s (statuses: ${statuses})`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export { FINISHED, MACHINE_DONE };
