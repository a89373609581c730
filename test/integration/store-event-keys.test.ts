import { COLLECTIONS } from '../../store/db';
import { EventQueries } from '../../store/event-queries';
import { EventRecords, type EventDoc } from '../../store/event-records';
import { openTestDb, type TestDb } from '../helpers/servers';

/**
 * The listing keys of events (store/event-keys.ts) on the real store: documents written before the keys existed
 * get them at start-up (idempotently), new and updated documents carry them, and the listings page on them.
 */

jest.setTimeout(60_000);

const C = 'cus_keys';
let store: TestDb;

beforeAll(async () => {
  store = await openTestDb('event_keys');
});
afterAll(async () => store?.close());

const legacy = (n: number, status: string, customer = C): EventDoc =>
  ({
    _id: `pln_k-2026010${n}T000000Z`,
    customer_id: customer,
    plan_id: 'pln_k',
    plan_name: 'k',
    start: `2026-01-0${n}T00:00:00.000Z`,
    end: `2026-01-0${n}T02:00:00.000Z`,
    status,
    workflow_id: `event/pln_k-2026010${n}T000000Z`,
    hooks: [],
    failure_reasons: [],
    run_no: 0,
    created_at: '2025-12-01T00:00:00.000Z',
    updated_at: '2025-12-01T00:00:00.000Z',
  }) as EventDoc;

test('old event documents get their keys at start-up, once; listings and status changes use them', async () => {
  const events = store.db.collection<EventDoc>(COLLECTIONS.events);
  await events.insertMany([
    legacy(3, 'DONE'),
    legacy(1, 'DONE'),
    legacy(2, 'NEW'),
    legacy(4, 'DONE', 'cus_other'),
  ]);
  const records = new EventRecords(store.db);
  await records.ensureIndexes();
  const first = await events.find({}, { sort: { _id: 1 } }).toArray();
  expect(first.every((d) => typeof d.list_key === 'string' && typeof d.status_key === 'string')).toBe(true);
  expect(first.find((d) => d._id === 'pln_k-20260102T000000Z')?.status_key).toBe(
    'cus_keys|NEW|2026-01-02T00:00:00.000Z|pln_k-20260102T000000Z',
  );
  // Idempotent: a second start-up (or a second process) changes nothing.
  await records.ensureIndexes();
  expect(await events.find({}, { sort: { _id: 1 } }).toArray()).toEqual(first);

  const q = new EventQueries(store.db);
  const ids = async (f: Parameters<EventQueries['list']>[1], limit = 10, token?: string) => {
    const page = await q.list(C, f, limit, token);
    return { ids: page.items.map((e) => e.start.slice(0, 10)), token: page.continuation_token };
  };
  expect((await ids({})).ids).toEqual(['2026-01-01', '2026-01-02', '2026-01-03']);
  expect((await ids({ statuses: ['DONE'] })).ids).toEqual(['2026-01-01', '2026-01-03']);
  expect((await ids({ statuses: ['NEW', 'DONE'] }, 2)).ids).toEqual(['2026-01-01', '2026-01-02']);
  expect((await ids({ plan_id: 'pln_k', from: '2026-01-02T00:00:00.000Z' })).ids).toEqual([
    '2026-01-02',
    '2026-01-03',
  ]);
  // Keyset pages: each token continues after the last item, whatever listing it came from.
  const p1 = await ids({ statuses: ['NEW', 'DONE'] }, 2);
  const p2 = await ids({ statuses: ['NEW', 'DONE'] }, 2, p1.token!);
  expect(p2).toEqual({ ids: ['2026-01-03'], token: null });

  // A status change moves the event between status listings.
  await records.setEventStatus('pln_k-20260102T000000Z', 'DONE_ERROR');
  expect((await ids({ statuses: ['NEW'] })).ids).toEqual([]);
  expect((await ids({ statuses: ['DONE_ERROR'] })).ids).toEqual(['2026-01-02']);

  // A new event is written with its keys.
  await records.createEvent({ ...legacy(5, 'NEW'), _id: 'pln_k-20260105T000000Z', pipeline_id: 'ppl_k' });
  expect((await ids({ pipeline_id: 'ppl_k' })).ids).toEqual(['2026-01-05']);
  expect((await ids({ statuses: ['NEW'] })).ids).toEqual(['2026-01-05']);
});
