/**
 * Test harness for the API's route-level tests: the real app, on the real FerretDB/MongoDB of the test run
 * (MONGODB_URI, one database per test file), listening on 127.0.0.1:0.
 *
 * It uses a RECORDING FAKE of OrchestratorPort. That is deliberate and limited to route-level tests
 * (authentication, permissions, tenancy, validation, audit, CLI output): they check what the API does
 * before and after it calls the orchestrator. End-to-end behaviour with the real Temporal orchestrator
 * is tested by the orchestrator's own integration tests.
 */
import { MongoClient, type Db } from 'mongodb';
import pino from 'pino';
import { createApp } from '../../api/app';
import { ensureBootstrap } from '../../api/bootstrap';
import type { ConfigNotice } from '../../domain/config-notice';
import type { Actor, OrchestratorPort, PartialRunRequest } from '../../api/orchestrator-port';
import type { ReportsPort } from '../../store/reports-port';
import { loadConfig } from '../../common/config';
import { newId } from '../../common/ids';
import type { RoleRule } from '../../domain/auth';
import { eventIdFor, type EventRecord } from '../../domain/event';
import { AuthStore, adminRoleId } from '../../store/auth';
import { COLLECTIONS } from '../../store/db';
import { ensureApiIndexes } from '../../store/indexes';
import type { EventDoc } from '../../store/event-records';
import { withEventKeys } from '../../store/event-keys';
import { listenOnLoopback } from '../../api/listen';

export interface Call {
  method: keyof OrchestratorPort;
  args: unknown[];
}

export class RecordingOrchestrator implements OrchestratorPort {
  readonly calls: Call[] = [];
  /** Next error to throw, by method (e.g. a ConflictError to check the 409 mapping). */
  readonly failNext = new Map<keyof OrchestratorPort, Error>();

  constructor(private readonly db: Db) {}

  private record(method: keyof OrchestratorPort, ...args: unknown[]) {
    this.calls.push({ method, args });
    const err = this.failNext.get(method);
    if (err) {
      this.failNext.delete(method);
      throw err;
    }
  }

  callsOf(method: keyof OrchestratorPort) {
    return this.calls.filter((c) => c.method === method);
  }

  /** Writes the event document as the real orchestrator's activities would, so reads find it. */
  private async storeEvent(
    planId: string,
    start: string,
    end: string,
    actor: Actor,
    status: EventRecord['status'],
  ) {
    const plan = await this.db.collection(COLLECTIONS.plans).findOne({ _id: planId as never });
    const now = new Date().toISOString();
    const id = eventIdFor(planId, start);
    const doc: EventDoc = {
      _id: id,
      customer_id: actor.customer_id,
      plan_id: planId,
      plan_name: String(plan?.name ?? planId),
      start,
      end,
      status,
      workflow_id: `event/${id}`,
      hooks: [],
      failure_reasons: [],
      run_no: 0,
      created_at: now,
      updated_at: now,
    };
    await this.db.collection<EventDoc>(COLLECTIONS.events).insertOne(withEventKeys(doc));
    const { _id, ...rest } = doc;
    return { id: _id, ...rest } as EventRecord;
  }

  async executePlanNow(planId: string, actor: Actor) {
    this.record('executePlanNow', planId, actor);
    const start = new Date();
    return this.storeEvent(
      planId,
      start.toISOString(),
      new Date(start.getTime() + 3_600_000).toISOString(),
      actor,
      'IN_PROGRESS',
    );
  }
  async createEvent(planId: string, start: string, end: string, actor: Actor) {
    this.record('createEvent', planId, start, end, actor);
    return this.storeEvent(planId, start, end, actor, 'NEW');
  }
  async approveEvent(eventId: string, actor: Actor) {
    this.record('approveEvent', eventId, actor);
  }
  async previewEvent(eventId: string, actor: Actor): Promise<never> {
    this.record('previewEvent', eventId, actor);
    throw new Error('previews need a worker (e2e-event-preview tests them)');
  }
  async deleteEvent(eventId: string, actor: Actor) {
    this.record('deleteEvent', eventId, actor);
  }
  async excludeMachines(eventId: string, machineIds: string[], actor: Actor) {
    this.record('excludeMachines', eventId, machineIds, actor);
  }
  async setManualStatus(
    eventId: string,
    machineId: string,
    status: string,
    actionTaken: string | undefined,
    actor: Actor,
  ) {
    this.record('setManualStatus', eventId, machineId, status, actionTaken, actor);
  }
  async partialRun(eventId: string, req: PartialRunRequest, actor: Actor) {
    this.record('partialRun', eventId, req, actor);
  }
  async gateAction(eventId: string, action: string, reason: string | undefined, actor: Actor) {
    this.record('gateAction', eventId, action, reason, actor);
  }
  async planChanged(planId: string, actor: Actor) {
    this.record('planChanged', planId, actor);
  }
  async planDeleted(planId: string, actor: Actor) {
    this.record('planDeleted', planId, actor);
  }
  async pipelineChanged(pipelineId: string, actor: Actor) {
    this.record('pipelineChanged', pipelineId, actor);
  }
  async pipelineDeleted(pipelineId: string, actor: Actor) {
    this.record('pipelineDeleted', pipelineId, actor);
  }
  async freezeCalendarsChanged(actor: Actor) {
    this.record('freezeCalendarsChanged', actor);
  }
  async sendConfigNotice(notice: ConfigNotice) {
    this.record('sendConfigNotice', notice);
  }
  async executePipelineNow(pipelineId: string, actor: Actor) {
    this.record('executePipelineNow', pipelineId, actor);
    return { run_id: `pipeline/${pipelineId}/now`, event_ids: [] };
  }
  async pingMachines(machineIds: string[]) {
    this.record('pingMachines', machineIds);
  }
  async ping() {
    this.record('ping');
  }
}

export interface Answer {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
  headers: Headers;
}

export interface ApiHarness {
  url: string;
  db: Db;
  orchestrator: RecordingOrchestrator;
  auth: AuthStore;
  /** Admin key of the bootstrap customer (a super-admin). */
  adminKey: string;
  request(
    method: string,
    path: string,
    opts?: { key?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<Answer>;
  /** A new customer with an admin key. */
  newCustomer(name: string): Promise<{ customerId: string; adminKey: string }>;
  /** A key of `customerId` whose only role has `rules` (none = no role at all). */
  keyWithRules(customerId: string, rules: RoleRule[]): Promise<string>;
  close(): Promise<void>;
}

/** A webhook `secret_ref` that resolves in every route-level test (the API refuses one that does not). */
export const TEST_SECRET_REF = 'env:PW_ROUTE_TEST_WEBHOOK_SECRET';

export async function startApi(
  name: string,
  opts: {
    reports?: ReportsPort;
    env?: Record<string, string>;
    rateLimit?: Parameters<typeof createApp>[0]['rateLimit'];
    logger?: pino.Logger;
  } = {},
): Promise<ApiHarness> {
  const uri = process.env.MONGODB_URI;
  if (!uri) throw new Error('MONGODB_URI is not set (integration tests run with the jest globalSetup)');
  const client = new MongoClient(uri, { retryWrites: false });
  await client.connect();
  const db = client.db(`pw_${name}_${process.pid}_${Date.now().toString(36)}`.slice(0, 60));
  await ensureApiIndexes(db);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATCHWAVE_HTTP_ALLOWLIST: 'lab.local,127.0.0.1',
    LOG_LEVEL: 'silent',
  };
  delete env.PATCHWAVE_BOOTSTRAP_KEY;
  // No default webhook secret unless a test asks for one: webhook channels name TEST_SECRET_REF.
  delete env.PATCHWAVE_WEBHOOK_SECRET;
  process.env[TEST_SECRET_REF.slice('env:'.length)] ??= 'route-tests-signing-secret-0123456789';
  const config = loadConfig({ ...env, ...opts.env });
  const auth = new AuthStore(db);
  const boot = await ensureBootstrap(auth, config);
  const orchestrator = new RecordingOrchestrator(db);
  const app = createApp({
    db,
    orchestrator,
    config,
    logger: opts.logger ?? pino({ level: 'silent' }),
    reports: opts.reports,
    rateLimit: opts.rateLimit ?? {
      perSec: 10_000,
      burst: 10_000,
      failedAuthPerSec: 10_000,
      failedAuthBurst: 10_000,
    },
  });
  const { server, url } = await listenOnLoopback(app);

  const h: ApiHarness = {
    url,
    db,
    orchestrator,
    auth,
    adminKey: boot.generatedSecret!,
    async request(method, path, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      const key = o.key === undefined ? h.adminKey : o.key;
      if (key !== null) headers.authorization = `Bearer ${key}`;
      let body: string | undefined;
      if (o.raw !== undefined) body = o.raw;
      else if (o.body !== undefined) body = JSON.stringify(o.body);
      if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
      const res = await fetch(url + path, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, body: parsed, text, headers: res.headers };
    },
    async newCustomer(cname) {
      const { customer, adminRoleId: roleId } = await auth.createCustomer({ name: cname });
      const { key, secret } = await auth.createKey({ customerId: customer.id, name: `${cname} admin` });
      await auth.bind(customer.id, key.id, roleId);
      return { customerId: customer.id, adminKey: secret };
    },
    async keyWithRules(customerId, rules) {
      const { key, secret } = await auth.createKey({ customerId, name: `rules ${newId('t')}` });
      if (rules.length) {
        const role = await auth.roles.insert(customerId, newId('role'), {
          name: `r-${key.id}`,
          rules,
          builtin: false,
        });
        await auth.bind(customerId, key.id, role.id);
      }
      return secret;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.dropDatabase().catch(() => {});
      await client.close();
    },
  };
  void adminRoleId;
  return h;
}

/** A valid machine body; `n` varies the SSM id. */
export function machineBody(n: number, extra: Record<string, unknown> = {}) {
  const hex = n.toString(16).padStart(17, '0');
  return { name: `web-${n}`, access: { ssm_machine_id: `mi-${hex}`, region: 'eu-west-1' }, ...extra };
}

export function planBody(machineIds: string[], extra: Record<string, unknown> = {}) {
  return {
    name: 'weekly',
    cron: '0 3 * * 6',
    window_hours: 2,
    machines: machineIds.map((id, i) => ({ machine_id: id, order: i })),
    ...extra,
  };
}

/**
 * Writes an event record as the orchestrator's activities would (events, event_machines, event_timeline),
 * for tests of the read routes.
 */
export async function seedEvent(
  db: Db,
  e: {
    customerId: string;
    planId: string;
    start: string;
    hours?: number;
    status?: EventRecord['status'];
    pipelineId?: string;
    machines?: { machine_id: string; status: string; name?: string }[];
  },
): Promise<string> {
  const id = eventIdFor(e.planId, e.start);
  const now = new Date().toISOString();
  const start = new Date(e.start).toISOString();
  const end = new Date(Date.parse(e.start) + (e.hours ?? 1) * 3_600_000).toISOString();
  // With the listing keys the store maintains (store/event-keys.ts), as EventRecords.createEvent writes them.
  await db.collection<EventDoc>(COLLECTIONS.events).insertOne(
    withEventKeys({
      _id: id,
      customer_id: e.customerId,
      plan_id: e.planId,
      plan_name: 'seeded',
      ...(e.pipelineId ? { pipeline_id: e.pipelineId, pipeline_run_id: `${e.pipelineId}/run`, step: 0 } : {}),
      start,
      end,
      status: e.status ?? 'NEW',
      workflow_id: `event/${id}`,
      hooks: [],
      failure_reasons: [],
      run_no: 0,
      created_at: now,
      updated_at: now,
      plan_snapshot: {
        plan_id: e.planId,
        plan_name: 'seeded',
        window_hours: 1,
        pre_hooks: [{ name: 'pre_0', type: 'azure', source: 'https://fn.example.com/api/x?code=SECRET' }],
        post_hooks: [],
        notification_groups: [],
      },
    }),
  );
  for (const [i, m] of (e.machines ?? []).entries()) {
    await db.collection(COLLECTIONS.eventMachines).insertOne({
      _id: `${id}/${m.machine_id}` as never,
      event_id: id,
      customer_id: e.customerId,
      machine_id: m.machine_id,
      name: m.name ?? m.machine_id,
      ssm_machine_id: `mi-${String(i).padStart(17, '0')}`,
      order: i,
      status: m.status,
      hooks: [],
      run_no: 0,
      updated_at: now,
    });
  }
  await db.collection(COLLECTIONS.timeline).insertOne({
    _id: `${id}/created` as never,
    event_id: id,
    at: now,
    seq: 0,
    type: 'event_new',
    message: 'event created',
  });
  return id;
}
