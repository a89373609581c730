/**
 * Health gates of an event run (workflows/event-run-state.ts, docs/behaviour.md#health-gates), without Temporal:
 * a reading before the first group, readings on an interval while machines remain to start, a soak after each
 * group, a halt on an unhealthy reading (running machines go on, no new one starts), and the operator's
 * resume / override / abort. The clock is passed in: every step below says what time it is.
 */
import { EventRun, haltCauseText, type RunPlan } from '../../../workflows/event-run-state';
import type { MachineRunResult, RunMachine } from '../../../workflows/defs';
import type { GateReading } from '../../../domain/health-gates';

const DEADLINE = 10_000_000;
const INTERVAL = 1_000;
const SOAK = 5_000;
const HEALTHY: GateReading = { healthy: true };
const ALARM: GateReading = { healthy: false, probe: 'cloudwatch_alarm_0', answer: 'alarm api-5xx in ALARM' };

const machines = (spec: Record<string, number>): RunMachine[] =>
  Object.entries(spec).map(([id, order]) => ({ id, order }));
const gated = (spec: Record<string, number>, over: Partial<RunPlan> = {}) =>
  EventRun.begin(0, DEADLINE, {
    machines: machines(spec),
    postHooks: [],
    gates: { intervalMs: INTERVAL, soakMs: SOAK },
    ...over,
  });
const done = (machineId: string): MachineRunResult => ({
  machineId,
  runNo: 0,
  status: 'SUCCESS',
  hostHookFailed: false,
});
const ids = (ms: RunMachine[]) => ms.map((m) => m.id);

describe('without health gates nothing changes', () => {
  test('no reading is ever due and machines start at once', () => {
    const r = EventRun.begin(0, DEADLINE, { machines: machines({ a: 1, b: 2 }), postHooks: [] });
    expect(r.readDue(0)).toBe(false);
    expect(r.gateWakeMs(0)).toBe(Infinity);
    expect(r.gateKey()).toBe('');
    expect(ids(r.takeStartable(0))).toEqual(['a']);
    expect(r.state.gate).toBeUndefined(); // the carried state keeps its old shape
  });
});

describe('before the first group', () => {
  test('a healthy reading is needed before any machine starts', () => {
    const r = gated({ a: 1, b: 1 });
    expect(r.takeStartable(0)).toEqual([]);
    expect(r.readDue(0)).toBe(true);
    expect(r.gateReading(0, HEALTHY)).toBe(false);
    expect(ids(r.takeStartable(0))).toEqual(['a', 'b']);
  });

  test('an unhealthy first reading halts before anything starts', () => {
    const r = gated({ a: 1 });
    expect(r.gateReading(0, ALARM)).toBe(true);
    expect(r.haltedBy()).toEqual({ probe: 'cloudwatch_alarm_0', answer: 'alarm api-5xx in ALARM' });
    expect(r.takeStartable(10)).toEqual([]);
    expect(r.readDue(10_000)).toBe(false); // halted: only an operator moves it on
    expect(r.gateWakeMs(10_000)).toBe(Infinity);
  });
});

describe('while a group runs', () => {
  test('readings come every interval; a halt stops new starts and lets running machines finish', () => {
    const r = gated({ a: 1, b: 1, c: 1 }, { maxConcurrency: 1 });
    r.gateReading(0, HEALTHY);
    expect(ids(r.takeStartable(0))).toEqual(['a']);
    expect(r.readDue(500)).toBe(false);
    expect(r.gateWakeMs(500)).toBe(INTERVAL);
    expect(r.readDue(INTERVAL)).toBe(true);
    expect(r.gateReading(INTERVAL, ALARM)).toBe(true);
    r.absorb([done('a')]); // the running machine finishes and reports
    expect(r.takeStartable(INTERVAL + 1)).toEqual([]); // but no new one starts
    expect(r.state.inflight).toEqual([]);
    expect(r.state.pending.map((m) => m.id)).toEqual(['b', 'c']);
  });

  test('a second unhealthy reading does not halt twice', () => {
    const r = gated({ a: 1, b: 1 }, { maxConcurrency: 1 });
    r.gateReading(0, HEALTHY);
    r.takeStartable(0);
    expect(r.gateReading(INTERVAL, ALARM)).toBe(true);
    expect(r.gateReading(2 * INTERVAL, ALARM)).toBe(false);
  });

  test('no readings once nothing remains to start', () => {
    const r = gated({ a: 1 });
    r.gateReading(0, HEALTHY);
    r.takeStartable(0);
    expect(r.readDue(5 * INTERVAL)).toBe(false);
    expect(r.gateWakeMs(5 * INTERVAL)).toBe(Infinity);
  });
});

describe('soak between groups', () => {
  test('the next group starts only after a healthy reading taken once the soak is over', () => {
    const r = gated({ a: 1, b: 2 });
    r.gateReading(0, HEALTHY);
    expect(ids(r.takeStartable(0))).toEqual(['a']);
    r.absorb([done('a')]);
    const ended = 3_000;
    expect(r.readDue(ended)).toBe(true); // the interval has passed: read during the soak
    r.gateReading(ended, HEALTHY);
    expect(r.takeStartable(ended)).toEqual([]); // soaking until ended + SOAK
    expect(r.gateWakeMs(ended + 1)).toBe(ended + INTERVAL);
    r.gateReading(ended + INTERVAL, HEALTHY);
    expect(r.gateWakeMs(ended + INTERVAL + 1)).toBe(ended + 2 * INTERVAL);
    expect(r.takeStartable(ended + SOAK - 1)).toEqual([]);
    expect(r.readDue(ended + SOAK)).toBe(true);
    r.gateReading(ended + SOAK, HEALTHY);
    expect(ids(r.takeStartable(ended + SOAK))).toEqual(['b']);
  });

  test('an unhealthy reading during the soak halts before the next group', () => {
    const r = gated({ a: 1, b: 2 });
    r.gateReading(0, HEALTHY);
    r.takeStartable(0);
    r.absorb([done('a')]);
    r.readDue(2_000);
    expect(r.gateReading(2_000, ALARM)).toBe(true);
    expect(r.takeStartable(2_000 + SOAK)).toEqual([]);
  });

  test('with soak 0 the next group waits only for a fresh reading', () => {
    const r = gated({ a: 1, b: 2 }, { gates: { intervalMs: 60_000, soakMs: 0 } });
    r.gateReading(0, HEALTHY);
    r.takeStartable(0);
    r.absorb([done('a')]);
    expect(r.takeStartable(100)).toEqual([]);
    expect(r.readDue(100)).toBe(true); // before the interval: the group's start needs its own reading
    r.gateReading(100, HEALTHY);
    expect(ids(r.takeStartable(100))).toEqual(['b']);
  });
});

describe('operator answers to a halt', () => {
  const halted = () => {
    const r = gated({ a: 1, b: 1, c: 2 }, { maxConcurrency: 1 });
    r.gateReading(0, HEALTHY);
    r.takeStartable(0);
    r.gateReading(INTERVAL, ALARM);
    r.absorb([done('a')]);
    return r;
  };

  test('only a halted run takes them', () => {
    expect(gated({ a: 1 }).gateActionRefusal()).toBe('the run is not halted by a health gate');
    expect(halted().gateActionRefusal()).toBeUndefined();
  });

  test('resume: a fresh reading comes before the next start; still unhealthy halts again', () => {
    const r = halted();
    const key = r.gateKey();
    r.applyGateAction({ kind: 'resume' });
    expect(r.gateKey()).not.toBe(key); // wakes the workflow's wait
    expect(r.takeStartable(2_000)).toEqual([]);
    expect(r.readDue(2_000)).toBe(true);
    expect(r.gateWakeMs(2_000)).toBe(2_000);
    expect(r.gateReading(2_000, ALARM)).toBe(true);
    r.applyGateAction({ kind: 'resume' });
    r.gateReading(3_000, HEALTHY);
    expect(ids(r.takeStartable(3_000))).toEqual(['b']);
  });

  test('override: machines start at once and the gates are not read again in this run', () => {
    const r = halted();
    r.applyGateAction({ kind: 'override' });
    expect(ids(r.takeStartable(2_000))).toEqual(['b']);
    r.absorb([done('b')]);
    expect(r.readDue(100_000)).toBe(false);
    expect(ids(r.takeStartable(2_001))).toEqual(['c']); // no soak, no reading for the next group either
  });

  test('abort: machines not started become OMITTED with the reason', () => {
    const r = halted();
    r.applyGateAction({ kind: 'abort', reason: 'aborted by op: rollback' });
    expect(r.dropUnstartable(2_000)).toEqual({
      machineIds: ['b', 'c'],
      status: 'OMITTED',
      reason: 'aborted by op: rollback',
    });
    expect(r.machinesSettled()).toBe(true);
    expect(r.gateReading(2_001, ALARM)).toBe(false); // a reading in flight at the abort changes nothing
  });

  test('the window ending while halted ends it like any other run: NOT_IN_TIME_WINDOW', () => {
    const r = halted();
    expect(r.readDue(DEADLINE)).toBe(false);
    expect(r.dropUnstartable(DEADLINE)).toEqual({
      machineIds: ['b', 'c'],
      status: 'NOT_IN_TIME_WINDOW',
      reason: 'the window ended before the machine could start',
    });
  });

  test('the halt survives continue-as-new (the state is carried as-is)', () => {
    const r = halted();
    const carried = new EventRun(JSON.parse(JSON.stringify(r.state)));
    expect(carried.haltedBy()).toEqual(r.haltedBy());
    expect(carried.takeStartable(2_000)).toEqual([]);
    carried.applyGateAction({ kind: 'override' });
    expect(ids(carried.takeStartable(2_000))).toEqual(['b']);
  });
});

describe('a halt for another cause (a freeze), with or without health gates', () => {
  const FREEZE = { kind: 'freeze' as const, probe: 'black-friday', answer: 'closed until 2026-11-30' };

  test('a run without gates halts: no new machine starts; resume lets it go on without any reading', () => {
    const r = EventRun.begin(0, DEADLINE, {
      machines: machines({ a: 1, b: 1 }),
      postHooks: [],
      maxConcurrency: 1,
    });
    expect(ids(r.takeStartable(0))).toEqual(['a']);
    expect(r.halt(10, FREEZE)).toBe(true);
    expect(r.halt(11, FREEZE)).toBe(false); // already halted
    expect(r.haltedBy()).toEqual(FREEZE);
    expect(haltCauseText(FREEZE)).toBe('freeze black-friday: closed until 2026-11-30');
    r.absorb([done('a')]);
    expect(r.takeStartable(20)).toEqual([]);
    expect(r.readDue(20)).toBe(false);
    const before = r.gateKey();
    r.applyGateAction({ kind: 'resume' });
    expect(r.gateKey()).not.toBe(before); // the run's wait wakes up
    expect(r.readDue(30)).toBe(false); // no gates: nothing to re-read
    expect(ids(r.takeStartable(30))).toEqual(['b']);
  });

  test('abort after a freeze halt leaves the rest OMITTED with the reason', () => {
    const r = EventRun.begin(0, DEADLINE, { machines: machines({ a: 1, b: 2 }), postHooks: [] });
    expect(r.halt(0, FREEZE)).toBe(true);
    r.applyGateAction({ kind: 'abort', reason: 'aborted by ops: freeze' });
    expect(r.dropUnstartable(1)).toEqual({
      machineIds: ['a', 'b'],
      status: 'OMITTED',
      reason: 'aborted by ops: freeze',
    });
  });

  test('nothing to halt once every machine started, the run stopped or the window ended', () => {
    const r = EventRun.begin(0, DEADLINE, { machines: machines({ a: 1 }), postHooks: [] });
    expect(r.halt(DEADLINE, FREEZE)).toBe(false);
    r.takeStartable(0);
    expect(r.halt(1, FREEZE)).toBe(false);
    expect(r.state.gate).toBeUndefined();
  });

  test('with gates: a freeze halt stops readings like a failed probe; a resume re-reads before starting', () => {
    const r = gated({ a: 1 });
    expect(r.halt(0, FREEZE)).toBe(true);
    expect(r.readDue(5_000)).toBe(false);
    expect(r.gateReading(5_000, ALARM)).toBe(false); // ignored while halted
    r.applyGateAction({ kind: 'resume' });
    expect(r.takeStartable(6_000)).toEqual([]);
    expect(r.readDue(6_000)).toBe(true);
    r.gateReading(6_000, HEALTHY);
    expect(ids(r.takeStartable(6_000))).toEqual(['a']);
  });
});

describe('an abort that lands in the middle of a pass', () => {
  test('a freeze halt without gates: after the abort nothing starts, and the next pass omits the rest', () => {
    const r = EventRun.begin(0, DEADLINE, {
      machines: machines({ a: 1, b: 1 }),
      postHooks: [],
      maxConcurrency: 1,
    });
    expect(ids(r.takeStartable(0))).toEqual(['a']);
    // b waits behind a (max_concurrency 1); a freeze begins and halts the run.
    expect(r.halt(10, { kind: 'freeze', probe: 'Incidents', answer: 'Major incident' })).toBe(true);
    r.absorb([done('a')]); // the running machine finishes while halted
    expect(r.takeStartable(15)).toEqual([]);
    // The pass already called dropUnstartable (nothing to drop yet) and now awaits the halt's notice; the
    // operator's abort lands then. The pass goes on to takeStartable: it must start nothing.
    expect(r.dropUnstartable(20)).toBeUndefined();
    r.applyGateAction({ kind: 'abort', reason: 'aborted by key-op: frozen' });
    expect(r.takeStartable(30)).toEqual([]);
    // The next pass marks what never started.
    expect(r.dropUnstartable(40)).toEqual({
      machineIds: ['b'],
      status: 'OMITTED',
      reason: 'aborted by key-op: frozen',
    });
  });
});
