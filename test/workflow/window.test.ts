/**
 * The window end is a hard stop and one SSM command per machine, ever (docs/behaviour.md §3): a command still running then is
 * TIMED_OUT and goes on in the background, owned by the machine's command workflow, which serves one command
 * at a time; machines that could not start are NOT_IN_TIME_WINDOW; hooks cut off at the window end fail.
 * Real workflows on Temporal with windows of seconds; stub activities.
 */
import { commandQueueStateQuery } from '../../workflows/defs';
import { workflowIds } from '../../domain/ids';
import { startHarness, waitFor, type Harness } from './harness/harness';

jest.setTimeout(60_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness('window');
});
afterAll(async () => {
  await h?.close();
});

/** The event ends within this long after its window end (the e2e suites allow the same). */
const ON_TIME_MS = 5_000;

const commandQueue = (machineId: string) => h.client.workflow.getHandle(workflowIds.machine(machineId));

test('window end: the running command is TIMED_OUT and goes on in the background; unstarted machines NOT_IN_TIME_WINDOW', async () => {
  const [long, next] = ['long', 'next'].map(h.id);
  const ev = await h.startEvent({
    windowMs: 3_000,
    maxConcurrency: 1,
    machines: [{ id: long, patch: { status: 'SUCCESS', ms: 8_000 } }, { id: next }],
  });
  const view = await ev.finished();
  const finishedAt = Date.now();
  expect(view.status).toBe('DONE_ERROR');
  expect(finishedAt).toBeLessThan(ev.endMs + ON_TIME_MS);
  expect(await ev.machineRun(long).result()).toMatchObject({ status: 'TIMED_OUT' });
  expect(h.fleet.machineStatus(ev.eventId, next)).toBe('NOT_IN_TIME_WINDOW');
  expect(h.fleet.callsOf('markMachines', { eventId: ev.eventId })).toMatchObject([
    { args: { status: 'NOT_IN_TIME_WINDOW', machineIds: [next] } },
  ]);

  // The machine command queue still follows the command after the event is over, then frees the machine.
  const [follow] = h.fleet.commandCalls('followCommand', long);
  expect(follow.doneAt).toBeUndefined();
  expect((await commandQueue(long).query(commandQueueStateQuery)).busyWith?.commandId).toBeDefined();
  await waitFor('the background command to end', () => follow.doneAt, 15_000);
  await waitFor('the command queue to be idle', async () =>
    (await commandQueue(long).query(commandQueueStateQuery)).busyWith === undefined ? true : undefined,
  );
});

test('a command running in the background blocks the next events on that machine: one runs out of window, one waits and runs', async () => {
  const m = h.id('shared');
  const a = await h.startEvent({
    windowMs: 1_500,
    // Long enough that B and C reach the machine's queue while A's command still runs, even on a loaded runner
    // (with 5 s, a CI machine at load 19 started them after it had ended).
    machines: [{ id: m, patch: { status: 'SUCCESS', ms: 9_000 } }],
  });
  const later = { startAtMs: a.endMs + 200 };
  const b = await h.startEvent({ ...later, windowMs: 2_000, machines: [{ id: m }] });
  const c = await h.startEvent({ ...later, windowMs: 15_000, machines: [{ id: m }] });

  // While A's command runs on, B and C queue behind it in the machine's command queue.
  await waitFor('B and C queued behind A', async () => {
    const s = await commandQueue(m).query(commandQueueStateQuery);
    const waiting = s.queued.map((q) => q.requester);
    return waiting.includes(b.machineRun(m).workflowId) && waiting.includes(c.machineRun(m).workflowId)
      ? s
      : undefined;
  });

  expect(await a.finished()).toMatchObject({ status: 'DONE_ERROR' });
  expect(await a.machineRun(m).result()).toMatchObject({ status: 'TIMED_OUT' });
  expect(await b.finished()).toMatchObject({ status: 'DONE_ERROR' });
  expect(await b.machineRun(m).result()).toMatchObject({ status: 'NOT_IN_TIME_WINDOW' });
  expect(await c.finished()).toMatchObject({ status: 'DONE' });
  expect(await c.machineRun(m).result()).toMatchObject({ status: 'SUCCESS' });

  // One command at a time on the machine: A's, then C's; B's was never sent.
  const sent = h.fleet.commandCalls('startCommand', m);
  expect(sent.map((x) => x.request.ref.eventId)).toEqual([a.eventId, c.eventId]);
  // A's command is followed twice once B and C wait (the second watches it closely); C's is followed after it.
  const follows = h.fleet.commandCalls('followCommand', m);
  const commandOf = (x: (typeof follows)[number]) => (x.args.start as { commandId: string }).commandId;
  const ofA = follows.filter((x) => x.request.ref.eventId === a.eventId);
  const ofC = follows.filter((x) => x.request.ref.eventId === c.eventId);
  expect(new Set(ofA.map(commandOf)).size).toBe(1);
  expect(ofA.length).toBeGreaterThanOrEqual(2);
  expect(ofA[1].args.closeWatch).toEqual([{ fromMs: 0, untilMs: expect.any(Number) }]);
  expect(ofC).toHaveLength(1);
  const aEnded = Math.min(...ofA.map((x) => x.doneAt ?? Infinity));
  expect(ofC[0].at).toBeGreaterThanOrEqual(aEnded);
  expect(aEnded).toBeGreaterThan(a.endMs);
});

test('hooks still running at the window end fail; the machine is NOT_IN_TIME_WINDOW and the event ends on time', async () => {
  const [slowHook, waiting] = ['slow-hook', 'waiting'].map(h.id);
  const ev = await h.startEvent({
    windowMs: 2_000,
    maxConcurrency: 1,
    hooks: { 'long-check': { ok: true, ms: 20_000 } },
    machines: [{ id: slowHook, pre: [{ name: 'long-check', type: 'lambda' }] }, { id: waiting }],
  });
  expect(await ev.finished()).toMatchObject({ status: 'DONE_ERROR' });
  expect(Date.now()).toBeLessThan(ev.endMs + ON_TIME_MS);
  expect(await ev.machineRun(slowHook).result()).toMatchObject({ status: 'NOT_IN_TIME_WINDOW' });
  expect(h.fleet.machineStatus(ev.eventId, waiting)).toBe('NOT_IN_TIME_WINDOW');
  expect(h.fleet.commandCalls('startCommand', slowHook)).toEqual([]);
  expect(h.fleet.commandCalls('startCommand', waiting)).toEqual([]);
});
