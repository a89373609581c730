/**
 * `machine-pings` (the schedule's runs) and `machine-ping/<machine_id>` (a machine just created or moved):
 * one activity that looks the machines' agents up in SSM and records ping_status / ping_error.
 */
import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { SA } from '../domain/search-attributes';

type Acts = ReturnType<typeof createActivities>;
const acts = proxyActivities<Acts>({
  // A sweep heartbeats per page of 500 machines; the SDK clients bound each call (timeouts, 3 attempts).
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 3 },
});

export async function pingMachinesWorkflow(input: {
  machineIds?: string[];
}): Promise<{ pinged: number; online: number; failed: number }> {
  upsertSearchAttributes([{ key: SA.kind, value: 'machine-ping' }]);
  return acts.pingMachines({ ...(input.machineIds ? { machineIds: input.machineIds } : {}) });
}
