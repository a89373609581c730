/**
 * `event/<event_id>/machine/<machine_id>/run-<n>`: one machine in one run of an event (product.md §3.4-5):
 * pre host hooks → patch command (through the machine's command owner) → post host hooks → result.
 * Everything is bounded by the run's deadline: nothing starts at or after it; a command still running
 * then is TIMED_OUT and keeps running in the background, owned by `machine/<id>`.
 */
import {
  condition,
  getExternalWorkflowHandle,
  log,
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
  machineDoneSignal,
  withdrawRequestSignal,
  type CommandOutcome,
  type HookBrief,
  type MachineRunInput,
  type MachineRunResult,
} from './defs';
import { workflowIds } from '../domain/ids';
import { machineRunSearchAttributes, SA } from '../domain/search-attributes';
import type { MachineStatus } from '../domain/statuses';

type Acts = ReturnType<typeof createActivities>;

const store = proxyActivities<Acts>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
});
/**
 * A hook call lasts up to HOOK_TIMEOUT_MS (bounded by the window end). A start-to-close timeout shorter than
 * that would cut a slow hook off and the retry would call it again: liveness comes from heartbeats instead.
 */
const { runRemoteHook } = proxyActivities<Acts>({
  startToCloseTimeout: '1 day',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
});
const { requestMachineCommand } = proxyActivities<Acts>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '15s', maximumAttempts: 10 },
});

/**
 * Store writes and the request to the command owner as local activities (v2): each is a quick idempotent write
 * or signal-with-start, so it runs inside the current workflow task instead of a server round trip per call.
 * Up to localRetryThreshold they retry in the worker; after that each retry waits on a durable timer.
 */
const local = proxyLocalActivities<Acts>({
  startToCloseTimeout: '3 minutes', // finishMachineRun may deliver a notice (channel retries: ~2 min at most)
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
});

type ResultRecord = Parameters<Acts['finishMachineRun']>[0]['result'];
type Notice = Parameters<Acts['finishMachineRun']>[0]['notice'];

/** The store writes of one machine run; v1 (runs started before local activities) keeps its shape for replay. */
interface Steps {
  begin(a: { eventId: string; machineId: string; runNo: number }): Promise<void>;
  finish(result: ResultRecord, notice?: Notice): Promise<void>;
  hookNotStarted(a: Parameters<Acts['recordHookNotStarted']>[0]): Promise<void>;
  scriptHookRun(a: Parameters<Acts['recordScriptHookRun']>[0]): ReturnType<Acts['recordScriptHookRun']>;
  request(a: Parameters<Acts['requestMachineCommand']>[0]): Promise<void>;
}

const stepsV1: Steps = {
  async begin(a) {
    await store.markMachineStarted(a);
    await store.notifyEvent({ ...a, type: 'machine_patching_start' });
  },
  async finish(result, notice) {
    await store.recordMachineResult(result);
    if (notice)
      await store.notifyEvent({
        eventId: result.eventId,
        runNo: result.runNo,
        machineId: result.machineId,
        type: notice,
      });
  },
  hookNotStarted: (a) => store.recordHookNotStarted(a),
  scriptHookRun: (a) => store.recordScriptHookRun(a),
  request: (a) => requestMachineCommand(a),
};

const stepsV2: Steps = {
  begin: (a) => local.beginMachineRun(a),
  finish: (result, notice) => local.finishMachineRun({ result, ...(notice ? { notice } : {}) }),
  hookNotStarted: (a) => local.recordHookNotStarted(a),
  scriptHookRun: (a) => local.recordScriptHookRun(a),
  request: (a) => local.requestMachineCommand(a),
};

export async function machineRunWorkflow(input: MachineRunInput): Promise<MachineRunResult> {
  // The version comes with the input, not from patched(): a patch marker costs an extra search-attribute
  // upsert (TemporalChangeVersion) in every machine run, and the input already tells old runs from new.
  const steps = input.steps === 2 ? stepsV2 : stepsV1;
  if (input.steps !== 2) upsertSearchAttributes(machineRunSearchAttributes(input));

  let result: MachineRunResult;
  try {
    result = await runMachine(input, steps);
  } catch (err) {
    // Our own fault (a bug, a store outage beyond retries): the machine is ERROR, the event goes on.
    log.error('machine run failed', { error: String(err) });
    await steps.finish({
      eventId: input.eventId,
      machineId: input.machineId,
      runNo: input.runNo,
      status: 'ERROR',
      reason: `Patchwave error: ${err instanceof Error ? err.message : String(err)}`,
    });
    result = { machineId: input.machineId, runNo: input.runNo, status: 'ERROR', hostHookFailed: false };
  }
  upsertSearchAttributes([{ key: SA.status, value: result.status }]);
  try {
    await getExternalWorkflowHandle(input.parentWorkflowId).signal(machineDoneSignal, result);
  } catch (err) {
    log.warn('event workflow is gone; result is in the store', { error: String(err) });
  }
  return result;
}

async function runMachine(input: MachineRunInput, steps: Steps): Promise<MachineRunResult> {
  const { eventId, machineId, runNo, deadlineMs } = input;
  const done = (status: MachineStatus, hostHookFailed: boolean): MachineRunResult => ({
    machineId,
    runNo,
    status,
    hostHookFailed,
  });

  if (Date.now() >= deadlineMs) {
    await steps.finish({
      eventId,
      machineId,
      runNo,
      status: 'NOT_IN_TIME_WINDOW',
      reason: 'the window ended before the machine could start',
    });
    return done('NOT_IN_TIME_WINDOW', false);
  }
  await steps.begin({ eventId, machineId, runNo });

  // Pre host hooks: all of them run, in order; one failure omits the machine and skips its post hooks.
  let preFailed = false;
  for (const hook of input.preHooks) {
    const ok = await runHostHook(input, hook, steps);
    if (ok === 'window_ended') {
      await steps.finish({
        eventId,
        machineId,
        runNo,
        status: 'NOT_IN_TIME_WINDOW',
        reason: 'the window ended during the pre host hooks',
      });
      return done('NOT_IN_TIME_WINDOW', preFailed);
    }
    if (!ok) preFailed = true;
  }
  if (preFailed) {
    // A last pre host hook cut off at the window end is the same case as the window ending between two
    // hooks (above): the window, not a hook's answer, kept the machine from patching.
    if (Date.now() >= deadlineMs) {
      await steps.finish({
        eventId,
        machineId,
        runNo,
        status: 'NOT_IN_TIME_WINDOW',
        reason: 'the window ended during the pre host hooks',
      });
      return done('NOT_IN_TIME_WINDOW', true);
    }
    await steps.finish({ eventId, machineId, runNo, status: 'OMITTED', reason: 'a pre host hook failed' });
    return done('OMITTED', true);
  }

  const patch = await commandThroughOwner(
    input,
    { kind: 'patch', eventId, machineId, runNo },
    `patch`,
    steps,
  );
  let status: MachineStatus = 'ERROR';
  let reason: string | undefined;
  let commandId: string | undefined;
  let installed: string[] | undefined;
  switch (patch.kind) {
    case 'completed':
      status = patch.final.machineStatus;
      reason = status === 'SUCCESS' || status === 'SUCCESS_NO_UPDATES' ? undefined : patch.final.detail;
      commandId = patch.final.commandId;
      installed = patch.final.installed;
      break;
    case 'timed_out':
      status = 'TIMED_OUT';
      reason = `command ${patch.commandId} was still running when the window ended; it goes on in the background`;
      commandId = patch.commandId;
      break;
    case 'not_started':
      status = 'NOT_IN_TIME_WINDOW';
      reason = patch.reason;
      break;
    case 'not_sent':
      status =
        patch.start.kind === 'unbuildable'
          ? 'OMITTED'
          : patch.start.kind === 'offline'
            ? 'NOT_AVAILABLE'
            : patch.start.kind === 'too_late'
              ? 'NOT_IN_TIME_WINDOW'
              : 'ERROR';
      reason = patch.start.reason;
      break;
  }
  await steps.finish(
    { eventId, machineId, runNo, status, reason, commandId, installed },
    status === 'NOT_AVAILABLE'
      ? 'machine_access_err'
      : status === 'NOT_IN_TIME_WINDOW'
        ? 'machine_not_in_window'
        : 'machine_patching_finish',
  );

  // Post host hooks run whatever the patch result, unless a pre host hook failed (handled above).
  let postFailed = false;
  for (const hook of input.postHooks) {
    const ok = await runHostHook(input, hook, steps);
    if (ok !== true) postFailed = true;
  }
  return done(status, postFailed);
}

/** Runs one host hook; true = success, false = failed, 'window_ended' = it could not start in the window. */
async function runHostHook(
  input: MachineRunInput,
  hook: HookBrief,
  steps: Steps,
): Promise<boolean | 'window_ended'> {
  const { eventId, machineId, runNo, deadlineMs } = input;
  if (Date.now() >= deadlineMs) {
    await steps.hookNotStarted({ eventId, machineId, runNo, name: hook.name });
    return 'window_ended';
  }
  if (hook.type !== 'script') {
    const r = await runRemoteHook({ eventId, runNo, name: hook.name, machineId, deadlineMs });
    return r.success;
  }
  // A script hook is an SSM command on the machine: it queues behind any other command there.
  const startedAt = new Date().toISOString();
  const out = await commandThroughOwner(
    input,
    { kind: 'hook', eventId, machineId, runNo, hookName: hook.name },
    hook.name,
    steps,
  );
  const r = await steps.scriptHookRun({
    eventId,
    machineId,
    runNo,
    name: hook.name,
    startedAt,
    outcome: out,
  });
  return r.success;
}

export type OwnerOutcome =
  CommandOutcome | { kind: 'timed_out'; commandId: string } | { kind: 'not_started'; reason: string };

/**
 * Asks `machine/<id>` to run a command and waits for it, at most until the deadline. The request key is
 * deterministic (event, run, machine, step), so a retried request is recognised and served once.
 */
async function commandThroughOwner(
  input: MachineRunInput,
  ref: Parameters<Acts['requestMachineCommand']>[0]['ref'],
  step: string,
  steps: Steps,
): Promise<OwnerOutcome> {
  const requestKey = `${input.eventId}/${input.runNo}/${input.machineId}/${step}`;
  let startedCommand: string | undefined;
  let outcome: CommandOutcome | undefined;
  setHandler(commandStartedSignal, (s) => {
    if (s.requestKey === requestKey) startedCommand = s.commandId;
  });
  setHandler(commandFinishedSignal, (s) => {
    if (s.requestKey === requestKey) outcome = s.outcome;
  });

  await steps.request({
    requestKey,
    machineId: input.machineId,
    requesterWorkflowId: workflowInfo().workflowId,
    deadlineMs: input.deadlineMs,
    ref,
  });
  const remaining = Math.max(0, input.deadlineMs - Date.now());
  await condition(() => outcome !== undefined, remaining);
  if (outcome) {
    // A command that ended exactly as the window closed counts as ended (seed 001, 8:15).
    return outcome.kind === 'rejected' ? { kind: 'not_started', reason: outcome.reason } : outcome;
  }
  if (startedCommand) return { kind: 'timed_out', commandId: startedCommand };
  // Still queued behind another command: withdraw so the owner never starts it after our window.
  try {
    await getExternalWorkflowHandle(workflowIds.machine(input.machineId)).signal(withdrawRequestSignal, {
      requestKey,
    });
  } catch {
    /* the owner validates deadlines itself as well */
  }
  return { kind: 'not_started', reason: 'the machine was busy with another command until the window ended' };
}
