/**
 * Plan out_of_service (issue 16 item 7): which machines go to Standby (domain/plan.ts) and what a failed
 * EnterStandby / ExitStandby makes of a machine's result (workflows/machine-run-state.ts).
 */
import { OutOfService, standbyApplies } from '../../../domain/plan';
import { afterStandbyEnterFailed, afterStandbyExit } from '../../../workflows/machine-run-state';

describe('out_of_service: which machines', () => {
  it('is off unless the plan says standby', () => {
    expect(standbyApplies(undefined, 0)).toBe(false);
    expect(standbyApplies({ auto_scaling: 'standby' }, 0)).toBe(true);
    expect(standbyApplies({ auto_scaling: 'standby' }, 7)).toBe(true);
  });
  it('limits itself to the listed order groups', () => {
    const opt = OutOfService.parse({ auto_scaling: 'standby', orders: [1, 3] });
    expect([0, 1, 2, 3].map((o) => standbyApplies(opt, o))).toEqual([false, true, false, true]);
  });
  it('refuses unknown modes, empty order lists and unknown fields', () => {
    expect(OutOfService.safeParse({ auto_scaling: 'detach' }).success).toBe(false);
    expect(OutOfService.safeParse({ auto_scaling: 'standby', orders: [] }).success).toBe(false);
    expect(OutOfService.safeParse({ auto_scaling: 'standby', target_groups: true }).success).toBe(false);
  });
});

describe('out_of_service: results', () => {
  it('a failed EnterStandby means FAILED and not patched', () => {
    expect(afterStandbyEnterFailed('EnterStandby failed: ResourceContention')).toEqual({
      status: 'FAILED',
      reason: 'not patched: could not put it in Standby first: EnterStandby failed: ResourceContention',
    });
  });
  it('a successful exit leaves the patch verdict as it was', () => {
    const v = { status: 'SUCCESS' as const, commandId: 'c1', installed: ['a'] };
    expect(afterStandbyExit(v, { kind: 'exited' })).toBe(v);
    expect(afterStandbyExit(v, { kind: 'not_in_standby' })).toBe(v);
  });
  it('an instance left in Standby fails the machine but keeps what the patch did', () => {
    const stuck = { kind: 'stuck' as const, group: 'web', reason: 'ResourceContention' };
    expect(afterStandbyExit({ status: 'SUCCESS', commandId: 'c1', installed: ['a'] }, stuck)).toEqual({
      status: 'FAILED',
      reason: 'patched (SUCCESS), but left in Standby in Auto Scaling group web: ResourceContention',
      commandId: 'c1',
      installed: ['a'],
    });
    expect(afterStandbyExit({ status: 'TIMED_OUT', reason: 'still running' }, stuck)).toEqual({
      status: 'TIMED_OUT',
      reason: 'left in Standby in Auto Scaling group web: ResourceContention; still running',
    });
  });
});
