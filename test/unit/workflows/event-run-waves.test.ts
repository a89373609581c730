/**
 * max_unavailable in the event run's decisions (workflows/event-run-state.ts `takeStartable`), without Temporal:
 * at most `max` machines sharing a tag value in flight, on top of max_concurrency and order groups (waves).
 */
import { EventRun, type RunPlan } from '../../../workflows/event-run-state';
import type { MachineRunResult, RunMachine } from '../../../workflows/defs';

const DEADLINE = 1_000_000;
const m = (id: string, order: number, limitKey?: string): RunMachine => ({
  id,
  order,
  ...(limitKey !== undefined ? { limitKey } : {}),
});
const plan = (p: Partial<RunPlan> & { machines: RunMachine[] }): RunPlan => ({ postHooks: [], ...p });
const report = (machineId: string): MachineRunResult => ({
  machineId,
  runNo: 0,
  status: 'SUCCESS',
  hostHookFailed: false,
});
const ids = (ms: RunMachine[]) => ms.map((x) => x.id);

describe('max_unavailable', () => {
  test('one machine of a tag value at a time; other values and untagged machines go on', () => {
    const r = EventRun.begin(
      0,
      DEADLINE,
      plan({
        machines: [m('a1', 0, 'api'), m('a2', 0, 'api'), m('d1', 0, 'db'), m('x', 0), m('a3', 0, 'api')],
        maxUnavailable: 1,
      }),
    );
    expect(ids(r.takeStartable())).toEqual(['a1', 'd1', 'x']);
    expect(r.takeStartable()).toEqual([]);
    r.absorb([report('d1'), report('x')]);
    expect(r.takeStartable()).toEqual([]); // a1 still runs
    r.absorb([report('a1')]);
    expect(ids(r.takeStartable())).toEqual(['a2']);
    r.absorb([report('a2')]);
    expect(ids(r.takeStartable())).toEqual(['a3']);
    r.absorb([report('a3')]);
    expect(r.machinesSettled()).toBe(true);
    expect(r.state.inflightKeys).toEqual({});
  });

  test('max 2 of a value, on top of max_concurrency', () => {
    const r = EventRun.begin(
      0,
      DEADLINE,
      plan({
        machines: ['a', 'b', 'c', 'd'].map((id) => m(id, 0, 'svc')).concat(m('e', 0, 'other')),
        maxUnavailable: 2,
        maxConcurrency: 2,
      }),
    );
    expect(ids(r.takeStartable())).toEqual(['a', 'b']);
    r.absorb([report('a')]);
    // b still runs: one more of svc fits, and the concurrency slot goes to the first machine that fits.
    expect(ids(r.takeStartable())).toEqual(['c']);
    r.absorb([report('b')]);
    expect(ids(r.takeStartable())).toEqual(['d']);
    r.absorb([report('c'), report('d')]);
    expect(ids(r.takeStartable())).toEqual(['e']);
  });

  test('a machine held back by its value waits inside its group; the next group waits for it', () => {
    const r = EventRun.begin(
      0,
      DEADLINE,
      plan({ machines: [m('a', 0, 'svc'), m('b', 0, 'svc'), m('c', 1, 'other')], maxUnavailable: 1 }),
    );
    expect(ids(r.takeStartable())).toEqual(['a']);
    r.absorb([report('a')]);
    expect(ids(r.takeStartable())).toEqual(['b']);
    r.absorb([report('b')]);
    expect(ids(r.takeStartable())).toEqual(['c']);
  });

  test('the state with the limit survives a JSON round trip (continue-as-new)', () => {
    const r = EventRun.begin(
      0,
      DEADLINE,
      plan({ machines: [m('a', 0, 's'), m('b', 0, 's')], maxUnavailable: 1 }),
    );
    expect(ids(r.takeStartable())).toEqual(['a']);
    const again = new EventRun(JSON.parse(JSON.stringify(r.state)));
    expect(again.takeStartable()).toEqual([]);
    again.absorb([report('a')]);
    expect(ids(again.takeStartable())).toEqual(['b']);
  });

  test('given up on at the window end, in-flight values are cleared', () => {
    const r = EventRun.begin(0, DEADLINE, plan({ machines: [m('a', 0, 's')], maxUnavailable: 1 }));
    r.takeStartable();
    r.giveUpOnInflight();
    expect(r.state.inflightKeys).toEqual({});
  });

  test('without max_unavailable the state has no new fields (old histories carry the same shape)', () => {
    const r = EventRun.begin(0, DEADLINE, plan({ machines: [m('a', 0, 's'), m('b', 0, 's')] }));
    expect(ids(r.takeStartable())).toEqual(['a', 'b']);
    expect('maxUnavailable' in r.state).toBe(false);
    expect('inflightKeys' in r.state).toBe(false);
  });
});
