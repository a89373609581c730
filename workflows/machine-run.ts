/**
 * `event/<event_id>/machine/<machine_id>/run-<n>`: one machine in one run of an event (docs/behaviour.md#one-machine, #host-hook-failure):
 * pre host hooks → patch command (through the machine command queue) → post host hooks → result.
 * Everything is bounded by the run's deadline: nothing starts at or after it; a command still running
 * then is TIMED_OUT and keeps running in the background, owned by `machine/<id>`.
 */
import {
  ActivityFailure,
  condition,
  getExternalWorkflowHandle,
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
  machineDoneSignal,
  withdrawRequestSignal,
  WINDOW_END_CHECK_MS,
  type CommandOutcome,
  type HookBrief,
  type MachineRunInput,
  type MachineRunResult,
  type CommandWaitOutcome,
} from './defs';
import { workflowIds } from '../domain/ids';
import { targetGroupName } from '../domain/target-group';
import { machineRunSearchAttributes, SA } from '../domain/search-attributes';
import type { MachineStatus } from '../domain/statuses';
import {
  afterExplicitReboot,
  afterFailedPreHook,
  afterDeregisterFailed,
  afterStandbyEnterFailed,
  afterStandbyExit,
  afterTargetsRegistered,
  commandRequestKey,
  MACHINE_RUN_REASON,
  patchNotice,
  patchVerdict,
  usesLocalWrites,
} from './machine-run-state';

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
/**
 * Seed 003's patch-date tag: one AWS call with its own timeout and the SDK's retries inside; the activity records
 * an AWS failure on the timeline itself, so these attempts only cover our store being away.
 */
const { tagPatchDate } = proxyActivities<Acts>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});
/**
 * Plan out_of_service (Auto Scaling standby). Entering: the activity turns AWS failures into a result (the machine is
 * then not patched), so its retries only cover our store. Exiting: it waits for the agent (up to ONLINE_WAIT_MS) and
 * throws on AWS failures, retried a bounded number of times; then the run records the instance as stuck and notifies.
 */
const { enterStandby } = proxyActivities<Acts>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});
const { exitStandby } = proxyActivities<Acts>({
  startToCloseTimeout: '40 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});
const { recordStandbyStuck } = proxyActivities<Acts>({
  startToCloseTimeout: '3 minutes', // it delivers an `error` notice (channel retries: ~2 min at most)
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
});
/**
 * Plan out_of_service.target_groups. Deregistering: the activity waits for draining (up to the groups' deregistration
 * delay, at most an hour, plus a margin) and turns AWS failures into a result, so its retries only cover our store.
 * Registering: it waits for the agent (up to ONLINE_WAIT_MS) and for health (HEALTHY_WAIT_MS), and throws on AWS
 * failures, retried a bounded number of times; then the run records the instance as left out and notifies.
 */
const { deregisterTargets } = proxyActivities<Acts>({
  startToCloseTimeout: '75 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});
const { registerTargets } = proxyActivities<Acts>({
  startToCloseTimeout: '40 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});
const { recordTargetGroupsStuck } = proxyActivities<Acts>({
  startToCloseTimeout: '3 minutes', // it delivers an `error` notice (channel retries: ~2 min at most)
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
});
const { requestMachineCommand } = proxyActivities<Acts>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '15s', maximumAttempts: 10 },
});

/**
 * Store writes and the request to the machine command queue as local activities (v2): each is a quick idempotent write
 * or signal-with-start, so it runs inside the current workflow task instead of a server round trip per call.
 * Up to localRetryThreshold they retry in the worker; after that each retry waits on a durable timer.
 */
const local = proxyLocalActivities<Acts>({
  startToCloseTimeout: '3 minutes', // finishMachineRun may deliver a notice (channel retries: ~2 min at most)
  localRetryThreshold: '10 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
});

type LbTargets = Parameters<Acts['registerTargets']>[0]['targets'];
type ResultRecord = Parameters<Acts['finishMachineRun']>[0]['result'];
type Notice = Parameters<Acts['finishMachineRun']>[0]['notice'];

/**
 * The store writes of one machine run (and its request to the machine command queue), in one of two shapes: one
 * activity per write (v1, runs started before local activities: they must replay as recorded) or local
 * activities (v2).
 */
interface MachineRunWrites {
  begin(a: { eventId: string; machineId: string; runNo: number }): Promise<void>;
  finish(result: ResultRecord, notice?: Notice): Promise<void>;
  hookNotStarted(a: Parameters<Acts['recordHookNotStarted']>[0]): Promise<void>;
  scriptHookRun(a: Parameters<Acts['recordScriptHookRun']>[0]): ReturnType<Acts['recordScriptHookRun']>;
  request(a: Parameters<Acts['requestMachineCommand']>[0]): Promise<void>;
}

const writesV1: MachineRunWrites = {
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

const writesV2: MachineRunWrites = {
  begin: (a) => local.beginMachineRun(a),
  finish: (result, notice) => local.finishMachineRun({ result, ...(notice ? { notice } : {}) }),
  hookNotStarted: (a) => local.recordHookNotStarted(a),
  scriptHookRun: (a) => local.recordScriptHookRun(a),
  request: (a) => local.requestMachineCommand(a),
};

export async function machineRunWorkflow(input: MachineRunInput): Promise<MachineRunResult> {
  // The version comes with the input, not from patched(): a patch marker costs an extra search-attribute
  // upsert (TemporalChangeVersion) in every machine run, and the input already tells old runs from new.
  const v2 = usesLocalWrites(input);
  const writes = v2 ? writesV2 : writesV1;
  if (!v2) upsertSearchAttributes(machineRunSearchAttributes(input));

  let result: MachineRunResult;
  try {
    result = await patchOneMachine(input, writes);
  } catch (err) {
    // Our own fault (a bug, a store outage beyond retries): the machine is ERROR, the event goes on.
    log.error('machine run failed', { error: String(err) });
    await writes.finish({
      eventId: input.eventId,
      machineId: input.machineId,
      runNo: input.runNo,
      status: 'ERROR',
      reason: `Patchwave error: ${err instanceof Error ? err.message : String(err)}`,
    });
    result = { machineId: input.machineId, runNo: input.runNo, status: 'ERROR', hostHookFailed: false };
  }
  upsertSearchAttributes([{ key: SA.status, value: result.status }]);
  if (input.v === 3) {
    await local.reportMachineDone({ parentWorkflowId: input.parentWorkflowId, result });
    return result;
  }
  try {
    await getExternalWorkflowHandle(input.parentWorkflowId).signal(machineDoneSignal, result);
  } catch (err) {
    log.warn('event workflow is gone; result is in the store', { error: String(err) });
  }
  return result;
}

/** Pre host hooks → patch command → post host hooks, for one machine; answers with its result. */
async function patchOneMachine(input: MachineRunInput, writes: MachineRunWrites): Promise<MachineRunResult> {
  const { eventId, machineId, runNo, deadlineMs } = input;
  const done = (status: MachineStatus, hostHookFailed: boolean): MachineRunResult => ({
    machineId,
    runNo,
    status,
    hostHookFailed,
  });

  if (Date.now() >= deadlineMs) {
    await writes.finish({
      eventId,
      machineId,
      runNo,
      status: 'NOT_IN_TIME_WINDOW',
      reason: MACHINE_RUN_REASON.windowEndedBeforeStart,
    });
    return done('NOT_IN_TIME_WINDOW', false);
  }
  await writes.begin({ eventId, machineId, runNo });

  // Pre host hooks: all of them run, in order; one failure omits the machine and skips its post hooks.
  let preFailed = false;
  for (const hook of input.preHooks) {
    // After a pre host hook, the next command on the machine is the patch or the next script hook.
    const ok = await runHostHook(input, hook, writes, true);
    if (ok === 'window_ended') {
      await writes.finish({
        eventId,
        machineId,
        runNo,
        status: 'NOT_IN_TIME_WINDOW',
        reason: MACHINE_RUN_REASON.windowEndedInPreHooks,
      });
      return done('NOT_IN_TIME_WINDOW', preFailed);
    }
    if (!ok) preFailed = true;
  }
  if (preFailed) {
    const v = afterFailedPreHook(Date.now() >= deadlineMs);
    await writes.finish({ eventId, machineId, runNo, status: v.status, reason: v.reason });
    return done(v.status, true);
  }

  // Plan out_of_service.target_groups: out of its load-balancer target groups (drained) right before its patch
  // command, and before Standby (back in them after it). Only inputs that carry the flag do this (older runs replay
  // as they were).
  let lbTargets: LbTargets | undefined;
  if (input.loadBalancerTargets) {
    const out = await deregisterTargets({ eventId, machineId, runNo });
    if (out.kind === 'deregistered') lbTargets = out.targets;
    if (out.kind === 'failed') {
      // It may have been taken out of some groups already: put it back before giving up.
      if (out.targets.length) await returnToTargets(input, out.targets);
      const v = afterDeregisterFailed(out.reason);
      await writes.finish({ eventId, machineId, runNo, status: v.status, reason: v.reason });
      return done(v.status, false);
    }
  }

  // Plan out_of_service: an instance of an Auto Scaling group goes to Standby right before its patch command.
  // Only inputs that carry the flag do this (older runs replay as they were).
  let standbyGroup: string | undefined;
  if (input.autoScalingStandby) {
    const entry = await enterStandby({ eventId, machineId, runNo });
    if (entry.kind === 'entered') standbyGroup = entry.group;
    if (entry.kind === 'failed') {
      // EnterStandby may have been carried out although it was not confirmed: undo it before giving up.
      if (entry.mayBeEntered && entry.group) await leaveStandby(input, entry.group);
      if (lbTargets) await returnToTargets(input, lbTargets);
      const v = afterStandbyEnterFailed(entry.reason);
      await writes.finish({ eventId, machineId, runNo, status: v.status, reason: v.reason });
      return done(v.status, false);
    }
  }

  let verdict: ReturnType<typeof patchVerdict>;
  try {
    const patch = await commandThroughQueue(
      input,
      { kind: 'patch', eventId, machineId, runNo },
      'patch',
      writes,
      input.postHooks.some((h) => h.type === 'script'),
    );
    verdict = patchVerdict(patch);
    // reboot_policy ALWAYS: the patch ran with NoReboot; the reboot is a command of its own, queued like any other
    // so the machine still runs one command at a time. Only results that carry the flag take this path (histories
    // recorded before it never do), so replays are unchanged.
    if (patch.kind === 'completed' && patch.final.rebootAfter) {
      const reboot = await commandThroughQueue(
        input,
        { kind: 'reboot', eventId, machineId, runNo },
        'patch+reboot',
        writes,
        input.postHooks.some((h) => h.type === 'script'),
      );
      verdict = afterExplicitReboot(verdict, reboot);
    }
  } catch (err) {
    // Never leave it out of service, even when the run itself fails.
    if (standbyGroup) await leaveStandby(input, standbyGroup);
    if (lbTargets) await returnToTargets(input, lbTargets);
    throw err;
  }
  // Back in service once the command has ended and the instance is online, whatever the result and the window.
  if (standbyGroup) verdict = afterStandbyExit(verdict, await leaveStandby(input, standbyGroup));
  if (lbTargets) verdict = afterTargetsRegistered(verdict, await returnToTargets(input, lbTargets));
  const { status, reason, commandId, installed } = verdict;
  await writes.finish(
    { eventId, machineId, runNo, status, reason, commandId, installed },
    patchNotice(status),
  );

  // Seed 003: tag the patch date (plan patch_date_tag) beside the post hooks, not before them: it is no command
  // on the machine and must not hold them up. Only inputs that carry the key do this (older runs replay as they were).
  const tagging =
    input.patchDateTag && (status === 'SUCCESS' || status === 'SUCCESS_NO_UPDATES')
      ? tagPatchDate({ eventId, machineId, runNo, key: input.patchDateTag }).catch((err: unknown) => {
          // Never the machine's or the event's failure: the timeline says what went wrong where it could.
          log.warn('patch date tag not recorded', { error: String(err) });
        })
      : undefined;

  // Post host hooks run whatever the patch result, unless a pre host hook failed (handled above).
  let postFailed = false;
  for (const [i, hook] of input.postHooks.entries()) {
    const ok = await runHostHook(
      input,
      hook,
      writes,
      input.postHooks.slice(i + 1).some((h) => h.type === 'script'),
    );
    if (ok !== true) postFailed = true;
  }
  await tagging;
  return done(status, postFailed);
}

/**
 * ExitStandby (waiting for the instance to be Online first), with the activity's bounded retries; once they are spent
 * the instance is recorded as left in Standby and an operator is notified. Never throws for an AWS failure.
 */
async function leaveStandby(
  input: MachineRunInput,
  group: string,
): Promise<{ kind: 'exited' | 'not_in_standby' } | { kind: 'stuck'; group: string; reason: string }> {
  const { eventId, machineId, runNo } = input;
  try {
    return await exitStandby({ eventId, machineId, runNo, group });
  } catch (err) {
    const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
    const reason = (cause instanceof Error ? cause.message : String(cause)).slice(0, 500);
    await recordStandbyStuck({ eventId, machineId, runNo, group, error: reason });
    return { kind: 'stuck', group, reason };
  }
}

/**
 * RegisterTargets (waiting for the instance to be Online first) and the wait for health, with the activity's bounded
 * retries; once they are spent, or when a target that was healthy before is not healthy again in time, the event
 * records it and an operator is notified. Never throws for an AWS failure.
 */
async function returnToTargets(
  input: MachineRunInput,
  targets: LbTargets,
): Promise<
  | { kind: 'healthy' }
  | { kind: 'stuck'; groups: string; reason: string }
  | { kind: 'unhealthy'; groups: string; reason: string }
> {
  const { eventId, machineId, runNo } = input;
  const names = (ts: LbTargets) => ts.map((t) => targetGroupName(t.arn)).join(', ');
  let back: Awaited<ReturnType<Acts['registerTargets']>>;
  try {
    back = await registerTargets({ eventId, machineId, runNo, targets });
  } catch (err) {
    const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
    const reason = (cause instanceof Error ? cause.message : String(cause)).slice(0, 500);
    await recordTargetGroupsStuck({
      eventId,
      machineId,
      runNo,
      targets,
      kind: 'register_failed',
      error: reason,
    });
    return { kind: 'stuck', groups: names(targets), reason };
  }
  if (!back.unhealthy.length) return { kind: 'healthy' };
  const bad = targets.filter((t) => back.unhealthy.some((u) => u.arn === t.arn));
  const reason = back.unhealthy
    .map((u) => `${targetGroupName(u.arn)}: ${u.state}`)
    .join('; ')
    .slice(0, 500);
  await recordTargetGroupsStuck({
    eventId,
    machineId,
    runNo,
    targets: bad,
    kind: 'unhealthy',
    error: reason,
  });
  return { kind: 'unhealthy', groups: names(bad), reason };
}

/**
 * Runs one host hook; true = success, false = failed, 'window_ended' = it could not start in the window.
 * `next`: another command follows on the machine right after it.
 */
async function runHostHook(
  input: MachineRunInput,
  hook: HookBrief,
  writes: MachineRunWrites,
  next: boolean,
): Promise<boolean | 'window_ended'> {
  const { eventId, machineId, runNo, deadlineMs } = input;
  if (Date.now() >= deadlineMs) {
    await writes.hookNotStarted({ eventId, machineId, runNo, name: hook.name });
    return 'window_ended';
  }
  if (hook.type !== 'script') {
    const r = await runRemoteHook({ eventId, runNo, name: hook.name, machineId, deadlineMs });
    return r.success;
  }
  // A script hook is an SSM command on the machine: it queues behind any other command there.
  const startedAt = new Date().toISOString();
  const out = await commandThroughQueue(
    input,
    { kind: 'hook', eventId, machineId, runNo, hookName: hook.name },
    hook.name,
    writes,
    next,
  );
  const r = await writes.scriptHookRun({
    eventId,
    machineId,
    runNo,
    name: hook.name,
    startedAt,
    outcome: out,
  });
  return r.success;
}

/** Marks machine runs that decide TIMED_OUT by SSM's end time of the command (replay of older runs). */
const SSM_END_TIME = 'timed-out-by-ssm-end-time';

/**
 * Asks `machine/<id>` to run a command and waits for it, at most until the deadline. The request key is
 * deterministic (event, run, machine, step), so a retried request is recognised and served once.
 * `next`: this requester sends another command to the machine once this one ends (it is watched closely).
 */
async function commandThroughQueue(
  input: MachineRunInput,
  ref: Parameters<Acts['requestMachineCommand']>[0]['ref'],
  what: string,
  writes: MachineRunWrites,
  next: boolean,
): Promise<CommandWaitOutcome> {
  const requestKey = commandRequestKey(input, what);
  let startedCommand: string | undefined;
  let outcome: CommandOutcome | undefined;
  setHandler(commandStartedSignal, (s) => {
    if (s.requestKey === requestKey) startedCommand = s.commandId;
  });
  setHandler(commandFinishedSignal, (s) => {
    if (s.requestKey === requestKey) outcome = s.outcome;
  });

  await writes.request({
    requestKey,
    machineId: input.machineId,
    requesterWorkflowId: workflowInfo().workflowId,
    deadlineMs: input.deadlineMs,
    ref,
    ...(next ? { next: true as const } : {}),
  });
  const remaining = Math.max(0, input.deadlineMs - Date.now());
  await condition(() => outcome !== undefined, remaining);
  if (outcome) {
    // A command that ended exactly as the window closed counts as ended (seed 001, 8:15).
    return outcome.kind === 'rejected' ? { kind: 'not_started', reason: outcome.reason } : outcome;
  }
  if (!startedCommand && input.v === 3) {
    // v3: the command queue sends no "started" signal: ask it whether it is running our command.
    const state = await local.commandQueueState({ machineId: input.machineId });
    if (state.busyWith?.requestKey === requestKey && state.busyWith.commandId)
      startedCommand = state.busyWith.commandId;
    else if (
      state.busyWith?.requestKey !== requestKey &&
      !state.queued.some((q) => q.requestKey === requestKey)
    ) {
      // Served already (its answer is on its way) or never received: wait a moment for the answer.
      await condition(() => outcome !== undefined, WINDOW_END_CHECK_MS);
      const answer = outcome as CommandOutcome | undefined;
      if (answer) return answer.kind === 'rejected' ? { kind: 'not_started', reason: answer.reason } : answer;
    }
  }
  if (startedCommand && patched(SSM_END_TIME)) {
    // Running at the window end, as far as we know: SSM's own end time decides (docs/behaviour.md#window-end).
    // The command queue asks SSM directly from the deadline on; a command that ended before it is reported
    // within moments, one still running is TIMED_OUT once this wait is over.
    await condition(() => outcome !== undefined, WINDOW_END_CHECK_MS);
    const ended = outcome as CommandOutcome | undefined;
    if (ended?.kind === 'completed' && Date.parse(ended.final.endedAt) <= input.deadlineMs) return ended;
  }
  if (startedCommand) return { kind: 'timed_out', commandId: startedCommand };
  // Still queued behind another command: withdraw so the queue never starts it after our window.
  try {
    await getExternalWorkflowHandle(workflowIds.machine(input.machineId)).signal(withdrawRequestSignal, {
      requestKey,
    });
  } catch {
    /* the queue checks deadlines itself as well */
  }
  return { kind: 'not_started', reason: MACHINE_RUN_REASON.busyUntilWindowEnd };
}
