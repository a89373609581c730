/**
 * `event/<event_id>`: one event from creation to the end of its after-life (docs/behaviour.md#event-run, #pipelines).
 *
 *   upcoming  — waits for `start` while taking approve / delete / exclude; only a NEW event runs.
 *   run       — global pre hooks → machines in ascending order groups (children, ≤ max_concurrency at
 *               once, stop on a failed host hook or max_errors) → global post hooks → final status.
 *               The window end is a hard stop. Large fleets continue-as-new mid-run (children report by
 *               signal to the workflow ID, so they survive the hand-over).
 *   after-run — takes manual status changes and partial runs until it has been quiet for a while, then
 *               closes; the API re-opens it with update-with-start when a person acts later.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  patched,
  sleep,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import {
  approveSignal,
  approveUpdate,
  deleteUpdate,
  eventViewQuery,
  excludeUpdate,
  machineDoneSignal,
  manualStatusSignal,
  manualStatusUpdate,
  partialRunUpdate,
  registeredUpdate,
  setGateSignal,
  setWindowSignal,
  eventFinishedSignal,
  stepApprovedSignal,
  type EventWorkflowInput,
  type HookBrief,
  type MachineRunResult,
  type ManualStatusRequest,
  type PartialRunRequest,
  resumeUpdate,
  overrideUpdate,
  abortUpdate,
  resumeSignal,
  overrideSignal,
  abortSignal,
  type GateActionRequest,
} from './defs';
import { machineRunWorkflow } from './machine-run';
import { workflowIds } from '../domain/ids';
import { machineRunSearchAttributes, SA } from '../domain/search-attributes';
import { isEventFinished } from '../domain/finished';
import { EventRun, haltCauseText, type GateAction } from './event-run-state';
import type { EventStatus } from '../domain/statuses';
import { freezeApprovalLine } from '../domain/freeze-approval';
import type { EventFreeze } from '../domain/freeze';
import { EventState } from './event-state';

type Acts = ReturnType<typeof createActivities>;

const acts = proxyActivities<Acts>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
});
/**
 * A hook call lasts up to HOOK_TIMEOUT_MS (bounded by the window end). A start-to-close timeout shorter than
 * that would cut a slow hook off and the retry would call it again: liveness comes from heartbeats instead.
 */
const { runRemoteHook } = proxyActivities<Acts>({
  startToCloseTimeout: '1 day',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 20 },
});

/** After a reading failed as a whole (retries spent), the next one comes this much later. */
const GATE_READ_RETRY_MS = 30_000;
/**
 * A reading of the health gates: probes run in parallel, each at most 2 tries of its timeout_s (≤ 60 s), so
 * one reading stays under 2.5 minutes; a reading that fails as a whole (the store) is retried a few times.
 */
const { readHealthGates } = proxyActivities<Acts>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

/**
 * Maintenance sync (docs/behaviour.md#maintenance): each HTTP call inside is bounded (10 s), a failing service
 * is an answer (`failed`), not an error; only the store failing throws, retried a few times, then counted as a
 * failed sync. A failed sync is tried again after 1, 2, 4 … minutes (at most 30), up to MAINT_MAX_RETRIES times.
 */
const { syncMaintenance } = proxyActivities<Acts>({
  startToCloseTimeout: '3 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});
const MAINT_MAX_RETRIES = 8;
const MAINT_RETRY_BASE_MS = 60_000;
const MAINT_RETRY_MAX_MS = 30 * 60_000;

const CAN_AFTER_HISTORY = 9_000;
/** Children started per workflow task. */
const START_BATCH = 20;
/** After the window end, how long to wait for running machine runs to report before marking them ERROR. */
const REPORT_GRACE_MS = 5 * 60_000;

const MANUAL_STATUSES: string[] = [
  'SUCCESS_MANUAL',
  'FAILED_MANUAL',
  'IN_PROGRESS_MANUAL',
  'REBOOTING_MANUAL',
];

/** Who sent an operator signal: the `requested_by` typed with it, else "temporal-signal". */
function signalActor(arg: { requested_by?: unknown } | undefined): string {
  const by = arg && typeof arg === 'object' ? arg.requested_by : undefined;
  return typeof by === 'string' && by.trim() ? by.trim().slice(0, 200) : 'temporal-signal';
}

function errorMessage(err: unknown): string {
  const e = err as { cause?: { message?: string }; message?: string };
  return e?.cause?.message ?? e?.message ?? String(err);
}

export async function eventWorkflow(input: EventWorkflowInput): Promise<void> {
  const { eventId } = input;
  const ev = new EventState(input, Date.now(), (s) => upsertSearchAttributes([{ key: SA.status, value: s }]));
  /** Machine runs' reports not taken in by the run yet. */
  const finishedRuns: MachineRunResult[] = [];
  /** Counts operator signals in this run, to key their timeline and audit records. */
  let signalSeq = 0;
  /** Counts re-approvals asked in this run, to key their audit records. */
  let reapprovalSeq = 0;
  /** A halt or an operator's answer to it is being recorded: the next one waits, so the stored status keeps their order. */
  let gateWriting = false;
  const refuse = (why: string | undefined) => {
    if (why) throw new Error(why);
  };

  upsertSearchAttributes([
    { key: SA.kind, value: 'event' },
    { key: SA.customer, value: input.customerId },
    { key: SA.plan, value: input.planId },
    { key: SA.event, value: eventId },
    { key: SA.status, value: ev.status },
    { key: SA.windowStart, value: new Date(ev.startMs) },
    ...(input.pipelineId ? [{ key: SA.pipeline, value: input.pipelineId }] : []),
  ]);

  // ---------------- handlers ----------------
  setHandler(registeredUpdate, async () => {
    await condition(() => ev.recorded);
    return acts.getEventRecord({ eventId });
  });

  setHandler(approveUpdate, ({ requested_by }) => applyApprove(requested_by, 'update'), {
    // A freeze's two-person rule refuses the same person twice here, so the API answers 409 at once.
    validator: (req) => refuse(ev.approveRefusal(req?.requested_by)),
  });

  setHandler(
    deleteUpdate,
    async ({ requested_by }) => {
      await afterRecorded();
      ev.setStatus('DELETED');
      await acts.recordEventStatus({
        eventId,
        status: 'DELETED',
        timeline: { type: 'deleted', message: `deleted by ${requested_by}` },
      });
      await tellPipeline((h) =>
        h.signal(eventFinishedSignal, { eventId, step: input.step ?? 0, status: 'DELETED' }),
      );
      return ev.status;
    },
    { validator: (_req) => refuse(ev.deleteRefusal()) },
  );

  setHandler(
    excludeUpdate,
    async ({ machine_ids, requested_by }) => {
      await afterRecorded();
      const all = ev.exclude(machine_ids);
      await acts.recordExclusions({ eventId, machineIds: all, requestedBy: requested_by });
      return [...ev.excluded];
    },
    { validator: ({ machine_ids }) => refuse(ev.excludeRefusal(machine_ids)) },
  );

  setHandler(manualStatusUpdate, (req) => applyManualStatus(req), {
    validator: (req) => refuse(ev.manualStatusRefusal(req)),
  });

  // The Temporal UI's and CLI's way in: same rules; a refusal is recorded, never applied (see defs.ts).
  setHandler(
    approveSignal,
    async (arg) => {
      const by = signalActor(arg);
      const refusal = ev.approveRefusal(by);
      if (refusal) return recordSignal('approve', by, arg, refusal);
      await applyApprove(by, 'signal');
      await recordSignal('approve', by, arg);
    },
    {
      description:
        'Approve this NOT_APPROVED event (and its pipeline step). Input: {"requested_by": "<name>"}',
    },
  );

  setHandler(
    manualStatusSignal,
    async (arg) => {
      const by = signalActor(arg);
      const req = manualStatusFromSignal(arg, by);
      const refusal = typeof req === 'string' ? req : ev.manualStatusRefusal(req);
      if (refusal || typeof req === 'string') return recordSignal('manual_status', by, arg, refusal);
      try {
        await applyManualStatus(req);
      } catch (err) {
        // E.g. a machine that is not part of the event: the activity refuses it; a signal must not fail the event.
        return recordSignal('manual_status', by, arg, errorMessage(err));
      }
      await recordSignal('manual_status', by, arg);
    },
    {
      description:
        'Set a manual status on a machine of a finished event. Input: {"machine_id": "…", "manual_status": "SUCCESS_MANUAL", "action_taken": "…", "requested_by": "<name>"}',
    },
  );

  setHandler(
    partialRunUpdate,
    async (req) => {
      const target = ev.requestPartialRun(req);
      // Read-your-writes: answer once the run's start (IN_PROGRESS, machines re-opened) is stored, so the
      // caller's next read does not show the old final status.
      await condition(() => ev.begunRunNo >= target);
      return target;
    },
    { validator: (_req) => refuse(ev.partialRunRefusal()) },
  );

  // Health gates (docs/behaviour.md#halted): resume / override / abort a HALTED run.
  const gateActions = ['resume', 'override', 'abort'] as const;
  const gateUpdates = { resume: resumeUpdate, override: overrideUpdate, abort: abortUpdate };
  const gateSignals = { resume: resumeSignal, override: overrideSignal, abort: abortSignal };
  for (const action of gateActions) {
    setHandler(gateUpdates[action], (req) => applyGateAction(action, req, 'update'), {
      validator: (req) => refuse(ev.gateActionRefusal(action, req?.reason)),
    });
    setHandler(
      gateSignals[action],
      async (arg) => {
        const by = signalActor(arg);
        const reason = typeof arg?.reason === 'string' ? arg.reason.slice(0, 2000) : undefined;
        const refusal = ev.gateActionRefusal(action, reason);
        if (refusal) return recordSignal(action, by, arg, refusal);
        await applyGateAction(action, { requested_by: by, reason }, 'signal');
        await recordSignal(action, by, arg);
      },
      {
        description: `${action === 'override' ? 'Override the health gates of' : action === 'resume' ? 'Resume' : 'Abort'} this HALTED event. Input: {"requested_by": "<name>"${action === 'resume' ? '' : ', "reason": "…"'}}`,
      },
    );
  }

  setHandler(setGateSignal, ({ status: gate, open, reason }) => ev.applyGate(gate, open, reason));
  setHandler(setWindowSignal, ({ end }) => ev.applyWindow(end));
  setHandler(machineDoneSignal, (r) => void finishedRuns.push(r));
  setHandler(eventViewQuery, () => ev.view());

  /**
   * The plan's maintenance objects (Alertmanager silences, Statuspage incidents) follow the event: synced at
   * generation, when an entry's lead time comes, when the window moves, when the window opens, when the event
   * ends or is deleted, and again after a failed sync. Histories from before replay without any of it.
   */
  const maint = {
    on: false,
    window: '',
    failures: 0,
    dueAtMs: undefined as number | undefined,
    retryAtMs: undefined as number | undefined,
  };

  // ---------------- upcoming ----------------
  if (!ev.recorded) {
    await acts.createEventRecord({
      eventId,
      customerId: input.customerId,
      planId: input.planId,
      start: input.start,
      end: input.end,
      status: ev.status,
      workflowId: workflowInfo().workflowId,
      pipelineId: input.pipelineId,
      pipelineRunId: input.pipelineRunId,
      step: input.step,
      origin: input.origin ?? 'adhoc',
      ...(input.operation ? { operation: input.operation } : {}),
    });
    ev.recorded = true;
    await acts.notifyEvent({
      eventId,
      type: ev.status === 'NOT_APPROVED' ? 'not_approved_patching' : 'event_new',
    });
  }

  maint.on = patched('maintenance');

  if (ev.isUpcoming()) {
    // Freeze calendars (docs/behaviour.md#freeze-calendars): judged when the event is generated (so it shows
    // the freeze days ahead, or moves at once) and again when its window opens.
    const freezes = patched('freeze-calendars');
    if (freezes) await freezeAhead(await acts.judgeEventFreeze({ eventId }));
    // incoming_patching notices at the configured lead times (default 24 h and 1 h) before the start.
    if (maint.on) await syncMaint();
    ev.setLeadTimes(await acts.incomingLeadTimes(), Date.now());
    for (;;) {
      for (;;) {
        const now = Date.now();
        if (ev.waitOver(now)) break;
        for (let lead = ev.takeDueLead(now); lead !== undefined; lead = ev.takeDueLead(now)) {
          if (ev.announcesIncoming())
            await acts.notifyEvent({ eventId, type: 'incoming_patching', leadMinutes: lead });
        }
        if (maintDue(Date.now())) await syncMaint();
        const before = ev.upcomingKey();
        await condition(
          () => ev.upcomingKey() !== before || ev.hasChangesToRecord(),
          Math.max(1, Math.min(ev.wakeAtMs(), maintWakeMs()) - now),
        );
        await recordUpcomingChanges();
      }
      // An approved event compares its targets with those it was approved on (docs/behaviour.md#approve).
      if (ev.approved || ev.approving) {
        await condition(() => !ev.approving); // a re-approval being recorded is what to compare with
        if (ev.checksApproval(Date.now())) {
          const change = await acts.checkApprovedTargets({ eventId });
          if (change.reapprove && ev.runsNow(Date.now())) {
            await askReapproval(change.reason ?? 'target set changed since the approval', change);
            continue;
          }
        }
      }
      // run_with_approval: the window opened without two people's approvals: still frozen, skipped; lifted, it
      // runs as usual (the wait above gives it its start again).
      if (freezes && ev.freezeDecisionDue(Date.now())) {
        const verdict = await acts.judgeEventFreeze({ eventId });
        if (verdict?.state === 'frozen') {
          if (await freezeAhead(verdict, true)) continue;
          break;
        }
        await liftFreezeAsk();
        continue;
      }
      if (!freezes || !ev.runsNow(Date.now())) break;
      const verdict = await acts.judgeEventFreeze({ eventId });
      if (verdict?.state !== 'frozen') {
        ev.freezeCheckMs = verdict ? Date.parse(verdict.from) : undefined;
        break;
      }
      // Opens inside a freeze: moved (and waits again for the new start), or skipped.
      if (!(await freezeAhead(verdict))) break;
    }
    // The window opens, or the event was deleted or never ran: the objects are made (a failed creation is tried
    // again here) or lifted.
    if (maint.on) await syncMaint();
    if (ev.runsNow(Date.now())) ev.run = await beginRun(0, ev.endMs, undefined);
  }

  // ---------------- run and after-run ----------------
  for (;;) {
    if (ev.run) {
      await driveRun(ev.run);
      ev.run = undefined;
      ev.touched(Date.now());
      // Ended (early or at the window end): the silence and the announcement are lifted.
      if (maint.on) await syncMaint();
    }
    if (ev.neverRan()) {
      // Deleted or never run: nothing else keeps the workflow open, so failed lifts are retried here.
      while (maint.on && maint.retryAtMs !== undefined) {
        await sleep(Math.max(1, maint.retryAtMs - Date.now()));
        await syncMaint();
      }
      break;
    }
    const woke = await condition(
      () => ev.pendingPartial !== undefined,
      Math.max(1, Math.min(ev.quietEndMs(), maintWakeMs()) - Date.now()),
    );
    if (!woke && maint.retryAtMs !== undefined && Date.now() >= maint.retryAtMs) {
      await syncMaint();
      continue;
    }
    if (!woke && Date.now() >= ev.quietEndMs()) break;
    if (ev.pendingPartial) {
      // pendingPartial stays set until the run exists, so the validator refuses a second request meanwhile.
      const req = ev.pendingPartial;
      ev.run = await beginRun(ev.runNo + 1, Date.now() + (await acts.planWindowMs({ eventId })), req);
      ev.pendingPartial = undefined;
    }
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > CAN_AFTER_HISTORY) {
      // A partial run that just began is carried with its state (it used to be dropped: the next run then
      // waited as if upcoming, IN_PROGRESS with no run).
      await carryOn(ev.run);
    }
  }
  await condition(allHandlersFinished);

  // ---------------- helpers (closures over the state above) ----------------

  /** One maintenance sync; a failure (a service down, or the store) is counted and retried later. */
  async function syncMaint(): Promise<void> {
    maint.window = `${ev.startMs}|${ev.endMs}`;
    let r: { failed: boolean; dueAtMs?: number };
    try {
      r = await syncMaintenance({
        eventId,
        status: ev.status,
        start: new Date(ev.startMs).toISOString(),
        end: new Date(ev.endMs).toISOString(),
      });
    } catch (err) {
      log.warn('maintenance sync failed', { error: errorMessage(err) });
      r = { failed: true };
    }
    maint.dueAtMs = r.dueAtMs;
    if (!r.failed) {
      maint.failures = 0;
      maint.retryAtMs = undefined;
      return;
    }
    maint.failures++;
    maint.retryAtMs =
      maint.failures > MAINT_MAX_RETRIES
        ? undefined
        : Date.now() + Math.min(MAINT_RETRY_BASE_MS * 2 ** (maint.failures - 1), MAINT_RETRY_MAX_MS);
  }

  /** A maintenance sync is due: an entry's lead time came, a retry is due, or the window moved. */
  function maintDue(nowMs: number): boolean {
    if (!maint.on) return false;
    if (maint.window !== `${ev.startMs}|${ev.endMs}`) return true;
    return nowMs >= maintWakeMs();
  }

  /** When the next maintenance sync is due if nothing happens (Infinity: none). */
  function maintWakeMs(): number {
    if (!maint.on) return Infinity;
    return Math.min(maint.dueAtMs ?? Infinity, maint.retryAtMs ?? Infinity);
  }

  async function beginRun(
    no: number,
    deadlineMs: number,
    partial: PartialRunRequest | undefined,
  ): Promise<EventRun> {
    ev.runNo = no;
    ev.runActive = true;
    ev.setStatus('IN_PROGRESS');
    const plan = await acts.beginEventRun({ eventId, runNo: no, excluded: [...ev.excluded], partial });
    ev.begunRunNo = no;
    await acts.notifyEvent({
      eventId,
      runNo: no,
      type: no === 0 ? 'patching_start' : 'partial_patching_start',
    });
    const r = EventRun.begin(no, deadlineMs, plan);
    if (r.phase === 'finalize') return r; // the scan failed
    // Global pre hooks: every one runs, whatever the others did.
    let preFailed = false;
    for (const hook of plan.preHooks) {
      const ok = await globalHook(hook, deadlineMs, no);
      if (!ok) preFailed = true;
    }
    const omitted = r.globalPreHooksDone(preFailed);
    if (omitted) await acts.markMachines({ eventId, runNo: no, ...omitted });
    return r;
  }

  async function driveRun(r: EventRun): Promise<void> {
    ev.run = r;
    if (r.phase === 'machines') await runMachines(r);
    if (r.phase === 'post') {
      for (const hook of r.state.postHooks) await globalHook(hook, r.deadlineMs, r.runNo);
      r.postHooksFinished();
    }
    ev.finalizing = true;
    const final = await acts.finalizeEvent({ eventId, runNo: r.runNo });
    ev.setStatus(final);
    // The stored status says "finished" from here on, so operator actions must be accepted from here on.
    ev.run = undefined;
    ev.runActive = false;
    ev.finalizing = false;
    ev.touched(Date.now());
    await acts.produceReport({ eventId });
    await acts.notifyEvent({
      eventId,
      runNo: r.runNo,
      type: r.runNo === 0 ? 'patching_finish' : 'partial_patching_finish',
    });
    await tellPipeline((h) =>
      h.signal(eventFinishedSignal, { eventId, step: input.step ?? 0, status: final }),
    );
  }

  /** Starts machines as the run allows and takes their reports, until every machine is settled. */
  async function runMachines(r: EventRun): Promise<void> {
    for (;;) {
      // Taken before anything in this pass awaits: an operator's resume / override / abort that lands while an
      // activity below runs (recording a halt, its notice) changes the key, so the wait at the end of this
      // pass returns at once and the next pass applies it (an abort's OMITTED), instead of sleeping to the
      // deadline with the change already seen.
      const gateKey = r.gateKey();
      r.absorb(finishedRuns.splice(0));
      const now = Date.now();
      const windowOver = r.windowOver(now);

      const dropped = r.dropUnstartable(now);
      if (dropped) await acts.markMachines({ eventId, runNo: r.runNo, ...dropped });

      await judgeFreezeWhileDue(r);
      await readGatesWhileDue(r);
      const toStart = r.takeStartable(Date.now());
      // Started in batches: one workflow task sends a batch, not one round trip per child, and the first
      // machines get going before the rest of a large group is started (issue 7 benchmark).
      for (let i = 0; i < toStart.length; i += START_BATCH) {
        await Promise.all(
          toStart.slice(i, i + START_BATCH).map((m) =>
            startChild(machineRunWorkflow, {
              workflowId: workflowIds.machineRun(eventId, m.id, r.runNo),
              args: [
                {
                  eventId,
                  customerId: input.customerId,
                  planId: input.planId,
                  machineId: m.id,
                  runNo: r.runNo,
                  deadlineMs: r.deadlineMs,
                  parentWorkflowId: workflowInfo().workflowId,
                  preHooks: m.pre ?? [],
                  postHooks: m.post ?? [],
                  localWrites: true,
                  v: 3,
                  ...(m.patchDateTag ? { patchDateTag: m.patchDateTag } : {}),
                  ...(m.standby ? { autoScalingStandby: true as const } : {}),
                  ...(m.targetGroups ? { loadBalancerTargets: true as const } : {}),
                },
              ],
              typedSearchAttributes: machineRunSearchAttributes({ ...input, machineId: m.id }),
              // Children report by signal to the event's workflow ID, which survives continue-as-new.
              parentClosePolicy: ParentClosePolicy.ABANDON,
              memo: { event: eventId, machine: m.id },
            }),
          ),
        );
      }

      if (r.machinesSettled()) break;

      if (workflowInfo().historyLength > CAN_AFTER_HISTORY || workflowInfo().continueAsNewSuggested) {
        await carryOn(r);
      }

      if (windowOver) {
        // Running machines end at the deadline themselves; give them a moment to report.
        const reported = await condition(
          () => finishedRuns.length > 0,
          Math.max(1, r.deadlineMs + REPORT_GRACE_MS - Date.now()),
        );
        if (!reported) await acts.markMachines({ eventId, runNo: r.runNo, ...r.giveUpOnInflight() });
      } else {
        // Without health gates this is the wait it always was (same timer: histories replay unchanged).
        const wakeMs = Math.min(r.deadlineMs, r.gateWakeMs(Date.now()), freezeWakeMs(r));
        await condition(
          () => finishedRuns.length > 0 || r.gateKey() !== gateKey,
          Math.max(1, wakeMs - Date.now()),
        );
      }
    }
    r.machinesFinished();
  }

  /**
   * The health gates' timer-and-activity loop: read them while a reading is due; an unhealthy one halts the
   * run (status HALTED, the probe and its answer on the timeline, a notice). Nothing here without gates.
   */
  async function readGatesWhileDue(r: EventRun): Promise<void> {
    while (r.readDue(Date.now())) {
      await condition(() => !gateWriting);
      if (!r.readDue(Date.now())) break; // an operator acted meanwhile
      let reading: Awaited<ReturnType<typeof readHealthGates>>;
      try {
        reading = await readHealthGates({ eventId, runNo: r.runNo });
      } catch (err) {
        // The reading's own retries are spent (our store away longer than they last): never fail the event for it.
        // Read again after a pause; meanwhile no machine starts (the gates have not said the fleet is healthy).
        // A history that got here before this failed its workflow, so no recorded run replays through this path.
        log.warn('health gates could not be read; reading again shortly', { error: errorMessage(err) });
        await sleep(GATE_READ_RETRY_MS);
        continue;
      }
      if (!r.gateReading(Date.now(), reading)) continue;
      await recordHalt(r);
      break;
    }
  }

  /**
   * An upcoming event's freeze verdict: `shift_to_next_open` moves the window now (answers true: wait for the
   * new start); an event whose window opens frozen (skip, or a shift beyond max_delay_hours) is DELETED with
   * the reason when the window opens (answers false). Anything else only shows on the event (`freeze`).
   */
  async function freezeAhead(v: EventFreeze | null, opening = false): Promise<boolean> {
    if (!v || v.state !== 'frozen') return false;
    if (v.action === 'shift_to_next_open' && v.shifted_to) {
      const startMs = Date.parse(v.shifted_to);
      const endMs = startMs + (ev.endMs - ev.startMs);
      ev.moveWindow(startMs, endMs);
      await acts.recordEventMove({
        eventId,
        start: v.shifted_to,
        end: new Date(endMs).toISOString(),
        reason: v.reason,
      });
      return true;
    }
    const now = Date.now();
    let unapproved = '';
    if (v.action === 'run_with_approval' && patched('freeze-run-with-approval')) {
      const open = now >= ev.startMs && now < ev.endMs;
      if (ev.freezeApproved()) {
        // Approved by two people: it runs inside the freeze (the caller starts it when the window is open).
        if (open)
          await acts.recordEventNote({
            eventId,
            key: `freeze_approved_run/${ev.startMs}`,
            type: 'freeze_approved_run',
            message: `runs inside the freeze: ${v.reason} (${v.from} to ${v.until}), approved by ${ev.freezeApprovers.join(' and ')}`,
          });
        return false;
      }
      if (!open) {
        if (ev.askFreezeApproval(v.reason)) await recordFreezeAsk(v);
        return false;
      }
      opening = opening || ev.notStarted();
      const n = ev.freezeApprovers.length;
      unapproved = `; not approved by two people (${n} of 2${n ? `: ${ev.freezeApprovers.join(', ')}` : ''})`;
    }
    // Not open yet: the window opening judges again.
    if (!opening && (now < ev.startMs || !ev.runsNow(now))) return false;
    if (ev.status === 'DELETED') return false;
    ev.setStatus('DELETED');
    await acts.recordEventStatus({
      eventId,
      status: 'DELETED',
      timeline: {
        type: 'freeze_skipped',
        message: `not run: ${v.reason} (${v.from} to ${v.until})${unapproved}`,
      },
    });
    await tellPipeline((h) =>
      h.signal(eventFinishedSignal, { eventId, step: input.step ?? 0, status: 'DELETED' }),
    );
    return false;
  }

  /**
   * run_with_approval: the window opens inside the freeze, so the event is NOT_APPROVED until two people approve
   * it; the reason on the timeline and in a not_approved_patching notice.
   */
  async function recordFreezeAsk(v: EventFreeze): Promise<void> {
    const reason =
      `${v.reason} (${v.from} to ${v.until}): runs inside the freeze only if two different people ` +
      `(API keys) approve it before its window opens`;
    await acts.recordEventStatus({
      eventId,
      status: 'NOT_APPROVED',
      timeline: { type: 'freeze_approval_needed', message: reason },
    });
    await acts.notifyEvent({ eventId, type: 'not_approved_patching', reason });
  }

  /** The freeze that asked for two approvals was lifted before the window: the event goes back to its status. */
  async function liftFreezeAsk(): Promise<void> {
    const back = ev.liftFreezeAsk();
    if (back)
      await acts.recordEventStatus({
        eventId,
        status: back,
        timeline: {
          type: 'freeze_lifted',
          message: `the freeze was lifted before the window opened: no approval needed to run it, it is ${back} again`,
        },
      });
  }

  /** When a freeze must be judged again during the run (Infinity: none ahead, halted, or overridden). */
  function freezeWakeMs(r: EventRun): number {
    if (ev.freezeCheckMs === undefined || r.haltedBy() || r.state.gate?.overridden) return Infinity;
    return ev.freezeCheckMs;
  }

  /**
   * A freeze that begins while the run goes on halts it like a failed health gate (cause `freeze`); after a
   * resume the freezes are judged again before the next machine starts (still frozen: halted again). An
   * override ends freeze checks for the rest of the run.
   */
  async function judgeFreezeWhileDue(r: EventRun): Promise<void> {
    if (Date.now() < freezeWakeMs(r) || r.state.pending.length === 0) return;
    const v = await acts.judgeEventFreeze({ eventId, fromNow: true });
    if (v?.state === 'frozen') {
      ev.freezeCheckMs = Date.now(); // judged again as soon as an operator resumes
      const cause = {
        kind: 'freeze' as const,
        probe: v.calendar_name,
        answer: `${v.reason} until ${v.until}`,
      };
      if (r.halt(Date.now(), cause)) await recordHalt(r);
      return;
    }
    ev.freezeCheckMs = v ? Date.parse(v.from) : undefined;
  }

  /**
   * The one way a halt is recorded (docs/behaviour.md#halted): the run's state is already halted, by a failed
   * gate reading or by `r.halt(now, cause)` for another cause (a freeze: `if (r.halt(now, cause)) await
   * recordHalt(r)`). The status becomes HALTED, the timeline says why, a `patching_halted` notice goes out.
   */
  async function recordHalt(r: EventRun): Promise<void> {
    const halted = r.haltedBy();
    if (!halted) return;
    const why = haltCauseText(halted);
    await gateWrite(async () => {
      ev.setStatus('HALTED');
      await acts.recordEventStatus({
        eventId,
        status: 'HALTED',
        timeline: {
          type: 'halted',
          message: `halted: ${why}; no new machine starts until an operator resumes, overrides or aborts`,
        },
      });
    });
    await acts.notifyEvent({ eventId, runNo: r.runNo, type: 'patching_halted', reason: why });
  }

  async function gateWrite(write: () => Promise<void>): Promise<void> {
    await condition(() => !gateWriting);
    gateWriting = true;
    try {
      await write();
    } finally {
      gateWriting = false;
    }
  }

  /** resume / override / abort of a HALTED run: applied to the run, stored, on the timeline. */
  async function applyGateAction(
    action: 'resume' | 'override' | 'abort',
    req: GateActionRequest,
    via: 'update' | 'signal',
  ): Promise<EventStatus> {
    const by = `${req.requested_by}${via === 'signal' ? ' (Temporal signal)' : ''}`;
    const reason = req.reason?.trim();
    await gateWrite(async () => {
      const r = ev.run;
      if (!r || ev.status !== 'HALTED') return; // the window ended meanwhile: nothing left to answer
      const halted = r.haltedBy();
      const a: GateAction =
        action === 'abort'
          ? { kind: 'abort', reason: `aborted by ${by}${reason ? `: ${reason}` : ''}` }
          : { kind: action };
      r.applyGateAction(a);
      ev.setStatus('IN_PROGRESS');
      const what = {
        resume: `resumed by ${by}: the health gates are read again before the next machine starts`,
        override: `health gates overridden by ${by} for the rest of this run: ${reason ?? ''}`,
        abort: `aborted by ${by}${reason ? `: ${reason}` : ''}: machines not started become OMITTED`,
      }[action];
      await acts.recordEventStatus({
        eventId,
        status: 'IN_PROGRESS',
        timeline: {
          type: { resume: 'resumed', override: 'gates_overridden', abort: 'aborted' }[action],
          message: `${what}${halted ? ` (halted by ${halted.kind === 'freeze' ? 'freeze ' : ''}${halted.probe})` : ''}`,
        },
      });
    });
    return ev.status;
  }

  async function globalHook(hook: HookBrief, deadlineMs: number, no: number): Promise<boolean> {
    if (Date.now() >= deadlineMs) {
      await acts.recordHookNotStarted({ eventId, runNo: no, name: hook.name });
      return false;
    }
    const r = await runRemoteHook({ eventId, runNo: no, name: hook.name, deadlineMs });
    return r.success;
  }

  /** Gate and window changes before the start are kept on the record and announced. */
  async function recordUpcomingChanges(): Promise<void> {
    for (let end = ev.nextWindowChange(); end !== undefined; end = ev.nextWindowChange())
      await acts.recordEventWindow({ eventId, end });
    for (let gate = ev.nextGateChange(); gate !== undefined; gate = ev.nextGateChange()) {
      if (gate === 'DELETED') {
        await recordPolicyDeletion(ev.policyDeletionReason ?? 'the previous pipeline step did not succeed');
        continue;
      }
      const why = gate === 'NOT_APPROVED' ? ev.gateReason : undefined;
      await acts.recordEventStatus({
        eventId,
        status: gate,
        timeline: { type: 'gate', message: `pipeline gate: ${gate}${why ? ` (${why})` : ''}` },
      });
      if (gate === 'NOT_APPROVED')
        await acts.notifyEvent({ eventId, type: 'not_approved_patching', ...(why ? { reason: why } : {}) });
    }
  }

  /**
   * A write that arrives with the workflow's first task (an approval right after the start) waits until the
   * event's record exists, so its status and timeline row never race the record's insert. Histories from
   * before this replay without the wait.
   */
  async function afterRecorded(): Promise<void> {
    if (!ev.recorded && patched('writes-after-record')) await condition(() => ev.recorded);
  }

  async function applyApprove(requestedBy: string, via: 'update' | 'signal'): Promise<EventStatus> {
    await afterRecorded();
    const signalled = via === 'signal' ? ' (Temporal signal)' : '';
    // A freeze under run_with_approval wants two people (docs/behaviour.md#freeze-calendars): the first one's
    // approval is counted and recorded, and the event stays NOT_APPROVED ("1 of 2").
    const freezeAsk = ev.freezeApprovalPending() ? ev.freezeAsk : undefined;
    const completesFreeze = freezeAsk !== undefined && ev.takeFreezeApproval(requestedBy);
    if (freezeAsk && !completesFreeze) {
      ev.approving = true; // the next approval waits until this one is recorded (the store keeps their order)
      try {
        await acts.recordEventStatus({
          eventId,
          status: 'NOT_APPROVED',
          timeline: {
            type: 'approved',
            message: `${freezeApprovalLine(ev.freezeApprovers, freezeAsk.reason)}${signalled}`,
          },
        });
      } finally {
        ev.approving = false;
      }
      return ev.status;
    }
    const next = ev.approvedStatus();
    // Approvals record what they were given on (the targets then); histories from before replay without it.
    const records = patched('approval-record');
    ev.approving = records;
    ev.reapprovalAsked = false;
    ev.setStatus(next);
    try {
      await acts.recordEventStatus({
        eventId,
        status: next,
        timeline: {
          type: 'approved',
          message:
            freezeAsk && completesFreeze
              ? `${freezeApprovalLine(ev.freezeApprovers, freezeAsk.reason)}${signalled}`
              : `approved by ${requestedBy}${signalled}`,
        },
      });
      if (records) {
        await acts.recordApproval({ eventId, by: requestedBy, via });
        ev.approved = true;
      }
    } finally {
      ev.approving = false;
    }
    // Approving one event approves its whole step; the pipeline run decides when APPROVED becomes NEW.
    await tellPipeline((h) =>
      h.signal(stepApprovedSignal, { step: input.step ?? 0, eventId, requested_by: requestedBy }),
    );
    return next;
  }

  /**
   * The window opened on targets that changed by more than the plan allows since the approval: NOT_APPROVED
   * again, with the reason on the timeline, in the audit log and in a not_approved_patching notice.
   */
  async function askReapproval(reason: string, change: { added?: number; removed?: number }): Promise<void> {
    ev.askReapproval();
    await acts.recordEventStatus({
      eventId,
      status: 'NOT_APPROVED',
      timeline: { type: 'reapproval_needed', message: reason },
    });
    const info = workflowInfo();
    await acts.recordWorkflowAudit({
      key: `reapproval/${info.workflowId}/${info.runId}/${++reapprovalSeq}`,
      customerId: input.customerId,
      actor: 'patchwave:reapproval-check',
      action: 'reapproval_needed',
      resource: 'event',
      resourceId: eventId,
      before: { status: 'NEW' },
      after: { status: 'NOT_APPROVED' },
      details: { reason, added: change.added ?? 0, removed: change.removed ?? 0 },
    });
    await acts.notifyEvent({ eventId, type: 'not_approved_patching', reason });
  }

  async function applyManualStatus(req: ManualStatusRequest): Promise<EventStatus> {
    ev.manualApplying++;
    try {
      // Accepted while the run stores its final status (a reader already sees it): apply after the run.
      await condition(() => !ev.runActive);
      const next = await acts.applyManualStatus({ eventId, runNo: ev.runNo, ...req });
      ev.setStatus(next);
      ev.touched(Date.now());
      await acts.produceReport({ eventId });
      if (isEventFinished(next))
        await tellPipeline((h) =>
          h.signal(eventFinishedSignal, { eventId, step: input.step ?? 0, status: next }),
        );
      return next;
    } finally {
      ev.manualApplying--;
    }
  }

  /** Signals carry what a person typed in the UI: each field is checked, the first problem is the refusal. */
  function manualStatusFromSignal(
    arg: Partial<ManualStatusRequest> | undefined,
    by: string,
  ): ManualStatusRequest | string {
    if (!arg || typeof arg !== 'object')
      return 'the input must be a JSON object {machine_id, manual_status, action_taken}';
    if (typeof arg.machine_id !== 'string' || !arg.machine_id) return 'machine_id is required';
    if (typeof arg.manual_status !== 'string' || !MANUAL_STATUSES.includes(arg.manual_status))
      return `manual_status must be one of ${MANUAL_STATUSES.join(', ')}`;
    if (arg.action_taken !== undefined && typeof arg.action_taken !== 'string')
      return 'action_taken must be a string';
    return {
      machine_id: arg.machine_id,
      manual_status: arg.manual_status,
      ...(arg.action_taken !== undefined ? { action_taken: arg.action_taken.slice(0, 4000) } : {}),
      requested_by: by,
    };
  }

  /** Timeline and audit log of an operator signal: applied, or refused with the reason. */
  async function recordSignal(action: string, by: string, arg: unknown, refusal?: string): Promise<void> {
    const seq = ++signalSeq;
    const info = workflowInfo();
    if (refusal)
      await acts.recordEventNote({
        eventId,
        key: `signal/${info.runId}/${seq}`,
        type: 'signal_refused',
        message: `${action} signal from ${by} refused: ${refusal}`,
      });
    await acts.recordWorkflowAudit({
      key: `signal/${info.workflowId}/${info.runId}/${seq}`,
      customerId: input.customerId,
      actor: by,
      action: refusal ? `${action}_refused` : action,
      resource: 'event',
      resourceId: eventId,
      after: { status: ev.status },
      details: { via: 'temporal_signal', input: arg ?? null, ...(refusal ? { reason: refusal } : {}) },
    });
  }

  /** The `success` policy removed this event: timeline, audit log and a notice say which step failed. */
  async function recordPolicyDeletion(reason: string): Promise<void> {
    await acts.recordEventStatus({
      eventId,
      status: 'DELETED',
      timeline: { type: 'deleted', message: `not run (pipeline policy success): ${reason}` },
    });
    await acts.recordWorkflowAudit({
      key: `policy-deleted/${eventId}`,
      customerId: input.customerId,
      actor: 'pipeline-policy:success',
      action: 'delete',
      resource: 'event',
      resourceId: eventId,
      after: { status: 'DELETED' },
      details: { policy: 'success', reason, pipeline_run_id: input.pipelineRunId, step: input.step },
    });
    await acts.notifyEvent({ eventId, type: 'not_approved_patching', reason });
  }

  async function tellPipeline(
    send: (h: ReturnType<typeof getExternalWorkflowHandle>) => Promise<void>,
  ): Promise<void> {
    if (!input.pipelineRunId) return;
    try {
      await send(getExternalWorkflowHandle(workflowIds.pipelineRun(input.pipelineRunId)));
    } catch (err) {
      log.warn('pipeline run is gone', { error: String(err) });
    }
  }

  async function carryOn(r: EventRun | undefined): Promise<never> {
    await condition(allHandlersFinished);
    // Reports that arrived while children were being started live only in this run's memory: fold them
    // into the carried state, or those machines would stay "in flight" until the window end + grace.
    // (No await from here on, so nothing else can arrive before the hand-over.)
    r?.absorb(finishedRuns.splice(0));
    log.info('continuing as new', { historyLength: workflowInfo().historyLength });
    return continueAsNew<typeof eventWorkflow>({
      ...input,
      carried: ev.carried(r),
    });
  }
}
