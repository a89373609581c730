/**
 * A hook may legitimately take minutes (draining a load balancer): it is bounded by HOOK_TIMEOUT_MS and the
 * window end, not by an activity timeout. A host hook that answers after 65 s (longer than the one-minute
 * start-to-close timeout its activity used to have, which cut it off and called it again on retry) must be
 * called exactly once and its answer kept.
 */
import { startStack, type Stack } from '../helpers/stack';
import { answer, fleet, machineOf } from '../helpers/e2e-fleet';

jest.setTimeout(300_000);

let stack: Stack;
let f: ReturnType<typeof fleet>;
beforeAll(async () => {
  stack = await startStack('slow_hook', { env: { HOOK_TIMEOUT_MS: String(5 * 60_000) } });
  f = fleet(stack);
});
afterAll(async () => {
  await stack?.close();
});

test('a host hook answering after 65 s is called once, and its answer counts', async () => {
  const m = await f.machine();
  const slow = await f.lambda([answer(200, 'drained slowly', 'lb drained', 65)]);
  const planId = await f.plan({
    window_hours: 0.5,
    machines: [{ machine_id: m.id, pre_host_hooks: [slow.hook] }],
  });
  const ev = await f.finished(await f.execute(planId), 240_000);
  expect(machineOf(ev, m.id).hooks.map((h) => [h.name, h.code, h.message, h.output])).toEqual([
    ['pre_host_0', 200, 'drained slowly', 'lb drained'],
  ]);
  expect(machineOf(ev, m.id).status).toBe('SUCCESS');
  expect(ev.status).toBe('DONE');
  expect(await f.lambdaCalls(slow.name)).toHaveLength(1);
});
