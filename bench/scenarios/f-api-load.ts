/**
 * (f) The read API under load: GET /api/v1/events and GET /api/v1/events/:id over a store holding many events
 * (written in bulk, shaped as activities/events.ts writes them), at a fixed request rate from autocannon.
 */
import type { Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { createApp } from '../../api/app';
import { ensureBootstrap } from '../../api/bootstrap';
import { createOrchestrator } from '../../api/orchestrator';
import { loadConfig } from '../../common/config';
import { connectMongo, COLLECTIONS } from '../../store/db';
import {
  EventRecords,
  machineDocId,
  type EventDoc,
  type EventMachineDoc,
  type SnapshotDoc,
  type TimelineDoc,
} from '../../store/event-records';
import { EventQueries } from '../../store/event-queries';
import { ensureApiIndexes } from '../../store/indexes';
import { withEventKeys } from '../../store/event-keys';
import { AuthStore } from '../../store/auth';
import { createReportsPort } from '../../store/reports';
import { eventIdFor, workflowIds } from '../../domain/event';
import type { BenchEnv } from '../harness';
import { check, round, type TargetCheck } from './common';
import { listenOnLoopback } from '../../api/listen';

export interface ApiLoadParams {
  events: number;
  machinesPerEvent: number;
  plans: number;
  /** Requests per second, per endpoint. */
  rate: number;
  durationS: number;
}

export interface EndpointResult {
  name: string;
  requests: number;
  non2xx: number;
  errors: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Too slow for the load run: a few requests one after another were measured instead. */
  sequential_only?: boolean;
  /**
   * Where one request's time goes, measured with nothing else running: the request over HTTP one at a time
   * (API + store), the same read through the store's query class alone (the store's share), and the API key's
   * look-up from the store (done once per key per PRINCIPAL_TTL_MS, not per request). ms.
   */
  alone?: { n: number; http: Pct; store: Pct; auth: Pct };
}

export interface Pct {
  p50: number;
  p99: number;
}

function pct(times: number[]): Pct {
  const t = [...times].sort((a, b) => a - b);
  const at = (q: number) => Math.round(t[Math.min(t.length - 1, Math.floor(q * t.length))] * 10) / 10;
  return { p50: at(0.5), p99: at(0.99) };
}

async function timeEach(n: number, call: (i: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call(i);
    times.push(performance.now() - t);
  }
  return times;
}

const PROBE_LIMIT_MS = 1_000;

async function probeLatency(url: string, key: string, next: () => string, n: number) {
  const times: number[] = [];
  let non2xx = 0;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = await fetch(`${url}${next()}`, { headers: { authorization: `Bearer ${key}` } });
    await r.arrayBuffer();
    times.push(performance.now() - t);
    if (r.status < 200 || r.status >= 300) non2xx++;
  }
  times.sort((a, b) => a - b);
  return { n, non2xx, p50: Math.round(times[Math.floor(n / 2)]), max: Math.round(times[n - 1]) };
}

export interface ApiLoadResult {
  scenario: string;
  title: string;
  started_at: string;
  wall_s: number;
  stored_events: number;
  stored_machines: number;
  seed_s: number;
  rate: number;
  duration_s: number;
  endpoints: EndpointResult[];
  targets: TargetCheck[];
}

const OTHER_CUSTOMER = 'cus_apibench_other';
const STATUSES = [
  'DONE',
  'DONE',
  'DONE',
  'DONE_ERROR',
  'DONE_PARTIAL',
  'NEW',
  'NOT_APPROVED',
  'DELETED',
] as const;

export const apiLoadParams = (scale: number): ApiLoadParams => ({
  events: Math.max(100, Math.round(100_000 * scale)),
  machinesPerEvent: 2,
  plans: Math.max(5, Math.round(500 * scale)),
  rate: 100,
  durationS: scale >= 0.5 ? 30 : 5,
});

/** Events one hour apart per plan, over the plans; a tenth belong to another customer (tenancy filter). */
async function seed(
  db: import('mongodb').Db,
  p: ApiLoadParams,
  customerId: string,
): Promise<{ sampleIds: string[]; machines: number }> {
  const t0 = Date.parse('2024-01-01T00:00:00Z');
  const sampleIds: string[] = [];
  let machines = 0;
  const batch = 1000;
  for (let i = 0; i < p.events; i += batch) {
    const events: EventDoc[] = [];
    const ms: EventMachineDoc[] = [];
    const tl: TimelineDoc[] = [];
    const snaps: SnapshotDoc[] = [];
    for (let j = i; j < Math.min(p.events, i + batch); j++) {
      const planId = `pln_bench${String(j % p.plans).padStart(5, '0')}`;
      const startMs = t0 + Math.floor(j / p.plans) * 3600_000 + (j % 60) * 60_000;
      const start = new Date(startMs).toISOString();
      const end = new Date(startMs + 2 * 3600_000).toISOString();
      const id = eventIdFor(planId, start);
      const customer = j % 10 === 9 ? OTHER_CUSTOMER : customerId;
      const status = STATUSES[j % STATUSES.length];
      const finished = status.startsWith('DONE');
      if (customer === customerId && j % 97 === 0) sampleIds.push(id);
      const snapMachines = Array.from({ length: p.machinesPerEvent }, (_, k) => ({
        machine_id: `mch_bench${String((j * p.machinesPerEvent + k) % 5000).padStart(5, '0')}`,
        name: `web-${k}`,
        ssm_machine_id: `i-0${randomBytes(8).toString('hex').slice(0, 16)}`,
        region: 'eu-west-1',
        order: k,
        pre_host_hooks: [],
        post_host_hooks: [],
      }));
      events.push(
        withEventKeys({
          _id: id,
          customer_id: customer,
          plan_id: planId,
          plan_name: `plan ${j % p.plans}`,
          origin: 'schedule',
          start,
          end,
          status,
          workflow_id: workflowIds.event(id),
          hooks: [],
          failure_reasons: status === 'DONE_ERROR' ? ['machine web-0 FAILED'] : [],
          run_no: 0,
          ...(finished ? { started_at: start, finished_at: new Date(startMs + 1800_000).toISOString() } : {}),
          created_at: start,
          updated_at: start,
        } as EventDoc),
      );
      // As the product stores it: the plan snapshot apart from the event (store/event-records.ts getEvent).
      snaps.push({
        _id: id,
        snapshot: {
          plan_id: planId,
          plan_name: `plan ${j % p.plans}`,
          window_hours: 2,
          pre_hooks: [],
          post_hooks: [],
          notification_groups: [],
          machines: snapMachines,
        },
      });
      if (!finished) continue;
      snapMachines.forEach((m, k) => {
        machines++;
        ms.push({
          _id: machineDocId(id, m.machine_id),
          event_id: id,
          customer_id: customer,
          machine_id: m.machine_id,
          name: m.name,
          ssm_machine_id: m.ssm_machine_id,
          order: m.order,
          status: status === 'DONE_ERROR' && k === 0 ? 'FAILED' : 'SUCCESS',
          started_at: start,
          ended_at: new Date(startMs + 900_000).toISOString(),
          command_id: randomBytes(16).toString('hex'),
          installed: ['openssl-3.0.13'],
          hooks: [],
          run_no: 0,
          updated_at: start,
        } as EventMachineDoc);
        tl.push({
          _id: `${id}/machine/${m.machine_id}/0/end`,
          event_id: id,
          seq: startMs + 900_000,
          at: new Date(startMs + 900_000).toISOString(),
          type: 'machine_finished',
          machine_id: m.machine_id,
          message: `machine ${m.machine_id}: SUCCESS`,
        } as TimelineDoc);
      });
      tl.push({
        _id: `${id}/created`,
        event_id: id,
        seq: startMs,
        at: start,
        type: 'created',
        message: 'event created as NEW',
      } as TimelineDoc);
    }
    // Seeded straight into the collections: the store has no bulk-insert of finished events, nor should it.
    await db.collection<EventDoc>(COLLECTIONS.events).insertMany(events, { ordered: false });
    await db.collection<SnapshotDoc>(COLLECTIONS.eventSnapshots).insertMany(snaps, { ordered: false });
    if (ms.length)
      await db.collection<EventMachineDoc>(COLLECTIONS.eventMachines).insertMany(ms, { ordered: false });
    if (tl.length) await db.collection<TimelineDoc>(COLLECTIONS.timeline).insertMany(tl, { ordered: false });
  }
  return { sampleIds, machines };
}

interface AutocannonResult {
  requests: { total: number };
  non2xx: number;
  errors: number;
  latency: { p50: number; p90: number; p99: number; max: number };
}

type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

/**
 * autocannon in a worker thread of its own (`workers: 1`), so the load generator does not share the API's event
 * loop (clients are elsewhere in a real deployment); the paths are cycled in order per connection.
 */
async function load(
  url: string,
  key: string,
  rate: number,
  durationS: number,
  paths: string[],
): Promise<AutocannonResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const autocannon = require('autocannon') as Autocannon;
  return autocannon({
    url,
    connections: 10,
    workers: 1,
    overallRate: rate,
    duration: durationS,
    headers: { authorization: `Bearer ${key}` },
    requests: paths.map((path) => ({ method: 'GET', path })),
  });
}

export async function runApiLoad(env: BenchEnv, p: ApiLoadParams): Promise<ApiLoadResult> {
  const t0 = Date.now();
  const log = env.log ?? (() => undefined);
  const dbName = `bench_api_${randomBytes(4).toString('hex')}`;
  const { client, db } = await connectMongo(env.mongoUri, dbName);
  const config = loadConfig({
    TEMPORAL_ADDRESS: env.temporalAddress,
    TEMPORAL_NAMESPACE: env.namespace,
    PATCHWAVE_TASK_QUEUE: `bench-api-${randomBytes(4).toString('hex')}`,
    MONGODB_URI: env.mongoUri,
    MONGODB_DB: dbName,
    // The API's own per-key rate limit (default 50/s) would answer 429 to the load itself.
    API_RATE_LIMIT_PER_SEC: '100000',
    API_RATE_LIMIT_BURST: '100000',
    LOG_LEVEL: 'silent',
  });
  const orchestrator = await createOrchestrator({
    temporalAddress: env.temporalAddress,
    namespace: env.namespace,
    taskQueue: config.PATCHWAVE_TASK_QUEUE,
    db,
  });
  let server: Server | undefined;
  try {
    await Promise.all([new EventRecords(db).ensureIndexes(), ensureApiIndexes(db)]);
    const boot = await ensureBootstrap(new AuthStore(db), config);
    log(`  seeding ${p.events} events (${p.machinesPerEvent} machines each) …`);
    const s0 = Date.now();
    const seeded = await seed(db, p, boot.customerId);
    const seedS = round((Date.now() - s0) / 1000, 1);
    log(`  seeded in ${seedS} s`);
    const app = createApp({
      db,
      orchestrator,
      config,
      logger: pino({ level: 'silent' }),
      reports: createReportsPort(db),
    });
    const served = await listenOnLoopback(app);
    server = served.server;
    const url = served.url;
    const key = boot.generatedSecret!;
    const sanity = await fetch(`${url}/api/v1/events?limit=1`, {
      headers: { authorization: `Bearer ${key}` },
    });
    if (sanity.status !== 200)
      throw new Error(`GET /api/v1/events answered ${sanity.status}: ${await sanity.text()}`);

    let i = 0;
    const months = ['2024-01', '2024-02', '2024-03', '2024-04', '2024-05', '2024-06'];
    const listPath = () => {
      i++;
      // Mostly the first page (the UI's default view), some date ranges and status filters.
      if (i % 4 === 1)
        return `/api/v1/events?limit=50&from=${months[i % months.length]}-01T00:00:00Z&to=${months[i % months.length]}-08T00:00:00Z`;
      if (i % 4 === 2) return `/api/v1/events?limit=50&status=DONE_ERROR`;
      return '/api/v1/events?limit=50';
    };
    const detailPath = () =>
      `/api/v1/events/${encodeURIComponent(seeded.sampleIds[i++ % seeded.sampleIds.length])}`;
    // Where the time goes: each endpoint's first page / detail alone over HTTP, then the store's part alone.
    const queries = new EventQueries(db);
    const auth = new AuthStore(db);
    const ALONE = 50;
    // From the store each time (the API does this once per key per PRINCIPAL_TTL_MS, then reuses it).
    const authAlone = pct(
      await timeEach(ALONE, () => {
        auth.forgetPrincipals();
        return auth.authenticate(key);
      }),
    );
    const get = (path: string) =>
      fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.arrayBuffer());
    const sample = (k: number) => seeded.sampleIds[k % seeded.sampleIds.length];
    const alone = {
      'GET /api/v1/events': {
        n: ALONE,
        http: pct(await timeEach(ALONE, () => get('/api/v1/events?limit=50'))),
        store: pct(await timeEach(ALONE, () => queries.list(boot.customerId, {}, 50))),
        auth: authAlone,
      },
      'GET /api/v1/events/:id': {
        n: ALONE,
        http: pct(await timeEach(ALONE, (k) => get(`/api/v1/events/${encodeURIComponent(sample(k))}`))),
        store: pct(await timeEach(ALONE, (k) => queries.get(boot.customerId, sample(k)))),
        auth: authAlone,
      },
    };
    for (const [name, a] of Object.entries(alone))
      log(
        `  ${name} alone: HTTP p50 ${a.http.p50} ms / p99 ${a.http.p99} ms; store p50 ${a.store.p50} ms / p99 ${a.store.p99} ms; the key's look-up from the store (once per key per 2 s) p50 ${a.auth.p50} ms / p99 ${a.auth.p99} ms`,
      );
    const endpoints: EndpointResult[] = [];
    for (const [name, next] of [
      ['GET /api/v1/events', listPath],
      ['GET /api/v1/events/:id', detailPath],
    ] as const) {
      // A store that needs seconds per request would only queue up thousands of requests: measure a few alone.
      const probe = await probeLatency(url, key, next, 5);
      if (probe.p50 > PROBE_LIMIT_MS) {
        log(`  ${name}: ${probe.p50} ms per request alone; no load run`);
        endpoints.push({
          name,
          requests: probe.n,
          non2xx: probe.non2xx,
          errors: 0,
          p50: probe.p50,
          p90: probe.max,
          p99: probe.max,
          max: probe.max,
          sequential_only: true,
          alone: alone[name],
        });
        continue;
      }
      log(`  ${name}: ${p.rate} req/s for ${p.durationS} s`);
      const r = await load(
        url,
        key,
        p.rate,
        p.durationS,
        Array.from({ length: 240 }, () => next()),
      );
      endpoints.push({
        name,
        requests: r.requests.total,
        non2xx: r.non2xx,
        errors: r.errors,
        p50: r.latency.p50,
        p90: r.latency.p90,
        p99: r.latency.p99,
        max: r.latency.max,
        alone: alone[name],
      });
      log(
        `  ${name}: p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, ${r.non2xx} non-2xx, ${r.errors} errors`,
      );
    }
    return {
      scenario: 'f-api-load',
      title: '(f) API under load: GET /api/v1/events and /api/v1/events/:id',
      started_at: new Date(t0).toISOString(),
      wall_s: round((Date.now() - t0) / 1000, 1),
      stored_events: p.events,
      stored_machines: seeded.machines,
      seed_s: seedS,
      rate: p.rate,
      duration_s: p.durationS,
      endpoints,
      // Met only when the offered rate was answered: a store too slow to answer anything in the run leaves
      // autocannon with no latencies at all (p99 0), which is no pass (seen on FerretDB/PostgreSQL).
      targets: endpoints.map((e) => {
        const answered = e.requests >= 0.9 * p.rate * p.durationS;
        return check(
          `${e.name} p99 < 50 ms at ${p.rate} req/s`,
          `p50 ${e.p50} ms, p99 ${e.p99} ms, ${e.requests} of ${p.rate * p.durationS} requests answered`,
          e.p99 < 50 && e.non2xx === 0 && e.errors === 0 && !e.sequential_only && answered,
        );
      }),
    };
  } finally {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server?.closeAllConnections();
    await orchestrator.close();
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}
