/**
 * What an event run decides, apart from how it is wired to Temporal (the way the safe-message-handlers sample
 * keeps `ClusterManager` apart from its workflow): which machines start next (ascending order groups, at most
 * max_concurrency at once), when no further machine starts (max_errors reached, a failed host hook, a failed
 * global pre hook, the window end) and what happens to the machines that then never start. `eventWorkflow`
 * keeps the handlers, the timers, the children and the activities; it asks an `EventRun` what to do and tells
 * it what happened.
 *
 * No Temporal import and no clock: the workflow passes `now` in, so every rule here runs in a plain unit test
 * (test/unit/workflows/event-run-state.test.ts). The state is one plain object, carried as-is over
 * continue-as-new: its shape is what running workflows already carry, so it must not change.
 */
import type { HookBrief, MachineRunResult, RunGates, RunMachine } from './defs';
import type { GateReading } from '../domain/health-gates';
import { isMachineSuccess } from '../domain/event-status';

/** Children in flight at once when a group is "unlimited" (Temporal: ≤ 2,000 pending children per run). */
export const MAX_INFLIGHT = 500;

/** The state of a run in progress; serialisable so it survives continue-as-new. */
export interface RunState {
  runNo: number;
  deadlineMs: number;
  phase: 'machines' | 'post' | 'finalize';
  preFailed: boolean;
  postHooks: HookBrief[];
  pending: RunMachine[]; // not started yet, sorted by order
  inflight: string[];
  currentOrder?: number;
  maxConcurrency?: number;
  maxErrors?: number;
  /** max_unavailable's max: machines of one limitKey in flight at once (absent: no such limit). */
  maxUnavailable?: number;
  /** The limitKey of each machine in flight that has one (absent in runs without max_unavailable). */
  inflightKeys?: Record<string, string>;
  errors: number;
  stopReason?: string;
  total: number;
  done: number;
  /** The plan's health gates; absent in runs without gates (and in every run recorded before they existed). */
  gates?: RunGates;
  /** Where the gates stand; created at the first reading. */
  gate?: GateState;
}

/**
 * Health-gate state of a run (docs/behaviour.md#health-gates). A new order group starts only after a healthy
 * reading taken once the previous group's soak is over; inside a group, readings come every interval while
 * machines remain to start. An unhealthy reading halts the run until an operator acts.
 */
export interface GateState {
  /** What halted the run, while it is halted. */
  halted?: HaltCause;
  /** An operator overrode the gates: they are not read again in this run. */
  overridden?: boolean;
  /** Resumed: a healthy reading must come before any further machine starts. */
  recheck?: boolean;
  nextReadMs: number;
  lastReadMs: number;
  /** No new group starts before this (the previous group's end + soak). */
  soakUntilMs: number;
  /** The order group a healthy reading after its soak has cleared to start. */
  clearedOrder?: number;
  /** The last group whose end began a soak. */
  endedOrder?: number;
}

/**
 * What halted a run: a health gate's failing probe and its answer (`kind` is absent in runs recorded before
 * other causes existed), or another cause that stops new machines the same way (a freeze calendar: `probe` is
 * then the calendar's name and `answer` why it applies). docs/behaviour.md#halted.
 */
export interface HaltCause {
  kind?: 'health_gate' | 'freeze';
  probe: string;
  answer: string;
}

/** The cause as the timeline and the `patching_halted` notice say it. */
export function haltCauseText(c: HaltCause): string {
  return `${c.kind === 'freeze' ? 'freeze' : 'health gate'} ${c.probe}: ${c.answer}`;
}

/** What an operator does with a halted run. */
export type GateAction = { kind: 'resume' } | { kind: 'override' } | { kind: 'abort'; reason: string };

/** What `beginEventRun` planned; the part of it the run's decisions depend on. */
export interface RunPlan {
  machines: RunMachine[];
  postHooks: HookBrief[];
  maxConcurrency?: number;
  maxErrors?: number;
  maxUnavailable?: number;
  gates?: RunGates;
  scanError?: unknown;
}

/** Machines the run is done with without a report of their own, and the status and reason recorded for them. */
export interface MachinesToMark {
  machineIds: string[];
  status: 'NOT_IN_TIME_WINDOW' | 'OMITTED' | 'ERROR';
  reason: string;
}

export const NOT_STARTED_REASON = {
  windowEnded: 'the window ended before the machine could start',
  preHookFailed: 'a global pre hook failed',
  noReport: 'the machine run did not report after the window ended',
} as const;

export class EventRun {
  constructor(readonly state: RunState) {}

  /** A new run from its plan: machines sorted by order group; a failed scan goes straight to the final status. */
  static begin(runNo: number, deadlineMs: number, plan: RunPlan): EventRun {
    const run = new EventRun({
      runNo,
      deadlineMs,
      phase: 'machines',
      preFailed: false,
      postHooks: plan.postHooks,
      pending: [...plan.machines].sort((a, b) => a.order - b.order),
      inflight: [],
      maxConcurrency: plan.maxConcurrency,
      maxErrors: plan.maxErrors,
      ...(plan.maxUnavailable !== undefined ? { maxUnavailable: plan.maxUnavailable, inflightKeys: {} } : {}),
      errors: 0,
      total: plan.machines.length,
      done: 0,
      ...(plan.gates ? { gates: plan.gates } : {}),
    });
    if (plan.scanError) run.state.phase = 'finalize';
    return run;
  }

  get runNo(): number {
    return this.state.runNo;
  }
  get deadlineMs(): number {
    return this.state.deadlineMs;
  }
  get phase(): RunState['phase'] {
    return this.state.phase;
  }

  windowOver(now: number): boolean {
    return now >= this.state.deadlineMs;
  }

  /**
   * The global pre hooks have run (every one of them, whatever the others did). If one failed, no machine
   * starts and the post hooks are skipped: every machine is OMITTED, and the run goes to its final status.
   */
  globalPreHooksDone(anyFailed: boolean): MachinesToMark | undefined {
    if (!anyFailed) return undefined;
    const s = this.state;
    s.preFailed = true;
    const machineIds = s.pending.map((m) => m.id);
    s.done = s.total;
    s.pending = [];
    s.phase = 'finalize';
    return { machineIds, status: 'OMITTED', reason: NOT_STARTED_REASON.preHookFailed };
  }

  /**
   * Takes the machine runs' reports in. A report of another run or a second report of the same machine is
   * ignored. A machine that did not succeed counts as an error; a failed host hook, or reaching max_errors,
   * stops new machines from starting (the first reason found is kept). Machines already running go on.
   */
  absorb(reports: readonly MachineRunResult[]): void {
    const s = this.state;
    for (const r of reports) {
      if (r.runNo !== s.runNo) continue;
      const i = s.inflight.indexOf(r.machineId);
      if (i < 0) continue; // duplicate report
      s.inflight.splice(i, 1);
      if (s.inflightKeys) delete s.inflightKeys[r.machineId];
      s.done++;
      if (!isMachineSuccess(r.status)) s.errors++;
      if (r.hostHookFailed && !s.stopReason) s.stopReason = `a host hook of machine ${r.machineId} failed`;
      if (s.maxErrors !== undefined && s.errors >= s.maxErrors && !s.stopReason)
        s.stopReason = `max_errors (${s.maxErrors}) reached`;
    }
  }

  /**
   * Once the window is over or the run was stopped, machines not yet started never will: they leave the
   * queue and are NOT_IN_TIME_WINDOW (window over; it wins over a stop) or OMITTED with the stop reason.
   */
  dropUnstartable(now: number): MachinesToMark | undefined {
    const s = this.state;
    const windowOver = this.windowOver(now);
    if (s.pending.length === 0 || !(windowOver || s.stopReason)) return undefined;
    const machineIds = s.pending.map((m) => m.id);
    s.pending = [];
    s.done += machineIds.length;
    return windowOver
      ? { machineIds, status: 'NOT_IN_TIME_WINDOW', reason: NOT_STARTED_REASON.windowEnded }
      : { machineIds, status: 'OMITTED', reason: s.stopReason! };
  }

  /**
   * The machines to start now, taken off the queue and counted in flight: the next order group begins only
   * when nothing is in flight, and no more than max_concurrency (capped at MAX_INFLIGHT) run at once. With
   * max_unavailable, a machine whose limitKey already has `maxUnavailable` machines in flight waits, and the
   * machines after it in its group may start in its place (queue order otherwise; no machine is passed over
   * for ever: it starts once one of its kind reports). The first machine of a group always fits.
   */
  takeStartable(now?: number): RunMachine[] {
    const s = this.state;
    // Stopped (max_errors, an operator's abort): nothing more starts. An abort can land while the run awaits an
    // activity after `dropUnstartable` (a halt's notice); the next pass marks the rest, this one starts none.
    if (s.stopReason) return [];
    if (now !== undefined) this.noteGroupEnd(now);
    if (!this.gateAllowsStart()) return [];
    if (s.inflight.length === 0 && s.pending.length > 0) s.currentOrder = s.pending[0].order;
    const limit = Math.min(s.maxConcurrency ?? MAX_INFLIGHT, MAX_INFLIGHT);
    const toStart: RunMachine[] = [];
    if (s.maxUnavailable === undefined) {
      while (
        s.pending.length > 0 &&
        s.pending[0].order === s.currentOrder &&
        s.inflight.length + toStart.length < limit
      ) {
        toStart.push(s.pending.shift()!);
      }
    } else {
      const keys = (s.inflightKeys ??= {});
      const running = new Map<string, number>();
      for (const k of Object.values(keys)) running.set(k, (running.get(k) ?? 0) + 1);
      const kept: RunMachine[] = [];
      let i = 0;
      for (; i < s.pending.length && s.pending[i].order === s.currentOrder; i++) {
        const m = s.pending[i];
        if (s.inflight.length + toStart.length >= limit) break;
        const n = m.limitKey === undefined ? 0 : (running.get(m.limitKey) ?? 0);
        if (n >= s.maxUnavailable) {
          kept.push(m);
          continue;
        }
        toStart.push(m);
        if (m.limitKey !== undefined) {
          running.set(m.limitKey, n + 1);
          keys[m.id] = m.limitKey;
        }
      }
      s.pending = [...kept, ...s.pending.slice(i)];
    }
    for (const m of toStart) s.inflight.push(m.id);
    return toStart;
  }

  /** Every machine has started and reported (or been given up on). */
  machinesSettled(): boolean {
    return this.state.inflight.length === 0 && this.state.pending.length === 0;
  }

  /** The window is over and the grace for reports has passed: what still runs is recorded as ERROR. */
  giveUpOnInflight(): MachinesToMark {
    const s = this.state;
    const machineIds = s.inflight;
    s.done += machineIds.length;
    s.inflight = [];
    if (s.inflightKeys) s.inflightKeys = {};
    return { machineIds, status: 'ERROR', reason: NOT_STARTED_REASON.noReport };
  }

  /** The machines are settled: the global post hooks run next, unless a global pre hook failed. */
  machinesFinished(): void {
    this.state.phase = this.state.preFailed ? 'finalize' : 'post';
  }

  postHooksFinished(): void {
    this.state.phase = 'finalize';
  }

  // ---------- health gates ----------

  /** Gates configured and not overridden in this run. */
  gatesActive(): boolean {
    return this.state.gates !== undefined && !this.state.gate?.overridden;
  }

  /** What halted the run (a failing probe and its answer, or another cause), while halted. */
  haltedBy(): HaltCause | undefined {
    return this.state.gate?.halted;
  }

  /**
   * Halts the run for a cause other than a gate reading (a freeze calendar): no new machine starts until an
   * operator resumes, overrides or aborts, whether the plan has health gates or not. Answers true when it
   * halted now; false when already halted, or when nothing is left to hold back (no machine waits to start,
   * the run was stopped, the window is over).
   */
  halt(now: number, cause: HaltCause): boolean {
    const s = this.state;
    if (s.pending.length === 0 || s.stopReason || this.windowOver(now)) return false;
    const g = this.gate();
    if (g.halted) return false;
    g.halted = { ...cause };
    return true;
  }

  private gate(): GateState {
    this.state.gate ??= { nextReadMs: 0, lastReadMs: -1, soakUntilMs: 0 };
    return this.state.gate;
  }

  /** Gates matter only while machines remain to start and nothing else already stopped the run. */
  private gatesGuard(now: number): boolean {
    const s = this.state;
    return this.gatesActive() && s.pending.length > 0 && !s.stopReason && !this.windowOver(now);
  }

  /** Nothing in flight and the next machine is of another group: that group ended, its soak begins. */
  private noteGroupEnd(now: number): void {
    const s = this.state;
    if (!this.gatesActive() || s.inflight.length > 0 || s.currentOrder === undefined) return;
    if (s.pending.length === 0 || s.pending[0].order === s.currentOrder) return;
    const g = this.gate();
    if (g.endedOrder === s.currentOrder) return;
    g.endedOrder = s.currentOrder;
    g.soakUntilMs = now + s.gates!.soakMs;
  }

  /** A group is waiting to start (nothing in flight) and no healthy reading has cleared it yet. */
  private groupWaiting(): boolean {
    const s = this.state;
    return s.inflight.length === 0 && s.pending.length > 0 && this.gate().clearedOrder !== s.pending[0].order;
  }

  private gateAllowsStart(): boolean {
    if (this.state.pending.length === 0) return true;
    // A halt holds machines back whatever caused it (without gates `gate` exists only once halted).
    if (this.state.gate?.halted) return false;
    if (!this.gatesActive()) return true;
    const g = this.gate();
    return !g.halted && !g.recheck && !this.groupWaiting();
  }

  /** Whether the gates must be read now. */
  readDue(now: number): boolean {
    if (!this.gatesGuard(now)) return false;
    this.noteGroupEnd(now);
    const g = this.gate();
    if (g.halted) return false;
    if (g.recheck || now >= g.nextReadMs) return true;
    // The soak is over: the group waits for a reading taken after it.
    return this.groupWaiting() && now >= g.soakUntilMs && g.lastReadMs < g.soakUntilMs;
  }

  /** When the gates must be read next if nothing happens (Infinity: not at all). */
  gateWakeMs(now: number): number {
    if (!this.gatesGuard(now)) return Infinity;
    const g = this.gate();
    if (g.halted) return Infinity;
    if (g.recheck) return now;
    const soakEnd = this.groupWaiting() && g.lastReadMs < g.soakUntilMs ? g.soakUntilMs : Infinity;
    return Math.min(g.nextReadMs, soakEnd);
  }

  /**
   * A reading of the gates. Unhealthy: the run halts (answers true, once). Healthy: a resume's recheck is
   * satisfied, and a waiting group whose soak is over may start. Ignored once the gates no longer matter.
   */
  gateReading(now: number, reading: GateReading): boolean {
    if (!this.gatesGuard(now)) return false;
    const g = this.gate();
    if (g.halted) return false;
    g.lastReadMs = now;
    g.nextReadMs = now + this.state.gates!.intervalMs;
    if (!reading.healthy) {
      g.halted = { probe: reading.probe ?? 'health gate', answer: reading.answer ?? 'unhealthy' };
      return true;
    }
    g.recheck = false;
    if (this.groupWaiting() && now >= g.soakUntilMs) g.clearedOrder = this.state.pending[0].order;
    return false;
  }

  /** Why an operator's action on the gates is refused, or undefined. */
  gateActionRefusal(): string | undefined {
    if (!this.state.gate?.halted) return 'the run is not halted by a health gate';
  }

  /**
   * resume: read the gates again before any machine starts (still unhealthy halts again); override: no
   * further readings in this run; abort: machines not started are OMITTED with the reason, running ones finish.
   */
  applyGateAction(a: GateAction): void {
    const g = this.gate();
    g.halted = undefined;
    if (a.kind === 'resume') g.recheck = true;
    if (a.kind === 'override') g.overridden = true;
    if (a.kind === 'abort' && !this.state.stopReason) this.state.stopReason = a.reason;
  }

  /** Changes when an operator acts on the gates: the run's waits watch it. */
  gateKey(): string {
    const g = this.state.gate;
    if (!g) return '';
    return `${g.halted ? 'h' : ''}|${g.overridden ? 'o' : ''}|${g.recheck ? 'r' : ''}|${this.state.stopReason ?? ''}`;
  }
}
