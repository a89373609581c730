import {
  DEFAULT_REAPPROVAL_THRESHOLD,
  needsReapproval,
  reapprovalReason,
  ReapprovalThreshold,
  targetChange,
} from '../../../domain/approval';

const ids = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `i-${String(from + i).padStart(4, '0')}`);

describe('targetChange: the symmetric difference over the approved count', () => {
  test('the same set (in any order, with duplicates) is no change', () => {
    expect(targetChange(['i-b', 'i-a'], ['i-a', 'i-b', 'i-a'])).toEqual({ added: [], removed: [], share: 0 });
  });

  test('added and removed targets both count, sorted', () => {
    const c = targetChange(['i-a', 'i-b', 'i-c', 'i-d'], ['i-a', 'i-b', 'i-z', 'i-y']);
    expect(c).toEqual({ added: ['i-y', 'i-z'], removed: ['i-c', 'i-d'], share: 1 });
  });

  test('an empty approved set counts as one: any target found is a whole change', () => {
    expect(targetChange([], ['i-a']).share).toBe(1);
    expect(targetChange([], []).share).toBe(0);
  });

  test('the share can pass 1 when the set more than doubles', () => {
    expect(targetChange(ids(2), ids(6)).share).toBe(2);
  });
});

describe('needsReapproval: more than the threshold, never exactly it', () => {
  test('1 of 10 changed is exactly 10 %: the approval holds; 2 of 10 asks again', () => {
    expect(needsReapproval(targetChange(ids(10), ids(9)), 0.1)).toBe(false);
    expect(needsReapproval(targetChange(ids(10), ids(11)), 0.1)).toBe(false);
    expect(needsReapproval(targetChange(ids(10), ids(8)), 0.1)).toBe(true);
    expect(needsReapproval(targetChange(ids(10), [...ids(9), 'i-new']), 0.1)).toBe(true);
  });

  test('threshold 0: any change asks again; no change never does', () => {
    expect(needsReapproval(targetChange(ids(100), ids(101)), 0)).toBe(true);
    expect(needsReapproval(targetChange(ids(100), ids(100)), 0)).toBe(false);
  });

  test('threshold 1: only a change larger than the approved set asks again', () => {
    expect(needsReapproval(targetChange(ids(2), ids(4)), 1)).toBe(false);
    expect(needsReapproval(targetChange(ids(2), ids(5)), 1)).toBe(true);
  });

  test('the default is 10 %, and the plan field takes 0 to 1', () => {
    expect(DEFAULT_REAPPROVAL_THRESHOLD).toBe(0.1);
    expect(ReapprovalThreshold.safeParse(0.25).success).toBe(true);
    expect(ReapprovalThreshold.safeParse(1.5).success).toBe(false);
    expect(ReapprovalThreshold.safeParse(-0.1).success).toBe(false);
  });
});

test('the reason names the change, the approver, the time and the threshold', () => {
  const reason = reapprovalReason(
    targetChange(['i-a', 'i-b'], ['i-a', 'i-b', 'i-c', 'i-d']),
    { by: 'ops-alice', at: '2030-01-01T00:00:00.000Z', targets: 2 },
    0.1,
  );
  expect(reason).toBe(
    "target set changed: +2 −0 machines since approval by ops-alice at 2030-01-01T00:00:00.000Z (100 % of 2 approved, more than the plan's reapproval_threshold of 10 %); approve again to run",
  );
});
