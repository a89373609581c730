/**
 * A machine's `ping_status` / `ping_error`: what SSM's DescribeInstanceInformation says of its agent. Looked up
 * when a machine is created (or its access changes), by the `machine-pings` schedule for every machine, and
 * written by a run that finds a machine offline (activities/ssm.ts). The look-ups go through the worker's
 * shared InstanceInfoBatcher, so a sweep costs one call per 50 machines of a (region, role).
 */
import type { InstanceInformation } from '@aws-sdk/client-ssm';
import type { Machine } from '../domain/machine';
import type { MachinePing, MachineStore } from '../store/machines';
import type { InstanceInfoBatcher } from './command-tracker';
import { isTransientAwsError, withHeartbeats } from './durable';

/** Machines per page of the sweep: one store read, ten DescribeInstanceInformation calls at most. */
const SWEEP_PAGE = 500;

export type InstancesFor = (region: string, roleArn?: string) => InstanceInfoBatcher;

/** The ping fields of one machine from its DescribeInstanceInformation answer (undefined: not registered). */
export function pingOf(
  machine: Pick<Machine, 'id' | 'access'>,
  info: InstanceInformation | undefined,
  at: string,
): MachinePing {
  if (!info)
    return {
      machine_id: machine.id,
      ping_status: 'NotRegistered',
      ping_error: `${machine.access.ssm_machine_id} is not a managed node of SSM in ${machine.access.region}`,
      pinged_at: at,
    };
  return { machine_id: machine.id, ping_status: info.PingStatus ?? 'Unknown', pinged_at: at };
}

function failedPing(machine: Pick<Machine, 'id'>, err: unknown, at: string): MachinePing {
  const e = err as Error;
  return {
    machine_id: machine.id,
    ping_status: 'Unknown',
    ping_error:
      `DescribeInstanceInformation failed: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`.slice(
        0,
        1000,
      ),
    pinged_at: at,
  };
}

export function createPingActivities(deps: { machines: MachineStore; instances: InstancesFor }) {
  const { machines, instances } = deps;

  /** Looks up and records one batch of machines; a transient AWS error is thrown after recording the rest. */
  async function pingSome(list: Machine[]): Promise<{ online: number; failed: number }> {
    const settled = await Promise.allSettled(
      list.map((m) => instances(m.access.region, m.access.iam_role).get(m.access.ssm_machine_id, [], 0)),
    );
    const at = new Date().toISOString();
    let transient: unknown;
    const pings = settled.map((r, i) => {
      if (r.status === 'fulfilled') return pingOf(list[i], r.value, at);
      if (isTransientAwsError(r.reason)) transient ??= r.reason;
      return failedPing(list[i], r.reason, at);
    });
    await machines.recordPings(pings);
    // Throttling or a dropped connection: the activity's bounded retry asks again; the record says so meanwhile.
    if (transient) throw transient;
    return {
      online: pings.filter((p) => p.ping_status === 'Online').length,
      failed: pings.filter((p) => p.ping_error !== undefined).length,
    };
  }

  return {
    /**
     * Refreshes the ping of the given machines, or of every machine of every customer (the schedule),
     * page by page. Returns how many were looked up, online, and without a status.
     */
    async pingMachines({
      machineIds,
    }: {
      machineIds?: string[];
    }): Promise<{ pinged: number; online: number; failed: number }> {
      const total = { pinged: 0, online: 0, failed: 0 };
      const add = (list: Machine[], r: { online: number; failed: number }) => {
        total.pinged += list.length;
        total.online += r.online;
        total.failed += r.failed;
      };
      return withHeartbeats(async () => {
        if (machineIds) {
          const list = await machines.getByIds(machineIds);
          add(list, await pingSome(list));
          return total;
        }
        let token: string | undefined;
        do {
          const page = await machines.listAll(SWEEP_PAGE, token);
          add(page.items, await pingSome(page.items));
          token = page.continuation_token ?? undefined;
        } while (token);
        return total;
      });
    },
  };
}
