/**
 * The event's decisions around its runs (workflows/event-state.ts), without Temporal: which operator requests
 * are accepted when, gates and window edits before the start, when it starts or never does, the incoming
 * notices, when it closes, and what continue-as-new carries.
 */
import { EventState, QUIET_CLOSE_MS } from '../../../workflows/event-state';
import { EventRun } from '../../../workflows/event-run-state';
import type { EventWorkflowInput } from '../../../workflows/defs';
import { EventStatus } from '../../../domain/statuses';

const START = Date.parse('2026-06-01T10:00:00Z');
const END = Date.parse('2026-06-01T12:00:00Z');
const MIN = 60_000;

const input = (over: Partial<EventWorkflowInput> = {}): EventWorkflowInput => ({
  eventId: 'evt_1',
  customerId: 'cus_1',
  planId: 'pln_1',
  start: new Date(START).toISOString(),
  end: new Date(END).toISOString(),
  initialStatus: 'NEW',
  ...over,
});
const at = (status: EventStatus, over: Partial<EventWorkflowInput> = {}) => {
  const ev = new EventState(input(over), START - 60 * MIN);
  ev.status = status;
  return ev;
};
const running = (ev: EventState) => {
  ev.run = EventRun.begin(0, END, { machines: [{ id: 'm', order: 1 }], postHooks: [] });
  return ev;
};

/** Every status, from the domain's one list (a new status must be placed in a row of these tables). */
const ALL: EventStatus[] = [...EventStatus.options];
const UPCOMING: EventStatus[] = ['NEW', 'NOT_APPROVED', 'APPROVED', 'DELETED'];
const FINISHED: EventStatus[] = ['DONE', 'DONE_MANUAL', 'DONE_PARTIAL', 'DONE_ERROR', 'DONE_ERROR_MANUAL'];
/** A run is under way (HALTED: a health gate stopped new starts; not final). */
const RUNNING: EventStatus[] = ['IN_PROGRESS', 'HALTED'];

describe('operator requests by status (undefined = accepted)', () => {
  test.each(ALL)('%s', (status) => {
    const ev = at(status);
    const manual = {
      machine_id: 'm',
      manual_status: 'SUCCESS_MANUAL' as const,
      action_taken: 'rebooted',
      requested_by: 'op',
    };
    expect(ev.approveRefusal() === undefined).toBe(status === 'NOT_APPROVED');
    expect(ev.deleteRefusal() === undefined).toBe(UPCOMING.includes(status) && status !== 'DELETED');
    expect(ev.excludeRefusal(['m']) === undefined).toBe(UPCOMING.includes(status));
    expect(ev.manualStatusRefusal(manual) === undefined).toBe(
      FINISHED.includes(status) || status === 'IN_PROGRESS',
    );
    expect(ev.partialRunRefusal() === undefined).toBe(FINISHED.includes(status));
  });

  test('the refusals say why', () => {
    expect(at('NEW').approveRefusal()).toBe('only a NOT_APPROVED event can be approved; this one is NEW');
    expect(at('DONE').deleteRefusal()).toBe(
      'an event that is DONE cannot be deleted; only upcoming events can',
    );
    expect(at('DONE').excludeRefusal(['m'])).toBe(
      'machines can only be excluded before the event starts; it is DONE',
    );
    expect(at('NEW').excludeRefusal([])).toBe('machine_ids must not be empty');
    expect(at('NEW').excludeRefusal(undefined)).toBe('machine_ids must not be empty');
    expect(at('NEW').partialRunRefusal()).toBe('partial patching needs a finished event; this one is NEW');
    // A second delete (the workflow re-opened to delete a never-run event may still be open) is refused.
    expect(at('DELETED').deleteRefusal()).toBe('the event is already DELETED');
  });

  test('a running event refuses manual status, partial runs, deletes and exclusions', () => {
    const ev = running(at('IN_PROGRESS'));
    expect(
      ev.manualStatusRefusal({
        machine_id: 'm',
        manual_status: 'SUCCESS_MANUAL',
        action_taken: 'x',
        requested_by: 'op',
      }),
    ).toBe('manual status changes need a finished event; this one is IN_PROGRESS (a run is under way)');
    ev.status = 'DONE'; // the final status is stored before the run is let go
    expect(ev.partialRunRefusal()).toBe(
      'partial patching needs a finished event; this one is DONE (running)',
    );
    expect(ev.deleteRefusal()).toBeDefined();
    expect(ev.excludeRefusal(['m'])).toBeDefined();
  });

  test('a run that has begun but not reached its machines (global pre hooks) refuses manual status', () => {
    const ev = at('DONE_ERROR');
    const req = {
      machine_id: 'm',
      manual_status: 'SUCCESS_MANUAL' as const,
      action_taken: 'x',
      requested_by: 'op',
    };
    expect(ev.manualStatusRefusal(req)).toBeUndefined();
    ev.runActive = true; // beginRun: from its first step, before `run` exists
    ev.status = 'IN_PROGRESS';
    expect(ev.manualStatusRefusal(req)).toMatch(/a run is under way/);
    ev.runActive = false;
    ev.pendingPartial = { requested_by: 'op' }; // a partial run accepted, not begun yet
    ev.status = 'DONE';
    expect(ev.manualStatusRefusal(req)).toMatch(/a run is under way/);
    ev.pendingPartial = undefined;
    ev.manualApplying = 1; // a manual change being written: a partial run waits for it
    expect(ev.partialRunRefusal()).toMatch(/manual status change is being applied/);
  });

  test.each<[string, string | undefined, string | undefined]>([
    ['SUCCESS_MANUAL', undefined, 'action_taken is required for SUCCESS_MANUAL'],
    ['FAILED_MANUAL', '  ', 'action_taken is required for FAILED_MANUAL'],
    ['SUCCESS_MANUAL', 'patched by hand', undefined],
  ])('manual status %s with action_taken %j', (manual_status, action_taken, refusal) => {
    const req = { machine_id: 'm', manual_status, action_taken, requested_by: 'op' } as Parameters<
      EventState['manualStatusRefusal']
    >[0];
    expect(at('DONE_ERROR').manualStatusRefusal(req)).toBe(refusal);
  });

  test('one partial run at a time; it gets the next run number', () => {
    const ev = at('DONE_ERROR');
    ev.runNo = 2;
    expect(ev.requestPartialRun({ requested_by: 'op' })).toBe(3);
    expect(ev.partialRunRefusal()).toBe(
      'partial patching needs a finished event; this one is DONE_ERROR (running)',
    );
  });

  test.each<[string, EventStatus]>([
    ['in a pipeline an approval waits for the pipeline run', 'APPROVED'],
    ['outside a pipeline it runs at once', 'NEW'],
  ])('%s', (name, next) => {
    const ev = at('NOT_APPROVED', name.startsWith('in a') ? { pipelineRunId: 'prn_1' } : {});
    expect(ev.approvedStatus()).toBe(next);
  });

  test('a changed target set asks again: NOT_APPROVED, and the next approval runs it at once, pipeline or not', () => {
    const ev = at('NEW', { pipelineRunId: 'prn_1' });
    ev.approved = true;
    expect(ev.checksApproval(START)).toBe(true);
    ev.askReapproval();
    expect(ev.status).toBe('NOT_APPROVED');
    expect(ev.checksApproval(START)).toBe(false); // only a runnable event is checked
    expect(ev.approveRefusal()).toBeUndefined();
    // The pipeline opened this event already: no one else to wait for.
    expect(ev.approvedStatus()).toBe('NEW');
    ev.approving = true;
    expect(ev.approveRefusal()).toBe('an approval of this event is being recorded');
    // Carried over continue-as-new.
    const b = new EventState(input({ pipelineRunId: 'prn_1', carried: ev.carried(undefined) }), START);
    expect([b.approved, b.reapprovalAsked, b.approvedStatus()]).toEqual([true, true, 'NEW']);
  });

  test('an event never approved is not checked at its window', () => {
    expect(at('NEW').checksApproval(START)).toBe(false);
  });

  test('exclusions add up', () => {
    const ev = at('NEW');
    expect(ev.exclude(['a', 'b'])).toEqual(['a', 'b']);
    expect(ev.exclude(['b', 'c'])).toEqual(['a', 'b', 'c']);
  });
});

describe('pipeline gates and window edits before the start', () => {
  test.each<
    [
      string,
      EventStatus,
      boolean,
      'NEW' | 'NOT_APPROVED' | 'APPROVED',
      boolean | undefined,
      EventStatus,
      boolean,
      EventStatus[],
    ]
  >([
    // name, status, gated, gate, open → status, gated, changes to record
    ['an open gate lets a NEW event run', 'NEW', true, 'NEW', true, 'NEW', false, []],
    [
      'a closed gate makes it NOT_APPROVED',
      'NEW',
      true,
      'NOT_APPROVED',
      false,
      'NOT_APPROVED',
      true,
      ['NOT_APPROVED'],
    ],
    ['an approved step opens', 'NOT_APPROVED', true, 'NEW', true, 'NEW', false, ['NEW']],
    [
      'APPROVED while earlier steps run',
      'NOT_APPROVED',
      true,
      'APPROVED',
      false,
      'APPROVED',
      true,
      ['APPROVED'],
    ],
    ['a deleted event ignores it', 'DELETED', true, 'NEW', true, 'DELETED', true, []],
    ['a finished event ignores it', 'DONE', true, 'NEW', true, 'DONE', true, []],
    ['a running event ignores it', 'IN_PROGRESS', false, 'NOT_APPROVED', false, 'IN_PROGRESS', false, []],
  ])('%s', (_name, status, gated, gate, open, nextStatus, nextGated, changes) => {
    const seen: EventStatus[] = [];
    const ev = new EventState(input({ gated }), START - MIN, (s) => seen.push(s));
    ev.status = status;
    ev.applyGate(gate, open);
    expect([ev.status, ev.gated]).toEqual([nextStatus, nextGated]);
    const recorded: EventStatus[] = [];
    for (let g = ev.nextGateChange(); g !== undefined; g = ev.nextGateChange()) recorded.push(g);
    expect(recorded).toEqual(changes);
    expect(seen).toEqual(changes); // the search attribute follows every status change
  });

  test('a window edit moves the end of an upcoming event only', () => {
    const ev = at('NEW');
    const later = new Date(END + 30 * MIN).toISOString();
    ev.applyWindow(later);
    expect(ev.endMs).toBe(END + 30 * MIN);
    expect(ev.hasChangesToRecord()).toBe(true);
    expect(ev.nextWindowChange()).toBe(later);
    expect(ev.hasChangesToRecord()).toBe(false);
    const done = at('DONE');
    done.applyWindow(later);
    expect(done.endMs).toBe(END);
    expect(done.nextWindowChange()).toBeUndefined();
  });
});

describe('waiting for the start', () => {
  test.each<[string, EventStatus, boolean, number, boolean, boolean]>([
    // name, status, gated, now → wait over, runs now
    ['NEW before its start waits', 'NEW', false, START - 1, false, false],
    ['NEW at its start runs', 'NEW', false, START, true, true],
    ['NEW late inside its window runs', 'NEW', false, END - 1, true, true],
    ['NEW at its window end never runs', 'NEW', false, END, true, false],
    ['a gated NEW event waits past its start', 'NEW', true, START + MIN, false, false],
    ['a gated event whose window passed never runs', 'NEW', true, END, true, false],
    ['NOT_APPROVED waits past its start', 'NOT_APPROVED', false, START + MIN, false, false],
    ['NOT_APPROVED at the window end never runs', 'NOT_APPROVED', false, END, true, false],
    ['APPROVED waits for the pipeline', 'APPROVED', false, START + MIN, false, false],
    ['DELETED stops waiting at once', 'DELETED', false, START - 60 * MIN, true, false],
  ])('%s', (_name, status, gated, now, over, runs) => {
    const ev = at(status, { gated });
    expect(ev.isUpcoming()).toBe(status !== 'DELETED');
    expect(ev.waitOver(now)).toBe(over);
    expect(ev.waitOver(now) && ev.runsNow(now)).toBe(runs); // asked once the wait is over
  });

  test.each<[string, EventStatus, boolean, number]>([
    ['a runnable event wakes at its start', 'NEW', false, START],
    ['one that is not runnable wakes at its window end', 'NOT_APPROVED', false, END],
    ['a gated one too', 'NEW', true, END],
  ])('%s (no lead times left)', (_name, status, gated, wake) => {
    expect(at(status, { gated }).wakeAtMs()).toBe(wake);
  });

  test('incoming notices: due lead times one by one, past ones dropped, only for events that may run', () => {
    const ev = new EventState(input(), START - 120 * MIN);
    ev.setLeadTimes([24 * 60, 60, 10], START - 120 * MIN); // 24 h is already past
    expect(ev.wakeAtMs()).toBe(START - 60 * MIN);
    expect(ev.takeDueLead(START - 61 * MIN)).toBeUndefined();
    expect(ev.takeDueLead(START - 5 * MIN)).toBe(60); // woke late: both are due, in order
    expect(ev.takeDueLead(START - 5 * MIN)).toBe(10);
    expect(ev.takeDueLead(START - 5 * MIN)).toBeUndefined();
    expect(ev.wakeAtMs()).toBe(START);
    for (const s of ALL) {
      ev.status = s;
      expect([s, ev.announcesIncoming()]).toEqual([s, ['NEW', 'APPROVED', 'NOT_APPROVED'].includes(s)]);
    }
  });

  test('the wait wakes on a status, gate or window change', () => {
    const ev = at('NEW', { gated: true });
    const key = ev.upcomingKey();
    ev.gated = false;
    expect(ev.upcomingKey()).not.toBe(key);
    const k2 = ev.upcomingKey();
    ev.applyWindow(new Date(END + MIN).toISOString());
    expect(ev.upcomingKey()).not.toBe(k2);
  });
});

describe('after the run', () => {
  test.each(ALL)('%s: stays open for operators unless it never ran', (status) => {
    expect(at(status).neverRan()).toBe(!(FINISHED.includes(status) || RUNNING.includes(status)));
  });

  test('closes after a quiet period that each operator action restarts', () => {
    const ev = at('DONE');
    ev.touched(END);
    expect(ev.quietEndMs()).toBe(END + QUIET_CLOSE_MS);
    ev.touched(END + 5 * MIN);
    expect(ev.quietEndMs()).toBe(END + 5 * MIN + QUIET_CLOSE_MS);
  });
});

describe('continue-as-new', () => {
  test('what it carries restores the same event, run included', () => {
    const a = new EventState(input({ gated: true, initialStatus: 'NOT_APPROVED' }), START - MIN);
    a.applyGate('NEW', true);
    a.applyWindow(new Date(END + MIN).toISOString());
    a.exclude(['x']);
    a.runNo = 1;
    a.status = 'IN_PROGRESS';
    a.touched(START + MIN);
    const run = EventRun.begin(1, END, { machines: [{ id: 'm', order: 1 }], postHooks: [] });
    run.takeStartable();
    const carried = JSON.parse(JSON.stringify(a.carried(run)));
    expect(carried).toEqual({
      status: 'IN_PROGRESS',
      runNo: 1,
      excluded: ['x'],
      quietSinceMs: START + MIN,
      gated: false,
      endMs: END + MIN,
      run: run.state,
    });
    const b = new EventState(
      input({ gated: true, initialStatus: 'NOT_APPROVED', carried }),
      START + 10 * MIN,
    );
    expect(b.carried(b.run)).toEqual(carried);
    expect(b.recorded).toBe(true);
    expect(b.view()).toEqual({
      eventId: 'evt_1',
      status: 'IN_PROGRESS',
      runNo: 1,
      running: true,
      machinesDone: 0,
      machinesTotal: 1,
    });
  });

  test('a first start takes its input; quiet time starts now', () => {
    const ev = new EventState(input({ initialStatus: 'NOT_APPROVED', gated: true }), 42);
    expect([ev.status, ev.gated, ev.endMs, ev.runNo, ev.recorded, ev.quietSinceMs, ev.run]).toEqual([
      'NOT_APPROVED',
      true,
      END,
      0,
      false,
      42,
      undefined,
    ]);
  });
});

describe('resume / override / abort (health gates)', () => {
  const haltedRun = () => {
    const ev = at('HALTED');
    ev.run = EventRun.begin(0, END, {
      machines: [{ id: 'm', order: 1 }],
      postHooks: [],
      gates: { intervalMs: 1000, soakMs: 0 },
    });
    ev.run.gateReading(START, { healthy: false, probe: 'p', answer: 'down' });
    return ev;
  };

  test.each(ALL)('%s without a halted run: refused', (status) => {
    for (const action of ['resume', 'override', 'abort'] as const)
      expect(at(status).gateActionRefusal(action, 'why')).toBeDefined();
  });

  test('a halted run takes each; an override needs a reason', () => {
    const ev = haltedRun();
    expect(ev.gateActionRefusal('resume')).toBeUndefined();
    expect(ev.gateActionRefusal('abort')).toBeUndefined();
    expect(ev.gateActionRefusal('override', 'the alarm is a known false positive')).toBeUndefined();
    expect(ev.gateActionRefusal('override', '  ')).toBe('an override needs a reason');
  });

  test('the refusals say why', () => {
    expect(at('IN_PROGRESS').gateActionRefusal('resume')).toBe(
      'only a HALTED event can be resumed; this one is IN_PROGRESS',
    );
    expect(at('DONE').gateActionRefusal('override', 'x')).toBe(
      'only a HALTED event can be overridden; this one is DONE',
    );
    expect(at('NEW').gateActionRefusal('abort')).toBe('only a HALTED event can be aborted; this one is NEW');
  });

  test('a HALTED event is running: no approve, delete, exclude, manual status or partial run', () => {
    const ev = haltedRun();
    ev.runActive = true;
    expect(ev.approveRefusal()).toBeDefined();
    expect(ev.deleteRefusal()).toBeDefined();
    expect(ev.excludeRefusal(['m'])).toBeDefined();
    expect(
      ev.manualStatusRefusal({ machine_id: 'm', manual_status: 'REBOOTING_MANUAL', requested_by: 'op' }),
    ).toBeDefined();
    expect(ev.partialRunRefusal()).toBeDefined();
    expect(ev.isUpcoming()).toBe(false);
  });
});

describe('run_with_approval: two people approve an event to run inside its freeze', () => {
  const REASON = 'freeze calendar Finance: Quarter close';

  test('a frozen window asks: NOT_APPROVED, "1 of 2", the same person refused, the second approves', () => {
    const ev = at('NEW');
    expect(ev.askFreezeApproval(REASON)).toBe(true);
    expect(ev.status).toBe('NOT_APPROVED');
    expect(ev.askFreezeApproval(REASON)).toBe(false); // judged again: asked once
    expect(ev.approveRefusal('key_a')).toBeUndefined();
    expect(ev.takeFreezeApproval('key_a')).toBe(false);
    expect([ev.status, ev.freezeApprovalPending(), ev.freezeApproved()]).toEqual([
      'NOT_APPROVED',
      true,
      false,
    ]);
    expect(ev.approveRefusal('key_a')).toMatch(/^key_a already approved this event .*\(1 of 2\)/);
    expect(ev.approveRefusal('key_b')).toBeUndefined();
    expect(ev.takeFreezeApproval('key_b')).toBe(true);
    expect([ev.freezeApprovalPending(), ev.freezeApproved(), ev.freezeApprovers]).toEqual([
      false,
      true,
      ['key_a', 'key_b'],
    ]);
    ev.setStatus(ev.approvedStatus());
    expect(ev.status).toBe('NEW');
    expect(ev.askFreezeApproval(REASON)).toBe(false); // approved twice: the window opening does not ask again
  });

  test('without a freeze, approvals by the same key are not refused by this rule', () => {
    expect(at('NOT_APPROVED').approveRefusal('key_a')).toBeUndefined();
  });

  test('the window opening decides while approvals are missing (wakes at the start, not the end)', () => {
    const ev = at('NEW');
    ev.askFreezeApproval(REASON);
    ev.takeFreezeApproval('key_a');
    expect(ev.wakeAtMs()).toBe(START);
    expect([ev.waitOver(START - 1), ev.freezeDecisionDue(START - 1)]).toEqual([false, false]);
    expect([ev.waitOver(START), ev.freezeDecisionDue(START)]).toEqual([true, true]);
    expect(ev.runsNow(START)).toBe(false);
    expect(ev.freezeDecisionDue(END)).toBe(false); // past the window: never runs, as any NOT_APPROVED event
  });

  test('approved twice: NEW waits for its start and runs like any event', () => {
    const ev = at('NEW');
    ev.askFreezeApproval(REASON);
    ev.takeFreezeApproval('key_a');
    ev.takeFreezeApproval('key_b');
    ev.setStatus(ev.approvedStatus());
    expect([ev.freezeDecisionDue(START), ev.waitOver(START), ev.runsNow(START)]).toEqual([false, true, true]);
  });

  test('a freeze lifted before the window gives the status back; a pipeline event stays in its gate', () => {
    const ev = at('NEW');
    ev.askFreezeApproval(REASON);
    ev.takeFreezeApproval('key_a');
    expect(ev.liftFreezeAsk()).toBe('NEW');
    expect([ev.status, ev.freezeApprovalPending(), ev.approveRefusal('key_a')]).toEqual([
      'NEW',
      false,
      'only a NOT_APPROVED event can be approved; this one is NEW',
    ]);
    const gated = at('NOT_APPROVED', { pipelineRunId: 'plr_1' });
    gated.askFreezeApproval(REASON);
    expect(gated.liftFreezeAsk()).toBeUndefined();
    expect(gated.status).toBe('NOT_APPROVED');
  });

  test('a started or deleted event is not asked', () => {
    expect(at('DELETED').askFreezeApproval(REASON)).toBe(false);
    expect(running(at('IN_PROGRESS')).askFreezeApproval(REASON)).toBe(false);
  });
});
