import { EventRecords, machineDocId, type EventMachineDoc } from '../../store/event-records';
import { openTestDb, type TestDb } from '../helpers/servers';

/** The event record's writes that must be idempotent, on the real store of the test run. */

jest.setTimeout(60_000);

let store: TestDb;
let records: EventRecords;
beforeAll(async () => {
  store = await openTestDb('store_event_records');
  records = new EventRecords(store.db);
});
afterAll(async () => {
  await store?.close();
});

const machine = (eventId: string, i: number): EventMachineDoc => ({
  _id: machineDocId(eventId, `m${i}`),
  event_id: eventId,
  customer_id: 'c1',
  machine_id: `m${i}`,
  name: `host-${i}`,
  ssm_machine_id: `i-${String(i).padStart(17, '0')}`,
  order: i % 3,
  status: 'PENDING',
  hooks: [],
  run_no: 0,
  updated_at: '2026-11-23T00:00:00.000Z',
});

test('initMachines creates every machine once; a retry (even a partial overlap) keeps what was written since', async () => {
  const first = Array.from({ length: 1_200 }, (_, i) => machine('ev1', i)); // more than one insert batch
  await records.initMachines(first);
  await records.updateMachine('ev1', 'm5', { status: 'IN_PROGRESS', started_at: '2026-11-23T00:01:00.000Z' });
  await records.updateMachine('ev1', 'm1100', { status: 'SUCCESS' });

  // A retried activity writes the same documents again, and here some new ones too.
  await records.initMachines([...first, ...Array.from({ length: 10 }, (_, i) => machine('ev1', 1_200 + i))]);

  const all = await records.listMachines('ev1');
  expect(all).toHaveLength(1_210);
  expect(new Set(all.map((m) => m._id)).size).toBe(1_210);
  const byId = new Map(all.map((m) => [m.machine_id, m]));
  expect(byId.get('m5')).toMatchObject({ status: 'IN_PROGRESS', started_at: '2026-11-23T00:01:00.000Z' });
  expect(byId.get('m1100')?.status).toBe('SUCCESS');
  expect(byId.get('m1209')?.status).toBe('PENDING');
  expect(all.filter((m) => m.status === 'PENDING')).toHaveLength(1_208);
});

test('initMachines with nothing to write is a no-op, and other errors are not swallowed', async () => {
  await expect(records.initMachines([])).resolves.toBeUndefined();
  const bad = {
    ...machine('ev2', 1),
    _id: undefined as unknown as string,
    $bad: 1,
  } as unknown as EventMachineDoc;
  await expect(records.initMachines([bad])).rejects.toThrow();
});

test('the plan snapshot lives apart from the event (listings never decode it) and is read back with it; inline snapshots of older records still read', async () => {
  const base = {
    customer_id: 'c1',
    plan_id: 'pln_1',
    origin: 'schedule' as const,
    start: '2026-11-23T10:00:00.000Z',
    end: '2026-11-23T12:00:00.000Z',
    status: 'NEW' as const,
    workflow_id: 'event/ev-snap',
    hooks: [],
    failure_reasons: [],
    run_no: 0,
    created_at: '2026-11-23T00:00:00.000Z',
    updated_at: '2026-11-23T00:00:00.000Z',
  };
  const snapshot = (n: number) => ({
    plan_id: 'pln_1',
    plan_name: 'web',
    window_hours: 2,
    pre_hooks: [],
    post_hooks: [],
    notification_groups: [],
    machines: Array.from({ length: n }, (_, i) => ({
      machine_id: `m${i}`,
      name: `host-${i}`,
      ssm_machine_id: `i-${String(i).padStart(17, '0')}`,
      region: 'eu-west-1',
      order: 0,
      pre_host_hooks: [],
      post_host_hooks: [],
    })),
  });
  await records.createEvent({ _id: 'ev-snap', ...base } as never);
  expect((await records.getEvent('ev-snap'))?.plan_snapshot).toBeUndefined();
  await records.updateEvent('ev-snap', { plan_snapshot: snapshot(3) as never, status: 'IN_PROGRESS' });

  const raw = await store.db.collection('events').findOne({ _id: 'ev-snap' as never });
  expect(raw?.plan_snapshot).toBeUndefined();
  expect(raw?.status).toBe('IN_PROGRESS');
  const got = await records.getEvent('ev-snap');
  expect(got?.status).toBe('IN_PROGRESS');
  expect(got?.plan_snapshot?.machines?.map((m) => m.machine_id)).toEqual(['m0', 'm1', 'm2']);

  // An event stored before (snapshot inline): read as it is; a new snapshot replaces the inline one.
  await store.db
    .collection('events')
    .insertOne({ _id: 'ev-old' as never, ...base, workflow_id: 'event/ev-old', plan_snapshot: snapshot(1) });
  expect((await records.getEvent('ev-old'))?.plan_snapshot?.machines).toHaveLength(1);
  await records.updateEvent('ev-old', { plan_snapshot: snapshot(2) as never });
  expect(
    (await store.db.collection('events').findOne({ _id: 'ev-old' as never }))?.plan_snapshot,
  ).toBeUndefined();
  expect((await records.getEvent('ev-old'))?.plan_snapshot?.machines).toHaveLength(2);
});
