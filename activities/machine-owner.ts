import type { Client } from '@temporalio/client';
import { requestCommandSignal, type CommandRequest } from '../workflows/defs';
import { workflowIds } from '../domain/ids';
import { machineOwnerSearchAttributes } from '../domain/search-attributes';

export interface MachineOwnerDeps {
  client: Client;
  taskQueue: string;
}

/**
 * Workflows cannot signal-with-start, so requests to a machine's command owner go through this activity.
 * A retried call re-sends the same request key, which the owner serves only once.
 */
export function createMachineOwnerActivities({ client, taskQueue }: MachineOwnerDeps) {
  return {
    async requestMachineCommand(req: CommandRequest): Promise<void> {
      await client.workflow.signalWithStart('machineWorkflow', {
        workflowId: workflowIds.machine(req.machineId),
        taskQueue,
        args: [{ machineId: req.machineId }],
        typedSearchAttributes: machineOwnerSearchAttributes(req.machineId),
        signal: requestCommandSignal,
        signalArgs: [req],
      });
    },
  };
}
