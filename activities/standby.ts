import {
  DescribeAutoScalingInstancesCommand,
  EnterStandbyCommand,
  ExitStandbyCommand,
  type AutoScalingClient,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstanceInformationCommand } from '@aws-sdk/client-ssm';
import { MongoError } from 'mongodb';
import type { EventMachineRecord } from '../domain/event';
import type { EventRecords } from '../store/event-records';
import type { AwsClients } from './aws';
import { persistAfterEffect, withHeartbeats } from './durable';
import type { createEventOutputActivities } from './event-outputs';

/**
 * Issue 16 item 7 (seed 003): an instance of an Auto Scaling group is in Standby while it is patched, so the
 * group's health check does not replace it while it reboots (plan `out_of_service: {auto_scaling: 'standby'}`).
 *
 * enterStandby: DescribeAutoScalingInstances; not in a group (or a managed node `mi-…`) → nothing happens. InService
 * → EnterStandby (ShouldDecrementDesiredCapacity: true, so the group launches no replacement) and waits until the
 * group reports Standby. Any failure answers `failed`: the machine is not patched.
 *
 * exitStandby: waits until SSM sees the instance Online (the patch may have rebooted it), then ExitStandby and waits
 * until the group no longer reports Standby. It throws on an AWS failure, so the workflow's bounded retries apply;
 * once they are spent the workflow records it (recordStandbyStuck): timeline, machine record, `error` notice.
 *
 * Every step is on the event's timeline (`machine/<id>/<run>/standby-*`) and in the machine record's
 * `out_of_service`. Only our own store failing makes enterStandby retry.
 */

export interface StandbyDeps {
  records: Pick<EventRecords, 'getEvent' | 'getMachine' | 'addTimeline' | 'updateMachine'>;
  aws: Pick<AwsClients, 'autoscaling' | 'ssm'>;
  notifyEvent: ReturnType<typeof createEventOutputActivities>['notifyEvent'];
  /** Poll interval while waiting for a lifecycle state or for the agent (tests shorten it). */
  pollMs?: number;
}

/** How long the group may take to report Standby / leave it (it deregisters from load balancers meanwhile). */
export const STANDBY_SETTLE_MS = 5 * 60_000;
/** How long exitStandby waits for SSM to see the instance Online again before it returns it to service anyway. */
export const ONLINE_WAIT_MS = 20 * 60_000;
/** Overall bound of one AWS call, SDK retries included. */
const CALL_TIMEOUT_MS = 60_000;

export type StandbyEntry =
  | { kind: 'not_in_group' }
  | { kind: 'entered'; group: string }
  /** Already in Standby before this run: someone else's, left as it is (and not taken out of it after). */
  | { kind: 'already_standby'; group: string }
  /** Not patched. `mayBeEntered`: EnterStandby was accepted but Standby was not confirmed: exitStandby must run. */
  | { kind: 'failed'; reason: string; group?: string; mayBeEntered?: true };

export type StandbyExit =
  { kind: 'exited'; state: string; online: boolean } | { kind: 'not_in_standby'; state: string };

type OutOfServiceRecord = NonNullable<EventMachineRecord['out_of_service']>;

const opts = () => ({ abortSignal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errText = (err: unknown) => {
  const e = err as Error;
  return `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`.slice(0, 900);
};

export function createStandbyActivities({ records, aws, notifyEvent, pollMs = 2_000 }: StandbyDeps) {
  const at = () => new Date().toISOString();

  async function targetOf(eventId: string, machineId: string) {
    const ev = await records.getEvent(eventId);
    return ev?.plan_snapshot?.machines?.find((m) => m.machine_id === machineId);
  }

  async function lifecycle(
    asg: AutoScalingClient,
    id: string,
  ): Promise<{ group: string; state: string } | undefined> {
    const r = await asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [id] }), opts());
    const row = r.AutoScalingInstances?.find((i) => i.InstanceId === id);
    return row?.AutoScalingGroupName && row.LifecycleState
      ? { group: row.AutoScalingGroupName, state: row.LifecycleState }
      : undefined;
  }

  /** Polls the instance's lifecycle until `done` holds or `withinMs` passes; answers the last state seen. */
  async function waitState(
    asg: AutoScalingClient,
    id: string,
    done: (state: string | undefined) => boolean,
    withinMs: number,
  ): Promise<string | undefined> {
    const until = Date.now() + withinMs;
    for (;;) {
      const s = (await lifecycle(asg, id))?.state;
      if (done(s) || Date.now() >= until) return s;
      await sleep(pollMs);
    }
  }

  /** Writes the standby part of the record; the same run's target groups (plan `target_groups`) are kept. */
  const setRecord = async (eventId: string, machineId: string, rec: OutOfServiceRecord) => {
    const tgs = (await records.getMachine(eventId, machineId))?.out_of_service;
    await records.updateMachine(eventId, machineId, {
      out_of_service: {
        ...rec,
        ...(tgs?.target_groups && tgs.run_no === rec.run_no ? { target_groups: tgs.target_groups } : {}),
      },
    });
  };

  return {
    async enterStandby(a: { eventId: string; machineId: string; runNo: number }): Promise<StandbyEntry> {
      const key = (step: string) => `machine/${a.machineId}/${a.runNo}/standby-${step}`;
      const target = await targetOf(a.eventId, a.machineId);
      if (!target) return { kind: 'failed', reason: `machine ${a.machineId} is not in the event's snapshot` };
      const id = target.ssm_machine_id;
      // A hybrid managed node is no EC2 instance: it is in no Auto Scaling group.
      if (!id.startsWith('i-')) return { kind: 'not_in_group' };
      const fail = async (reason: string, group?: string, mayBeEntered?: true): Promise<StandbyEntry> => {
        if (group)
          await setRecord(a.eventId, a.machineId, {
            auto_scaling_group: group,
            run_no: a.runNo,
            state: 'enter_failed',
            error: reason,
          });
        await records.addTimeline(a.eventId, key('enter-failed'), {
          at: at(),
          type: 'standby_enter_failed',
          machine_id: a.machineId,
          message: `not patched: ${reason}`.slice(0, 1000),
        });
        return {
          kind: 'failed',
          reason,
          ...(group ? { group } : {}),
          ...(mayBeEntered ? { mayBeEntered } : {}),
        };
      };
      return withHeartbeats(async () => {
        let asg: AutoScalingClient;
        let found: { group: string; state: string } | undefined;
        try {
          asg = await aws.autoscaling(target.region, target.iam_role);
          found = await lifecycle(asg, id);
        } catch (err) {
          if (err instanceof MongoError) throw err;
          return fail(`DescribeAutoScalingInstances for ${id} failed: ${errText(err)}`);
        }
        if (!found) return { kind: 'not_in_group' };
        const { group, state } = found;
        const before = (await records.getMachine(a.eventId, a.machineId))?.out_of_service;
        const ours =
          before?.run_no === a.runNo && (before.state === 'entering' || before.state === 'standby');
        if (!ours && (state === 'Standby' || state === 'EnteringStandby')) {
          await records.addTimeline(a.eventId, key('already'), {
            at: at(),
            type: 'standby_left_as_is',
            machine_id: a.machineId,
            message: `${id} was already ${state} in Auto Scaling group ${group} (not by Patchwave): patched as it is, not returned to service after`,
          });
          return { kind: 'already_standby', group };
        }
        if (!ours) {
          if (state !== 'InService')
            return fail(`${id} is ${state} in Auto Scaling group ${group}, not InService`, group);
          // Written before the call: a retry of this activity then knows a Standby it finds is its own.
          await setRecord(a.eventId, a.machineId, {
            auto_scaling_group: group,
            run_no: a.runNo,
            state: 'entering',
          });
          try {
            await asg.send(
              new EnterStandbyCommand({
                AutoScalingGroupName: group,
                InstanceIds: [id],
                ShouldDecrementDesiredCapacity: true,
              }),
              opts(),
            );
          } catch (err) {
            if (err instanceof MongoError) throw err;
            // A refusal (4xx) is final; a timeout or a 5xx may still have been carried out: the exit step checks.
            const status =
              (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
            const refused = status >= 400 && status < 500;
            return fail(
              `EnterStandby (Auto Scaling group ${group}) failed: ${errText(err)}`,
              group,
              refused ? undefined : true,
            );
          }
        }
        let reached: string | undefined;
        try {
          reached = await waitState(asg, id, (s) => s === 'Standby', STANDBY_SETTLE_MS);
        } catch (err) {
          if (err instanceof MongoError) throw err;
          return fail(`${id} in Standby not confirmed: ${errText(err)}`, group, true);
        }
        if (reached !== 'Standby')
          return fail(
            `${id} still ${reached ?? 'unknown'} ${STANDBY_SETTLE_MS / 60_000} min after EnterStandby (group ${group})`,
            group,
            true,
          );
        const now = at();
        await persistAfterEffect(() =>
          setRecord(a.eventId, a.machineId, {
            auto_scaling_group: group,
            run_no: a.runNo,
            state: 'standby',
            standby_at: now,
          }),
        );
        await persistAfterEffect(() =>
          records.addTimeline(a.eventId, key('entered'), {
            at: now,
            type: 'standby_entered',
            machine_id: a.machineId,
            message: `${id} in Standby in Auto Scaling group ${group} (EnterStandby, desired capacity decremented) before its patch`,
          }),
        );
        return { kind: 'entered', group };
      });
    },

    async exitStandby(a: {
      eventId: string;
      machineId: string;
      runNo: number;
      group: string;
    }): Promise<StandbyExit> {
      const target = await targetOf(a.eventId, a.machineId);
      if (!target) throw new Error(`machine ${a.machineId} is not in the event's snapshot`);
      const id = target.ssm_machine_id;
      return withHeartbeats(async () => {
        const asg = await aws.autoscaling(target.region, target.iam_role);
        // Let an EnteringStandby finish first: ExitStandby is refused off Standby.
        const state = await waitState(asg, id, (s) => s !== 'EnteringStandby', STANDBY_SETTLE_MS);
        let result: StandbyExit;
        if (state !== 'Standby') {
          result = { kind: 'not_in_standby', state: state ?? 'not in a group' };
        } else {
          const online = await waitOnline(target.region, target.iam_role, id);
          await asg.send(
            new ExitStandbyCommand({ AutoScalingGroupName: a.group, InstanceIds: [id] }),
            opts(),
          );
          const after = await waitState(asg, id, (s) => s !== 'Standby', STANDBY_SETTLE_MS);
          if (after === 'Standby')
            throw new Error(`${id} still Standby after ExitStandby (group ${a.group})`);
          result = { kind: 'exited', state: after ?? 'not in a group', online };
        }
        const now = at();
        await persistAfterEffect(async () => {
          const before = (await records.getMachine(a.eventId, a.machineId))?.out_of_service;
          if (result.kind === 'exited' || before?.state !== 'enter_failed')
            await setRecord(a.eventId, a.machineId, {
              auto_scaling_group: a.group,
              run_no: a.runNo,
              state: 'in_service',
              ...(before?.standby_at ? { standby_at: before.standby_at } : {}),
              in_service_at: now,
            });
          await records.addTimeline(a.eventId, `machine/${a.machineId}/${a.runNo}/standby-exited`, {
            at: now,
            type: result.kind === 'exited' ? 'standby_exited' : 'standby_checked',
            machine_id: a.machineId,
            message:
              result.kind === 'exited'
                ? `${id} out of Standby in Auto Scaling group ${a.group} (ExitStandby; now ${result.state})` +
                  (result.online
                    ? ' after SSM saw it Online'
                    : `: not Online within ${ONLINE_WAIT_MS / 60_000} min, returned to service anyway`)
                : `${id} is not in Standby (${result.state}): nothing to undo`,
          });
        });
        return result;
      });
    },

    /** ExitStandby failed after every retry: the event records it and an operator is told (`error` notice). */
    async recordStandbyStuck(a: {
      eventId: string;
      machineId: string;
      runNo: number;
      group: string;
      error: string;
    }): Promise<void> {
      const message =
        `left in Standby in Auto Scaling group ${a.group}: ExitStandby failed after retries (${a.error}); return it to service by hand (aws autoscaling exit-standby)`.slice(
          0,
          1000,
        );
      const before = (await records.getMachine(a.eventId, a.machineId))?.out_of_service;
      await setRecord(a.eventId, a.machineId, {
        auto_scaling_group: a.group,
        run_no: a.runNo,
        state: 'exit_failed',
        ...(before?.standby_at ? { standby_at: before.standby_at } : {}),
        error: a.error.slice(0, 900),
      });
      await records.addTimeline(a.eventId, `machine/${a.machineId}/${a.runNo}/standby-exit-failed`, {
        at: at(),
        type: 'standby_exit_failed',
        machine_id: a.machineId,
        message,
      });
      await notifyEvent({
        eventId: a.eventId,
        runNo: a.runNo,
        machineId: a.machineId,
        type: 'error',
        reason: message,
      });
    },
  };

  function waitOnline(region: string, role: string | undefined, id: string): Promise<boolean> {
    return waitAgentOnline(aws, region, role, id, pollMs);
  }
}

/** Waits until SSM reports the agent Online, at most `withinMs`; answers whether it was seen Online. */
export async function waitAgentOnline(
  aws: Pick<AwsClients, 'ssm'>,
  region: string,
  role: string | undefined,
  id: string,
  pollMs: number,
  withinMs = ONLINE_WAIT_MS,
): Promise<boolean> {
  const ssm = await aws.ssm(region, role);
  const until = Date.now() + withinMs;
  for (;;) {
    try {
      const r = await ssm.send(
        new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [id] }] }),
        opts(),
      );
      if (r.InstanceInformationList?.[0]?.PingStatus === 'Online') return true;
    } catch {
      /* asked again until the bound: an unreadable agent status is no reason to keep it out of service */
    }
    if (Date.now() >= until) return false;
    await sleep(pollMs);
  }
}
