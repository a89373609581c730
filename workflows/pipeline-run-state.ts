/**
 * What a pipeline run decides, apart from how it is wired to Temporal: when each step's gate opens and how,
 * from the step's policy, the events that finished and the steps an operator approved. `pipelineRunWorkflow`
 * (pipeline-run.ts) keeps the signals and sends the gate decisions to the events.
 *
 * A step's gate is decided once: a partial run that later turns a failed step into DONE does not re-open a
 * successor already NOT_APPROVED (seed 001). No Temporal import. Unit tests:
 * test/unit/workflows/pipeline-run-state.test.ts.
 */
import type { PromotionGate, StepPolicy } from '../domain/pipeline';
import { isEventFinished } from '../domain/finished';
import type { EventStatus } from '../domain/statuses';

/** One step of the run as `createPipelineRunEvents` made it. */
export interface PipelineRunStep {
  policy: StepPolicy;
  eventIds: string[];
  /** What the previous step must show before this one runs (docs/behaviour.md#promotion). */
  gate?: PromotionGate;
  /** An `always` step that still waits for the previous step (a gate, or a promotion other than latest). */
  waits?: true;
}

/** What a step's machines did, for the next step's promotion gate (activity promotionStepStats). */
export interface StepStats {
  /** Machines of the step's events, excluded ones and deleted events aside. */
  machines: number;
  /** Of them, those that ended SUCCESS, SUCCESS_NO_UPDATES or SUCCESS_MANUAL. */
  succeeded: number;
  /** When the step's last event finished. */
  endedAt?: string;
}

/** What to tell a step's events that have not finished yet. */
export interface GateDecision {
  /** DELETED: the `success` policy after a step that did not succeed; the step never runs. */
  status: 'NEW' | 'NOT_APPROVED' | 'APPROVED' | 'DELETED';
  /** The step may run on schedule. */
  open: boolean;
  /** Why the step is deleted, naming the step that did not succeed. */
  reason?: string;
}

export interface PipelineGatesOptions {
  /**
   * An approval that opened a step also counts as the step's policy decision, so a later signal does not tell
   * the step's events NOT_APPROVED again. False only for pipeline runs started before this fix (their
   * histories re-send it, and a replay must issue the same signals): pipeline-run.ts asks `patched()`.
   */
  approvalDecides: boolean;
}

export class PipelineGates {
  constructor(private readonly options: PipelineGatesOptions = { approvalDecides: true }) {}

  private readonly finished = new Map<string, EventStatus>();
  private readonly approvedSteps = new Set<number>();
  /** Steps whose policy has been applied (step 0 runs on its own schedule). */
  private readonly decided = new Set<number>([0]);
  /** Steps whose gate is open. */
  private readonly opened = new Set<number>();
  /** Steps the `success` policy deleted, with why: they did not succeed either, for the steps after them. */
  private readonly policyDeleted = new Map<number, string>();
  /** What each finished step's machines did, read for the next step's promotion gate. */
  private readonly stats = new Map<number, StepStats>();
  /** Steps whose gate is met but whose soak runs until this instant. */
  private readonly soaking = new Map<number, number>();

  /** Empty until the run's events exist; reports that come earlier are kept meanwhile. */
  steps: readonly PipelineRunStep[] = [];

  eventFinished(eventId: string, status: EventStatus): void {
    this.finished.set(eventId, status);
  }

  stepApproved(step: number): void {
    this.approvedSteps.add(step);
  }

  /** Finished or deleted: the event will not change its step's outcome any more (until a partial run). */
  eventDone(eventId: string): boolean {
    const s = this.finished.get(eventId);
    return s !== undefined && (isEventFinished(s) || s === 'DELETED');
  }

  stepFinished(i: number): boolean {
    return this.steps[i].eventIds.every((id) => this.eventDone(id));
  }

  allFinished(): boolean {
    return this.steps.every((_, i) => this.stepFinished(i));
  }

  private earlierFinished(i: number): boolean {
    return this.steps.slice(0, i).every((_, j) => this.stepFinished(j));
  }

  /** Why step i-1 did not succeed (naming it and its events), or undefined when it did. Deleted events aside. */
  private previousStepFailure(i: number): string | undefined {
    const deleted = this.policyDeleted.get(i - 1);
    if (deleted !== undefined) return `step ${i - 1} was not run (${deleted})`;
    const failed = this.steps[i - 1].eventIds
      .map((id) => [id, this.finished.get(id)] as const)
      .filter(([, s]) => s !== 'DELETED' && s !== 'DONE' && s !== 'DONE_MANUAL');
    if (failed.length === 0) return undefined;
    return `step ${i - 1} did not succeed: ${failed.map(([id, s]) => `event ${id} ended ${s}`).join(', ')}`;
  }

  /** Step i has a promotion gate, may be decided now, and the previous step's figures are not read yet. */
  needsStats(i: number): boolean {
    return (
      i > 0 &&
      this.steps[i].gate !== undefined &&
      !this.decided.has(i) &&
      !this.stats.has(i - 1) &&
      this.earlierFinished(i)
    );
  }

  setStats(step: number, stats: StepStats): void {
    this.stats.set(step, stats);
  }

  /** When a soaking step may open (Infinity: none soaks). */
  wakeAtMs(): number {
    return Math.min(Infinity, ...this.soaking.values());
  }

  /** Why step i's promotion gate is not met by the previous step's figures, or undefined when it is. */
  private gateShortfall(i: number): string | undefined {
    const gate = this.steps[i].gate;
    const st = this.stats.get(i - 1);
    if (!gate || !st) return undefined;
    const rate = st.machines === 0 ? 0 : (100 * st.succeeded) / st.machines;
    const why: string[] = [];
    if (gate.min_success_rate !== undefined && rate < gate.min_success_rate)
      why.push(
        `success rate ${Math.round(rate * 10) / 10}% (${st.succeeded}/${st.machines}) is below ${gate.min_success_rate}%`,
      );
    if (gate.min_machines !== undefined && st.succeeded < gate.min_machines)
      why.push(`${st.succeeded} machine(s) succeeded, at least ${gate.min_machines} needed`);
    return why.length ? `promotion gate of step ${i} not met by step ${i - 1}: ${why.join('; ')}` : undefined;
  }

  /** When step i's soak ends (the previous step's end + min_soak_minutes), or undefined without a soak. */
  private soakEndMs(i: number): number | undefined {
    const minutes = this.steps[i].gate?.min_soak_minutes;
    const ended = this.stats.get(i - 1)?.endedAt;
    if (!minutes || !ended) return undefined;
    return Date.parse(ended) + minutes * 60_000;
  }

  /**
   * The policy said step i may run: its promotion gate decides. Not met: what the policy does when the previous
   * step failed (`success`: DELETED; otherwise NOT_APPROVED, waiting for a person). Met: it opens once the soak
   * is over (until then nothing is decided and `wakeAtMs` says when to look again).
   */
  private gated(i: number, nowMs: number): GateDecision | undefined {
    const short = this.gateShortfall(i);
    if (short) {
      if (this.steps[i].policy === 'success') {
        this.policyDeleted.set(i, short);
        return { status: 'DELETED', open: false, reason: short };
      }
      return { status: 'NOT_APPROVED', open: false, reason: short };
    }
    const soakEnd = this.soakEndMs(i);
    if (soakEnd !== undefined && nowMs < soakEnd) {
      this.decided.delete(i);
      this.soaking.set(i, soakEnd);
      return undefined;
    }
    this.soaking.delete(i);
    this.opened.add(i);
    return { status: 'NEW', open: true };
  }

  /**
   * What to tell step i's events now, if anything. An approval marks the whole step APPROVED; it becomes NEW
   * once every earlier step is finished. Otherwise, once every earlier step is finished, the step's policy
   * decides, once: `always` runs on schedule; `success` / `success_or_approval` open if every event of the
   * previous step (deleted ones aside) is DONE or DONE_MANUAL, else `success` deletes the step (DELETED, with
   * the reason) and `success_or_approval` waits (NOT_APPROVED); `approval` is NOT_APPROVED. A step an
   * approval opened is decided: its policy is not applied after it.
   */
  decide(i: number, nowMs = 0): GateDecision | undefined {
    if (this.approvedSteps.has(i) && !this.opened.has(i)) {
      if (!this.earlierFinished(i)) return { status: 'APPROVED', open: false };
      // A person's approval opens the step whatever its promotion gate says, soak included.
      this.soaking.delete(i);
      this.opened.add(i);
      if (this.options.approvalDecides) this.decided.add(i);
      return { status: 'NEW', open: true };
    }
    if (this.decided.has(i) || !this.earlierFinished(i)) return undefined;
    // The gate's figures are read first (needsStats); the workflow asks for them, then decides.
    if (this.steps[i].gate && !this.stats.has(i - 1)) return undefined;
    this.decided.add(i);
    const failure = this.previousStepFailure(i);
    const prevOk = failure === undefined;
    switch (this.steps[i].policy) {
      case 'always':
        // Runs whatever the previous step did, but a step that waits for it opens only through its gate.
        return this.steps[i].waits ? this.gated(i, nowMs) : undefined;
      case 'success':
        // Never waits for a person (that is success_or_approval): the step is not run at all.
        if (!prevOk) {
          this.policyDeleted.set(i, failure);
          return { status: 'DELETED', open: false, reason: failure };
        }
        return this.gated(i, nowMs);
      case 'success_or_approval':
        if (!prevOk) return { status: 'NOT_APPROVED', open: false };
        return this.gated(i, nowMs);
      case 'approval':
        return { status: 'NOT_APPROVED', open: false };
    }
  }
}
