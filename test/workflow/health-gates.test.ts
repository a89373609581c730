/**
 * Health gates in the real event workflow (docs/behaviour.md#halted), with stub activities: an operator's
 * abort is applied whenever it lands, including while the workflow is still recording the halt it answers
 * (the `patching_halted` notice on a slow channel), which once left the run asleep until its deadline.
 */
import { abortUpdate } from '../../workflows/defs';
import { startHarness, waitFor, type Harness } from './harness/harness';

jest.setTimeout(120_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness('health-gates');
});
afterAll(async () => {
  await h?.close();
});

const by = { requested_by: 'key-operator' };

test('an abort sent while the halt notice is still being sent makes the waiting machines OMITTED at once', async () => {
  const m = h.id('gated');
  const ev = await h.startEvent({
    startInMs: 0,
    windowMs: 120_000,
    machines: [{ id: m }],
    gates: { intervalMs: 1_000, soakMs: 0, readings: [{ healthy: false, probe: 'pages', answer: 'firing' }] },
    noticeMs: { patching_halted: 3_000 },
  });
  // The halt is recorded (HALTED); its notice is still on its way when the operator aborts.
  await waitFor('the halt notice to be sending', () =>
    h.fleet.callsOf('notifyEvent', { eventId: ev.eventId, type: 'patching_halted' }).length
      ? true
      : undefined,
  );
  const [notice] = h.fleet.callsOf('notifyEvent', { eventId: ev.eventId, type: 'patching_halted' });
  expect(notice.doneAt).toBeUndefined();
  await ev.handle.executeUpdate(abortUpdate, { args: [by] });

  const final = await ev.finished();
  expect(final).toMatchObject({ status: 'DONE_ERROR' });
  expect(h.fleet.machineStatus(ev.eventId, m)).toBe('OMITTED');
  // Ended right after the notice, not at the window's end two minutes later.
  expect(Date.now() - ev.startMs).toBeLessThan(30_000);
  expect(h.fleet.callsOf('beginMachineRun', { eventId: ev.eventId })).toEqual([]);
});

test('a reading that fails as a whole (retries spent) is read again later; the event goes on and finishes', async () => {
  const m = h.id('unread');
  const ev = await h.startEvent({
    startInMs: 0,
    windowMs: 120_000,
    machines: [{ id: m }],
    gates: { intervalMs: 1_000, soakMs: 0, readings: [{ healthy: true }], failedReadings: 1 },
  });
  // The second reading comes 30 s after the first failed (GATE_READ_RETRY_MS).
  const final = await ev.finished(0, 90_000);
  expect(final).toMatchObject({ status: 'DONE' });
  expect(h.fleet.machineStatus(ev.eventId, m)).toBe('SUCCESS');
  expect(h.fleet.callsOf('readHealthGates', { eventId: ev.eventId }).length).toBeGreaterThanOrEqual(2);
});
