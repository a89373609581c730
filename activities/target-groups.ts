import {
  DeregisterTargetsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
  type ElasticLoadBalancingV2Client,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { MongoError } from 'mongodb';
import type { MachineTargetGroup } from '../domain/event';
import { targetGroupName } from '../domain/plan';
import type { EventRecords } from '../store/event-records';
import type { AwsClients } from './aws';
import { persistAfterEffect, withHeartbeats } from './durable';
import type { createEventOutputActivities } from './event-outputs';
import { waitAgentOnline } from './standby';

/**
 * Issue 16 item 7, second half: an instance behind load-balancer target groups is taken out of them while it is
 * patched (plan `out_of_service: {target_groups: 'deregister', target_group_arns?}`).
 *
 * deregisterTargets: finds the groups (of target type `instance`, in the machine's region) the instance is registered
 * in, with the ports it is registered on: DescribeTargetGroups (every group, paged, or only `target_group_arns`) and
 * DescribeTargetHealth per group. A target already draining is someone else's and left as it is. Then
 * DeregisterTargets per group and a wait until each group reports the target gone (`unused`), bounded by the group's
 * `deregistration_delay.timeout_seconds` (DescribeTargetGroupAttributes) plus a margin. Any AWS failure answers
 * `failed` with the targets the run must register again: the machine is not patched.
 *
 * registerTargets: waits until SSM sees the instance Online, RegisterTargets per group (same ports), then waits until
 * each target that was healthy before is healthy again (bounded). It throws on an AWS failure of RegisterTargets, so
 * the workflow's bounded retries apply; once they are spent (or a target stays unhealthy) the workflow records it
 * (recordTargetGroupsStuck): timeline, machine record, `error` notice.
 *
 * Every step is on the event's timeline (`machine/<id>/<run>/target-groups-*`) and in the machine record's
 * `out_of_service.target_groups`. Only our own store failing makes deregisterTargets retry.
 */

export interface TargetGroupsDeps {
  records: Pick<EventRecords, 'getEvent' | 'getMachine' | 'addTimeline' | 'updateMachine'>;
  aws: Pick<AwsClients, 'elbv2' | 'ssm'>;
  notifyEvent: ReturnType<typeof createEventOutputActivities>['notifyEvent'];
  /** Poll interval while waiting for draining, health or the agent (tests shorten it). */
  pollMs?: number;
  /** How long registerTargets waits for the targets to be healthy again (tests shorten it). */
  healthyWithinMs?: number;
}

/** One target group the instance is taken out of: the ports it was registered on and its health then. */
export interface LbTarget {
  arn: string;
  ports: number[];
  healthBefore: string;
}

export type TargetsOut =
  | { kind: 'none' }
  | { kind: 'deregistered'; targets: LbTarget[] }
  /** Not patched. `targets`: groups it may have been taken out of (registering again is harmless if not). */
  | { kind: 'failed'; reason: string; targets: LbTarget[] };

export interface TargetsBack {
  online: boolean;
  /** Targets not healthy within the bound (only those that were healthy before are waited for). */
  unhealthy: { arn: string; state: string }[];
}

/** AWS's default `deregistration_delay.timeout_seconds`, and its maximum (the wait is capped there). */
export const DEFAULT_DEREGISTRATION_DELAY_S = 300;
export const MAX_DEREGISTRATION_DELAY_S = 3600;
/** Added to the deregistration delay before draining counts as not ending. */
export const DRAIN_MARGIN_MS = 60_000;
/** How long registerTargets waits for the targets to be healthy again by default. */
export const HEALTHY_WAIT_MS = 10 * 60_000;
/** DescribeTargetGroups pages read at most when the groups are discovered (400 groups a page). */
const MAX_PAGES = 25;
/** Overall bound of one AWS call, SDK retries included. */
const CALL_TIMEOUT_MS = 60_000;

const DRAINING = new Set(['draining', 'unhealthy.draining']);

const opts = () => ({ abortSignal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errText = (err: unknown) => {
  const e = err as Error;
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`.slice(0, 900);
};
const groupName = targetGroupName;
const list = (ts: { arn: string; ports: number[] }[]) =>
  ts.map((t) => `${groupName(t.arn)} (port ${t.ports.join(', ')})`).join(', ');

/** The wait for draining: the longest deregistration delay of the groups (capped at AWS's maximum) plus a margin. */
export function drainBoundMs(delaysS: number[]): number {
  const longest = Math.max(
    0,
    ...delaysS.map((d) => (Number.isFinite(d) ? d : DEFAULT_DEREGISTRATION_DELAY_S)),
  );
  return Math.min(longest, MAX_DEREGISTRATION_DELAY_S) * 1000 + DRAIN_MARGIN_MS;
}

/** Whether a target's health counts as back in service (health checks off or a group no load balancer uses: yes). */
export function backInService(state: string | undefined, reason?: string): boolean {
  return (
    state === 'healthy' || state === 'unavailable' || (state === 'unused' && reason === 'Target.NotInUse')
  );
}

export function createTargetGroupActivities({
  records,
  aws,
  notifyEvent,
  pollMs = 2_000,
  healthyWithinMs = HEALTHY_WAIT_MS,
}: TargetGroupsDeps) {
  const at = () => new Date().toISOString();
  const key = (a: { machineId: string; runNo: number }, step: string) =>
    `machine/${a.machineId}/${a.runNo}/target-groups-${step}`;

  async function targetOf(eventId: string, machineId: string) {
    const ev = await records.getEvent(eventId);
    const target = ev?.plan_snapshot?.machines?.find((m) => m.machine_id === machineId);
    return target && { target, arns: ev?.plan_snapshot?.out_of_service?.target_group_arns };
  }

  /** Writes the target groups part of the record; the same run's Auto Scaling standby fields are kept. */
  async function setGroups(eventId: string, machineId: string, runNo: number, groups: MachineTargetGroup[]) {
    const before = (await records.getMachine(eventId, machineId))?.out_of_service;
    await records.updateMachine(eventId, machineId, {
      out_of_service: {
        ...(before?.run_no === runNo ? before : {}),
        run_no: runNo,
        target_groups: groups,
      },
    });
  }
  const rows = (
    ts: LbTarget[],
    state: MachineTargetGroup['state'],
    extra: Partial<MachineTargetGroup> = {},
  ) => ts.map((t) => ({ arn: t.arn, ports: t.ports, state, health_before: t.healthBefore, ...extra }));

  /** The target groups of type `instance` to look at: the plan's list or every group of the region (paged). */
  async function candidateGroups(elb: ElasticLoadBalancingV2Client, arns?: string[]): Promise<TargetGroup[]> {
    if (arns?.length) {
      const r = await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: arns }), opts());
      return (r.TargetGroups ?? []).filter((g) => g.TargetType === 'instance');
    }
    const out: TargetGroup[] = [];
    let marker: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const r = await elb.send(
        new DescribeTargetGroupsCommand({ PageSize: 400, ...(marker ? { Marker: marker } : {}) }),
        opts(),
      );
      out.push(...(r.TargetGroups ?? []).filter((g) => g.TargetType === 'instance'));
      marker = r.NextMarker;
      if (!marker) break;
    }
    return out;
  }

  /** The instance's registrations in one group: port → {state, reason}. */
  async function registrations(elb: ElasticLoadBalancingV2Client, arn: string, id: string) {
    const r = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }), opts());
    const out = new Map<number, { state: string; reason?: string }>();
    for (const d of r.TargetHealthDescriptions ?? [])
      if (d.Target?.Id === id && d.Target.Port !== undefined)
        out.set(d.Target.Port, { state: d.TargetHealth?.State ?? 'unknown', reason: d.TargetHealth?.Reason });
    return out;
  }

  /** The target's state per port in one group, asked for those ports (not registered = `unused`). */
  async function health(elb: ElasticLoadBalancingV2Client, t: LbTarget, id: string) {
    const r = await elb.send(
      new DescribeTargetHealthCommand({
        TargetGroupArn: t.arn,
        Targets: t.ports.map((p) => ({ Id: id, Port: p })),
      }),
      opts(),
    );
    return t.ports.map((p) => {
      const d = r.TargetHealthDescriptions?.find((x) => x.Target?.Id === id && x.Target.Port === p);
      return { port: p, state: d?.TargetHealth?.State ?? 'unused', reason: d?.TargetHealth?.Reason };
    });
  }

  async function deregistrationDelayS(elb: ElasticLoadBalancingV2Client, arn: string): Promise<number> {
    const r = await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }), opts());
    const v = r.Attributes?.find((x) => x.Key === 'deregistration_delay.timeout_seconds')?.Value;
    const n = v === undefined ? NaN : Number(v);
    return Number.isFinite(n) && n >= 0 ? n : DEFAULT_DEREGISTRATION_DELAY_S;
  }

  return {
    async deregisterTargets(a: { eventId: string; machineId: string; runNo: number }): Promise<TargetsOut> {
      const found = await targetOf(a.eventId, a.machineId);
      if (!found)
        return {
          kind: 'failed',
          reason: `machine ${a.machineId} is not in the event's snapshot`,
          targets: [],
        };
      const { target, arns } = found;
      const id = target.ssm_machine_id;
      // A hybrid managed node is no EC2 instance: no target group of type `instance` holds it.
      if (!id.startsWith('i-')) return { kind: 'none' };
      let targets: LbTarget[] = [];
      const fail = async (reason: string): Promise<TargetsOut> => {
        if (targets.length)
          await setGroups(
            a.eventId,
            a.machineId,
            a.runNo,
            rows(targets, 'deregister_failed', { error: reason }),
          );
        await records.addTimeline(a.eventId, key(a, 'deregister-failed'), {
          at: at(),
          type: 'target_groups_deregister_failed',
          machine_id: a.machineId,
          message: `not patched: ${reason}`.slice(0, 1000),
        });
        return { kind: 'failed', reason, targets };
      };
      return withHeartbeats(async () => {
        let elb: ElasticLoadBalancingV2Client;
        const before = (await records.getMachine(a.eventId, a.machineId))?.out_of_service;
        const ours =
          before?.run_no === a.runNo &&
          before.target_groups?.length &&
          // `deregistered` too: an attempt that got that far but was lost (a worker gone) must not find "no group".
          before.target_groups.every((g) => ['deregistering', 'draining', 'deregistered'].includes(g.state))
            ? before.target_groups
            : undefined;
        try {
          elb = await aws.elbv2(target.region, target.iam_role);
          if (ours) {
            // A retry of this activity: the groups it found before are the ones to take it out of.
            targets = ours.map((g) => ({
              arn: g.arn,
              ports: g.ports,
              healthBefore: g.health_before ?? 'unknown',
            }));
          } else {
            const left: string[] = [];
            for (const g of await candidateGroups(elb, arns)) {
              if (!g.TargetGroupArn) continue;
              const regs = await registrations(elb, g.TargetGroupArn, id);
              const ports = [...regs].filter(([, h]) => !DRAINING.has(h.state)).map(([p]) => p);
              if (ports.length < regs.size) left.push(groupName(g.TargetGroupArn));
              if (ports.length)
                targets.push({
                  arn: g.TargetGroupArn,
                  ports: ports.sort((x, y) => x - y),
                  healthBefore: regs.get(ports[0])?.state ?? 'unknown',
                });
            }
            if (left.length)
              await records.addTimeline(a.eventId, key(a, 'already'), {
                at: at(),
                type: 'target_groups_left_as_is',
                machine_id: a.machineId,
                message: `${id} was already draining in target group(s) ${left.join(', ')} (not by Patchwave): left as it is, not registered again after`,
              });
          }
        } catch (err) {
          if (err instanceof MongoError) throw err;
          return fail(`finding ${id}'s target groups failed: ${errText(err)}`);
        }
        if (!targets.length) return { kind: 'none' };
        // Written before the calls: a retry of this activity then knows a draining target is its own.
        await setGroups(a.eventId, a.machineId, a.runNo, rows(targets, 'deregistering'));
        let delays: number[];
        try {
          delays = [];
          for (const t of targets) {
            delays.push(await deregistrationDelayS(elb, t.arn));
            await elb.send(
              new DeregisterTargetsCommand({
                TargetGroupArn: t.arn,
                Targets: t.ports.map((p) => ({ Id: id, Port: p })),
              }),
              opts(),
            );
          }
        } catch (err) {
          if (err instanceof MongoError) throw err;
          return fail(`DeregisterTargets for ${id} failed: ${errText(err)}`);
        }
        const boundMs = drainBoundMs(delays);
        await persistAfterEffect(async () => {
          await setGroups(a.eventId, a.machineId, a.runNo, rows(targets, 'draining'));
          await records.addTimeline(a.eventId, key(a, 'draining'), {
            at: at(),
            type: 'target_groups_draining',
            machine_id: a.machineId,
            message: `${id} deregistered from target group(s) ${list(targets)} (DeregisterTargets); draining, deregistration delay ${Math.max(...delays)} s`,
          });
        });
        // Draining has ended once every group reports the target gone (not registered: `unused`).
        const until = Date.now() + boundMs;
        let still: string[] = [];
        for (;;) {
          try {
            still = [];
            for (const t of targets)
              for (const h of await health(elb, t, id))
                if (h.state !== 'unused') still.push(`${groupName(t.arn)}:${h.port} ${h.state}`);
          } catch (err) {
            if (err instanceof MongoError) throw err;
            still = [`DescribeTargetHealth failed: ${errText(err)}`];
          }
          if (!still.length || Date.now() >= until) break;
          await sleep(pollMs);
        }
        if (still.length)
          return fail(
            `${id} still not drained ${Math.round(boundMs / 1000)} s after DeregisterTargets: ${still.join('; ')}`,
          );
        const now = at();
        await persistAfterEffect(async () => {
          await setGroups(
            a.eventId,
            a.machineId,
            a.runNo,
            rows(targets, 'deregistered', { deregistered_at: now }),
          );
          await records.addTimeline(a.eventId, key(a, 'drained'), {
            at: now,
            type: 'target_groups_drained',
            machine_id: a.machineId,
            message: `${id} drained and out of target group(s) ${list(targets)} before its patch`,
          });
        });
        return { kind: 'deregistered', targets };
      });
    },

    async registerTargets(a: {
      eventId: string;
      machineId: string;
      runNo: number;
      targets: LbTarget[];
    }): Promise<TargetsBack> {
      const found = await targetOf(a.eventId, a.machineId);
      if (!found) throw new Error(`machine ${a.machineId} is not in the event's snapshot`);
      const id = found.target.ssm_machine_id;
      return withHeartbeats(async () => {
        const online = await waitAgentOnline(aws, found.target.region, found.target.iam_role, id, pollMs);
        const elb = await aws.elbv2(found.target.region, found.target.iam_role);
        for (const t of a.targets) {
          try {
            await elb.send(
              new RegisterTargetsCommand({
                TargetGroupArn: t.arn,
                Targets: t.ports.map((p) => ({ Id: id, Port: p })),
              }),
              opts(),
            );
          } catch (err) {
            // Thrown for the workflow's bounded retries, with the AWS error's name in the message it records.
            throw new Error(`RegisterTargets (target group ${groupName(t.arn)}) failed: ${errText(err)}`);
          }
        }
        const prior = (await records.getMachine(a.eventId, a.machineId))?.out_of_service?.target_groups;
        const deregisteredAt = (arn: string) => prior?.find((g) => g.arn === arn)?.deregistered_at;
        const stamp = (t: LbTarget) =>
          deregisteredAt(t.arn) ? { deregistered_at: deregisteredAt(t.arn) } : {};
        await persistAfterEffect(async () => {
          await setGroups(
            a.eventId,
            a.machineId,
            a.runNo,
            a.targets.map((t) => ({ ...rows([t], 'registered')[0], ...stamp(t) })),
          );
          await records.addTimeline(a.eventId, key(a, 'registered'), {
            at: at(),
            type: 'target_groups_registered',
            machine_id: a.machineId,
            message:
              `${id} registered again in target group(s) ${list(a.targets)} (RegisterTargets)` +
              (online ? ' after SSM saw it Online' : ': not Online in time, registered anyway'),
          });
        });
        // Only targets that were healthy before are waited for: one that was not is not made worse by the patch.
        const watched = a.targets.filter((t) => t.healthBefore === 'healthy');
        const until = Date.now() + healthyWithinMs;
        let unhealthy: { arn: string; state: string }[] = [];
        for (;;) {
          unhealthy = [];
          for (const t of watched) {
            try {
              const bad = (await health(elb, t, id)).filter((h) => !backInService(h.state, h.reason));
              if (bad.length)
                unhealthy.push({ arn: t.arn, state: bad.map((h) => `${h.port} ${h.state}`).join(', ') });
            } catch (err) {
              unhealthy.push({ arn: t.arn, state: `unknown (${errText(err)})` });
            }
          }
          if (!unhealthy.length || Date.now() >= until) break;
          await sleep(pollMs);
        }
        const now = at();
        if (!unhealthy.length)
          await persistAfterEffect(async () => {
            await setGroups(
              a.eventId,
              a.machineId,
              a.runNo,
              a.targets.map((t) => ({ ...rows([t], 'healthy', { healthy_at: now })[0], ...stamp(t) })),
            );
            await records.addTimeline(a.eventId, key(a, 'healthy'), {
              at: now,
              type: 'target_groups_healthy',
              machine_id: a.machineId,
              message: `${id} back in service in target group(s) ${list(a.targets)}`,
            });
          });
        return { online, unhealthy };
      });
    },

    /**
     * RegisterTargets failed after every retry (`register_failed`), or the target did not become healthy in time
     * (`unhealthy`): the event records it and an operator is told (`error` notice).
     */
    async recordTargetGroupsStuck(a: {
      eventId: string;
      machineId: string;
      runNo: number;
      targets: LbTarget[];
      kind: 'register_failed' | 'unhealthy';
      error: string;
    }): Promise<void> {
      const message = (
        a.kind === 'register_failed'
          ? `left out of target group(s) ${list(a.targets)}: RegisterTargets failed after retries (${a.error}); register it by hand (aws elbv2 register-targets)`
          : `registered again in target group(s) ${list(a.targets)} but not healthy within ${healthyWithinMs >= 60_000 ? `${Math.round(healthyWithinMs / 60_000)} min` : `${Math.ceil(healthyWithinMs / 1000)} s`} (${a.error}); check the instance and its health check`
      ).slice(0, 1000);
      // Only the stuck groups change; the others keep their state (e.g. `healthy`).
      const prior = (await records.getMachine(a.eventId, a.machineId))?.out_of_service;
      const base = prior?.run_no === a.runNo ? (prior.target_groups ?? []) : [];
      const stuck = new Map(a.targets.map((t) => [t.arn, t]));
      const groups: MachineTargetGroup[] = [
        ...base.map((g) => (stuck.has(g.arn) ? { ...g, state: a.kind, error: a.error.slice(0, 900) } : g)),
        ...rows(
          a.targets.filter((t) => !base.some((g) => g.arn === t.arn)),
          a.kind,
          { error: a.error.slice(0, 900) },
        ),
      ];
      await setGroups(a.eventId, a.machineId, a.runNo, groups);
      await records.addTimeline(
        a.eventId,
        key(a, a.kind === 'register_failed' ? 'register-failed' : 'unhealthy'),
        {
          at: at(),
          type: a.kind === 'register_failed' ? 'target_groups_register_failed' : 'target_groups_unhealthy',
          machine_id: a.machineId,
          message,
        },
      );
      await notifyEvent({
        eventId: a.eventId,
        runNo: a.runNo,
        machineId: a.machineId,
        type: 'error',
        reason: message,
      });
    },
  };
}
