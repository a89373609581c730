import type { Client } from '@temporalio/client';
import { requestCommandSignal, type CommandRequest } from '../workflows/defs';
import { workflowIds } from '../domain/ids';
import { commandQueueSearchAttributes } from '../domain/search-attributes';

export interface CommandQueueDeps {
  client: Client;
  taskQueue: string;
}

/**
 * Workflows cannot signal-with-start, so requests to a machine's command queue go through this activity.
 * A retried call re-sends the same request key, which the queue serves only once.
 */
export function createCommandQueueActivities({ client, taskQueue }: CommandQueueDeps) {
  return {
    async requestMachineCommand(req: CommandRequest): Promise<void> {
      await client.workflow.signalWithStart('machineCommandQueueWorkflow', {
        workflowId: workflowIds.machine(req.machineId),
        taskQueue,
        args: [{ machineId: req.machineId }],
        typedSearchAttributes: commandQueueSearchAttributes(req.machineId),
        signal: requestCommandSignal,
        signalArgs: [req],
      });
    },
  };
}
