/**
 * The plan's order, max_concurrency and max_errors reach the run end to end: through the API, the plan snapshot
 * in the store and the lab's SSM, checked from the command times the lab recorded. The rules themselves (order
 * groups, the concurrency limit, max_errors across groups, in every combination) are pinned down in seconds by
 * test/workflow/ordering.test.ts; this file only proves the plan's fields get there.
 */
import { startStack, type Stack } from '../helpers/stack';
import { fleet, machineOf, statusOf, type FleetMachine, type LabCommand } from '../helpers/e2e-fleet';

jest.setTimeout(240_000);

let stack: Stack;
let f: ReturnType<typeof fleet>;
beforeAll(async () => {
  stack = await startStack('e2e_ordering');
  f = fleet(stack);
});
afterAll(async () => {
  await stack?.close();
});

const ms = (s: string | null | undefined) => {
  if (!s) throw new Error('missing timestamp');
  return Date.parse(s);
};

async function onlyCommand(m: FleetMachine): Promise<LabCommand> {
  const cmds = await f.commands(m.ssmId);
  if (cmds.length !== 1) throw new Error(`${m.name} got ${cmds.length} commands, expected 1`);
  return cmds[0];
}

test("the plan's order, max_concurrency and max_errors decide the run: groups in order, one at a time, then OMITTED", async () => {
  const ok = () =>
    f.machine({ commands: [{ duration_s: 1, outcome: 'success' as const, installed: ['pkg-1'] }] });
  const a = await ok();
  const b = await ok();
  const failing = await f.machine({ commands: [{ duration_s: 1, outcome: 'failed' }] });
  const never = await f.machine();
  // Listed out of order on purpose: the order field decides, not the position.
  const planId = await f.plan({
    max_concurrency: 1,
    max_errors: 1,
    machines: [
      { machine_id: never.id, order: 9 },
      { machine_id: failing.id, order: 5 },
      { machine_id: a.id, order: 0 },
      { machine_id: b.id, order: 0 },
    ],
  });
  const ev = await f.finished(await f.execute(planId));

  expect([a, b, failing, never].map((m) => statusOf(ev, m.id))).toEqual([
    'SUCCESS',
    'SUCCESS',
    'FAILED',
    'OMITTED',
  ]);
  expect(ev.status).toBe('DONE_PARTIAL');
  // max_concurrency 1: a and b one after the other; order 5 only after order 0 ended.
  const [ca, cb, cf] = [await onlyCommand(a), await onlyCommand(b), await onlyCommand(failing)];
  const [first, second] = ms(ca.requested_at) < ms(cb.requested_at) ? [ca, cb] : [cb, ca];
  expect(ms(second.requested_at)).toBeGreaterThanOrEqual(ms(first.ended_at));
  expect(ms(cf.requested_at)).toBeGreaterThanOrEqual(ms(second.ended_at));
  // max_errors 1: the failure stopped the run before order 9.
  expect(machineOf(ev, never.id).reason).toBe('max_errors (1) reached');
  expect(await f.commands(never.ssmId)).toEqual([]);
  expect(await f.overlaps()).toEqual([]);
});
