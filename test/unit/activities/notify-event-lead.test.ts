/**
 * incoming_patching carries its lead time as `leadMinutes` (a number); activities scheduled before the rename
 * carry it as `reason` (a string of minutes). Both must give the same notice: the same idempotency key (so a
 * notice sent before a deploy is not sent again after it) and the same `lead_time_minutes`.
 */
import { createEventOutputActivities } from '../../../activities/event-outputs';

type NotifyInput = { key: string; context: Record<string, unknown> };

function activities() {
  const sent: NotifyInput[] = [];
  const event = {
    _id: 'evt_1',
    plan_id: 'pln_1',
    plan_name: 'Plan',
    start: '2026-06-01T10:00:00Z',
    end: '2026-06-01T12:00:00Z',
    status: 'NEW',
    customer_id: 'cus_1',
  };
  const stores = {
    events: { getEvent: async () => event, listMachines: async () => [], getMachine: async () => undefined },
    plans: { getById: async () => ({ notification_groups: ['ops'] }) },
  };
  const acts = createEventOutputActivities({
    stores: stores as never,
    notify: (async (n: NotifyInput) => void sent.push(n)) as never,
    report: (async () => undefined) as never,
    leadHours: '24,1',
  });
  return { acts, sent };
}

test('leadMinutes and the old reason string give the same key and lead_time_minutes', async () => {
  const now = activities();
  await now.acts.notifyEvent({ eventId: 'evt_1', type: 'incoming_patching', leadMinutes: 60 });
  const before = activities();
  await before.acts.notifyEvent({ eventId: 'evt_1', type: 'incoming_patching', reason: '60' });
  expect(now.sent).toHaveLength(1);
  expect(now.sent[0].context.lead_time_minutes).toBe(60);
  expect(now.sent[0].context.reason).toBeUndefined();
  expect(before.sent[0].key).toBe(now.sent[0].key);
  expect(before.sent[0].context.lead_time_minutes).toBe(60);
});

test('each lead time is its own notice; other notices keep reason as free text', async () => {
  const { acts, sent } = activities();
  await acts.notifyEvent({ eventId: 'evt_1', type: 'incoming_patching', leadMinutes: 1440 });
  await acts.notifyEvent({ eventId: 'evt_1', type: 'incoming_patching', leadMinutes: 60 });
  await acts.notifyEvent({ eventId: 'evt_1', type: 'event_new', reason: 'because' });
  expect(new Set(sent.map((n) => n.key)).size).toBe(3);
  expect(sent[2].context).toMatchObject({ reason: 'because' });
  expect(sent[2].context.lead_time_minutes).toBeUndefined();
});
