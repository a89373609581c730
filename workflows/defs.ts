/**
 * Messages between Patchwave workflows and their callers. Only plain data travels here: IDs, statuses
 * and deadlines. Hook sources, secrets and scripts stay in the store and are read by activities.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { EventRecord } from '../domain/event';
import type { EventStatus, MachineStatus, ManualMachineStatus } from '../domain/statuses';

// ---------- machine command owner (`machine/<machine_id>`) ----------

/** What to run: the activity resolves it to an SSM document from the event's snapshot. */
export type CommandRef =
  | { kind: 'patch'; eventId: string; machineId: string; runNo: number }
  | { kind: 'hook'; eventId: string; machineId: string; runNo: number; hookName: string };

export interface CommandRequest {
  requestKey: string;
  machineId: string;
  requesterWorkflowId: string;
  /** Epoch ms: a request not started by then is refused (NOT_IN_TIME_WINDOW). */
  deadlineMs: number;
  ref: CommandRef;
}

export type CommandStart =
  | {
      kind: 'sent';
      commandId: string;
      ssmMachineId: string;
      region: string;
      iamRole?: string;
      documentName: string;
    }
  | { kind: 'unbuildable'; reason: string }
  | { kind: 'offline'; reason: string }
  | { kind: 'too_late'; reason: string }
  | { kind: 'error'; reason: string };

export interface CommandFinal {
  commandId: string;
  ssmStatus: string;
  statusDetails: string;
  responseCode?: number;
  machineStatus: 'SUCCESS' | 'SUCCESS_NO_UPDATES' | 'FAILED' | 'NOT_AVAILABLE';
  detail: string;
  /** Only for script hooks (their stdout is the hook's output); capped. */
  stdout?: string;
  installed?: string[];
  startedAt: string;
  endedAt: string;
}

export type CommandOutcome =
  | { kind: 'completed'; final: CommandFinal }
  | { kind: 'not_sent'; start: Exclude<CommandStart, { kind: 'sent' }> }
  | { kind: 'rejected'; reason: string };

export const requestCommandSignal = defineSignal<[CommandRequest]>('requestCommand');
export const withdrawRequestSignal = defineSignal<[{ requestKey: string }]>('withdrawCommandRequest');
export const commandStartedSignal =
  defineSignal<[{ requestKey: string; commandId: string; at: string }]>('commandStarted');
export const commandFinishedSignal =
  defineSignal<[{ requestKey: string; outcome: CommandOutcome }]>('commandFinished');
export interface MachineOwnerState {
  busyWith?: { requestKey: string; commandId?: string; requester: string };
  queued: { requestKey: string; requester: string; deadlineMs: number }[];
}
export const machineOwnerStateQuery = defineQuery<MachineOwnerState>('machineOwnerState');

// ---------- machine run (child of an event) ----------

export interface HookBrief {
  name: string;
  type: 'lambda' | 'azure' | 'script';
}

export interface MachineRunInput {
  eventId: string;
  customerId: string;
  planId: string;
  machineId: string;
  runNo: number;
  deadlineMs: number;
  parentWorkflowId: string;
  preHooks: HookBrief[];
  postHooks: HookBrief[];
  /**
   * 2: store writes and the command request run as local activities, and the search attributes come with the
   * start. Absent in runs started by older event workflows: they replay with one activity per write (v1).
   */
  steps?: 2;
}

export interface MachineRunResult {
  machineId: string;
  runNo: number;
  status: MachineStatus;
  hostHookFailed: boolean;
}

export const machineDoneSignal = defineSignal<[MachineRunResult]>('machineDone');

// ---------- event (`event/<event_id>`) ----------

export interface EventWorkflowInput {
  eventId: string;
  customerId: string;
  planId: string;
  start: string;
  end: string;
  initialStatus: 'NEW' | 'NOT_APPROVED' | 'APPROVED';
  /** Who made it: the plan's scheduler only ever changes events it created itself. */
  origin?: 'schedule' | 'adhoc' | 'pipeline';
  pipelineId?: string;
  pipelineRunId?: string;
  step?: number;
  /**
   * A pipeline step after the first whose policy is not `always`: it must not run until the pipeline run
   * has decided its gate (the previous step finished), even if it shows as NEW.
   */
  gated?: boolean;
  /** Set when continuing as new; callers leave it out. */
  carried?: EventCarriedState;
}

export interface EventCarriedState {
  status: EventStatus;
  runNo: number;
  excluded: string[];
  gated?: boolean;
  endMs?: number;
  /** Time of the last activity after the event finished; it closes after a quiet period. */
  quietSinceMs?: number;
  run?: unknown;
}

export interface PartialRunRequest {
  machine_ids?: string[];
  pre_hooks?: boolean;
  post_hooks?: boolean;
  host_hooks?: Record<string, { pre?: boolean; post?: boolean }>;
  requested_by: string;
}

export interface ManualStatusRequest {
  machine_id: string;
  manual_status: ManualMachineStatus;
  action_taken?: string;
  requested_by: string;
}

export interface EventView {
  eventId: string;
  status: EventStatus;
  runNo: number;
  running: boolean;
  machinesDone: number;
  machinesTotal: number;
}

/** Resolves once the event document exists; answers with it (used by execute / create). */
export const registeredUpdate = defineUpdate<EventRecord>('registered');
export const approveUpdate = defineUpdate<EventStatus, [{ requested_by: string }]>('approve');
export const deleteUpdate = defineUpdate<EventStatus, [{ requested_by: string }]>('delete');
export const excludeUpdate = defineUpdate<string[], [{ machine_ids: string[]; requested_by: string }]>(
  'exclude',
);
export const manualStatusUpdate = defineUpdate<EventStatus, [ManualStatusRequest]>('manualStatus');
export const partialRunUpdate = defineUpdate<number, [PartialRunRequest]>('partialRun');
/** Pipeline run → event: the step's policy decided (NEW runs on schedule; NOT_APPROVED waits). */
export const setGateSignal =
  defineSignal<[{ status: 'NEW' | 'NOT_APPROVED' | 'APPROVED'; open?: boolean }]>('setGate');
/** Plan edited: an upcoming event keeps its start and takes the new window length. */
export const setWindowSignal = defineSignal<[{ end: string }]>('setWindow');

// ---------- pipeline run (`pipeline-run/<run_id>`) ----------
export const eventFinishedSignal =
  defineSignal<[{ eventId: string; step: number; status: EventStatus }]>('eventFinished');
export const stepApprovedSignal =
  defineSignal<[{ step: number; eventId: string; requested_by: string }]>('stepApproved');
export const eventViewQuery = defineQuery<EventView>('eventView');

// ---------- schedulers (`plan/<id>`, `pipeline/<id>`) ----------
/** The plan or pipeline was created, edited or deleted: reconcile now. */
export const configChangedSignal = defineSignal('configChanged');
