import type { EventStatus, MachineStatus } from './statuses';

/**
 * Final event status, docs/behaviour.md#final-status (rules 1–5). Recomputed after the run, after each manual change and
 * after each partial run, always from each machine's *last* run.
 *
 * Decisions beyond the contract (see docs/status-rules.md):
 * - EXCLUDED is neither a failure nor a success: an operator took the machine out before it ran, so it
 *   says nothing about how patching went. An event whose machines are all EXCLUDED (and no hook or scan
 *   failed) is DONE, like an event with no machines.
 * - PENDING / IN_PROGRESS (a machine still running) keeps the event IN_PROGRESS, like rule 1 does for the
 *   manual "still working" statuses: a finished status must never be computed over an unfinished machine.
 */
export interface StatusInputs {
  /** hostHookFailed: any pre/post host hook of this machine failed (in its last run). */
  machines: { status: MachineStatus; hostHookFailed: boolean }[];
  /** Any global pre/post hook failed (in the last run that ran it). */
  globalHookFailed: boolean;
  dynamicScanFailed?: boolean;
}

export type ComputedEventStatus = Extract<
  EventStatus,
  'IN_PROGRESS' | 'DONE' | 'DONE_MANUAL' | 'DONE_PARTIAL' | 'DONE_ERROR' | 'DONE_ERROR_MANUAL'
>;

/** Rule 2: a machine in one of these statuses is a failure of the event. */
export const FAILED_MACHINE_STATUSES: readonly MachineStatus[] = [
  'FAILED',
  'ERROR',
  'NOT_AVAILABLE',
  'OMITTED',
  'TIMED_OUT',
  'NOT_IN_TIME_WINDOW',
  'FAILED_MANUAL',
];

/** Rule 4: a machine in one of these statuses makes a failed event DONE_PARTIAL rather than DONE_ERROR. */
export const SUCCESS_MACHINE_STATUSES: readonly MachineStatus[] = [
  'SUCCESS',
  'SUCCESS_NO_UPDATES',
  'SUCCESS_MANUAL',
  // A scan that ran is a success of the event whatever it found: missing patches are the scan's answer, not a
  // failure to patch (docs/status-rules.md).
  'COMPLIANT',
  'NON_COMPLIANT',
];

/** Rule 3: the finished event statuses that mean every machine was patched (or set so by a person). */
export const SUCCESS_EVENT_STATUSES: readonly EventStatus[] = ['DONE', 'DONE_MANUAL'];

/** Rule 1: a person is still working on the machine. */
const STILL_MANUAL: readonly MachineStatus[] = ['IN_PROGRESS_MANUAL', 'REBOOTING_MANUAL'];
const STILL_RUNNING: readonly MachineStatus[] = ['PENDING', 'IN_PROGRESS'];
const MANUAL: readonly MachineStatus[] = [
  'SUCCESS_MANUAL',
  'FAILED_MANUAL',
  'IN_PROGRESS_MANUAL',
  'REBOOTING_MANUAL',
];

export function isMachineFailure(status: MachineStatus): boolean {
  return FAILED_MACHINE_STATUSES.includes(status);
}

/** Takes any string so readers of stored or notified statuses (reports, messages) can ask as well. */
export function isMachineSuccess(status: MachineStatus | string | undefined): boolean {
  return (SUCCESS_MACHINE_STATUSES as readonly string[]).includes(status ?? '');
}

export function isEventSuccess(status: EventStatus | string | undefined): boolean {
  return (SUCCESS_EVENT_STATUSES as readonly string[]).includes(status ?? '');
}

/**
 * Rule 2, per machine: its status is a failure, or one of its host hooks failed — except when a person
 * marked it SUCCESS_MANUAL, which overrides its hooks (seed 001 "Manual status change").
 */
export function machineCountsAsFailure(m: { status: MachineStatus; hostHookFailed: boolean }): boolean {
  if (isMachineFailure(m.status)) return true;
  return m.hostHookFailed && m.status !== 'SUCCESS_MANUAL';
}

function hasFailure(i: StatusInputs): boolean {
  return i.globalHookFailed || i.dynamicScanFailed === true || i.machines.some(machineCountsAsFailure);
}

export function computeEventStatus(i: StatusInputs): ComputedEventStatus {
  const statuses = i.machines.map((m) => m.status);
  // Rule 1 (+ our extension to machines still running automatically).
  if (statuses.some((s) => STILL_MANUAL.includes(s) || STILL_RUNNING.includes(s))) return 'IN_PROGRESS';
  // Rule 3.
  if (!hasFailure(i)) return statuses.includes('SUCCESS_MANUAL') ? 'DONE_MANUAL' : 'DONE';
  // Rule 4.
  if (statuses.some(isMachineSuccess)) return 'DONE_PARTIAL';
  // Rule 5. SUCCESS_MANUAL is caught by rule 4 and the "still" statuses by rule 1, so in practice this
  // is FAILED_MANUAL; the rule is written generally in the contract, and so here.
  return statuses.some((s) => MANUAL.includes(s)) ? 'DONE_ERROR_MANUAL' : 'DONE_ERROR';
}

/**
 * What made the event fail (rule 2), one line each, for the event record and notifications.
 * `machineNames` is keyed by the machine's index in `machines`; unnamed machines are shown as "#<index>".
 */
export function failureReasons(i: StatusInputs & { machineNames?: Record<number, string> }): string[] {
  const reasons: string[] = [];
  if (i.dynamicScanFailed) reasons.push('the dynamic machine scan failed');
  if (i.globalHookFailed) reasons.push('a global hook failed');
  i.machines.forEach((m, idx) => {
    const name = i.machineNames?.[idx] ?? `#${idx}`;
    if (isMachineFailure(m.status)) reasons.push(`machine ${name} is ${m.status}`);
    if (m.hostHookFailed && m.status !== 'SUCCESS_MANUAL')
      reasons.push(`a host hook of machine ${name} failed`);
  });
  return reasons;
}
