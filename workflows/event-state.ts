/**
 * What an event decides around its runs, apart from how it is wired to Temporal: which operator requests it
 * accepts in which state, how a pipeline gate or a plan edit changes an upcoming event, when it starts (or
 * never does), when the incoming_patching notices are due, when a finished event closes, and what it carries
 * over continue-as-new. The run itself is `EventRun` (event-run-state.ts).
 *
 * No Temporal import and no clock: `eventWorkflow` passes `now` in and is told of status changes through
 * `onStatus` (it keeps the search attribute in step). Unit tests: test/unit/workflows/event-state.test.ts.
 */
import type {
  EventCarriedState,
  EventView,
  EventWorkflowInput,
  ManualStatusRequest,
  PartialRunRequest,
} from './defs';
import { EventRun, type RunState } from './event-run-state';
import { isEventFinished } from '../domain/finished';
import type { EventStatus } from '../domain/statuses';
import { FREEZE_APPROVALS_NEEDED, freezeApprovalRefusal } from '../domain/freeze-approval';

const GATE_ACTION_DONE = { resume: 'resumed', override: 'overridden', abort: 'aborted' } as const;

/** A run is under way: IN_PROGRESS, or HALTED by a health gate (not final: it resumes or ends). */
function isRunningStatus(s: EventStatus): boolean {
  return s === 'IN_PROGRESS' || s === 'HALTED';
}

/** How long a finished event stays open for manual changes and partial runs before it closes. */
export const QUIET_CLOSE_MS = 3 * 24 * 3600_000;

type GateStatus = 'NEW' | 'NOT_APPROVED' | 'APPROVED' | 'DELETED';

export class EventState {
  readonly eventId: string;
  /** The window start; a freeze calendar's `shift_to_next_open` moves it (docs/behaviour.md#freeze-calendars). */
  startMs: number;
  status: EventStatus;
  endMs: number;
  gated: boolean;
  runNo: number;
  readonly excluded: Set<string>;
  /** The run in progress; set once its global pre hooks are done, cleared when its final status is stored. */
  run: EventRun | undefined;
  /** The event document exists (always true after continue-as-new). */
  recorded: boolean;
  /** Time of the last activity after the event finished; it closes after a quiet period. */
  quietSinceMs: number;
  /** A partial run asked for and not begun yet; it blocks a second request meanwhile. */
  pendingPartial: PartialRunRequest | undefined;
  /**
   * True from the first step of a run (before its global pre hooks) until its final status is stored. `run`
   * is only set once the pre hooks are done, so it cannot tell operator requests that a run is under way.
   */
  runActive: boolean;
  /** The last run whose start (IN_PROGRESS, re-opened machines) is in the store: what the next read shows. */
  begunRunNo: number;
  /** Manual status changes being written; a partial run is refused meanwhile so the two never interleave. */
  manualApplying = 0;
  /**
   * The run is storing its final status: a reader may already see it, so operator requests made on that
   * reading are accepted and wait for the run to be let go (they apply after it, never under it).
   */
  finalizing = false;
  /**
   * When the freeze calendars must be judged again while the run goes on (a freeze begins then, or a halt
   * for a freeze was answered); undefined = no freeze ahead in this window.
   */
  freezeCheckMs: number | undefined;
  /** Why the pipeline's `success` policy deleted this event (gate DELETED), for the record. */
  policyDeletionReason: string | undefined;
  /** Why the pipeline gate holds this event (e.g. a promotion gate not met), for the record. */
  gateReason: string | undefined;
  /**
   * An approval with its targets is recorded (docs/behaviour.md#approve): the window opening resolves the
   * targets again and asks for approval again when they changed by more than the plan allows.
   */
  approved: boolean;
  /** An approval is being recorded (its targets resolved): a second one waits, the window check too. */
  approving = false;
  /** The targets changed since the approval: NOT_APPROVED again, and the next approval lets it run at once. */
  reapprovalAsked: boolean;
  /**
   * A freeze under the plan's `run_with_approval` asks for approvals by two people (docs/behaviour.md#freeze-calendars):
   * its reason, and the status the event had before it asked (what a freeze lifted before the window gives back).
   */
  freezeAsk: { reason: string; before: EventStatus } | undefined;
  /** Who approved the event to run inside its freeze, in order; each person (API key) once. */
  readonly freezeApprovers: string[] = [];
  /** Gate and window changes before the start, still to be recorded (in arrival order). */
  private readonly gateChanges: EventStatus[] = [];
  private readonly windowChanges: string[] = [];
  /** incoming_patching lead times (minutes before the start) not yet due, largest first. */
  private leads: number[] = [];

  constructor(
    private readonly input: EventWorkflowInput,
    nowMs: number,
    private readonly onStatus: (s: EventStatus) => void = () => {},
  ) {
    const c = input.carried;
    this.eventId = input.eventId;
    this.startMs = c?.startMs ?? Date.parse(input.start);
    this.freezeCheckMs = c?.freezeCheckMs;
    this.endMs = c?.endMs ?? Date.parse(input.end);
    this.gated = c?.gated ?? input.gated ?? false;
    this.status = c?.status ?? input.initialStatus;
    this.runNo = c?.runNo ?? 0;
    this.excluded = new Set(c?.excluded ?? []);
    this.run = c?.run ? new EventRun(c.run as RunState) : undefined;
    this.runActive = this.run !== undefined;
    this.begunRunNo = this.runNo;
    this.recorded = c !== undefined;
    this.quietSinceMs = c?.quietSinceMs ?? nowMs;
    this.approved = c?.approved ?? false;
    this.reapprovalAsked = c?.reapprovalAsked ?? false;
  }

  setStatus(s: EventStatus): void {
    this.status = s;
    this.onStatus(s);
  }

  /** Upcoming: not running, not finished, not started. */
  notStarted(): boolean {
    return this.run === undefined && !isEventFinished(this.status) && !isRunningStatus(this.status);
  }

  // ---------- operator requests: each returns why it is refused, or undefined ----------

  /** `by`: who asks; while a freeze wants two people's approvals, the same person twice is refused. */
  approveRefusal(by?: string): string | undefined {
    if (this.status !== 'NOT_APPROVED')
      return `only a NOT_APPROVED event can be approved; this one is ${this.status}`;
    if (this.approving) return 'an approval of this event is being recorded';
    if (by !== undefined && this.freezeApprovalPending())
      return freezeApprovalRefusal(this.freezeApprovers, by);
  }

  // ---------- run_with_approval: the two-person rule of a freeze (docs/behaviour.md#freeze-calendars) ----------

  /**
   * The window opens inside a freeze under `run_with_approval`: the event is NOT_APPROVED until two people
   * approve it. Answers true when this asks anew (the caller records the status and sends the notice).
   */
  askFreezeApproval(reason: string): boolean {
    if (!this.notStarted() || this.status === 'DELETED' || this.freezeApproved()) return false;
    if (this.freezeAsk) {
      this.freezeAsk.reason = reason;
      return false;
    }
    this.freezeAsk = { reason, before: this.status };
    this.setStatus('NOT_APPROVED');
    return true;
  }

  /** A freeze asked for two people's approvals and they are not all given yet. */
  freezeApprovalPending(): boolean {
    return this.freezeAsk !== undefined && this.freezeApprovers.length < FREEZE_APPROVALS_NEEDED;
  }

  /** Two different people approved the event to run inside its freeze. */
  freezeApproved(): boolean {
    return this.freezeApprovers.length >= FREEZE_APPROVALS_NEEDED;
  }

  /**
   * An accepted approval while a freeze asks for two (the validator refused the same person twice): counted.
   * Answers true when it is the last one needed (the event is approved); before that it stays NOT_APPROVED.
   */
  takeFreezeApproval(by: string): boolean {
    this.freezeApprovers.push(by);
    return this.freezeApproved();
  }

  /**
   * The window opened while the freeze's approvals are not all given: the freezes are judged once more
   * (still frozen: skipped; lifted: it runs as usual).
   */
  freezeDecisionDue(nowMs: number): boolean {
    return (
      this.freezeApprovalPending() &&
      this.status === 'NOT_APPROVED' &&
      nowMs >= this.startMs &&
      nowMs < this.endMs
    );
  }

  /** The freeze was lifted before the window: the status the event had before it asked (undefined: unchanged). */
  liftFreezeAsk(): EventStatus | undefined {
    const ask = this.freezeAsk;
    this.freezeAsk = undefined;
    if (!ask || this.status !== 'NOT_APPROVED' || ask.before === 'NOT_APPROVED') return undefined;
    this.setStatus(ask.before);
    return ask.before;
  }

  /**
   * Outside a pipeline there is no one to wait for: approval makes the event runnable at once. Nor is there
   * when the pipeline had opened the event already and a changed target set asked for approval again.
   */
  approvedStatus(): EventStatus {
    return this.input.pipelineRunId && !this.reapprovalAsked ? 'APPROVED' : 'NEW';
  }

  /**
   * The window opens and the targets changed by more than the plan allows since the approval: the event
   * waits for approval again, as an unapproved one does (it never runs if the window passes meanwhile).
   */
  askReapproval(): void {
    this.reapprovalAsked = true;
    this.setStatus('NOT_APPROVED');
  }

  /** Whether the window opening must compare the targets with an approval before the event runs. */
  checksApproval(nowMs: number): boolean {
    return this.approved && this.runsNow(nowMs);
  }

  deleteRefusal(): string | undefined {
    // Validators leave no trace in the history, so this refusal is safe for running workflows too.
    if (this.status === 'DELETED') return 'the event is already DELETED';
    if (!this.notStarted())
      return `an event that is ${this.status} cannot be deleted; only upcoming events can`;
  }

  excludeRefusal(machineIds: unknown): string | undefined {
    if (!this.notStarted())
      return `machines can only be excluded before the event starts; it is ${this.status}`;
    if (!Array.isArray(machineIds) || machineIds.length === 0) return 'machine_ids must not be empty';
  }

  /** Adds to the excluded machines; answers with all of them. */
  exclude(machineIds: string[]): string[] {
    machineIds.forEach((m) => this.excluded.add(m));
    return [...this.excluded];
  }

  /**
   * Manual status changes are for finished events only (docs/behaviour.md#manual-status): not while a run (or
   * a partial run) is under way, global pre hooks included, or the run's final status would overwrite it.
   * IN_PROGRESS without a run is the operator's own IN_PROGRESS_MANUAL / REBOOTING_MANUAL.
   */
  manualStatusRefusal(req: ManualStatusRequest): string | undefined {
    const running = (this.runActive || this.run !== undefined) && !this.finalizing;
    if (running || this.pendingPartial !== undefined)
      return `manual status changes need a finished event; this one is ${this.status} (a run is under way)`;
    if (!this.finalizing && !(isEventFinished(this.status) || this.status === 'IN_PROGRESS'))
      return `manual status changes need a finished event; this one is ${this.status}`;
    if (
      (req.manual_status === 'SUCCESS_MANUAL' || req.manual_status === 'FAILED_MANUAL') &&
      !req.action_taken?.trim()
    )
      return `action_taken is required for ${req.manual_status}`;
  }

  partialRunRefusal(): string | undefined {
    const running = (this.runActive || this.run !== undefined) && !this.finalizing;
    const busy = running || this.pendingPartial !== undefined;
    if (busy || (!this.finalizing && !isEventFinished(this.status)))
      return `partial patching needs a finished event; this one is ${this.status}${busy ? ' (running)' : ''}`;
    if (this.manualApplying > 0) return 'a manual status change is being applied; try again';
  }

  /**
   * resume / override / abort are for a run a health gate halted (docs/behaviour.md#halted); an override
   * needs a reason, which is recorded.
   */
  gateActionRefusal(action: 'resume' | 'override' | 'abort', reason?: string): string | undefined {
    if (this.status !== 'HALTED' || !this.run)
      return `only a HALTED event can be ${GATE_ACTION_DONE[action]}; this one is ${this.status}`;
    const why = this.run.gateActionRefusal();
    if (why) return why;
    if (action === 'override' && !reason?.trim()) return 'an override needs a reason';
  }

  /** Accepts a partial run; answers with the run number it will have. */
  requestPartialRun(req: PartialRunRequest): number {
    this.pendingPartial = req;
    return this.runNo + 1;
  }

  /** An operator acted on the finished event: the quiet period starts again. */
  touched(nowMs: number): void {
    this.quietSinceMs = nowMs;
  }

  // ---------- the pipeline gate and plan edits, before the start ----------

  /**
   * The pipeline run decided this step's gate. Only an upcoming event takes it; `open` lets it run on
   * schedule. An operator's approval is not undone by a later gate decision (seed 001: B stays NOT_APPROVED).
   */
  applyGate(gate: GateStatus, open: boolean | undefined, reason?: string): void {
    if (!this.notStarted() || this.status === 'DELETED') return;
    if (open) this.gated = false;
    if (gate === 'DELETED')
      this.policyDeletionReason = reason ?? 'the previous pipeline step did not succeed';
    else if (reason) this.gateReason = reason;
    if (gate !== this.status) {
      this.setStatus(gate);
      this.gateChanges.push(gate);
    }
  }

  /** Plan edited: an upcoming event keeps its start and takes the new window end. */
  applyWindow(end: string): void {
    if (!this.notStarted()) return;
    this.endMs = Date.parse(end);
    this.windowChanges.push(end);
  }

  /** A freeze moved an upcoming event: its window starts and ends later (recorded by the caller). */
  moveWindow(startMs: number, endMs: number): void {
    if (!this.notStarted()) return;
    this.startMs = startMs;
    this.endMs = endMs;
  }

  /** The next window change to record, oldest first. */
  nextWindowChange(): string | undefined {
    return this.windowChanges.shift();
  }

  /** The next gate change to record, oldest first. */
  nextGateChange(): EventStatus | undefined {
    return this.gateChanges.shift();
  }

  // ---------- upcoming: waiting for the start ----------

  /** The event has not run and may still: it waits for its start (or for a gate, an approval, a delete). */
  isUpcoming(): boolean {
    return (
      this.run === undefined &&
      !isEventFinished(this.status) &&
      this.status !== 'DELETED' &&
      this.status !== 'HALTED'
    );
  }

  /** Lead times in minutes; those already past at `nowMs` are dropped (no late notice). */
  setLeadTimes(minutes: number[], nowMs: number): void {
    this.leads = minutes.filter((m) => this.startMs - m * 60_000 > nowMs);
  }

  /**
   * Whether the wait for the start is over: deleted, runnable and at its start, or past its window end.
   * Only a NEW event runs; it runs at `start`, or late if it became NEW inside its window.
   */
  waitOver(nowMs: number): boolean {
    if (this.status === 'DELETED') return true;
    if (this.status === 'NEW' && !this.gated && nowMs >= this.startMs) return true;
    if (this.freezeDecisionDue(nowMs)) return true;
    return nowMs >= this.endMs;
  }

  /** The next lead time that is due at `nowMs`, taken off the list. */
  takeDueLead(nowMs: number): number | undefined {
    if (this.leads.length > 0 && nowMs >= this.startMs - this.leads[0] * 60_000) return this.leads.shift();
    return undefined;
  }

  /** A due incoming_patching notice is sent only for an event that may still run. */
  announcesIncoming(): boolean {
    return this.status === 'NEW' || this.status === 'APPROVED' || this.status === 'NOT_APPROVED';
  }

  /** When to look again if nothing happens: the next lead time, the start (if runnable) or the window end. */
  wakeAtMs(): number {
    const nextLead = this.leads.length > 0 ? this.startMs - this.leads[0] * 60_000 : Infinity;
    const atStart =
      (this.status === 'NEW' && !this.gated) ||
      (this.status === 'NOT_APPROVED' && this.freezeApprovalPending());
    return Math.min(nextLead, atStart ? this.startMs : this.endMs);
  }

  /** What the upcoming wait watches: a change of any of it wakes the wait. */
  upcomingKey(): string {
    return `${this.status}|${this.gated}|${this.startMs}|${this.endMs}`;
  }

  hasChangesToRecord(): boolean {
    return this.gateChanges.length + this.windowChanges.length > 0;
  }

  /** After the wait: an event whose window passed while it was not NEW never runs (docs/behaviour.md#upcoming). */
  runsNow(nowMs: number): boolean {
    return this.status === 'NEW' && !this.gated && nowMs < this.endMs;
  }

  // ---------- after the run ----------

  /** Deleted, or never started: nothing to keep the event open for. */
  neverRan(): boolean {
    return this.status === 'DELETED' || (!isEventFinished(this.status) && !isRunningStatus(this.status));
  }

  quietEndMs(): number {
    return this.quietSinceMs + QUIET_CLOSE_MS;
  }

  // ---------- views ----------

  view(): EventView {
    return {
      eventId: this.eventId,
      status: this.status,
      runNo: this.runNo,
      running: this.run !== undefined,
      machinesDone: this.run?.state.done ?? 0,
      machinesTotal: this.run?.state.total ?? 0,
    };
  }

  /** What continue-as-new carries: everything above but the messages still to record (none are left then). */
  carried(run: EventRun | undefined): EventCarriedState {
    return {
      status: this.status,
      runNo: this.runNo,
      excluded: [...this.excluded],
      quietSinceMs: this.quietSinceMs,
      run: run?.state,
      gated: this.gated,
      endMs: this.endMs,
      ...(this.startMs !== Date.parse(this.input.start) ? { startMs: this.startMs } : {}),
      ...(this.freezeCheckMs !== undefined ? { freezeCheckMs: this.freezeCheckMs } : {}),
      ...(this.approved ? { approved: true } : {}),
      ...(this.reapprovalAsked ? { reapprovalAsked: true } : {}),
    };
  }
}
