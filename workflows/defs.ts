/**
 * Messages between Patchwave workflows and their callers. Only plain data travels here: IDs, statuses
 * and deadlines. Hook sources, secrets and scripts stay in the store and are read by activities.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { EventRecord } from '../domain/event';
import type { EventStatus, MachineStatus, ManualMachineStatus, PlanOperation } from '../domain/statuses';

// ---------- machine command queue (`machine/<machine_id>`) ----------

/** What to run: the activity resolves it to an SSM document from the event's snapshot. */
export type CommandRef =
  | { kind: 'patch'; eventId: string; machineId: string; runNo: number }
  | { kind: 'hook'; eventId: string; machineId: string; runNo: number; hookName: string }
  /** reboot_policy ALWAYS: the explicit reboot after a successful patch command. */
  | { kind: 'reboot'; eventId: string; machineId: string; runNo: number };

export interface CommandRequest {
  requestKey: string;
  machineId: string;
  requesterWorkflowId: string;
  /** Epoch ms: a request not started by then is refused (NOT_IN_TIME_WINDOW). */
  deadlineMs: number;
  ref: CommandRef;
  /**
   * The requester sends another command to this machine as soon as this one ends (a script hook or the patch
   * after it): someone waits for the machine, so its end is watched closely (docs/behaviour.md#one-command).
   * Absent in requests recorded before it existed.
   */
  next?: true;
}

/**
 * When followCommand asks SSM about the command directly (every SSM_WAIT_POLL_MS) instead of waiting for the
 * worker's shared sweep: stretches of epoch ms, [fromMs, untilMs).
 */
export type CloseWatch = { fromMs: number; untilMs: number }[];

/**
 * A command that ended before its requester's window end counts for the event however late we heard of it
 * (docs/behaviour.md#window-end): the command queue watches it closely for this long from the window end, and
 * the requester waits this long past its deadline for the outcome before calling the command TIMED_OUT.
 */
export const WINDOW_END_CHECK_MS = 3_000;

export type CommandStart =
  | {
      kind: 'sent';
      commandId: string;
      ssmMachineId: string;
      region: string;
      iamRole?: string;
      documentName: string;
      /** The document step to ask GetCommandInvocation for (multi-step documents); absent for single-step ones. */
      pluginName?: string;
      /** A patch command of a reboot_policy ALWAYS machine: a reboot command follows it when it succeeds. */
      rebootAfter?: true;
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
  machineStatus:
    'SUCCESS' | 'SUCCESS_NO_UPDATES' | 'COMPLIANT' | 'NON_COMPLIANT' | 'FAILED' | 'NOT_AVAILABLE';
  detail: string;
  /** Only for script hooks (their stdout is the hook's output); capped. */
  stdout?: string;
  installed?: string[];
  startedAt: string;
  endedAt: string;
  /** The patch succeeded and the machine's reboot_policy is ALWAYS: the machine run asks for the reboot next. */
  rebootAfter?: true;
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
export interface CommandQueueState {
  busyWith?: { requestKey: string; commandId?: string; requester: string };
  queued: { requestKey: string; requester: string; deadlineMs: number }[];
}
export const commandQueueStateQuery = defineQuery<CommandQueueState>('commandQueueState');

// ---------- machine run (child of an event) ----------

export interface HookBrief {
  name: string;
  type: 'lambda' | 'azure' | 'script';
}

/**
 * One machine of a run as the event workflow carries it: in the beginEventRun result and in the state carried
 * over continue-as-new, once per machine, so it is kept small (payloads over 512 KiB draw a server warning, 2 MiB
 * fail). Empty hook lists are left out; histories from before that have them as `[]`.
 */
export interface RunMachine {
  id: string;
  order: number;
  pre?: HookBrief[];
  post?: HookBrief[];
  /** Seed 003: the tag key for the patch date after a successful patch (absent in runs planned before it). */
  patchDateTag?: string;
  /**
   * The machine's value of the plan's max_unavailable tag (docs/behaviour.md#waves): at most the plan's max of
   * machines with the same value run at once. Absent without max_unavailable or when the machine lacks the tag.
   */
  limitKey?: string;
  /** Plan out_of_service (issue 16 item 7): Auto Scaling standby around the patch (absent = off). */
  standby?: true;
  /** Plan out_of_service.target_groups: out of its load-balancer target groups around the patch (absent = off). */
  targetGroups?: true;
}

/** A plan's health gates as a run sees them (timings only; activities read the probes from the snapshot). */
export interface RunGates {
  intervalMs: number;
  soakMs: number;
}

/** How a command asked of the machine command queue ended, as the machine-run workflow sees it. */
export type CommandWaitOutcome =
  CommandOutcome | { kind: 'timed_out'; commandId: string } | { kind: 'not_started'; reason: string };

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
   * true: store writes and the command request run as local activities, and the search attributes come with
   * the start (v2). Absent in runs started by older event workflows: they replay with one activity per write
   * (v1). Read it with `usesLocalWrites` (machine-run-state.ts), which also knows its old name.
   */
  localWrites?: true;
  /** The same flag under its old name (`steps: 2`), in inputs recorded before the rename; never written now. */
  steps?: 2;
  /**
   * Seed 003: tag the machine with its patch date under this key after a successful patch. Absent in inputs
   * recorded before it existed, so those runs replay without the tagging activity.
   */
  patchDateTag?: string;
  /**
   * Plan out_of_service (issue 16 item 7): an instance of an Auto Scaling group is in Standby from just before its
   * patch command until the command has ended and it is Online again. Absent in inputs recorded before it existed.
   */
  autoScalingStandby?: true;
  /**
   * Plan out_of_service.target_groups (issue 16 item 7): an instance behind load-balancer target groups is
   * deregistered (and drained) from just before its patch command until the command has ended and it is Online, then
   * registered again and waited for until healthy. Absent in inputs recorded before it existed.
   */
  loadBalancerTargets?: true;
  /**
   * 3 (issue 18, fewer workflow tasks per machine): the run reports its result to the event by a local activity
   * (reportMachineDone) instead of a signal of its own, and a command still unanswered at the window end is looked
   * up in the command queue's state (commandQueueState) instead of waiting for a "started" signal, which v2 command
   * queues no longer send. Absent in inputs recorded before it: they replay as they ran.
   */
  v?: 3;
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
  /** A one-off event's own operation (`scan` / `install`); absent: the plan's operation when the event starts. */
  operation?: PlanOperation;
  /** Set when continuing as new; callers leave it out. */
  carried?: EventCarriedState;
}

export interface EventCarriedState {
  status: EventStatus;
  runNo: number;
  excluded: string[];
  gated?: boolean;
  endMs?: number;
  /** A freeze moved the window's start (shift_to_next_open). */
  startMs?: number;
  /** When the freezes must be judged again during the run. */
  freezeCheckMs?: number;
  /** Time of the last activity after the event finished; it closes after a quiet period. */
  quietSinceMs?: number;
  run?: unknown;
  /** An approval (with its targets) is recorded: the window opening compares the targets with it. */
  approved?: boolean;
  /** The targets changed since the approval: the next approval makes the event NEW at once. */
  reapprovalAsked?: boolean;
}

/**
 * Which hooks a partial run runs again: `true` (all, the default), `false` (none), or the names of the ones
 * to run (`pre_0`, `post_1`, `pre_host_0`, …: positions in the event's plan snapshot).
 */
export type HookChoice = boolean | string[];

export interface PartialRunRequest {
  machine_ids?: string[];
  /** The event's global pre hooks. */
  pre_hooks?: HookChoice;
  /** The event's global post hooks. */
  post_hooks?: HookChoice;
  /** Per machine id: its pre / post host hooks (a machine left out runs all of them). */
  host_hooks?: Record<string, { pre?: HookChoice; post?: HookChoice }>;
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
/**
 * The same two operator actions as Signals, for the Temporal UI ("Send a Signal") and `temporal workflow
 * signal`: same names as the Updates, JSON input. A signal has no answer, so a refusal is recorded on the
 * event (timeline, audit log) with its reason and nothing changes. The input is whatever a person typed:
 * the workflow checks every field. `requested_by` defaults to "temporal-signal".
 */
export const approveSignal = defineSignal<[{ requested_by?: string }?]>('approve');
export const manualStatusSignal = defineSignal<[Partial<ManualStatusRequest>?]>('manualStatus');
export const partialRunUpdate = defineUpdate<number, [PartialRunRequest]>('partialRun');
/**
 * An operator's answer to a run a health gate halted (docs/behaviour.md#halted): `resume` (the gates are read
 * again before any machine starts), `override` (with a reason: no further readings in this run), `abort`
 * (machines not started become OMITTED; running ones finish). Updates for the API, Signals of the same names
 * for the Temporal UI (a refused signal is recorded, like approve).
 */
export interface GateActionRequest {
  reason?: string;
  requested_by: string;
}
export const resumeUpdate = defineUpdate<EventStatus, [GateActionRequest]>('resume');
export const overrideUpdate = defineUpdate<EventStatus, [GateActionRequest]>('override');
export const abortUpdate = defineUpdate<EventStatus, [GateActionRequest]>('abort');
export const resumeSignal = defineSignal<[Partial<GateActionRequest>?]>('resume');
export const overrideSignal = defineSignal<[Partial<GateActionRequest>?]>('override');
export const abortSignal = defineSignal<[Partial<GateActionRequest>?]>('abort');
/**
 * Pipeline run → event: the step's policy decided (NEW runs on schedule; NOT_APPROVED waits; DELETED never
 * runs — the `success` policy after a step that did not succeed, with `reason` naming that step).
 */
export interface GateDecision {
  status: 'NEW' | 'NOT_APPROVED' | 'APPROVED' | 'DELETED';
  open?: boolean;
  reason?: string;
}
export const setGateSignal = defineSignal<[GateDecision]>('setGate');
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
