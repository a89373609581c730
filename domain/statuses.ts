import { z } from 'zod';

/** Event statuses, product.md §2. */
export const EventStatus = z.enum([
  'NEW',
  'NOT_APPROVED',
  'APPROVED',
  'IN_PROGRESS',
  'DONE',
  'DONE_MANUAL',
  'DONE_PARTIAL',
  'DONE_ERROR',
  'DONE_ERROR_MANUAL',
  'DELETED',
]);
export type EventStatus = z.infer<typeof EventStatus>;

export { FINISHED_EVENT_STATUSES, isEventFinished } from './finished';

/** Statuses a person may set on a machine of a finished event. */
export const ManualMachineStatus = z.enum([
  'SUCCESS_MANUAL',
  'FAILED_MANUAL',
  'IN_PROGRESS_MANUAL',
  'REBOOTING_MANUAL',
]);
export type ManualMachineStatus = z.infer<typeof ManualMachineStatus>;

/** Machine-in-event statuses, product.md §2. */
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
]);
export type AutomaticFinalMachineStatus = z.infer<typeof AutomaticFinalMachineStatus>;

/** SSM command invocation statuses as the API reports them (GetCommandInvocation.Status / StatusDetails). */
export const SsmInvocationStatus = z.enum([
  'Pending',
  'InProgress',
  'Delayed',
  'Success',
  'Cancelled',
  'TimedOut',
  'Failed',
  'Cancelling',
]);
export type SsmInvocationStatus = z.infer<typeof SsmInvocationStatus>;
