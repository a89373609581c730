/**
 * `machine/<machine_id>`: the single owner of SSM commands on one machine (product.md §3, "One SSM command
 * per machine, ever"). Requests arrive as signals (signal-with-start from an activity), are served one at a
 * time in arrival order, and each requester is told when its command starts and ends. A command whose
 * requester gave up (its window ended) is still followed to its end, so the machine stays blocked until
 * SSM says the command is over; its final status is recorded on the command document.
 */
import {
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import {
  commandFinishedSignal,
  commandStartedSignal,
  machineOwnerStateQuery,
  requestCommandSignal,
  withdrawRequestSignal,
  type CommandOutcome,
  type CommandRequest,
  type MachineOwnerState,
} from './defs';
import { machineOwnerSearchAttributes, SA } from '../domain/search-attributes';

type Acts = ReturnType<typeof createActivities>;

const { startCommand } = proxyActivities<Acts>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 8 },
});

// Following a command may take hours (patches, reboots); liveness comes from heartbeats.
const { followCommand } = proxyActivities<Acts>({
  startToCloseTimeout: '3 days',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 80 },
});

export interface MachineWorkflowInput {
  machineId: string;
  queue?: CommandRequest[];
  seen?: string[];
}

const SEEN_KEEP = 500;
const IDLE_CLOSE = '1 hour';
const CAN_AFTER_HISTORY = 8_000;

export async function machineWorkflow(input: MachineWorkflowInput): Promise<void> {
  const queue: CommandRequest[] = [...(input.queue ?? [])];
  const seen: string[] = [...(input.seen ?? [])];
  const seenSet = new Set(seen);
  let busy: MachineOwnerState['busyWith'];

  // Owners started by requestMachineCommand carry these from the start (one visibility write less per
  // owner); older ones, and continued runs of them, set them here. Deterministic: it depends on the start event.
  if (workflowInfo().typedSearchAttributes.get(SA.kind) === undefined)
    upsertSearchAttributes(machineOwnerSearchAttributes(input.machineId));

  setHandler(requestCommandSignal, (req) => {
    // Duplicates come from a retried signal-with-start activity: serve each request once.
    if (seenSet.has(req.requestKey)) return;
    seenSet.add(req.requestKey);
    seen.push(req.requestKey);
    if (seen.length > SEEN_KEEP) seenSet.delete(seen.shift()!);
    queue.push(req);
  });
  setHandler(withdrawRequestSignal, ({ requestKey }) => {
    const i = queue.findIndex((r) => r.requestKey === requestKey);
    if (i >= 0) queue.splice(i, 1);
  });
  setHandler(machineOwnerStateQuery, () => ({
    busyWith: busy,
    queued: queue.map((r) => ({
      requestKey: r.requestKey,
      requester: r.requesterWorkflowId,
      deadlineMs: r.deadlineMs,
    })),
  }));

  for (;;) {
    const gotWork = await condition(() => queue.length > 0, IDLE_CLOSE);
    if (!gotWork) return; // idle: the next request starts a fresh run via signal-with-start
    const req = queue.shift()!;
    busy = { requestKey: req.requestKey, requester: req.requesterWorkflowId };

    if (Date.now() >= req.deadlineMs) {
      await tell(req, { kind: 'rejected', reason: 'the machine was busy until the window ended' });
    } else {
      let start: Awaited<ReturnType<typeof startCommand>>;
      try {
        start = await startCommand({ request: req });
      } catch (err) {
        // Retries exhausted (e.g. SSM unreachable): the requester gets ERROR now, the queue moves on.
        start = {
          kind: 'error',
          reason: `could not send the command: ${String((err as Error)?.message ?? err)}`,
        };
      }
      if (start.kind !== 'sent') {
        await tell(req, { kind: 'not_sent', start });
      } else {
        busy.commandId = start.commandId;
        await notify(req, () =>
          getExternalWorkflowHandle(req.requesterWorkflowId).signal(commandStartedSignal, {
            requestKey: req.requestKey,
            commandId: start.commandId,
            at: new Date().toISOString(),
          }),
        );
        try {
          const final = await followCommand({ request: req, start });
          await tell(req, { kind: 'completed', final });
        } catch (err) {
          // SSM would not say how the command ended for over an hour of retries: stop blocking the machine.
          await tell(req, {
            kind: 'not_sent',
            start: {
              kind: 'error',
              reason: `lost track of command ${start.commandId}: ${String((err as Error)?.message ?? err)}`,
            },
          });
        }
      }
    }
    busy = undefined;

    if (workflowInfo().historyLength > CAN_AFTER_HISTORY || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof machineWorkflow>({ machineId: input.machineId, queue, seen });
    }
  }
}

async function tell(req: CommandRequest, outcome: CommandOutcome): Promise<void> {
  await notify(req, () =>
    getExternalWorkflowHandle(req.requesterWorkflowId).signal(commandFinishedSignal, {
      requestKey: req.requestKey,
      outcome,
    }),
  );
}

/** A requester that already ended (window over, event closed) can't be told; that is fine. */
async function notify(req: CommandRequest, send: () => Promise<void>): Promise<void> {
  try {
    await send();
  } catch (err) {
    log.info('requester is gone; command result kept on the command record', {
      requester: req.requesterWorkflowId,
      error: String(err),
    });
  }
}
