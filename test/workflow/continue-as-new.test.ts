/**
 * A large event continues as new in the middle of its run (docs/workflows.md): machines in flight report to
 * the event's workflow ID and are counted by the new run; none is started twice, none is lost, limits hold
 * across the hand-over. The workflow test server suggests continue-as-new after a few hundred history events
 * (test/workflow/setup), so a few dozen machines reach it in seconds.
 */
import { maxInFlight, startHarness, waitFor, workflowTestEnv, type Harness } from './harness/harness';

jest.setTimeout(90_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness('can');
});
afterAll(async () => {
  await h?.close();
});

test('an event of 40 machines hands over mid-run and finishes every machine exactly once', async () => {
  if (!workflowTestEnv().suggestContinueAsNewAt)
    throw new Error(
      'this test needs the server the workflow global setup starts (limit.historyCount.suggestContinueAsNew lowered); ' +
        'an attached server (PATCHWAVE_WF_TEMPORAL_ADDRESS) does not say it has that setting',
    );
  const ids = Array.from({ length: 40 }, (_, i) => h.id(`m${i}`));
  const ev = await h.startEvent({
    windowMs: 60_000,
    maxConcurrency: 5,
    machines: ids.map((id, i) => ({ id, order: i < 20 ? 0 : 1, patch: { status: 'SUCCESS', ms: 50 } })),
  });
  // While it runs, the event tells how far it is, as the API shows it.
  await waitFor('the run to count its machines', async () => {
    const v = await ev.view();
    return v.running && v.machinesTotal === 40 && v.machinesDone > 0 ? v : undefined;
  });
  expect(await ev.finished(0, 60_000)).toMatchObject({ status: 'DONE' });

  // The first run handed over while machines were running: some had started before it closed, some after.
  const first = await h.client.workflow.getHandle(ev.handle.workflowId, ev.firstRunId).describe();
  expect(first.status.name).toBe('CONTINUED_AS_NEW');
  const spans = h.fleet.machineSpans(ev.eventId);
  const begins = [...spans.values()].map((s) => s.from);
  expect(Math.min(...begins)).toBeLessThan(first.closeTime!.getTime());
  expect(Math.max(...begins)).toBeGreaterThan(first.closeTime!.getTime());

  // Every machine ran once and was counted; the limits held across the hand-over.
  for (const id of ids) {
    expect(h.fleet.callsOf('beginMachineRun', { eventId: ev.eventId, machineId: id })).toHaveLength(1);
    expect(h.fleet.machineStatus(ev.eventId, id)).toBe('SUCCESS');
  }
  expect(maxInFlight([...spans.values()])).toBeLessThanOrEqual(5);
  const group0End = Math.max(...ids.slice(0, 20).map((id) => spans.get(id)!.to));
  expect(Math.min(...ids.slice(20).map((id) => spans.get(id)!.from))).toBeGreaterThanOrEqual(group0End);
  expect(h.fleet.callsOf('markMachines', { eventId: ev.eventId })).toEqual([]);
  expect(h.fleet.callsOf('finalizeEvent', { eventId: ev.eventId })).toHaveLength(1);
  expect(h.fleet.callsOf('beginEventRun', { eventId: ev.eventId })).toHaveLength(1);
});
