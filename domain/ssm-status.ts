import { parsePatchOutput, showsNothingInstalled } from './patch-output';

/**
 * GetCommandInvocation → what happened to the machine (docs/behaviour.md#aws-results).
 *
 * AWS spells StatusDetails with spaces ("Delivery Timed Out", "Execution Timed Out", "In Progress") while
 * Status has none ("TimedOut", "InProgress"); some tools and our lab use the unspaced forms for both. We
 * compare case- and space-insensitively, and "Canceled"/"Cancelled" alike.
 *
 * Mapping (decisions marked *):
 *   Pending, InProgress, Delayed, Cancelling           → running (keep following)
 *   Success                                           → SUCCESS, or SUCCESS_NO_UPDATES for a patch whose
 *                                                       output shows nothing installed
 *   StatusDetails Undeliverable, DeliveryTimedOut      → NOT_AVAILABLE (the agent never got the command)
 *   Failed, Cancelled, TimedOut/ExecutionTimedOut      → FAILED
 *   TimedOut without details                           → FAILED
 * * StatusDetails Terminated                           → FAILED: SSM cancelled the invocation because the
 *                                                       command hit its MaxErrors; that is a cancellation
 *                                                       (Cancelled → FAILED), not a sign the agent is down,
 *                                                       so NOT_AVAILABLE would send an operator the wrong way.
 *                                                       (With one target per command it should not happen.)
 * * no Status yet, or one we don't know               → running: the window end bounds the wait, whereas
 *                                                       guessing a final status could be wrong forever.
 */
export type InvocationView = {
  Status?: string;
  StatusDetails?: string;
  ResponseCode?: number;
  StandardOutputContent?: string;
};

export type CommandOutcome =
  | { kind: 'running' }
  | {
      kind: 'done';
      machineStatus:
        'SUCCESS' | 'SUCCESS_NO_UPDATES' | 'COMPLIANT' | 'NON_COMPLIANT' | 'FAILED' | 'NOT_AVAILABLE';
      ssmStatus: string;
      detail: string;
    };

/** Lower-case, no spaces/underscores/hyphens: "Delivery Timed Out" and "DeliveryTimedOut" both → "deliverytimedout". */
export function normalizeSsmWord(s: string | undefined): string {
  return (s ?? '').replace(/[\s_-]+/g, '').toLowerCase();
}

const RUNNING = new Set(['pending', 'inprogress', 'delayed', 'cancelling', 'canceling']);
const NOT_DELIVERED = new Set(['undeliverable', 'deliverytimedout']);
const FAILED = new Set(['failed', 'cancelled', 'canceled', 'timedout', 'executiontimedout', 'terminated']);

/** Terminal SSM states (Status or StatusDetails), in any spelling. */
export function isTerminalSsmStatus(s: string | undefined): boolean {
  const w = normalizeSsmWord(s);
  return w === 'success' || NOT_DELIVERED.has(w) || FAILED.has(w);
}

export function interpretInvocation(inv: InvocationView, opts: { isPatch: boolean }): CommandOutcome {
  const status = normalizeSsmWord(inv.Status);
  const details = normalizeSsmWord(inv.StatusDetails);
  // Status is authoritative while the invocation is alive; details only refine a terminal Status.
  const effective = status || details;
  if (effective === '' || RUNNING.has(effective)) return { kind: 'running' };

  const ssmStatus = inv.Status || inv.StatusDetails || '';
  const describe = (what: string) => {
    let head = `SSM ${ssmStatus}`;
    if (inv.StatusDetails && normalizeSsmWord(inv.StatusDetails) !== status)
      head += ` (${inv.StatusDetails})`;
    // -1 is SSM's "no exit code" (never ran, cancelled, timed out).
    if (inv.ResponseCode !== undefined && inv.ResponseCode !== -1) head += `, exit code ${inv.ResponseCode}`;
    return `${head}: ${what}`;
  };

  if (NOT_DELIVERED.has(details) || NOT_DELIVERED.has(status))
    return {
      kind: 'done',
      machineStatus: 'NOT_AVAILABLE',
      ssmStatus,
      detail: describe('the command never reached the SSM agent (machine offline or agent not running)'),
    };

  if (effective === 'success') {
    if (opts.isPatch && showsNothingInstalled(parsePatchOutput(inv.StandardOutputContent ?? '')))
      return {
        kind: 'done',
        machineStatus: 'SUCCESS_NO_UPDATES',
        ssmStatus,
        detail: describe('no updates were installed'),
      };
    return { kind: 'done', machineStatus: 'SUCCESS', ssmStatus, detail: describe('the command succeeded') };
  }

  if (FAILED.has(effective) || FAILED.has(details)) {
    const what =
      details === 'terminated'
        ? 'SSM terminated the invocation before it ran'
        : effective === 'cancelled' || effective === 'canceled'
          ? 'the command was cancelled'
          : effective === 'timedout' || effective === 'executiontimedout'
            ? 'the command ran past its SSM execution timeout'
            : 'the command failed';
    return { kind: 'done', machineStatus: 'FAILED', ssmStatus, detail: describe(what) };
  }

  return { kind: 'running' };
}

/**
 * GetCommandInvocation right after SendCommand may answer InvocationDoesNotExist: SSM has not registered
 * the invocation yet. That is "keep following", not an error.
 */
export function isInvocationUnknownError(errName: string): boolean {
  return errName === 'InvocationDoesNotExist' || errName === 'InvocationDoesNotExistException';
}
