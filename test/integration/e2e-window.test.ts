/**
 * The window end is a hard stop, and one SSM command per machine, ever (docs/behaviour.md#window-end, #one-command): a command still
 * running at the end is TIMED_OUT and goes on in the background, machines not started are NOT_IN_TIME_WINDOW,
 * a hook still running gets code 500 "timed out at window end", the event finishes at its end, and a later
 * event waits for the background command (or gives NOT_IN_TIME_WINDOW when its own window ends first).
 *
 * Windows are one minute long (the contract's minimum) but start in the past, so only seconds are left.
 */
import { startStack, waitFor, type Stack } from '../helpers/stack';
import { answer, fleet, machineOf, type EventDetailView } from '../helpers/e2e-fleet';

jest.setTimeout(300_000);

let stack: Stack;
let f: ReturnType<typeof fleet>;
beforeAll(async () => {
  // Hooks may take longer than the SDK's 30 s socket timeout; only the hook timeout and the window bound them.
  stack = await startStack('e2e_window', { env: { HOOK_TIMEOUT_MS: '60000' } });
  f = fleet(stack);
});
afterAll(async () => {
  await stack?.close();
});

/** Seconds of slack between the window end and the event's recorded finish (activities, polling, load). */
const FINISH_SLACK_MS = 5_000;

function expectFinishedAtWindowEnd(ev: EventDetailView & { end: string }) {
  const end = Date.parse(ev.end);
  const finished = Date.parse(ev.finished_at!);
  expect(finished).toBeGreaterThanOrEqual(end);
  expect(finished - end).toBeLessThanOrEqual(FINISH_SLACK_MS);
}

test('command past the window end → TIMED_OUT in the background; later events wait for it or run out of window', async () => {
  const slow = await f.machine({
    commands: [
      { duration_s: 30, outcome: 'success', installed: ['glibc-2.39'] },
      { duration_s: 1, outcome: 'success', installed: ['tzdata-2026a'] },
    ],
  });
  const queued = await f.machine();
  const post = await f.lambda([answer(200, 'post', '')]);
  const planId = await f.plan({
    max_concurrency: 1,
    post_hooks: [post.hook],
    machines: [{ machine_id: slow.id }, { machine_id: queued.id }],
  });

  // Event A: ~12 s of window left; the slow machine's command needs 31 s.
  const a = await f.eventEndingIn(planId, 12);
  const evA = await f.finished(a.id);
  const [bg] = await f.commands(slow.ssmId);
  expect(bg.ended_at).toBeNull(); // still running on the machine when A ended

  const slowA = machineOf(evA, slow.id);
  expect(slowA.status).toBe('TIMED_OUT');
  expect(slowA.command_id).toBe(bg.command_id);
  expect(slowA.reason).toMatch(/still running when the window ended/);
  const queuedA = machineOf(evA, queued.id);
  expect(queuedA.status).toBe('NOT_IN_TIME_WINDOW');
  expect(await f.commands(queued.ssmId)).toEqual([]);
  // The post hook could not start inside the window: recorded as failed, never called.
  expect(evA.hooks.map((h) => [h.name, h.code, h.message])).toEqual([
    ['post_0', 500, 'not started: the window ended first'],
  ]);
  expect(await f.lambdaCalls(post.name)).toEqual([]);
  expect(evA.status).toBe('DONE_ERROR');
  expectFinishedAtWindowEnd(evA);

  // Event C (only the slow machine, ~6 s left) runs out of window while the machine is still busy.
  const onlySlow = await f.plan({ machines: [{ machine_id: slow.id }] });
  const c = await f.eventEndingIn(onlySlow, 6);
  // Event B (a full minute) waits for the background command, then patches.
  const b = await f.eventEndingIn(planId, 60);

  const evC = await f.finished(c.id);
  const slowC = machineOf(evC, slow.id);
  expect(slowC.status).toBe('NOT_IN_TIME_WINDOW');
  expect(slowC.reason).toMatch(/busy/);
  expect(evC.status).toBe('DONE_ERROR');
  expectFinishedAtWindowEnd(evC);

  const evB = await f.finished(b.id);
  expect(machineOf(evB, slow.id).status).toBe('SUCCESS');
  expect(machineOf(evB, queued.id).status).toBe('SUCCESS');
  expect(evB.status).toBe('DONE');

  const cmds = await f.commands(slow.ssmId);
  expect(cmds).toHaveLength(2); // A's, then B's; C never sent one
  expect(machineOf(evB, slow.id).command_id).toBe(cmds[1].command_id);
  expect(Date.parse(cmds[1].requested_at)).toBeGreaterThanOrEqual(Date.parse(cmds[0].ended_at!));
  expect(await f.overlaps()).toEqual([]);

  // The background command's own end is on the command record, not on either event.
  const doc = await waitFor('background command record', async () => {
    const d = await f.commandDoc(bg.command_id);
    return d?.ssm_status ? d : undefined;
  });
  expect(doc).toMatchObject({ event_id: a.id, ssm_status: 'Success', finished_in_background: true });
  expect(Date.parse(doc.ended_at!)).toBe(Date.parse(cmds[0].ended_at!));
  const evAAfter = await f.finished(a.id);
  expect(machineOf(evAAfter, slow.id).status).toBe('TIMED_OUT');
});

test('hooks still running at the window end get code 500 "timed out at window end"; the event ends on time', async () => {
  // Host hooks: the window ends during the pre host hooks, whether another hook follows or not.
  const m = await f.machine();
  const single = await f.machine();
  const hostHang = await f.lambda([answer(200, 'too late', '', 15)]);
  const hostLater = await f.lambda([answer(200, 'never', '')]);
  const planHost = await f.plan({
    machines: [
      { machine_id: m.id, pre_host_hooks: [hostHang.hook, hostLater.hook] },
      { machine_id: single.id, pre_host_hooks: [hostHang.hook] },
    ],
  });
  const hostEv = await f.eventEndingIn(planHost, 8);

  // Global pre hooks: a failed (timed-out) pre hook omits every machine, as any failed pre hook does (docs/behaviour.md#global-pre-hooks).
  const globalHang = await f.azure([answer(200, 'too late', '', 15)], 'POST');
  const globalLater = await f.lambda([answer(200, 'never', '')]);
  const m2 = await f.machine();
  const planGlobal = await f.plan({
    pre_hooks: [globalHang.hook, globalLater.hook],
    machines: [{ machine_id: m2.id }],
  });
  const globalEv = await f.eventEndingIn(planGlobal, 8);

  const evHost = await f.finished(hostEv.id);
  expect(machineOf(evHost, m.id).hooks.map((h) => [h.name, h.code, h.message])).toEqual([
    ['pre_host_0', 500, 'hook timed out at window end'],
    ['pre_host_1', 500, 'not started: the window ended first'],
  ]);
  expect(machineOf(evHost, single.id).hooks.map((h) => [h.name, h.code, h.message])).toEqual([
    ['pre_host_0', 500, 'hook timed out at window end'],
  ]);
  for (const x of [m, single]) {
    const mv = machineOf(evHost, x.id);
    expect(mv.status).toBe('NOT_IN_TIME_WINDOW');
    expect(mv.reason).toMatch(/window ended during the pre host hooks/);
    expect(await f.commands(x.ssmId)).toEqual([]);
  }
  expect(await f.lambdaCalls(hostLater.name)).toEqual([]);
  expect(evHost.status).toBe('DONE_ERROR');
  expectFinishedAtWindowEnd(evHost);

  const evGlobal = await f.finished(globalEv.id);
  expect(evGlobal.hooks.map((h) => [h.name, h.code, h.message])).toEqual([
    ['pre_0', 500, 'hook timed out at window end'],
    ['pre_1', 500, 'not started: the window ended first'],
  ]);
  expect(await f.lambdaCalls(globalLater.name)).toEqual([]);
  expect(machineOf(evGlobal, m2.id).status).toBe('OMITTED');
  expect(await f.commands(m2.ssmId)).toEqual([]);
  expect(evGlobal.status).toBe('DONE_ERROR');
  expectFinishedAtWindowEnd(evGlobal);
});

test('a Lambda hook slower than the SDK socket timeout but inside the hook timeout succeeds, called once', async () => {
  const m = await f.machine();
  const slowHook = await f.lambda([answer(200, 'took its time', 'snapshot done', 35)]);
  const planId = await f.plan({ pre_hooks: [slowHook.hook], machines: [{ machine_id: m.id }] });
  const ev = await f.finished(await f.execute(planId));
  expect(ev.hooks.map((h) => [h.name, h.code, h.message, h.output])).toEqual([
    ['pre_0', 200, 'took its time', 'snapshot done'],
  ]);
  expect(await f.lambdaCalls(slowHook.name)).toHaveLength(1);
  expect(ev.status).toBe('DONE');
});
