import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { MongoServerError } from 'mongodb';
import { SA, SEARCH_ATTRIBUTE_FLAGS } from '../../domain/search-attributes';
import { openTestDb, openTestTemporal, testEnv, type TestDb, type TestTemporal } from '../helpers/servers';

/** Proves the integration harness: both servers are up, configured as Patchwave needs, and usable. */

jest.setTimeout(30_000);

describe('Temporal server of the test run', () => {
  let temporal: TestTemporal;
  beforeAll(async () => {
    temporal = await openTestTemporal();
  });
  afterAll(async () => {
    await temporal?.close();
  });

  it('serves the configured namespace', async () => {
    const res = await temporal.connection.workflowService.describeNamespace({
      namespace: temporal.namespace,
    });
    expect(res.namespaceInfo?.name).toBe(testEnv().temporalNamespace);
  });

  it('has every Patchwave search attribute registered with its type', async () => {
    const { customAttributes } = await temporal.connection.operatorService.listSearchAttributes({
      namespace: temporal.namespace,
    });
    const expected = Object.fromEntries(
      Object.values(SA).map((key) => [key.name, encodeSearchAttributeIndexedValueType(key.type)]),
    );
    expect(Object.keys(expected).sort()).toEqual(Object.keys(SEARCH_ATTRIBUTE_FLAGS).sort());
    for (const [name, type] of Object.entries(expected)) {
      expect({ name, type: customAttributes?.[name] }).toEqual({ name, type });
    }
  });
});

describe('MongoDB protocol store of the test run', () => {
  let store: TestDb;
  beforeAll(async () => {
    store = await openTestDb('infra_smoke');
  });
  afterAll(async () => {
    await store?.close();
  });

  type Doc = { _id: string; customer_id: string; name: string; n?: number };
  const col = () => store.db.collection<Doc>('things');

  it('inserts and finds documents', async () => {
    await col().insertMany([
      { _id: 'a1', customer_id: 'c1', name: 'alpha' },
      { _id: 'a2', customer_id: 'c1', name: 'beta' },
      { _id: 'b1', customer_id: 'c2', name: 'alpha' },
    ]);
    const found = await col().find({ customer_id: 'c1' }).sort({ _id: 1 }).toArray();
    expect(found.map((d) => d._id)).toEqual(['a1', 'a2']);
  });

  it('enforces a unique compound index', async () => {
    await col().createIndex({ customer_id: 1, name: 1 }, { unique: true });
    await expect(col().insertOne({ _id: 'a3', customer_id: 'c1', name: 'alpha' })).rejects.toMatchObject({
      code: 11000,
    });
    await expect(col().insertOne({ _id: 'a3', customer_id: 'c1', name: 'gamma' })).resolves.toBeTruthy();
  });

  it('upserts and updates atomically with findOneAndUpdate', async () => {
    await col().updateOne(
      { _id: 'u1' },
      { $setOnInsert: { customer_id: 'c3', name: 'upserted' }, $set: { n: 1 } },
      { upsert: true },
    );
    await col().updateOne(
      { _id: 'u1' },
      { $setOnInsert: { customer_id: 'c3', name: 'ignored' }, $set: { n: 2 } },
      { upsert: true },
    );
    expect(await col().findOne({ _id: 'u1' })).toEqual({
      _id: 'u1',
      customer_id: 'c3',
      name: 'upserted',
      n: 2,
    });

    const after = await col().findOneAndUpdate(
      { _id: 'u1' },
      { $inc: { n: 5 } },
      { returnDocument: 'after' },
    );
    expect(after?.n).toBe(7);
  });

  it('runs a simple aggregation', async () => {
    const perCustomer = await col()
      .aggregate<{ _id: string; count: number }>([
        { $group: { _id: '$customer_id', count: { $sum: 1 } } },
        { $sort: { _id: 1 } },
      ])
      .toArray();
    expect(perCustomer).toEqual([
      { _id: 'c1', count: 3 },
      { _id: 'c2', count: 1 },
      { _id: 'c3', count: 1 },
    ]);
  });

  it('keeps test databases apart', async () => {
    const other = await openTestDb('infra_smoke');
    try {
      expect(other.dbName).not.toBe(store.dbName);
      expect(await other.db.collection('things').countDocuments()).toBe(0);
    } finally {
      await other.close();
    }
  });

  it('reports a duplicate key as a MongoServerError', async () => {
    const err = await col()
      .insertOne({ _id: 'a1', customer_id: 'cX', name: 'dup' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
  });
});
