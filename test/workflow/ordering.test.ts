/**
 * Order groups, max_concurrency and max_errors (docs/behaviour.md §3), with the real event
 * and machine-run workflows on Temporal and stub activities: a group starts only after the previous one has
 * ended, never more than max_concurrency machines at once, and once max_errors machines failed no new
 * machine starts (the rest are OMITTED, later order groups included).
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { maxInFlight, startHarness, type Harness } from './harness/harness';

jest.setTimeout(60_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness('ordering');
});
afterAll(async () => {
  await h?.close();
});

test('order groups run one after another, each at most max_concurrency machines at a time', async () => {
  const g0 = [h.id('a0'), h.id('a1'), h.id('a2')];
  const g5 = [h.id('b0'), h.id('b1'), h.id('b2')];
  const g10 = [h.id('c0')];
  const ev = await h.startEvent({
    windowMs: 30_000,
    maxConcurrency: 2,
    // Listed out of order on purpose: the order field decides, not the position.
    machines: [
      { id: g10[0], order: 10, patch: { status: 'SUCCESS', ms: 200 } },
      { id: g5[0], order: 5, patch: { status: 'SUCCESS', ms: 300 } },
      { id: g0[0], order: 0, patch: { status: 'SUCCESS', ms: 600 } },
      { id: g5[1], order: 5, patch: { status: 'SUCCESS', ms: 600 } },
      { id: g0[1], order: 0, patch: { status: 'SUCCESS', ms: 600 } },
      { id: g0[2], order: 0, patch: { status: 'SUCCESS', ms: 600 } },
      { id: g5[2], order: 5, patch: { status: 'SUCCESS_NO_UPDATES', ms: 300 } },
    ],
  });
  const view = await ev.finished();
  expect(view).toMatchObject({ status: 'DONE' });
  for (const m of [...g0, ...g5, ...g10])
    expect(await ev.machineRun(m).result()).toMatchObject({ machineId: m, hostHookFailed: false });
  expect(await ev.machineRun(g5[2]).result()).toMatchObject({ status: 'SUCCESS_NO_UPDATES' });

  const spans = h.fleet.machineSpans(ev.eventId);
  const group = (ids: string[]) => ids.map((id) => spans.get(id)!);
  expect(maxInFlight(group(g0))).toBe(2);
  expect(maxInFlight(group(g5))).toBe(2);
  const firstStart = (ids: string[]) => Math.min(...group(ids).map((s) => s.from));
  const lastEnd = (ids: string[]) => Math.max(...group(ids).map((s) => s.to));
  expect(firstStart(g5)).toBeGreaterThanOrEqual(lastEnd(g0));
  expect(firstStart(g10)).toBeGreaterThanOrEqual(lastEnd(g5));
  // Nothing started before the window opened; each machine was patched once.
  expect(firstStart(g0)).toBeGreaterThanOrEqual(ev.startMs);
  for (const m of [...g0, ...g5, ...g10]) expect(h.fleet.commandCalls('startCommand', m)).toHaveLength(1);
});

test('max_errors stops starting new machines; any non-success machine counts', async () => {
  const [failed, ok, offline, never1, never2] = ['failed', 'ok', 'offline', 'never1', 'never2'].map(h.id);
  const ev = await h.startEvent({
    windowMs: 30_000,
    maxConcurrency: 1,
    maxErrors: 2,
    machines: [
      { id: failed, patch: { status: 'FAILED', ms: 100 } },
      { id: ok },
      { id: offline, patch: { notSent: 'offline' } },
      { id: never1 },
      { id: never2 },
    ],
  });
  expect(await ev.finished()).toMatchObject({ status: 'DONE_PARTIAL' });
  expect(await ev.machineRun(failed).result()).toMatchObject({ status: 'FAILED' });
  expect(await ev.machineRun(ok).result()).toMatchObject({ status: 'SUCCESS' });
  expect(await ev.machineRun(offline).result()).toMatchObject({ status: 'NOT_AVAILABLE' });
  for (const m of [never1, never2]) {
    expect(h.fleet.machineStatus(ev.eventId, m)).toBe('OMITTED');
    // Never started: no machine run in Temporal, no command.
    await expect(ev.machineRun(m).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    expect(h.fleet.commandCalls('startCommand', m)).toEqual([]);
  }
  const omitted = h.fleet.callsOf('markMachines', { eventId: ev.eventId, status: 'OMITTED' });
  expect(omitted.map((c) => c.args.machineIds)).toEqual([[never1, never2]]);
  expect(omitted[0].args.reason).toMatch(/max_errors \(2\)/);
});

test('max_errors reached in one order group omits the later groups', async () => {
  const [a, b, c] = ['a', 'b', 'c'].map(h.id);
  const ev = await h.startEvent({
    windowMs: 30_000,
    maxErrors: 2,
    machines: [
      { id: a, order: 1, patch: { status: 'FAILED', ms: 100 } },
      { id: b, order: 1, patch: { status: 'FAILED', ms: 100 } },
      { id: c, order: 2 },
    ],
  });
  expect(await ev.finished()).toMatchObject({ status: 'DONE_ERROR' });
  expect([a, b, c].map((m) => h.fleet.machineStatus(ev.eventId, m))).toEqual(['FAILED', 'FAILED', 'OMITTED']);
  await expect(ev.machineRun(c).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
});

test('without max_errors every machine runs, and all of a group start together', async () => {
  const ids = ['a', 'b', 'c', 'd'].map(h.id);
  const ev = await h.startEvent({
    windowMs: 30_000,
    machines: ids.map((id, i) => ({ id, patch: { status: i < 3 ? 'FAILED' : 'SUCCESS', ms: 500 } })),
  });
  expect(await ev.finished()).toMatchObject({ status: 'DONE_PARTIAL' });
  expect(maxInFlight([...h.fleet.machineSpans(ev.eventId).values()])).toBe(4);
});
