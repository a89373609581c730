/**
 * What a machine run decides, apart from how it is wired to Temporal: the status a machine gets when the
 * window ends before or during its pre host hooks, when a pre host hook fails, and from the way its patch
 * command ended; which notice goes with it; and the key that names each command request. `machineRunWorkflow`
 * (machine-run.ts) keeps the activities, the signals and the waiting.
 *
 * No Temporal import and no clock. Unit tests: test/unit/workflows/machine-run-state.test.ts.
 */
import type { MachineRunInput, CommandWaitOutcome } from './defs';
import type { MachineStatus } from '../domain/statuses';
import { scriptHookResult } from '../domain/hook-result';

export const MACHINE_RUN_REASON = {
  windowEndedBeforeStart: 'the window ended before the machine could start',
  windowEndedInPreHooks: 'the window ended during the pre host hooks',
  preHookFailed: 'a pre host hook failed',
  busyUntilWindowEnd: 'the machine was busy with another command until the window ended',
} as const;

/** A machine's result as the run records it. */
export interface MachineVerdict {
  status: MachineStatus;
  reason?: string;
  commandId?: string;
  installed?: string[];
}

/**
 * Every pre host hook has run (the last one may have been cut off at the window end) and at least one failed:
 * the machine is not patched and its post hooks are skipped. If the window is over by now, it is the window,
 * not a hook's answer, that kept the machine from patching (the same case as the window ending between hooks).
 */
export function afterFailedPreHook(windowOver: boolean): MachineVerdict {
  return windowOver
    ? { status: 'NOT_IN_TIME_WINDOW', reason: MACHINE_RUN_REASON.windowEndedInPreHooks }
    : { status: 'OMITTED', reason: MACHINE_RUN_REASON.preHookFailed };
}

/** How the patch command ended, as the machine's status. */
export function patchVerdict(o: CommandWaitOutcome): MachineVerdict {
  switch (o.kind) {
    case 'completed': {
      const status = o.final.machineStatus;
      const ok =
        status === 'SUCCESS' ||
        status === 'SUCCESS_NO_UPDATES' ||
        status === 'COMPLIANT' ||
        status === 'NON_COMPLIANT';
      return {
        status,
        // A scan's result says what it found ("scan: missing 3"); a patch's success needs no reason.
        reason: ok && status !== 'COMPLIANT' && status !== 'NON_COMPLIANT' ? undefined : o.final.detail,
        commandId: o.final.commandId,
        installed: o.final.installed,
      };
    }
    case 'timed_out':
      return {
        status: 'TIMED_OUT',
        reason: `command ${o.commandId} was still running when the window ended; it goes on in the background`,
        commandId: o.commandId,
      };
    case 'not_started':
      return { status: 'NOT_IN_TIME_WINDOW', reason: o.reason };
    case 'not_sent':
      return { status: NOT_SENT_STATUS[o.start.kind], reason: o.start.reason };
    case 'rejected':
      // The machine-run workflow turns a rejection into not_started before it gets here; kept for completeness.
      return { status: 'NOT_IN_TIME_WINDOW', reason: o.reason };
  }
}

/**
 * reboot_policy ALWAYS: the patch succeeded and the explicit reboot command ran after it. A reboot that
 * succeeded leaves the patch's verdict as it was (`rebooted` is recorded by the command's follower). One that
 * did not makes the machine FAILED (TIMED_OUT when it was still running at the window end): the operator asked
 * for a rebooted machine, and it is patched but not rebooted.
 */
export function afterExplicitReboot(patched: MachineVerdict, reboot: CommandWaitOutcome): MachineVerdict {
  if (reboot.kind === 'completed') {
    const s = reboot.final.machineStatus;
    if (s === 'SUCCESS' || s === 'SUCCESS_NO_UPDATES') return patched;
    return {
      ...patched,
      status: 'FAILED',
      reason: `patched, but the reboot (reboot_policy ALWAYS) failed: ${reboot.final.detail}`,
    };
  }
  if (reboot.kind === 'timed_out')
    return {
      ...patched,
      status: 'TIMED_OUT',
      reason: `patched, but the reboot command ${reboot.commandId} was still running when the window ended`,
    };
  const why = reboot.kind === 'not_sent' ? reboot.start.reason : reboot.reason;
  return {
    ...patched,
    status: 'FAILED',
    reason: `patched, but the reboot (reboot_policy ALWAYS) was not run: ${why}`,
  };
}

/**
 * Plan out_of_service (issue 16 item 7): EnterStandby failed, so the machine is not patched. FAILED, not OMITTED:
 * an instance that cannot be taken out of service is a fault an operator must look at, and it counts toward
 * max_errors.
 */
export function afterStandbyEnterFailed(reason: string): MachineVerdict {
  return { status: 'FAILED', reason: `not patched: could not put it in Standby first: ${reason}` };
}

/**
 * Plan out_of_service: ExitStandby failed after its bounded retries, so the instance is still in Standby. The patch's
 * own result stays in the reason, but the machine is FAILED (TIMED_OUT stays TIMED_OUT): it is out of service and
 * an operator has to return it (the `error` notice says so). A successful exit leaves the verdict as it was.
 */
export function afterStandbyExit(
  patched: MachineVerdict,
  exit: { kind: 'exited' | 'not_in_standby' } | { kind: 'stuck'; group: string; reason: string },
): MachineVerdict {
  if (exit.kind !== 'stuck') return patched;
  const why = `left in Standby in Auto Scaling group ${exit.group}: ${exit.reason}`;
  return {
    ...patched,
    status: patched.status === 'TIMED_OUT' ? 'TIMED_OUT' : 'FAILED',
    reason: patched.reason ? `${why}; ${patched.reason}` : `patched (${patched.status}), but ${why}`,
  };
}

/**
 * Plan out_of_service.target_groups: deregistering from a target group (or waiting for its draining) failed, so the
 * machine is not patched: FAILED, like a failed EnterStandby. It was registered again where it may have been taken out.
 */
export function afterDeregisterFailed(reason: string): MachineVerdict {
  return {
    status: 'FAILED',
    reason: `not patched: could not take it out of its load-balancer target groups first: ${reason}`,
  };
}

/**
 * Plan out_of_service.target_groups, after the patch: RegisterTargets failed after its bounded retries (`stuck`), or
 * the instance did not become healthy in a target group in time (`unhealthy`). Either way the machine is FAILED
 * (TIMED_OUT stays TIMED_OUT) with the patch's own result kept in the reason, and an operator was notified. Back and
 * healthy leaves the verdict as it was.
 */
export function afterTargetsRegistered(
  patched: MachineVerdict,
  back:
    | { kind: 'healthy' }
    | { kind: 'stuck'; groups: string; reason: string }
    | { kind: 'unhealthy'; groups: string; reason: string },
): MachineVerdict {
  if (back.kind === 'healthy') return patched;
  const why =
    back.kind === 'stuck'
      ? `left out of load-balancer target group(s) ${back.groups}: ${back.reason}`
      : `not healthy again in load-balancer target group(s) ${back.groups}: ${back.reason}`;
  return {
    ...patched,
    status: patched.status === 'TIMED_OUT' ? 'TIMED_OUT' : 'FAILED',
    reason: patched.reason ? `${why}; ${patched.reason}` : `patched (${patched.status}), but ${why}`,
  };
}

const NOT_SENT_STATUS: Record<
  Extract<CommandWaitOutcome, { kind: 'not_sent' }>['start']['kind'],
  MachineStatus
> = {
  unbuildable: 'OMITTED',
  offline: 'NOT_AVAILABLE',
  too_late: 'NOT_IN_TIME_WINDOW',
  error: 'ERROR',
};

/** A script hook's result as its run records it: code, message and output, and the command that ran it. */
export interface ScriptHookVerdict {
  code: number;
  message: string;
  output: string;
  commandId?: string;
}

/**
 * How a script hook's command ended, as the hook's result (its stdout is the hook's output). The other reader
 * of a command outcome beside patchVerdict, kept here so both say the same about the same outcome; the hook
 * activity records it.
 */
export function scriptHookVerdict(o: CommandWaitOutcome): ScriptHookVerdict {
  switch (o.kind) {
    case 'completed':
      return {
        ...scriptHookResult({
          exitCode: o.final.responseCode,
          stdout: o.final.stdout ?? '',
          ssmStatus: o.final.ssmStatus,
        }),
        commandId: o.final.commandId,
      };
    case 'timed_out':
      return {
        code: 500,
        message: `timed out at window end (command ${o.commandId} goes on in the background)`,
        output: '',
        commandId: o.commandId,
      };
    case 'not_started':
    case 'rejected':
      return { code: 500, message: `not run: ${o.reason}`, output: '' };
    case 'not_sent':
      return { code: 500, message: `not run: ${o.start.reason}`, output: '' };
  }
}

/** The notice sent with a patch result. */
export function patchNotice(
  status: MachineStatus,
): 'machine_access_err' | 'machine_not_in_window' | 'machine_patching_finish' {
  if (status === 'NOT_AVAILABLE') return 'machine_access_err';
  if (status === 'NOT_IN_TIME_WINDOW') return 'machine_not_in_window';
  return 'machine_patching_finish';
}

/**
 * The key of one command request to the machine command queue: event, run, machine and what is run (`patch` or the
 * script hook's name). Deterministic, so a retried request is recognised and served once; existing requests
 * carry keys of this form, so it must not change.
 */
export function commandRequestKey(
  input: Pick<MachineRunInput, 'eventId' | 'runNo' | 'machineId'>,
  what: string,
): string {
  return `${input.eventId}/${input.runNo}/${input.machineId}/${what}`;
}

/** Whether a machine run writes through local activities (v2); inputs recorded before the rename say `steps: 2`. */
export function usesLocalWrites(input: Pick<MachineRunInput, 'localWrites' | 'steps'>): boolean {
  return input.localWrites === true || input.steps === 2;
}
