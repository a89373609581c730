/**
 * A pipeline run's gate decisions (workflows/pipeline-run-state.ts), without Temporal: each step's policy once
 * the earlier steps are finished, approvals, deleted events, and "decided once".
 */
import {
  PipelineGates,
  type GateDecision,
  type PipelineRunStep,
} from '../../../workflows/pipeline-run-state';
import type { StepPolicy } from '../../../domain/pipeline';
import type { EventStatus } from '../../../domain/statuses';

/** Step 0 has events a0, a1; step 1 (with the policy under test) has b0. */
const twoSteps = (policy: StepPolicy): PipelineRunStep[] => [
  { policy: 'always', eventIds: ['a0', 'a1'] },
  { policy, eventIds: ['b0'] },
];
const gatesFor = (steps: PipelineRunStep[]) => {
  const g = new PipelineGates();
  g.steps = steps;
  return g;
};
const decideAll = (g: PipelineGates) => g.steps.map((_, i) => g.decide(i));

const OPEN: GateDecision = { status: 'NEW', open: true };
const CLOSED: GateDecision = { status: 'NOT_APPROVED', open: false };
const deleted = (reason: string): GateDecision => ({ status: 'DELETED', open: false, reason });

describe('the next step by policy, once the previous one finished', () => {
  test.each<[StepPolicy, EventStatus, EventStatus, GateDecision | undefined]>([
    ['always', 'DONE_ERROR', 'DONE_ERROR', undefined], // runs on schedule: nothing to tell
    ['success', 'DONE', 'DONE_MANUAL', OPEN],
    ['success', 'DONE', 'DONE_ERROR', deleted('step 0 did not succeed: event a1 ended DONE_ERROR')],
    ['success', 'DONE', 'DONE_PARTIAL', deleted('step 0 did not succeed: event a1 ended DONE_PARTIAL')],
    ['success', 'DONE', 'DELETED', OPEN], // deleted events do not count
    ['success', 'DELETED', 'DELETED', OPEN],
    ['success_or_approval', 'DONE', 'DONE', OPEN],
    ['success_or_approval', 'DONE_ERROR_MANUAL', 'DONE', CLOSED],
    ['approval', 'DONE', 'DONE', CLOSED],
  ])('%s after %s + %s', (policy, s0, s1, decision) => {
    const g = gatesFor(twoSteps(policy));
    g.eventFinished('a0', s0);
    g.eventFinished('a1', s1);
    expect(g.stepFinished(0)).toBe(true);
    expect(decideAll(g)).toEqual([undefined, decision]);
  });

  test('nothing is decided while an event of an earlier step still runs', () => {
    const g = gatesFor(twoSteps('success'));
    g.eventFinished('a0', 'DONE');
    g.eventFinished('a1', 'IN_PROGRESS');
    expect(decideAll(g)).toEqual([undefined, undefined]);
    expect(g.allFinished()).toBe(false);
  });

  test('a gate is decided once: a later DONE does not re-open a NOT_APPROVED successor (seed 001)', () => {
    const g = gatesFor(twoSteps('success_or_approval'));
    g.eventFinished('a0', 'DONE');
    g.eventFinished('a1', 'DONE_ERROR');
    expect(decideAll(g)).toEqual([undefined, CLOSED]);
    g.eventFinished('a1', 'DONE'); // a partial run fixed it
    expect(decideAll(g)).toEqual([undefined, undefined]);
  });

  test('step 0 is never gated by policy', () => {
    const g = gatesFor([{ policy: 'approval', eventIds: ['a0'] }]);
    expect(g.decide(0)).toBeUndefined();
  });

  test('a third step waits for every earlier step, not only the one before', () => {
    const g = gatesFor([
      { policy: 'always', eventIds: ['a0'] },
      { policy: 'always', eventIds: ['b0'] },
      { policy: 'success', eventIds: ['c0'] },
    ]);
    g.eventFinished('b0', 'DONE');
    expect(g.decide(2)).toBeUndefined();
    g.eventFinished('a0', 'DONE_ERROR');
    expect(g.decide(2)).toEqual(OPEN); // only the previous step's results count
  });
});

test('success: a step deleted by the policy did not succeed either; the next success step is deleted in turn', () => {
  const g = gatesFor([
    { policy: 'always', eventIds: ['a0'] },
    { policy: 'success', eventIds: ['b0'] },
    { policy: 'success', eventIds: ['c0'] },
  ]);
  g.eventFinished('a0', 'DONE_ERROR');
  expect(g.decide(1)).toEqual(deleted('step 0 did not succeed: event a0 ended DONE_ERROR'));
  g.eventFinished('b0', 'DELETED'); // the workflow marks them as it tells them
  expect(g.decide(2)).toEqual(
    deleted('step 1 was not run (step 0 did not succeed: event a0 ended DONE_ERROR)'),
  );
});

describe('approvals', () => {
  test('an approved step is APPROVED until the earlier steps finish, then NEW once', () => {
    const g = gatesFor(twoSteps('approval'));
    g.stepApproved(1);
    expect(decideAll(g)).toEqual([undefined, { status: 'APPROVED', open: false }]);
    g.eventFinished('a0', 'DONE');
    g.eventFinished('a1', 'DONE_ERROR');
    expect(decideAll(g)).toEqual([undefined, OPEN]);
  });

  test('an approved step that opened is not closed again by its policy on the next signal', () => {
    const g = gatesFor(twoSteps('approval'));
    g.stepApproved(1);
    g.eventFinished('a0', 'DONE');
    g.eventFinished('a1', 'DONE');
    expect(decideAll(g)).toEqual([undefined, OPEN]);
    expect(decideAll(g)).toEqual([undefined, undefined]);
    g.eventFinished('a1', 'DONE'); // any later signal
    expect(decideAll(g)).toEqual([undefined, undefined]);
  });

  test('runs started before the fix (no patch marker) keep re-sending NOT_APPROVED, as their histories did', () => {
    const g = new PipelineGates({ approvalDecides: false });
    g.steps = twoSteps('approval');
    g.stepApproved(1);
    g.eventFinished('a0', 'DONE');
    g.eventFinished('a1', 'DONE');
    expect(decideAll(g)).toEqual([undefined, OPEN]);
    expect(decideAll(g)).toEqual([undefined, CLOSED]);
  });

  test('approving a step that failed its policy opens it', () => {
    const g = gatesFor(twoSteps('success_or_approval'));
    g.eventFinished('a0', 'DONE_ERROR');
    g.eventFinished('a1', 'DONE');
    expect(decideAll(g)).toEqual([undefined, CLOSED]);
    g.stepApproved(1);
    expect(decideAll(g)).toEqual([undefined, OPEN]);
  });
});

test('reports that arrive before the steps are known count once they are', () => {
  const g = new PipelineGates();
  g.eventFinished('a0', 'DONE');
  g.eventFinished('a1', 'DONE');
  expect(g.allFinished()).toBe(true); // no steps yet
  g.steps = twoSteps('success');
  expect(decideAll(g)).toEqual([undefined, OPEN]);
  expect(g.eventDone('a0')).toBe(true);
  expect(g.eventDone('b0')).toBe(false);
  g.eventFinished('b0', 'DELETED');
  expect(g.allFinished()).toBe(true);
});

describe('promotion gates (docs/behaviour.md#promotion)', () => {
  const END = '2026-12-01T10:00:00.000Z';
  const gated = (policy: StepPolicy, gate: PipelineRunStep['gate'], waits?: true) => {
    const g = gatesFor([
      { policy: 'always', eventIds: ['a0'] },
      { policy, eventIds: ['b0'], gate, ...(waits ? { waits } : {}) },
    ]);
    g.eventFinished('a0', 'DONE');
    return g;
  };

  test('nothing is decided until the previous step’s figures are read', () => {
    const g = gated('success', { min_success_rate: 90 });
    expect(g.needsStats(1)).toBe(true);
    expect(g.decide(1, Date.parse(END))).toBeUndefined();
    g.setStats(0, { machines: 10, succeeded: 9, endedAt: END });
    expect(g.needsStats(1)).toBe(false);
    expect(g.decide(1, Date.parse(END))).toEqual(OPEN);
  });

  test.each<[StepPolicy, GateDecision['status']]>([
    ['success', 'DELETED'],
    ['success_or_approval', 'NOT_APPROVED'],
    ['always', 'NOT_APPROVED'],
  ])('not met under %s: %s, naming the figure that fell short', (policy, status) => {
    const g = gated(
      policy,
      { min_success_rate: 95, min_machines: 20 },
      policy === 'always' ? true : undefined,
    );
    g.setStats(0, { machines: 10, succeeded: 9, endedAt: END });
    const d = g.decide(1, Date.parse(END));
    expect(d).toEqual({
      status,
      open: false,
      reason:
        'promotion gate of step 1 not met by step 0: success rate 90% (9/10) is below 95%; 9 machine(s) succeeded, at least 20 needed',
    });
    // Decided once.
    expect(g.decide(1, Date.parse(END) + 3600_000)).toBeUndefined();
  });

  test('the soak is waited out: undecided until the previous step’s end + min_soak_minutes', () => {
    const g = gated('success', { min_soak_minutes: 30 });
    g.setStats(0, { machines: 1, succeeded: 1, endedAt: END });
    const end = Date.parse(END);
    expect(g.decide(1, end + 10 * 60_000)).toBeUndefined();
    expect(g.wakeAtMs()).toBe(end + 30 * 60_000);
    expect(g.decide(1, end + 30 * 60_000)).toEqual(OPEN);
    expect(g.wakeAtMs()).toBe(Infinity);
  });

  test('an approval opens a soaking step at once', () => {
    const g = gated('success', { min_soak_minutes: 30 });
    g.setStats(0, { machines: 1, succeeded: 1, endedAt: END });
    expect(g.decide(1, Date.parse(END))).toBeUndefined();
    g.stepApproved(1);
    expect(g.decide(1, Date.parse(END))).toEqual(OPEN);
    expect(g.wakeAtMs()).toBe(Infinity);
  });

  test('an always step that waits (a promotion, no gate) opens once the previous step finished', () => {
    const g = gatesFor([
      { policy: 'always', eventIds: ['a0'] },
      { policy: 'always', eventIds: ['b0'], waits: true },
    ]);
    expect(g.decide(1, 0)).toBeUndefined();
    g.eventFinished('a0', 'DONE_ERROR');
    expect(g.needsStats(1)).toBe(false);
    expect(g.decide(1, 0)).toEqual(OPEN);
  });
});
