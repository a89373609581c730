/**
 * The event run's decisions (workflows/event-run-state.ts), without Temporal: order groups, max_concurrency,
 * max_errors, a failed host hook, a failed global pre hook, the window end, and the state carried over
 * continue-as-new. The workflow tests with mocked activities check the same rules through a real workflow.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EventRun, MAX_INFLIGHT, type RunPlan, type RunState } from '../../../workflows/event-run-state';
import type { MachineRunResult, RunMachine } from '../../../workflows/defs';
import type { MachineStatus } from '../../../domain/statuses';

const DEADLINE = 1_000_000;
const BEFORE = DEADLINE - 1;

const machines = (spec: Record<string, number>): RunMachine[] =>
  Object.entries(spec).map(([id, order]) => ({ id, order }));
const plan = (p: Partial<RunPlan> & { machines: RunMachine[] }): RunPlan => ({ postHooks: [], ...p });
const report = (machineId: string, status: MachineStatus = 'SUCCESS', hostHookFailed = false, runNo = 0) =>
  ({ machineId, runNo, status, hostHookFailed }) satisfies MachineRunResult;
const ids = (ms: RunMachine[]) => ms.map((m) => m.id);

describe('order groups and max_concurrency', () => {
  test.each<[string, Record<string, number>, number | undefined, string[][]]>([
    // name, machines (id → order), max_concurrency, the batches started as each batch reports in full
    ['one group, unlimited', { a: 1, b: 1, c: 1 }, undefined, [['a', 'b', 'c']]],
    ['groups in ascending order', { c: 3, a: 1, b: 2 }, undefined, [['a'], ['b'], ['c']]],
    ['two per group at most', { a: 1, b: 1, c: 1, d: 2 }, 2, [['a', 'b'], ['c'], ['d']]],
    ['max_concurrency 1 runs one by one', { a: 1, b: 1, c: 2 }, 1, [['a'], ['b'], ['c']]],
    ['a group waits for the previous one', { a: 1, b: 2, c: 2 }, 5, [['a'], ['b', 'c']]],
    ['equal orders keep plan order', { x: 0, y: 0, z: 0 }, 2, [['x', 'y'], ['z']]],
  ])('%s', (_name, spec, maxConcurrency, batches) => {
    const r = EventRun.begin(0, DEADLINE, plan({ machines: machines(spec), maxConcurrency }));
    for (const batch of batches) {
      const started = ids(r.takeStartable());
      expect(started).toEqual(batch);
      expect(r.takeStartable()).toEqual([]); // nothing more until a report arrives
      r.absorb(started.map((id) => report(id)));
    }
    expect(r.machinesSettled()).toBe(true);
    expect(r.state.done).toBe(Object.keys(spec).length);
  });

  test('a report frees one slot in the same group, not one in the next', () => {
    const r = EventRun.begin(
      0,
      DEADLINE,
      plan({ machines: machines({ a: 1, b: 1, c: 1, d: 2 }), maxConcurrency: 2 }),
    );
    expect(ids(r.takeStartable())).toEqual(['a', 'b']);
    r.absorb([report('a')]);
    expect(ids(r.takeStartable())).toEqual(['c']);
    r.absorb([report('b')]);
    expect(ids(r.takeStartable())).toEqual([]); // c still runs: group 2 waits
    r.absorb([report('c')]);
    expect(ids(r.takeStartable())).toEqual(['d']);
  });

  test(`"unlimited" and larger limits are capped at ${MAX_INFLIGHT} in flight`, () => {
    const many = Array.from({ length: MAX_INFLIGHT + 10 }, (_, i) => ({ id: `m${i}`, order: 1 }));
    for (const maxConcurrency of [undefined, MAX_INFLIGHT * 4]) {
      const r = EventRun.begin(0, DEADLINE, plan({ machines: many, maxConcurrency }));
      expect(r.takeStartable()).toHaveLength(MAX_INFLIGHT);
      r.absorb([report('m0'), report('m1')]);
      expect(ids(r.takeStartable())).toEqual([`m${MAX_INFLIGHT}`, `m${MAX_INFLIGHT + 1}`]);
    }
  });
});

describe('reports: errors, max_errors and a failed host hook', () => {
  test.each<[string, number | undefined, MachineRunResult[], number, string | undefined]>([
    // name, max_errors, reports, errors counted, stop reason
    ['successes are no errors', 1, [report('a'), report('b', 'SUCCESS_NO_UPDATES')], 0, undefined],
    [
      'every other final status is an error',
      undefined,
      ['FAILED', 'OMITTED', 'TIMED_OUT', 'NOT_AVAILABLE', 'ERROR', 'NOT_IN_TIME_WINDOW'].map((st, i) =>
        report(`m${i}`, st as MachineStatus),
      ),
      6,
      undefined,
    ],
    [
      'max_errors reached stops the run',
      2,
      [report('a', 'FAILED'), report('b', 'ERROR')],
      2,
      'max_errors (2) reached',
    ],
    ['below max_errors goes on', 3, [report('a', 'FAILED'), report('b', 'ERROR')], 2, undefined],
    [
      'a failed host hook stops it, even on success',
      undefined,
      [report('a', 'SUCCESS', true)],
      0,
      'a host hook of machine a failed',
    ],
    [
      'the first stop reason is kept',
      1,
      [report('a', 'FAILED', true), report('b', 'FAILED')],
      2,
      'a host hook of machine a failed',
    ],
    [
      'max_errors first, then a host hook',
      1,
      [report('a', 'FAILED'), report('b', 'SUCCESS', true)],
      1,
      'max_errors (1) reached',
    ],
    ['a report of another run is ignored', 1, [report('a', 'FAILED', true, 1)], 0, undefined],
    [
      'a second report of a machine is ignored',
      2,
      [report('a', 'FAILED'), report('a', 'FAILED')],
      1,
      undefined,
    ],
  ])('%s', (_name, maxErrors, reports, errors, stopReason) => {
    const r = EventRun.begin(
      0,
      DEADLINE,
      plan({ machines: machines({ a: 1, b: 1, m0: 1, m1: 1, m2: 1, m3: 1, m4: 1, m5: 1 }), maxErrors }),
    );
    r.takeStartable();
    r.absorb(reports);
    expect(r.state.errors).toBe(errors);
    expect(r.state.stopReason).toBe(stopReason);
  });

  test('a stopped run starts no new machine; the rest are OMITTED with the reason; running ones go on', () => {
    const r = EventRun.begin(
      0,
      DEADLINE,
      plan({ machines: machines({ a: 1, b: 1, c: 1, d: 2 }), maxConcurrency: 2, maxErrors: 1 }),
    );
    expect(ids(r.takeStartable())).toEqual(['a', 'b']);
    r.absorb([report('a', 'FAILED')]);
    expect(r.dropUnstartable(BEFORE)).toEqual({
      machineIds: ['c', 'd'],
      status: 'OMITTED',
      reason: 'max_errors (1) reached',
    });
    expect(r.takeStartable()).toEqual([]);
    expect(r.machinesSettled()).toBe(false); // b still runs
    r.absorb([report('b')]);
    expect(r.machinesSettled()).toBe(true);
    expect(r.state.done).toBe(4);
    expect(r.dropUnstartable(BEFORE)).toBeUndefined();
  });
});

describe('the window end', () => {
  test.each<[string, number, string | undefined, ReturnType<EventRun['dropUnstartable']>]>([
    ['before the end nothing is dropped', BEFORE, undefined, undefined],
    [
      'at the end the rest is NOT_IN_TIME_WINDOW',
      DEADLINE,
      undefined,
      {
        machineIds: ['b', 'c'],
        status: 'NOT_IN_TIME_WINDOW',
        reason: 'the window ended before the machine could start',
      },
    ],
    [
      'the window end wins over a stop',
      DEADLINE + 5,
      'max_errors (1) reached',
      {
        machineIds: ['b', 'c'],
        status: 'NOT_IN_TIME_WINDOW',
        reason: 'the window ended before the machine could start',
      },
    ],
    [
      'a stop before the end omits',
      BEFORE,
      'max_errors (1) reached',
      { machineIds: ['b', 'c'], status: 'OMITTED', reason: 'max_errors (1) reached' },
    ],
  ])('%s', (_name, now, stopReason, dropped) => {
    const r = EventRun.begin(0, DEADLINE, plan({ machines: machines({ a: 1, b: 2, c: 2 }) }));
    r.takeStartable();
    r.state.stopReason = stopReason;
    expect(r.windowOver(now)).toBe(now >= DEADLINE);
    expect(r.dropUnstartable(now)).toEqual(dropped);
  });

  test('machines that never report after the grace are ERROR; the run then goes to its post hooks', () => {
    const r = EventRun.begin(0, DEADLINE, plan({ machines: machines({ a: 1, b: 1, c: 2 }) }));
    r.takeStartable();
    r.absorb([report('a', 'TIMED_OUT')]);
    r.dropUnstartable(DEADLINE);
    expect(r.giveUpOnInflight()).toEqual({
      machineIds: ['b'],
      status: 'ERROR',
      reason: 'the machine run did not report after the window ended',
    });
    expect(r.machinesSettled()).toBe(true);
    expect(r.state.done).toBe(3);
    r.machinesFinished();
    expect(r.phase).toBe('post');
    r.postHooksFinished();
    expect(r.phase).toBe('finalize');
  });
});

describe('global pre hooks and the scan', () => {
  test('a failed global pre hook omits every machine and skips the post hooks', () => {
    const r = EventRun.begin(
      2,
      DEADLINE,
      plan({ machines: machines({ b: 2, a: 1 }), postHooks: [{ name: 'p', type: 'lambda' }] }),
    );
    expect(r.globalPreHooksDone(true)).toEqual({
      machineIds: ['a', 'b'],
      status: 'OMITTED',
      reason: 'a global pre hook failed',
    });
    expect(r.phase).toBe('finalize');
    expect(r.state).toMatchObject({ preFailed: true, pending: [], done: 2, total: 2, runNo: 2 });
    expect(r.takeStartable()).toEqual([]);
    r.machinesFinished();
    expect(r.phase).toBe('finalize');
  });

  test('passing global pre hooks change nothing', () => {
    const r = EventRun.begin(0, DEADLINE, plan({ machines: machines({ a: 1 }) }));
    expect(r.globalPreHooksDone(false)).toBeUndefined();
    expect(r.phase).toBe('machines');
    expect(ids(r.takeStartable())).toEqual(['a']);
  });

  test('a failed scan goes straight to the final status', () => {
    expect(EventRun.begin(0, DEADLINE, plan({ machines: [], scanError: 'no access' })).phase).toBe(
      'finalize',
    );
    expect(EventRun.begin(0, DEADLINE, plan({ machines: [] })).phase).toBe('machines');
  });

  test('a run without machines is settled at once and runs its post hooks', () => {
    const r = EventRun.begin(0, DEADLINE, plan({ machines: [] }));
    expect(r.takeStartable()).toEqual([]);
    expect(r.machinesSettled()).toBe(true);
    r.machinesFinished();
    expect(r.phase).toBe('post');
  });
});

describe('continue-as-new', () => {
  test('the state is plain data: a run rebuilt from its JSON decides exactly as the original', () => {
    const a = EventRun.begin(
      0,
      DEADLINE,
      plan({ machines: machines({ a: 1, b: 1, c: 1, d: 2 }), maxConcurrency: 2, maxErrors: 2 }),
    );
    a.takeStartable();
    a.absorb([report('a', 'FAILED')]);
    const carried = JSON.parse(JSON.stringify(a.state)) as RunState;
    const b = new EventRun(carried);
    expect(b.state).toEqual(a.state);
    for (const r of [a, b]) {
      expect(ids(r.takeStartable())).toEqual(['c']);
      r.absorb([report('b', 'ERROR')]);
      expect(r.dropUnstartable(BEFORE)).toEqual({
        machineIds: ['d'],
        status: 'OMITTED',
        reason: 'max_errors (2) reached',
      });
    }
  });

  test('the carried shape is the one running workflows already carry (field names are a compatibility contract)', () => {
    const r = EventRun.begin(
      3,
      DEADLINE,
      plan({ machines: machines({ a: 1 }), maxConcurrency: 1, maxErrors: 1 }),
    );
    r.takeStartable();
    expect(Object.keys(r.state).sort()).toEqual(
      [
        'currentOrder',
        'deadlineMs',
        'done',
        'errors',
        'inflight',
        'maxConcurrency',
        'maxErrors',
        'pending',
        'phase',
        'postHooks',
        'preFailed',
        'runNo',
        'total',
      ].sort(),
    );
  });

  test('a run carried by older code (hook lists as [], no currentOrder yet) goes on', () => {
    const old: RunState = {
      runNo: 0,
      deadlineMs: DEADLINE,
      phase: 'machines',
      preFailed: false,
      postHooks: [],
      pending: [{ id: 'b', order: 2, pre: [], post: [] }],
      inflight: ['a'],
      errors: 0,
      total: 2,
      done: 0,
    };
    const r = new EventRun(old);
    expect(r.takeStartable()).toEqual([]); // group 1 (a) still in flight
    r.absorb([report('a')]);
    expect(ids(r.takeStartable())).toEqual(['b']);
  });
});

describe('purity', () => {
  // The decisions stay testable without Temporal: no SDK, no clock, no I/O in the state modules.
  const dir = path.join(__dirname, '../../../workflows');
  const stateModules = fs.readdirSync(dir).filter((f) => f.endsWith('-state.ts'));
  test('there are state modules to check', () => expect(stateModules).toContain('event-run-state.ts'));
  test.each(stateModules)('%s imports no Temporal SDK and reads no clock', (f) => {
    const src = fs.readFileSync(path.join(dir, f), 'utf8');
    const imports = [...src.matchAll(/^import\s[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]);
    expect(imports.filter((s) => !s.startsWith('./') && !s.startsWith('../domain/'))).toEqual([]);
    expect(/\bDate\.now\(|new Date\(\)|\bprocess\.|\brequire\(/.test(src)).toBe(false);
  });
});
