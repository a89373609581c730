/**
 * The whole product for an end-to-end test: the fleet lab, a worker on its own task queue, and the real
 * API with the real Temporal orchestrator, on the run's Temporal dev server and FerretDB/MongoDB.
 * Nothing is faked: AWS calls go through the real SDK clients to the lab.
 */
import pino from 'pino';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createLab, type Lab, type LabFleet } from '../../lab/server';
import { createApp } from '../../api/app';
import { ensureBootstrap } from '../../api/bootstrap';
import { createOrchestrator } from '../../api/orchestrator';
import { loadConfig, type Config } from '../../common/config';
import { AuthStore } from '../../store/auth';
import { ensureApiIndexes } from '../../store/indexes';
import { createReportsPort } from '../../store/reports';
import { createPatchwaveWorker, type PatchwaveWorker } from '../../worker/create-worker';
import { openTestDb, testEnv, type TestDb } from './servers';
import { listenOnLoopback } from '../../api/listen';

export interface Stack {
  lab: Lab;
  db: TestDb;
  config: Config;
  apiUrl: string;
  key: string;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  lab_<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

let runtimeInstalled = false;

export async function startStack(
  name: string,
  opts: { labSpeed?: number; env?: Record<string, string>; fleet?: LabFleet } = {},
): Promise<Stack> {
  const env = testEnv();
  if (!runtimeInstalled) {
    // One runtime per test process; keep the worker quiet unless something is wrong.
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      /* already installed by another helper in this process */
    }
    runtimeInstalled = true;
  }
  const lab = await createLab({ speed: opts.labSpeed ?? 1, fleet: opts.fleet });
  const db = await openTestDb(name);
  const config = loadConfig({
    TEMPORAL_ADDRESS: env.temporalAddress,
    TEMPORAL_NAMESPACE: env.temporalNamespace,
    PATCHWAVE_TASK_QUEUE: env.uniqueTaskQueue(name),
    MONGODB_URI: env.mongoUri,
    MONGODB_DB: db.dbName,
    AWS_ENDPOINT_URL: lab.url,
    AWS_REGION: 'us-east-1',
    AWS_S3_FORCE_PATH_STYLE: 'true',
    PATCHWAVE_BASELINE_BUCKET: 'patchwave-baselines',
    PATCHWAVE_HTTP_ALLOWLIST: '127.0.0.1,localhost',
    SSM_POLL_MIN_MS: '200',
    SSM_POLL_MAX_MS: '1000',
    HOOK_TIMEOUT_MS: '20000',
    API_RATE_LIMIT_PER_SEC: '10000',
    API_RATE_LIMIT_BURST: '10000',
    LOG_LEVEL: 'silent',
    // A development signing secret, as `npm run dev` generates one: webhooks without a secret_ref are signed with it.
    PATCHWAVE_WEBHOOK_SECRET: 'test-stack-webhook-signing-secret',
    ...opts.env,
  });
  process.env.AWS_ACCESS_KEY_ID ??= 'lab';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'lab';

  const worker: PatchwaveWorker = await createPatchwaveWorker({ config, db: db.db });
  void worker.run();
  await ensureApiIndexes(db.db);
  const boot = await ensureBootstrap(new AuthStore(db.db), config);
  const orchestrator = await createOrchestrator({
    temporalAddress: config.TEMPORAL_ADDRESS,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.PATCHWAVE_TASK_QUEUE,
    db: db.db,
  });
  const app = createApp({
    db: db.db,
    orchestrator,
    config,
    logger: pino({ level: 'silent' }),
    reports: createReportsPort(db.db),
  });
  const { server, url: apiUrl } = await listenOnLoopback(app);
  const key = boot.generatedSecret!;

  async function api<T>(method: string, path: string, body?: unknown) {
    const res = await fetch(`${apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }
  async function lab_<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${lab.url}${path}`, {
      method,
      headers: body !== undefined ? { 'content-type': 'application/json' } : {},
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`lab ${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  return {
    lab,
    db,
    config,
    apiUrl,
    key,
    api,
    lab_,
    async close() {
      await new Promise<void>((r) => server.close(() => r()));
      await worker.shutdown();
      await orchestrator.close();
      await lab.close();
      await db.close();
    },
  };
}

/** An ad-hoc event of a plan with an exact window (POST /api/v1/events); fails the test unless it is created. */
export async function createAdHocEvent(
  stack: Stack,
  planId: string,
  startMs: number,
  endMs: number,
): Promise<string> {
  const e = await stack.api<{ id: string }>('POST', '/api/v1/events', {
    plan_id: planId,
    start: new Date(startMs).toISOString(),
    end: new Date(endMs).toISOString(),
  });
  if (e.status !== 201)
    throw new Error(`POST /api/v1/events answered ${e.status}: ${JSON.stringify(e.body)}`);
  return e.body.id;
}

/** Polls `probe` until it returns a value (not undefined), or fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const FINISHED = ['DONE', 'DONE_MANUAL', 'DONE_PARTIAL', 'DONE_ERROR', 'DONE_ERROR_MANUAL'];

export interface EventView {
  id: string;
  status: string;
  start: string;
  end: string;
  machines: {
    machine_id: string;
    status: string;
    command_id?: string;
    hooks: { name: string; code: number; message: string; output: string }[];
    reason?: string;
    installed?: string[];
  }[];
  hooks: { name: string; code: number; message: string; output: string }[];
  timeline: unknown[];
}

export async function waitForEventStatus(
  stack: Stack,
  eventId: string,
  statuses: string[] = FINISHED,
  timeoutMs = 90_000,
): Promise<EventView> {
  return waitFor(
    `event ${eventId} to reach ${statuses.join('|')}`,
    async () => {
      const r = await stack.api<EventView>('GET', `/api/v1/events/${eventId}`);
      return r.status === 200 && statuses.includes(r.body.status) ? r.body : undefined;
    },
    timeoutMs,
  );
}

/** A fresh EC2-style managed instance ID (`i-` + 17 hex digits). */
export function newSsmId(): string {
  return `i-${Array.from({ length: 17 }, () => Math.floor(Math.random() * 16).toString(16)).join('')}`;
}
