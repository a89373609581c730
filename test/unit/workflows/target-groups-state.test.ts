/**
 * Plan out_of_service.target_groups (issue 16 item 7, second half): which machines are taken out of their target
 * groups (domain/plan.ts), the bounds of the waits (activities/target-groups.ts) and what a failed deregistration,
 * a failed RegisterTargets or a target not healthy again makes of a machine's result (workflows/machine-run-state.ts).
 */
import { backInService, DRAIN_MARGIN_MS, drainBoundMs } from '../../../activities/target-groups';
import { OutOfService, standbyApplies, targetGroupName, targetGroupsApply } from '../../../domain/plan';
import { afterDeregisterFailed, afterTargetsRegistered } from '../../../workflows/machine-run-state';

const ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';

describe('out_of_service.target_groups: the plan option', () => {
  it('is off unless the plan says deregister, and honours orders', () => {
    expect(targetGroupsApply(undefined, 0)).toBe(false);
    expect(targetGroupsApply(OutOfService.parse({ auto_scaling: 'standby' }), 0)).toBe(false);
    const opt = OutOfService.parse({ target_groups: 'deregister', orders: [2] });
    expect([0, 1, 2].map((o) => targetGroupsApply(opt, o))).toEqual([false, false, true]);
    expect(standbyApplies(opt, 2)).toBe(false);
  });
  it('takes either or both; old plans (auto_scaling only) stay valid', () => {
    expect(OutOfService.safeParse({ auto_scaling: 'standby' }).success).toBe(true);
    expect(OutOfService.safeParse({ target_groups: 'deregister' }).success).toBe(true);
    const both = OutOfService.parse({
      auto_scaling: 'standby',
      target_groups: 'deregister',
      target_group_arns: [ARN],
    });
    expect([standbyApplies(both, 0), targetGroupsApply(both, 0)]).toEqual([true, true]);
  });
  it('refuses neither, unknown modes, ARN lists without target_groups and malformed ARNs', () => {
    const issues = (v: unknown) => {
      const r = OutOfService.safeParse(v);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues({})).toEqual([expect.stringMatching(/^auto_scaling: set `auto_scaling/)]);
    expect(issues({ target_groups: 'remove' })).not.toEqual([]);
    expect(issues({ auto_scaling: 'standby', target_group_arns: [ARN] })).toEqual([
      "target_group_arns: only with `target_groups: 'deregister'`",
    ]);
    expect(issues({ target_groups: 'deregister', target_group_arns: ['web'] })).toEqual([
      expect.stringMatching(/^target_group_arns\.0: must be a target group ARN/),
    ]);
    expect(issues({ target_groups: 'deregister', target_group_arns: [] })).not.toEqual([]);
  });
  it('names a group by its ARN', () => {
    expect(targetGroupName(ARN)).toBe('web');
    expect(targetGroupName('not-an-arn')).toBe('not-an-arn');
  });
});

describe('out_of_service.target_groups: bounds', () => {
  it('waits for draining as long as the longest deregistration delay (capped at an hour) plus a margin', () => {
    expect(drainBoundMs([5])).toBe(5_000 + DRAIN_MARGIN_MS);
    expect(drainBoundMs([300, 30])).toBe(300_000 + DRAIN_MARGIN_MS);
    expect(drainBoundMs([7200])).toBe(3_600_000 + DRAIN_MARGIN_MS);
    expect(drainBoundMs([])).toBe(DRAIN_MARGIN_MS);
  });
  it('counts healthy, health checks off and a group no load balancer uses as back in service', () => {
    expect(backInService('healthy')).toBe(true);
    expect(backInService('unavailable', 'Target.HealthCheckDisabled')).toBe(true);
    expect(backInService('unused', 'Target.NotInUse')).toBe(true);
    expect(backInService('unused', 'Target.NotRegistered')).toBe(false);
    expect(backInService('initial', 'Elb.RegistrationInProgress')).toBe(false);
    expect(backInService('unhealthy', 'Target.FailedHealthChecks')).toBe(false);
    expect(backInService('draining')).toBe(false);
  });
});

describe('out_of_service.target_groups: results', () => {
  it('a failed deregistration means FAILED and not patched', () => {
    expect(afterDeregisterFailed('DeregisterTargets for i-1 failed: ServiceUnavailable')).toEqual({
      status: 'FAILED',
      reason:
        'not patched: could not take it out of its load-balancer target groups first: DeregisterTargets for i-1 failed: ServiceUnavailable',
    });
  });
  it('back and healthy leaves the patch verdict as it was', () => {
    const v = { status: 'SUCCESS' as const, commandId: 'c1' };
    expect(afterTargetsRegistered(v, { kind: 'healthy' })).toBe(v);
  });
  it('left out, or not healthy again, fails the machine but keeps what the patch did; TIMED_OUT stays', () => {
    expect(
      afterTargetsRegistered(
        { status: 'SUCCESS', commandId: 'c1', installed: ['a'] },
        { kind: 'stuck', groups: 'web', reason: 'ServiceUnavailable' },
      ),
    ).toEqual({
      status: 'FAILED',
      reason: 'patched (SUCCESS), but left out of load-balancer target group(s) web: ServiceUnavailable',
      commandId: 'c1',
      installed: ['a'],
    });
    expect(
      afterTargetsRegistered(
        { status: 'SUCCESS_NO_UPDATES' },
        { kind: 'unhealthy', groups: 'web', reason: 'web: 80 unhealthy' },
      ),
    ).toEqual({
      status: 'FAILED',
      reason:
        'patched (SUCCESS_NO_UPDATES), but not healthy again in load-balancer target group(s) web: web: 80 unhealthy',
    });
    expect(
      afterTargetsRegistered(
        { status: 'TIMED_OUT', reason: 'still running' },
        { kind: 'stuck', groups: 'web', reason: 'x' },
      ),
    ).toEqual({
      status: 'TIMED_OUT',
      reason: 'left out of load-balancer target group(s) web: x; still running',
    });
  });
});
