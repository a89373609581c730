import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import {
  commandFinishedSignal,
  commandQueueStateQuery,
  machineDoneSignal,
  requestCommandSignal,
  type CommandOutcome,
  type CommandQueueState,
  type CommandRequest,
  type MachineRunResult,
} from '../workflows/defs';
import { workflowIds } from '../domain/ids';
import { commandQueueSearchAttributes } from '../domain/search-attributes';

/** The end of a command, told to its requester by the activity that followed it (v2 command queues, activities/ssm.ts). */
export interface CommandRequesters {
  finished(req: CommandRequest, outcome: CommandOutcome): Promise<void>;
}

/**
 * A requester that has ended (its window is over, its event closed) cannot be told: that is fine, the command's
 * result is on its record. Anything else (Temporal unreachable) fails the activity, whose retry tells again.
 */
export function commandRequesters(client: Client): CommandRequesters {
  const signal = async <T>(
    workflowId: string,
    send: (h: ReturnType<Client['workflow']['getHandle']>) => Promise<T>,
  ) => {
    try {
      await send(client.workflow.getHandle(workflowId));
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  };
  return {
    finished: (req, outcome) =>
      signal(req.requesterWorkflowId, (h) =>
        h.signal(commandFinishedSignal, { requestKey: req.requestKey, outcome }),
      ),
  };
}

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
        // v2: a queue this starts sends by local activity (workflows/machine-command-queue.ts).
        args: [{ machineId: req.machineId, v: 2 }],
        typedSearchAttributes: commandQueueSearchAttributes(req.machineId),
        signal: requestCommandSignal,
        signalArgs: [req],
      });
    },

    /**
     * A machine run's result to its event, as a signal sent from here rather than by the workflow: a local
     * activity adds one marker to the run's history where a workflow's signal adds two events and a workflow task
     * (issue 18). The event takes a report once (by machine and run), so a retried call is harmless; an event that
     * is gone has the result in the store already.
     */
    async reportMachineDone(a: { parentWorkflowId: string; result: MachineRunResult }): Promise<void> {
      try {
        await client.workflow.getHandle(a.parentWorkflowId).signal(machineDoneSignal, a.result);
      } catch (err) {
        // The event is gone: the result is in the store.
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    },

    /**
     * What a machine's command queue is doing (v3 machine runs ask at their window end whether their command
     * started). A queue that does not exist serves nobody.
     */
    async commandQueueState(a: { machineId: string }): Promise<CommandQueueState> {
      try {
        return await client.workflow
          .getHandle(workflowIds.machine(a.machineId))
          .query(commandQueueStateQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { queued: [] };
        throw err;
      }
    },
  };
}
