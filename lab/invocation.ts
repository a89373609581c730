import type { CommandEntry } from './schemas';
import type { DocumentDef, Platform } from './documents';
import type { OverrideUse } from './baseline-override';

/**
 * One SSM command invocation (a command on one machine). Its whole future is fixed when it is sent, as real-time
 * milestones; its status at any instant is computed from them. Nothing is scheduled, so idle machines cost nothing.
 */

export type InvocationStatus =
  'Pending' | 'InProgress' | 'Delayed' | 'Success' | 'Cancelled' | 'TimedOut' | 'Failed' | 'Cancelling';

export type InvocationStatusDetails =
  | 'Pending'
  | 'InProgress'
  | 'Delayed'
  | 'Success'
  | 'Cancelled'
  | 'DeliveryTimedOut'
  | 'ExecutionTimedOut'
  | 'Failed'
  | 'Undeliverable'
  | 'Terminated';

export type { Platform } from './documents';

export interface CommandRecord {
  id: string;
  /** Creation order; list pagination walks it. */
  seq: number;
  documentName: string;
  /** The document's definition (steps, parameters), resolved when the command was sent. */
  doc: DocumentDef;
  documentVersion: string;
  parameters: Record<string, string[]>;
  comment: string;
  timeoutSeconds: number;
  outputBucket: string;
  outputPrefix: string;
  outputRegion: string;
  maxConcurrency: string;
  maxErrors: string;
  targets: { Key: string; Values: string[] }[];
  serviceRole: string;
  requestedAt: number;
  /** ExpiresAfter: the delivery timeout plus the execution timeout. */
  expiresAt: number;
  cancelRequestedAt: number | null;
  /** Before this instant SSM does not know the command yet (the unknown_after_send_s fault). */
  visibleAt: number;
  invocations: Invocation[];
}

export interface Invocation {
  command: CommandRecord;
  /** Index in command.invocations (the request order). */
  position: number;
  machineId: string;
  /** Every invocation of the same machine (its MachineState.invocations), for cumulative patch counts. */
  siblings?: Invocation[];
  computerName: string;
  platform: Platform;
  entry: CommandEntry;
  pluginName: string;
  /** When execution starts; null if it is never delivered. */
  deliverAt: number | null;
  /** For an undelivered invocation: when it turns terminal, and as what. */
  undeliveredAt: number;
  undeliveredAs: 'Undeliverable' | 'DeliveryTimedOut';
  /** End of the run including any reboot; null for a hang. */
  naturalEnd: number | null;
  /** Execution timeout instant (deliverAt + execution timeout). */
  timeoutAt: number;
  rebootStart: number | null;
  rebootEnd: number | null;
  cancelAt: number | null;
  cancelDoneAt: number | null;
  /** The BaselineOverride file the run read (patch document with that parameter), with what was wrong with it. */
  baselineOverride?: OverrideUse;
  /** The InstallOverrideList file the run read (patch document with that parameter). */
  installOverrideList?: { url: string; problems: string[]; patches?: { id: string; title?: string }[] };
  /** Set once terminal: a terminal view never changes. */
  final?: InvocationView;
  output?: { stdout: string; stderr: string };
  /** AWS-RunPatchBaselineWithHooks: the hook parameter whose document does not exist (that step fails). */
  failedHook?: 'PreInstallHookDocName' | 'PostInstallHookDocName' | 'OnExitHookDocName';
}

export interface InvocationView {
  status: InvocationStatus;
  details: InvocationStatusDetails;
  responseCode: number;
  startedAt: number | null;
  endedAt: number | null;
  /** When it turned terminal (also for never-started ones); null while running. */
  finishedAt: number | null;
  terminal: boolean;
}

function running(
  status: InvocationStatus,
  details: InvocationStatusDetails,
  startedAt: number | null,
): InvocationView {
  return { status, details, responseCode: -1, startedAt, endedAt: null, finishedAt: null, terminal: false };
}

function ended(
  status: InvocationStatus,
  details: InvocationStatusDetails,
  responseCode: number,
  startedAt: number | null,
  endedAt: number | null,
  finishedAt: number,
): InvocationView {
  return { status, details, responseCode, startedAt, endedAt, finishedAt, terminal: true };
}

function compute(inv: Invocation, now: number): InvocationView {
  const cancel = inv.cancelAt;
  if (inv.deliverAt === null) {
    if (cancel !== null && cancel < inv.undeliveredAt) {
      return now < cancel
        ? running('Pending', 'Pending', null)
        : ended('Cancelled', 'Cancelled', -1, null, null, cancel);
    }
    if (now < inv.undeliveredAt) return running('Pending', 'Pending', null);
    return inv.undeliveredAs === 'Undeliverable'
      ? ended('Failed', 'Undeliverable', -1, null, null, inv.undeliveredAt)
      : ended('TimedOut', 'DeliveryTimedOut', -1, null, null, inv.undeliveredAt);
  }
  const start = inv.deliverAt;
  if (cancel !== null && cancel < start) {
    return now < cancel
      ? running('Pending', 'Pending', null)
      : ended('Cancelled', 'Cancelled', -1, null, null, cancel);
  }
  if (now < start) return running('Pending', 'Pending', null);
  const timedOut = inv.naturalEnd === null || inv.naturalEnd > inv.timeoutAt;
  const finish = timedOut ? inv.timeoutAt : (inv.naturalEnd as number);
  if (cancel !== null && cancel < finish) {
    const done = inv.cancelDoneAt ?? cancel;
    if (now < cancel) return running('InProgress', 'InProgress', start);
    // The agent is still stopping the process: SSM shows Cancelling with the run's details unchanged.
    if (now < done) return running('Cancelling', 'InProgress', start);
    return ended('Cancelled', 'Cancelled', -1, start, done, done);
  }
  if (now < finish) return running('InProgress', 'InProgress', start);
  if (timedOut) return ended('TimedOut', 'ExecutionTimedOut', -1, start, finish, finish);
  if (inv.entry.outcome === 'failed') return ended('Failed', 'Failed', 1, start, finish, finish);
  return ended('Success', 'Success', 0, start, finish, finish);
}

export function viewInvocation(inv: Invocation, now: number): InvocationView {
  if (inv.final) return inv.final;
  const view = compute(inv, now);
  if (view.terminal) inv.final = view;
  return view;
}

/** Whether this invocation keeps its machine rebooting (ConnectionLost) at `now`. */
export function isRebooting(inv: Invocation, now: number): boolean {
  if (inv.rebootStart === null || inv.rebootEnd === null) return false;
  if (now < inv.rebootStart || now >= inv.rebootEnd) return false;
  if (inv.timeoutAt <= inv.rebootStart) return false;
  return inv.cancelAt === null || inv.cancelAt >= inv.rebootStart;
}

/**
 * Command-level status as ListCommands shows it. A single-machine command mirrors its invocation; several are
 * aggregated the way SSM describes it (MaxErrors decides between Failed and Incomplete).
 */
export function commandStatus(
  cmd: CommandRecord,
  now: number,
): {
  status: InvocationStatus;
  details: string;
  completed: number;
  errors: number;
  deliveryTimedOut: number;
} {
  const views = cmd.invocations.map((i) => viewInvocation(i, now));
  let completed = 0;
  let errors = 0;
  let deliveryTimedOut = 0;
  for (const v of views) {
    if (v.terminal) completed++;
    if (v.details === 'Failed' || v.details === 'ExecutionTimedOut') errors++;
    if (v.details === 'DeliveryTimedOut') deliveryTimedOut++;
  }
  const counts = { completed, errors, deliveryTimedOut };
  if (views.length === 1) return { status: views[0].status, details: views[0].details, ...counts };
  if (completed < views.length) {
    if (cmd.cancelRequestedAt !== null) return { status: 'Cancelling', details: 'Cancelling', ...counts };
    const allPending = views.every((v) => v.status === 'Pending');
    return allPending
      ? { status: 'Pending', details: 'Pending', ...counts }
      : { status: 'InProgress', details: 'InProgress', ...counts };
  }
  if (views.every((v) => v.status === 'Success')) return { status: 'Success', details: 'Success', ...counts };
  if (views.some((v) => v.status === 'Cancelled'))
    return { status: 'Cancelled', details: 'Cancelled', ...counts };
  const maxErrors = parseMaxErrors(cmd.maxErrors, views.length);
  const execTimedOut = views.filter((v) => v.details === 'ExecutionTimedOut').length;
  if (errors > maxErrors) {
    return execTimedOut === errors
      ? { status: 'TimedOut', details: 'ExecutionTimedOut', ...counts }
      : { status: 'Failed', details: 'Failed', ...counts };
  }
  if (deliveryTimedOut > maxErrors) return { status: 'TimedOut', details: 'DeliveryTimedOut', ...counts };
  return { status: 'Failed', details: 'Incomplete', ...counts };
}

function parseMaxErrors(value: string, targets: number): number {
  const m = /^(\d+)(%?)$/.exec(value);
  if (!m) return 0;
  const n = Number(m[1]);
  return m[2] ? Math.floor((n / 100) * targets) : n;
}
