/**
 * syncMaintenance (activities/maintenance.ts) for the `pingdom` and `webhook` types and tag-derived targets,
 * against the lab's stand-ins over real HTTP, with the store in memory: a Pingdom that is down fails the sync
 * (recorded, never thrown) and the next sync makes the window; targets are read again from the machines' tags
 * when the window moves; a window Pingdom no longer knows is made again; a webhook that cannot be signed and an
 * API token that is not set are failures on the timeline; an entry its tags leave empty is skipped once.
 */
import { createMaintenanceActivities } from '../../../activities/maintenance';
import { verifyWebhookSignature } from '../../../activities/channels/webhook';
import { Maintenance, type MaintenanceRecord } from '../../../domain/maintenance';
import type { Lab } from '../../../lab/server';
import { control, startLab } from '../lab/helpers';

let lab: Lab;
beforeAll(async () => {
  lab = await startLab();
});
afterAll(async () => lab.close());
beforeEach(async () => {
  lab.state.reset();
  await control(lab, 'PUT', '/_lab/maintenance-services/pingdom', { api_key: 'tok' });
});

const TOKEN_VAR = 'UNIT_PINGDOM_TOKEN';
const SECRET_VAR = 'UNIT_MAINT_HOOK_SECRET';
const env: Record<string, string> = { [TOKEN_VAR]: 'tok', [SECRET_VAR]: 'unit-hook-secret-0123456789' };

interface Timeline {
  key: string;
  type: string;
  message: string;
}

/** One event of one plan over `tags` (one machine per tag set), its store in memory. */
function world(maintenance: unknown[], tags: [string, string][][], over: { defaultSecret?: string } = {}) {
  const startMs = Date.now() + 3600_000;
  const event = {
    _id: 'evt_1',
    customer_id: 'cus_1',
    plan_id: 'pln_1',
    plan_name: 'billing',
    status: 'NEW',
    start: new Date(startMs).toISOString(),
    end: new Date(startMs + 1800_000).toISOString(),
  };
  const machines = tags.map((t, i) => ({
    id: `mch_${i}`,
    name: `web-${i}`,
    metadata: t.map(([key, value]) => ({ key, value })),
  }));
  const plan = {
    id: 'pln_1',
    name: 'billing',
    machines: machines.map((m) => ({ machine_id: m.id })),
    maintenance: Maintenance.parse(maintenance),
  };
  let recs: MaintenanceRecord[] = [];
  const timeline: Timeline[] = [];
  const acts = createMaintenanceActivities({
    records: {
      getEvent: async () => event as never,
      addTimeline: async (_id: string, key: string, t: { type: string; message: string }) => {
        if (!timeline.some((x) => x.key === key)) timeline.push({ key, type: t.type, message: t.message });
      },
      maintenanceOf: async () => recs,
      recordMaintenance: async (_id: string, r: MaintenanceRecord) => {
        recs = [...recs.filter((x) => x.key !== r.key), r];
      },
      listMachines: async () => [],
    } as never,
    plans: { getById: async () => plan as never },
    machines: {
      getMany: async (_c: string, ids: readonly string[]) =>
        machines.filter((m) => ids.includes(m.id)) as never,
    },
    config: {
      PATCHWAVE_HTTP_ALLOWLIST: '127.0.0.1',
      PATCHWAVE_WEBHOOK_SECRET: over.defaultSecret,
    },
    readEnv: (n) => env[n],
    timeoutMs: 2000,
  });
  return {
    event,
    machines,
    startMs,
    sync: () => acts.syncMaintenance({ eventId: 'evt_1' }),
    recs: () => recs,
    timeline,
    types: () => timeline.map((t) => t.type),
  };
}

const pingdomEntry = (more: Record<string, unknown>) => ({
  type: 'pingdom',
  url: `${lab.url}/_lab/pingdom`,
  lead_minutes: 120,
  api_key_ref: `env:${TOKEN_VAR}`,
  ...more,
});
const windows = async () =>
  (await control(lab, 'GET', '/_lab/maintenance-services/pingdom')).json as {
    windows: { id: number; from: number; to: number; checks: { uptime: number[] } }[];
  };

test('Pingdom down: a failed sync on the timeline, nothing recorded; back up: the window is made from the tags', async () => {
  const w = world(
    [pingdomEntry({ check_ids_from_tag: 'PingdomCheck' })],
    [[['PingdomCheck', '11']], [['PingdomCheck', '12,11']]],
  );
  await control(lab, 'PUT', '/_lab/maintenance-services/pingdom', { status: 503 });
  expect(await w.sync()).toEqual({ configured: true, failed: true });
  expect(w.recs()).toEqual([]);
  expect(w.timeline.at(-1)!.message).toMatch(
    /^Pingdom maintenance window: creating it failed \(HTTP 503.*\); tried again later, the event goes on$/,
  );

  await control(lab, 'PUT', '/_lab/maintenance-services/pingdom', { status: 0 });
  expect(await w.sync()).toEqual({ configured: true, failed: false });
  const [made] = (await windows()).windows;
  expect(made).toEqual(
    expect.objectContaining({
      from: Math.floor(w.startMs / 1000),
      to: Math.floor((w.startMs + 1800_000) / 1000),
      checks: { uptime: [11, 12], tms: [] },
    }),
  );
  expect(w.recs()).toEqual([
    expect.objectContaining({ key: '0-pingdom', external_id: String(made.id), check_ids: [11, 12] }),
  ]);
  // In step: nothing more.
  const calls = lab.state.maintenance.calls.length;
  expect(await w.sync()).toEqual({ configured: true, failed: false });
  expect(lab.state.maintenance.calls.length).toBe(calls);
});

test('moved: the tags are read again; a window Pingdom no longer knows is made again', async () => {
  const w = world(
    [pingdomEntry({ check_ids: [5], check_ids_from_tag: 'PingdomCheck' })],
    [[['PingdomCheck', '6']]],
  );
  await w.sync();
  const first = (await windows()).windows[0];
  w.machines[0].metadata.push({ key: 'PingdomCheck', value: '7' });
  w.event.end = new Date(w.startMs + 3600_000).toISOString();
  expect((await w.sync()).failed).toBe(false);
  expect((await windows()).windows).toEqual([
    expect.objectContaining({
      id: first.id,
      to: Math.floor((w.startMs + 3600_000) / 1000),
      checks: { uptime: [5, 6, 7], tms: [] },
    }),
  ]);
  expect(w.recs()[0].check_ids).toEqual([5, 6, 7]);

  lab.state.maintenance.pingdomWindows.clear();
  w.event.end = new Date(w.startMs + 5400_000).toISOString();
  expect((await w.sync()).failed).toBe(false);
  const again = (await windows()).windows;
  expect(again).toHaveLength(1);
  expect(again[0].id).not.toBe(first.id);
  expect(w.timeline.at(-1)!.message).toMatch(
    new RegExp(`^Pingdom maintenance window ${again[0].id} moved to .* \\(was ${first.id}\\)$`),
  );
});

test('an entry its tags leave empty is skipped once, never failed; invalid tag values are named', async () => {
  const w = world(
    [pingdomEntry({ check_ids_from_tag: 'PingdomCheck' })],
    [[['PingdomCheck', 'abc']], [['Other', '1']]],
  );
  expect(await w.sync()).toEqual({ configured: true, failed: false });
  expect(await w.sync()).toEqual({ configured: true, failed: false });
  expect(w.timeline.map((t) => t.message)).toEqual([
    'Pingdom maintenance window: tag values that are not valid targets were left out: PingdomCheck=abc on web-0',
    "Pingdom maintenance window: not created, the event's machines give it nothing to cover (no PingdomCheck tag values)",
  ]);
  expect(w.recs()).toEqual([]);
  expect((await windows()).windows).toEqual([]);
});

test('webhook: signed with the default secret when no secret_ref; none at all is a failure, not an error', async () => {
  const hook = { type: 'webhook', url: `${lab.url}/_lab/maintenance-receiver/unit`, lead_minutes: 120 };
  const unsigned = world([hook], [[]]);
  expect(await unsigned.sync()).toEqual({ configured: true, failed: true });
  expect(unsigned.timeline[0].message).toBe(
    'Webhook maintenance: creating it failed (no signing secret: PATCHWAVE_WEBHOOK_SECRET is not set and the entry has no secret_ref); tried again later, the event goes on',
  );
  expect(lab.state.maintenance.received).toEqual([]);

  const signed = world([hook], [[]], { defaultSecret: 'default-secret-0123456789' });
  expect((await signed.sync()).failed).toBe(false);
  const [got] = lab.state.maintenance.received;
  expect(
    verifyWebhookSignature({
      secret: 'default-secret-0123456789',
      rawBody: got.body,
      signature: got.headers['x-patchwave-signature'],
      timestamp: got.headers['x-patchwave-timestamp'],
    }),
  ).toBe(true);
  expect(JSON.parse(got.body)).toEqual({
    action: 'create',
    key: '0-webhook',
    event_id: 'evt_1',
    plan: { id: 'pln_1', name: 'billing' },
    window: { start: signed.event.start, end: signed.event.end },
    machines: [{ id: 'mch_0', name: 'web-0' }],
  });
  expect(signed.recs()[0].external_id).toBe('rcv-1');
});

test('an api_key_ref whose variable is not set: a failure naming the variable, never the call', async () => {
  const w = world([pingdomEntry({ check_ids: [1], api_key_ref: 'env:UNIT_NOT_SET' })], [[]]);
  expect(await w.sync()).toEqual({ configured: true, failed: true });
  expect(w.timeline[0].message).toContain('UNIT_NOT_SET (named by api_key_ref env:UNIT_NOT_SET) is not set');
  expect(lab.state.maintenance.calls).toEqual([]);
});
