/**
 * Order groups, max_concurrency and max_errors (product.md §1 plan, §3.3), checked from the command times the
 * lab recorded: a group starts only after the previous one ended, never more than max_concurrency commands in
 * flight inside a group, and once max_errors machines failed no new machine starts.
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

/** Most intervals [from, to) holding at one instant. */
function maxInFlight(spans: { from: number; to: number }[]): number {
  return Math.max(0, ...spans.map((a) => spans.filter((b) => b.from <= a.from && a.from < b.to).length));
}

async function onlyCommand(m: FleetMachine): Promise<LabCommand> {
  const cmds = await f.commands(m.ssmId);
  if (cmds.length !== 1) throw new Error(`${m.name} got ${cmds.length} commands, expected 1`);
  return cmds[0];
}

test('order groups run one after another, each at most max_concurrency machines at a time', async () => {
  const cmd = (d: number) => ({
    commands: [{ duration_s: d, outcome: 'success' as const, installed: ['pkg-1'] }],
  });
  const groups: Record<number, FleetMachine[]> = {
    0: [await f.machine(cmd(2)), await f.machine(cmd(2)), await f.machine(cmd(2))],
    5: [await f.machine(cmd(1)), await f.machine(cmd(2)), await f.machine(cmd(1))],
    10: [await f.machine(cmd(1))],
  };
  // Listed out of order on purpose: the order field decides, not the position.
  const listed = [
    { m: groups[10][0], order: 10 },
    { m: groups[5][0], order: 5 },
    { m: groups[0][0], order: 0 },
    { m: groups[5][1], order: 5 },
    { m: groups[0][1], order: 0 },
    { m: groups[0][2], order: 0 },
    { m: groups[5][2], order: 5 },
  ];
  const planId = await f.plan({
    max_concurrency: 2,
    machines: listed.map(({ m, order }) => ({ machine_id: m.id, order })),
  });
  const ev = await f.finished(await f.execute(planId));
  expect(ev.status).toBe('DONE');
  expect(ev.machines.map((m) => m.status)).toEqual(Array(7).fill('SUCCESS'));

  const spans: Record<number, { from: number; to: number }[]> = {};
  for (const [order, ms_] of Object.entries(groups)) {
    spans[Number(order)] = [];
    for (const m of ms_) {
      const c = await onlyCommand(m);
      // From SendCommand to the command's end: the machine's whole slot, delivery included.
      spans[Number(order)].push({ from: ms(c.requested_at), to: ms(c.ended_at) });
    }
  }
  expect(maxInFlight(spans[0])).toBe(2);
  expect(maxInFlight(spans[5])).toBe(2);
  expect(maxInFlight(spans[10])).toBe(1);
  const firstStart = (o: number) => Math.min(...spans[o].map((s) => s.from));
  const lastEnd = (o: number) => Math.max(...spans[o].map((s) => s.to));
  expect(firstStart(5)).toBeGreaterThanOrEqual(lastEnd(0));
  expect(firstStart(10)).toBeGreaterThanOrEqual(lastEnd(5));

  // The stored machine times tell the same story.
  const stored = (m: FleetMachine) => machineOf(ev, m.id);
  const groupStart = (o: number) => Math.min(...groups[o].map((m) => ms(stored(m).started_at)));
  const groupEnd = (o: number) => Math.max(...groups[o].map((m) => ms(stored(m).ended_at)));
  expect(groupStart(5)).toBeGreaterThanOrEqual(groupEnd(0));
  expect(groupStart(10)).toBeGreaterThanOrEqual(groupEnd(5));
  expect(await f.overlaps()).toEqual([]);
});

test('max_errors stops starting new machines; any non-success machine counts', async () => {
  const failed = await f.machine({ commands: [{ duration_s: 1, outcome: 'failed' }] });
  const ok = await f.machine();
  const offline = await f.machine({ online: false });
  const never1 = await f.machine();
  const never2 = await f.machine();
  const planId = await f.plan({
    max_concurrency: 1,
    max_errors: 2,
    machines: [failed, ok, offline, never1, never2].map((m) => ({ machine_id: m.id })),
  });
  const ev = await f.finished(await f.execute(planId));

  expect(statusOf(ev, failed.id)).toBe('FAILED');
  expect(statusOf(ev, ok.id)).toBe('SUCCESS');
  expect(statusOf(ev, offline.id)).toBe('NOT_AVAILABLE');
  for (const m of [never1, never2]) {
    const mv = machineOf(ev, m.id);
    expect(mv.status).toBe('OMITTED');
    expect(mv.reason).toBe('max_errors (2) reached');
    expect(await f.commands(m.ssmId)).toEqual([]);
  }
  expect(ev.status).toBe('DONE_PARTIAL');
});

test('max_errors reached in one order group omits the later groups', async () => {
  const a = await f.machine({ commands: [{ duration_s: 1, outcome: 'failed' }] });
  const b = await f.machine({ commands: [{ duration_s: 1, outcome: 'failed' }] });
  const c = await f.machine();
  const planId = await f.plan({
    max_errors: 2,
    machines: [
      { machine_id: a.id, order: 1 },
      { machine_id: b.id, order: 1 },
      { machine_id: c.id, order: 2 },
    ],
  });
  const ev = await f.finished(await f.execute(planId));
  expect([statusOf(ev, a.id), statusOf(ev, b.id), statusOf(ev, c.id)]).toEqual([
    'FAILED',
    'FAILED',
    'OMITTED',
  ]);
  expect(await f.commands(c.ssmId)).toEqual([]);
  expect(ev.status).toBe('DONE_ERROR');
});
