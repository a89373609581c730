import { z } from 'zod';

/** Event statuses, docs/behaviour.md#event-statuses. */
export const EventStatus = z.enum([
  'NEW',
  'NOT_APPROVED',
  'APPROVED',
  'IN_PROGRESS',
  /** [ours] A health gate failed mid-run: no new machine starts until an operator acts. Not final. */
  'HALTED',
  'DONE',
  'DONE_MANUAL',
  'DONE_PARTIAL',
  'DONE_ERROR',
  'DONE_ERROR_MANUAL',
  'DELETED',
]);
export type EventStatus = z.infer<typeof EventStatus>;

/** Statuses a person may set on a machine of a finished event. */
export const ManualMachineStatus = z.enum([
  'SUCCESS_MANUAL',
  'FAILED_MANUAL',
  'IN_PROGRESS_MANUAL',
  'REBOOTING_MANUAL',
]);
export type ManualMachineStatus = z.infer<typeof ManualMachineStatus>;

/** Machine-in-event statuses, docs/behaviour.md#machine-statuses. */
export const MachineStatus = z.enum([
  'PENDING',
  'IN_PROGRESS',
  'SUCCESS',
  'SUCCESS_NO_UPDATES',
  'FAILED',
  'ERROR',
  'NOT_AVAILABLE',
  'OMITTED',
  'TIMED_OUT',
  'NOT_IN_TIME_WINDOW',
  'EXCLUDED',
  /** [ours] A scan-only run (plan operation `scan`): the node lacks no patch its baseline approves. */
  'COMPLIANT',
  /** [ours] A scan-only run: the node lacks patches (or some failed); `compliance.missing_count` says how many. */
  'NON_COMPLIANT',
  ...ManualMachineStatus.options,
]);
export type MachineStatus = z.infer<typeof MachineStatus>;

/** Terminal statuses an automatic run can give a machine. */
export const AutomaticFinalMachineStatus = z.enum([
  'SUCCESS',
  'SUCCESS_NO_UPDATES',
  'FAILED',
  'ERROR',
  'NOT_AVAILABLE',
  'OMITTED',
  'TIMED_OUT',
  'NOT_IN_TIME_WINDOW',
  'EXCLUDED',
  'COMPLIANT',
  'NON_COMPLIANT',
]);
export type AutomaticFinalMachineStatus = z.infer<typeof AutomaticFinalMachineStatus>;

/**
 * What an event does to its machines: `install` patches them (AWS-RunPatchBaseline Install, or the machine's
 * custom script or document); `scan` only looks (AWS-RunPatchBaseline Scan: no installs, no reboots).
 */
export const PlanOperation = z.enum(['install', 'scan']);
export type PlanOperation = z.infer<typeof PlanOperation>;
