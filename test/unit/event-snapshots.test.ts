import { SnapshotCache } from '../../activities/event-snapshots';
import type { EventDoc } from '../../store/event-records';

/** An in-memory stand-in for EventRecords.getEvent that counts reads. */
function recordsWith(docs: Record<string, Partial<EventDoc>>) {
  const reads: string[] = [];
  return {
    reads,
    getEvent: async (id: string) => {
      reads.push(id);
      return (docs[id] as EventDoc | undefined) ?? null;
    },
  };
}

const withSnapshot = (id: string): Partial<EventDoc> => ({
  _id: id,
  plan_snapshot: {
    plan_id: 'pln_1',
    plan_name: 'p',
    window_hours: 1,
    pre_hooks: [],
    post_hooks: [],
    notification_groups: [],
    machines: [],
  },
});

test('an event with a plan snapshot is read once, however many machines ask at the same time', async () => {
  const records = recordsWith({ ev1: withSnapshot('ev1') });
  const cache = new SnapshotCache(records);
  const docs = await Promise.all(Array.from({ length: 50 }, () => cache.get('ev1')));
  expect(docs.every((d) => d?._id === 'ev1')).toBe(true);
  await cache.get('ev1');
  expect(records.reads).toEqual(['ev1']);
});

test('an event without a snapshot yet (or missing) is read again next time', async () => {
  const records = recordsWith({ ev2: { _id: 'ev2' } });
  const cache = new SnapshotCache(records);
  expect((await cache.get('ev2'))?._id).toBe('ev2');
  expect(await cache.get('nope')).toBeNull();
  await cache.get('ev2');
  await cache.get('nope');
  expect(records.reads).toEqual(['ev2', 'nope', 'ev2', 'nope']);
});

test('only the most recent events are kept', async () => {
  const docs = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`e${i}`, withSnapshot(`e${i}`)]));
  const records = recordsWith(docs);
  const cache = new SnapshotCache(records);
  for (let i = 0; i < 40; i++) await cache.get(`e${i}`);
  await cache.get('e39');
  await cache.get('e0');
  expect(records.reads.filter((r) => r === 'e39')).toHaveLength(1);
  expect(records.reads.filter((r) => r === 'e0')).toHaveLength(2);
});
