import type { EventDoc, EventRecords } from '../store/event-records';
import { buildHookPayload, orderHookOutputs, toHookOutputEntry } from '../domain/hook-payload';
import type { HookPayload, HookPayloadMachine } from '../domain/hooks';

/**
 * The payload every hook receives (docs/behaviour.md#hook-payload), read fresh from the store: Lambda and Azure
 * hooks get it as their body (activities/hooks.ts), script hooks as a file (activities/ssm.ts). `machineId`:
 * a host hook, which sees only its own machine.
 */
export async function hookPayloadFor(
  records: Pick<EventRecords, 'getMachine' | 'listMachines' | 'previousHookRuns'>,
  e: Pick<EventDoc, '_id' | 'customer_id' | 'pipeline_run_id' | 'plan_snapshot'>,
  machineId?: string,
): Promise<HookPayload> {
  const snapMachines = new Map((e.plan_snapshot?.machines ?? []).map((m) => [m.machine_id, m]));
  const docs = machineId
    ? [await records.getMachine(e._id, machineId)].filter((d) => d !== null)
    : await records.listMachines(e._id);
  const machines: HookPayloadMachine[] = docs.map((d) => {
    const s = snapMachines.get(d.machine_id);
    return {
      id: d.machine_id,
      status: d.status,
      name: d.name,
      ...(s?.subscription_id ? { subscription_id: s.subscription_id } : {}),
      ...(s?.subscription_name ? { subscription_name: s.subscription_name } : {}),
      ...(s?.resource_group_name ? { resource_group_name: s.resource_group_name } : {}),
    };
  });
  const prev = orderHookOutputs(
    await records.previousHookRuns({ eventId: e._id, pipelineRunId: e.pipeline_run_id }),
  );
  return buildHookPayload({
    eventId: e._id,
    customerId: e.customer_id,
    machines,
    previous: prev.map((r) =>
      toHookOutputEntry(r, { planName: r.plan_name, eventId: r.event_id, sameEvent: r.event_id === e._id }),
    ),
  });
}
