/**
 * `machine/<machine_id>`, the machine command queue: the only sender of SSM commands to one machine (docs/behaviour.md#one-command, "One SSM command
 * per machine, ever"). Requests arrive as signals (signal-with-start from an activity), are served one at a
 * time in arrival order, and each requester is told when its command starts and ends. A command whose
 * requester gave up (its window ended) is still followed to its end, so the machine stays blocked until
 * SSM says the command is over; its final status is recorded on the command document.
 */
import {
  CancellationScope,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import {
  commandFinishedSignal,
  commandStartedSignal,
  commandQueueStateQuery,
  requestCommandSignal,
  withdrawRequestSignal,
  WINDOW_END_CHECK_MS,
  type CloseWatch,
  type CommandFinal,
  type CommandOutcome,
  type CommandRequest,
  type CommandQueueState,
  type CommandStart,
} from './defs';
import { commandQueueSearchAttributes, SA } from '../domain/search-attributes';

type Acts = ReturnType<typeof createActivities>;

const START_RETRY = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 8,
} as const;
const { startCommand } = proxyActivities<Acts>({ startToCloseTimeout: '2 minutes', retry: START_RETRY });
/**
 * v2 queues send as a local activity: no task round trip through the server per command (issue 18). Safe to run
 * again after a worker dies mid-send, when a local activity starts over at attempt 1: the request's claim in the
 * store (claimCommandRequest) makes it ask SSM for its command before sending another.
 */
const local = proxyLocalActivities<Acts>({
  startToCloseTimeout: '2 minutes',
  localRetryThreshold: '10 seconds',
  retry: START_RETRY,
});

// Following a command may take hours (patches, reboots); liveness comes from heartbeats.
const { followCommand } = proxyActivities<Acts>({
  startToCloseTimeout: '3 days',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 80 },
});

export interface CommandQueueInput {
  machineId: string;
  queue?: CommandRequest[];
  seen?: string[];
  /**
   * 2: the command is sent by a local activity; the requester gets no "started" signal (it asks commandQueueState
   * at its window end) and the activity that follows the command tells it how it ended; only the rare answers
   * without a command (rejected, not sent, lost track) are the workflow's own signals, not waited on (issue 18:
   * 28 → 13 history events per command). Absent in queues started before it: they replay as recorded. Kept
   * across continue-as-new.
   */
  v?: 2;
}

const SEEN_KEEP = 500;
const IDLE_CLOSE = '1 hour';
const CAN_AFTER_HISTORY = 8_000;

export async function machineCommandQueueWorkflow(input: CommandQueueInput): Promise<void> {
  const queue: CommandRequest[] = [...(input.queue ?? [])];
  const seen: string[] = [...(input.seen ?? [])];
  const seenSet = new Set(seen);
  let busy: CommandQueueState['busyWith'];
  const v2 = input.v === 2;
  // v2: signals to requesters in flight; each is awaited before the run continues as new or ends.
  const outbox = new Set<Promise<void>>();
  const send = async (p: Promise<void>): Promise<void> => {
    if (!v2) return p;
    outbox.add(p);
    void p.finally(() => outbox.delete(p));
  };
  const drain = () => Promise.all([...outbox]);

  // Queues started by requestMachineCommand carry these from the start (one visibility write less per
  // queue); older ones, and continued runs of them, set them here. Deterministic: it depends on the start event.
  if (workflowInfo().typedSearchAttributes.get(SA.kind) === undefined)
    upsertSearchAttributes(commandQueueSearchAttributes(input.machineId));

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
  setHandler(commandQueueStateQuery, () => ({
    busyWith: busy,
    queued: queue.map((r) => ({
      requestKey: r.requestKey,
      requester: r.requesterWorkflowId,
      deadlineMs: r.deadlineMs,
    })),
  }));

  for (;;) {
    const gotWork = await condition(() => queue.length > 0, IDLE_CLOSE);
    if (!gotWork) {
      await drain();
      return; // idle: the next request starts a fresh run via signal-with-start
    }
    const req = queue.shift()!;
    busy = { requestKey: req.requestKey, requester: req.requesterWorkflowId };

    if (Date.now() >= req.deadlineMs) {
      await send(tell(req, { kind: 'rejected', reason: 'the machine was busy until the window ended' }));
    } else {
      let start: Awaited<ReturnType<typeof startCommand>>;
      try {
        start = v2 ? await local.startCommand({ request: req }) : await startCommand({ request: req });
      } catch (err) {
        // Retries exhausted (e.g. SSM unreachable): the requester gets ERROR now, the queue moves on.
        start = {
          kind: 'error',
          reason: `could not send the command: ${String((err as Error)?.message ?? err)}`,
        };
      }
      if (start.kind !== 'sent') {
        await send(tell(req, { kind: 'not_sent', start }));
      } else {
        busy.commandId = start.commandId;
        // v2: no "started" signal (a requester asks commandQueueState at its window end); followCommand tells the
        // requester how the command ended.
        if (!v2)
          await notify(req, () =>
            getExternalWorkflowHandle(req.requesterWorkflowId).signal(commandStartedSignal, {
              requestKey: req.requestKey,
              commandId: start.commandId,
              at: new Date().toISOString(),
            }),
          );
        try {
          const final = await follow(req, start, queue, v2);
          if (!v2) await tell(req, { kind: 'completed', final });
        } catch (err) {
          // SSM would not say how the command ended for over an hour of retries: stop blocking the machine.
          await send(
            tell(req, {
              kind: 'not_sent',
              start: {
                kind: 'error',
                reason: `lost track of command ${start.commandId}: ${String((err as Error)?.message ?? err)}`,
              },
            }),
          );
        }
      }
    }
    busy = undefined;

    if (workflowInfo().historyLength > CAN_AFTER_HISTORY || workflowInfo().continueAsNewSuggested) {
      await drain();
      await continueAsNew<typeof machineCommandQueueWorkflow>({
        machineId: input.machineId,
        queue,
        seen,
        ...(v2 ? { v: 2 as const } : {}),
      });
    }
  }
}

/** Marks queue runs that start a close watch when a request arrives while a command runs (replay of older runs). */
const WATCH_FOR_WAITERS = 'close-watch-for-waiters';

/**
 * Follows the running command to its end and hands the machine on within seconds of it (docs/behaviour.md#one-command):
 * one followCommand on the worker's economical sweep, closely watched (GetCommandInvocation every few seconds)
 * while its own requester has a next command for the machine and around its window end (TIMED_OUT is
 * decided by SSM's end time, machine-run.ts). A request that queues meanwhile starts a second followCommand
 * watching closely until that request's deadline; whichever learns the end first answers and the other is
 * cancelled (both record the same final, idempotently).
 */
async function follow(
  req: CommandRequest,
  start: Extract<CommandStart, { kind: 'sent' }>,
  queue: readonly CommandRequest[],
  /** v2: the follower that learns the end tells the requester itself (a second one may tell it again). */
  tell: boolean,
): Promise<CommandFinal> {
  const own: CloseWatch = req.next
    ? [{ fromMs: 0, untilMs: req.deadlineMs + WINDOW_END_CHECK_MS }]
    : [{ fromMs: req.deadlineMs, untilMs: req.deadlineMs + WINDOW_END_CHECK_MS }];
  let final: CommandFinal | undefined;
  let failure: unknown;
  let running = 0;
  const scopes: CancellationScope[] = [];
  const run = (closeWatch: CloseWatch) => {
    const scope = new CancellationScope();
    scopes.push(scope);
    running++;
    void scope
      .run(() => followCommand({ request: req, start, closeWatch, ...(tell ? { tell: true as const } : {}) }))
      .then(
        (f) => {
          final ??= f;
        },
        (err) => {
          if (!isCancellation(err)) failure = err;
        },
      )
      .finally(() => running--);
  };
  run(own);

  // Until when someone in the queue is watched for: a new close watch only for a later deadline.
  let watchedUntil = 0;
  const waitedUntil = () => Math.max(0, ...queue.map((q) => q.deadlineMs));
  for (;;) {
    await condition(() => final !== undefined || running === 0 || waitedUntil() > watchedUntil);
    if (final !== undefined || running === 0) break;
    const until = waitedUntil();
    if (Date.now() < until && patched(WATCH_FOR_WAITERS)) run([{ fromMs: 0, untilMs: until }]);
    // A run from before close watches (replay) never starts one: remember the deadline so as not to ask again.
    watchedUntil = until;
  }
  for (const s of scopes) s.cancel();
  if (final === undefined) throw failure;
  return final;
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

/**
 * The workflow type `machine/<id>` executions were started under before the rename (`machineWorkflow`). It stays
 * registered so that executions started under it go on and replay: a continue-as-new keeps its workflow type,
 * and an idle one closes after IDLE_CLOSE, after which the next request starts a `machineCommandQueueWorkflow`.
 * Remove it once no `machineWorkflow` execution is open (docs/workflows.md, "Names").
 */
export const machineWorkflow = machineCommandQueueWorkflow;
