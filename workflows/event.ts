/**
 * `event/<event_id>`: one event from creation to the end of its after-life (product.md §3, §5).
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
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import {
  approveUpdate,
  deleteUpdate,
  eventViewQuery,
  excludeUpdate,
  machineDoneSignal,
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
  type PartialRunRequest,
} from './defs';
import { machineRunWorkflow } from './machine-run';
import { workflowIds } from '../domain/ids';
import { machineRunSearchAttributes, SA } from '../domain/search-attributes';
import { isEventFinished } from '../domain/finished';
import type { EventStatus, MachineStatus } from '../domain/statuses';

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

/** How long a finished event stays open for manual changes and partial runs before it closes. */
const QUIET_CLOSE_MS = 3 * 24 * 3600_000;
/** Children in flight at once when a group is "unlimited" (Temporal: ≤ 2,000 pending children per run). */
const MAX_INFLIGHT = 500;
const CAN_AFTER_HISTORY = 9_000;
/** Children started per workflow task. */
const START_BATCH = 20;
/** After the window end, how long to wait for running machine runs to report before marking them ERROR. */
const REPORT_GRACE_MS = 5 * 60_000;

const SUCCESS: MachineStatus[] = ['SUCCESS', 'SUCCESS_NO_UPDATES'];

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
}

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
  errors: number;
  stopReason?: string;
  total: number;
  done: number;
}

export async function eventWorkflow(input: EventWorkflowInput): Promise<void> {
  const { eventId } = input;
  const startMs = Date.parse(input.start);
  let endMs = input.carried?.endMs ?? Date.parse(input.end);
  let gated = input.carried?.gated ?? input.gated ?? false;
  let status: EventStatus = input.carried?.status ?? input.initialStatus;
  let runNo = input.carried?.runNo ?? 0;
  const excluded = new Set<string>(input.carried?.excluded ?? []);
  let run: RunState | undefined = input.carried?.run as RunState | undefined;
  let recorded = input.carried !== undefined;
  let quietSinceMs = input.carried?.quietSinceMs ?? Date.now();
  let pendingPartial: PartialRunRequest | undefined;
  const finishedRuns: MachineRunResult[] = [];
  const gateChanges: EventStatus[] = [];
  const windowChanges: string[] = [];

  const setStatus = (s: EventStatus) => {
    status = s;
    upsertSearchAttributes([{ key: SA.status, value: s }]);
  };
  upsertSearchAttributes([
    { key: SA.kind, value: 'event' },
    { key: SA.customer, value: input.customerId },
    { key: SA.plan, value: input.planId },
    { key: SA.event, value: eventId },
    { key: SA.status, value: status },
    { key: SA.windowStart, value: new Date(startMs) },
    ...(input.pipelineId ? [{ key: SA.pipeline, value: input.pipelineId }] : []),
  ]);

  const notStarted = () => run === undefined && !isEventFinished(status) && status !== 'IN_PROGRESS';

  // ---------------- handlers ----------------
  setHandler(registeredUpdate, async () => {
    await condition(() => recorded);
    return acts.getEventRecord({ eventId });
  });

  setHandler(
    approveUpdate,
    async ({ requested_by }) => {
      // Outside a pipeline there is no one to wait for: approval makes the event runnable at once.
      const next: EventStatus = input.pipelineRunId ? 'APPROVED' : 'NEW';
      setStatus(next);
      await acts.recordEventStatus({
        eventId,
        status: next,
        timeline: { type: 'approved', message: `approved by ${requested_by}` },
      });
      // Approving one event approves its whole step; the pipeline run decides when APPROVED becomes NEW.
      await tellPipeline((h) =>
        h.signal(stepApprovedSignal, { step: input.step ?? 0, eventId, requested_by }),
      );
      return next;
    },
    {
      validator: (_req) => {
        if (status !== 'NOT_APPROVED')
          throw new Error(`only a NOT_APPROVED event can be approved; this one is ${status}`);
      },
    },
  );

  setHandler(
    deleteUpdate,
    async ({ requested_by }) => {
      setStatus('DELETED');
      await acts.recordEventStatus({
        eventId,
        status: 'DELETED',
        timeline: { type: 'deleted', message: `deleted by ${requested_by}` },
      });
      await tellPipeline((h) =>
        h.signal(eventFinishedSignal, { eventId, step: input.step ?? 0, status: 'DELETED' }),
      );
      return status;
    },
    {
      validator: (_req) => {
        if (!notStarted())
          throw new Error(`an event that is ${status} cannot be deleted; only upcoming events can`);
      },
    },
  );

  setHandler(
    excludeUpdate,
    async ({ machine_ids, requested_by }) => {
      machine_ids.forEach((m) => excluded.add(m));
      await acts.recordExclusions({ eventId, machineIds: [...excluded], requestedBy: requested_by });
      return [...excluded];
    },
    {
      validator: ({ machine_ids }) => {
        if (!notStarted())
          throw new Error(`machines can only be excluded before the event starts; it is ${status}`);
        if (!Array.isArray(machine_ids) || machine_ids.length === 0)
          throw new Error('machine_ids must not be empty');
      },
    },
  );

  setHandler(
    manualStatusUpdate,
    async (req) => {
      const next = await acts.applyManualStatus({ eventId, runNo, ...req });
      setStatus(next);
      quietSinceMs = Date.now();
      await acts.produceReport({ eventId });
      if (isEventFinished(next))
        await tellPipeline((h) =>
          h.signal(eventFinishedSignal, { eventId, step: input.step ?? 0, status: next }),
        );
      return next;
    },
    {
      validator: (req) => {
        if (run !== undefined || !(isEventFinished(status) || status === 'IN_PROGRESS'))
          throw new Error(
            `manual status changes need a finished event; this one is ${status}${run ? ' (running)' : ''}`,
          );
        if (
          (req.manual_status === 'SUCCESS_MANUAL' || req.manual_status === 'FAILED_MANUAL') &&
          !req.action_taken?.trim()
        )
          throw new Error(`action_taken is required for ${req.manual_status}`);
      },
    },
  );

  setHandler(
    partialRunUpdate,
    (req) => {
      pendingPartial = req;
      return runNo + 1;
    },
    {
      validator: (_req) => {
        if (run !== undefined || pendingPartial || !isEventFinished(status))
          throw new Error(
            `partial patching needs a finished event; this one is ${status}${run || pendingPartial ? ' (running)' : ''}`,
          );
      },
    },
  );

  setHandler(setGateSignal, ({ status: gate, open }) => {
    if (!notStarted() || status === 'DELETED') return;
    if (open) gated = false;
    // An operator's approval is not undone by a later gate decision (seed 001: B stays NOT_APPROVED).
    if (gate !== status) {
      setStatus(gate);
      gateChanges.push(gate);
    }
  });

  setHandler(setWindowSignal, ({ end }) => {
    if (notStarted()) {
      endMs = Date.parse(end);
      windowChanges.push(end);
    }
  });

  setHandler(machineDoneSignal, (r) => {
    finishedRuns.push(r);
  });

  setHandler(eventViewQuery, () => ({
    eventId,
    status,
    runNo,
    running: run !== undefined,
    machinesDone: run?.done ?? 0,
    machinesTotal: run?.total ?? 0,
  }));

  // ---------------- upcoming ----------------
  if (!recorded) {
    await acts.createEventRecord({
      eventId,
      customerId: input.customerId,
      planId: input.planId,
      start: input.start,
      end: input.end,
      status,
      workflowId: workflowInfo().workflowId,
      pipelineId: input.pipelineId,
      pipelineRunId: input.pipelineRunId,
      step: input.step,
      origin: input.origin ?? 'adhoc',
    });
    recorded = true;
    await acts.notifyEvent({
      eventId,
      type: status === 'NOT_APPROVED' ? 'not_approved_patching' : 'event_new',
    });
  }

  if (run === undefined && !isEventFinished(status) && status !== 'DELETED') {
    // Only a NEW event runs; it runs at `start`, or late if it became NEW inside its window.
    // incoming_patching notices at the configured lead times (default 24 h and 1 h) before the start.
    const leads = (await acts.incomingLeadTimes()).filter((m) => startMs - m * 60_000 > Date.now());
    for (;;) {
      if ((status as EventStatus) === 'DELETED') break;
      const now = Date.now();
      if (status === 'NEW' && !gated && now >= startMs) break;
      if (now >= endMs) break;
      while (leads.length > 0 && now >= startMs - leads[0] * 60_000) {
        const lead = leads.shift()!;
        if (status === 'NEW' || status === 'APPROVED' || status === 'NOT_APPROVED')
          await acts.notifyEvent({ eventId, type: 'incoming_patching', reason: `${lead}` });
      }
      const nextLead = leads.length > 0 ? startMs - leads[0] * 60_000 : Infinity;
      const wakeAt = Math.min(nextLead, status === 'NEW' && !gated ? startMs : endMs);
      const before = { status, gated, endMs };
      await condition(
        () =>
          status !== before.status ||
          gated !== before.gated ||
          endMs !== before.endMs ||
          gateChanges.length + windowChanges.length > 0,
        Math.max(1, wakeAt - now),
      );
      await recordUpcomingChanges();
    }
    // An event whose window passed while it was not NEW never runs (product.md §5).
    if (status === 'NEW' && !gated && Date.now() < endMs) {
      run = await beginRun(0, endMs, undefined);
    }
  }

  // ---------------- run and after-run ----------------
  for (;;) {
    if (run) {
      await driveRun(run);
      run = undefined;
      quietSinceMs = Date.now();
    }
    if (status === 'DELETED' || (!isEventFinished(status) && status !== 'IN_PROGRESS')) break; // never ran
    const quietLeft = quietSinceMs + QUIET_CLOSE_MS - Date.now();
    const woke = await condition(() => pendingPartial !== undefined, Math.max(1, quietLeft));
    if (!woke && Date.now() >= quietSinceMs + QUIET_CLOSE_MS) break;
    if (pendingPartial) {
      // pendingPartial stays set until the run exists, so the validator refuses a second request meanwhile.
      const req = pendingPartial;
      run = await beginRun(runNo + 1, Date.now() + (await acts.planWindowMs({ eventId })), req);
      pendingPartial = undefined;
    }
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > CAN_AFTER_HISTORY) {
      await carryOn(undefined);
    }
  }
  await condition(allHandlersFinished);

  // ---------------- helpers (closures over the state above) ----------------

  async function beginRun(
    no: number,
    deadlineMs: number,
    partial: PartialRunRequest | undefined,
  ): Promise<RunState> {
    runNo = no;
    setStatus('IN_PROGRESS');
    const plan = await acts.beginEventRun({ eventId, runNo: no, excluded: [...excluded], partial });
    await acts.notifyEvent({
      eventId,
      runNo: no,
      type: no === 0 ? 'patching_start' : 'partial_patching_start',
    });
    const state: RunState = {
      runNo: no,
      deadlineMs,
      phase: 'machines',
      preFailed: false,
      postHooks: plan.postHooks,
      pending: [...plan.machines].sort((a, b) => a.order - b.order),
      inflight: [],
      maxConcurrency: plan.maxConcurrency,
      maxErrors: plan.maxErrors,
      errors: 0,
      total: plan.machines.length,
      done: 0,
    };
    if (plan.scanError) {
      state.phase = 'finalize';
      return state;
    }
    // Global pre hooks: every one runs; a failure omits every machine and skips the post hooks.
    for (const hook of plan.preHooks) {
      const ok = await globalHook(hook, deadlineMs, no);
      if (!ok) state.preFailed = true;
    }
    if (state.preFailed) {
      await acts.markMachines({
        eventId,
        runNo: no,
        machineIds: state.pending.map((m) => m.id),
        status: 'OMITTED',
        reason: 'a global pre hook failed',
      });
      state.done = state.total;
      state.pending = [];
      state.phase = 'finalize';
    }
    return state;
  }

  async function driveRun(s: RunState): Promise<void> {
    run = s;
    if (s.phase === 'machines') await runMachines(s);
    if (s.phase === 'post') {
      for (const hook of s.postHooks) await globalHook(hook, s.deadlineMs, s.runNo);
      s.phase = 'finalize';
    }
    const final = await acts.finalizeEvent({ eventId, runNo: s.runNo });
    setStatus(final);
    // The stored status says "finished" from here on, so operator actions must be accepted from here on.
    run = undefined;
    quietSinceMs = Date.now();
    await acts.produceReport({ eventId });
    await acts.notifyEvent({
      eventId,
      runNo: s.runNo,
      type: s.runNo === 0 ? 'patching_finish' : 'partial_patching_finish',
    });
    await tellPipeline((h) =>
      h.signal(eventFinishedSignal, { eventId, step: input.step ?? 0, status: final }),
    );
  }

  async function runMachines(s: RunState): Promise<void> {
    for (;;) {
      absorbFinished(s);
      const now = Date.now();
      const windowOver = now >= s.deadlineMs;

      if (s.pending.length > 0 && (windowOver || s.stopReason)) {
        const ids = s.pending.map((m) => m.id);
        s.pending = [];
        s.done += ids.length;
        await acts.markMachines(
          windowOver
            ? {
                eventId,
                runNo: s.runNo,
                machineIds: ids,
                status: 'NOT_IN_TIME_WINDOW',
                reason: 'the window ended before the machine could start',
              }
            : { eventId, runNo: s.runNo, machineIds: ids, status: 'OMITTED', reason: s.stopReason! },
        );
      }

      // Start what the current order group and the concurrency limit allow.
      if (s.inflight.length === 0 && s.pending.length > 0) s.currentOrder = s.pending[0].order;
      const limit = Math.min(s.maxConcurrency ?? MAX_INFLIGHT, MAX_INFLIGHT);
      const toStart: RunMachine[] = [];
      while (
        s.pending.length > 0 &&
        s.pending[0].order === s.currentOrder &&
        s.inflight.length + toStart.length < limit
      ) {
        toStart.push(s.pending.shift()!);
      }
      // Started in batches: one workflow task sends a batch, not one round trip per child, and the first
      // machines get going before the rest of a large group is started (issue 7 benchmark).
      for (const m of toStart) s.inflight.push(m.id);
      for (let i = 0; i < toStart.length; i += START_BATCH) {
        await Promise.all(
          toStart.slice(i, i + START_BATCH).map((m) =>
            startChild(machineRunWorkflow, {
              workflowId: workflowIds.machineRun(eventId, m.id, s.runNo),
              args: [
                {
                  eventId,
                  customerId: input.customerId,
                  planId: input.planId,
                  machineId: m.id,
                  runNo: s.runNo,
                  deadlineMs: s.deadlineMs,
                  parentWorkflowId: workflowInfo().workflowId,
                  preHooks: m.pre ?? [],
                  postHooks: m.post ?? [],
                  steps: 2,
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

      if (s.inflight.length === 0 && s.pending.length === 0) break;

      if (workflowInfo().historyLength > CAN_AFTER_HISTORY || workflowInfo().continueAsNewSuggested) {
        await carryOn(s);
      }

      if (windowOver) {
        // Running machines end at the deadline themselves; give them a moment to report.
        const reported = await condition(
          () => finishedRuns.length > 0,
          Math.max(1, s.deadlineMs + REPORT_GRACE_MS - Date.now()),
        );
        if (!reported) {
          await acts.markMachines({
            eventId,
            runNo: s.runNo,
            machineIds: s.inflight,
            status: 'ERROR',
            reason: 'the machine run did not report after the window ended',
          });
          s.done += s.inflight.length;
          s.inflight = [];
        }
      } else {
        await condition(() => finishedRuns.length > 0, Math.max(1, s.deadlineMs - Date.now()));
      }
    }
    s.phase = s.preFailed ? 'finalize' : 'post';
  }

  function absorbFinished(s: RunState): void {
    while (finishedRuns.length > 0) {
      const r = finishedRuns.shift()!;
      if (r.runNo !== s.runNo) continue;
      const i = s.inflight.indexOf(r.machineId);
      if (i < 0) continue; // duplicate report
      s.inflight.splice(i, 1);
      s.done++;
      if (!SUCCESS.includes(r.status)) s.errors++;
      if (r.hostHookFailed && !s.stopReason) s.stopReason = `a host hook of machine ${r.machineId} failed`;
      if (s.maxErrors !== undefined && s.errors >= s.maxErrors && !s.stopReason)
        s.stopReason = `max_errors (${s.maxErrors}) reached`;
    }
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
    while (windowChanges.length > 0) {
      const end = windowChanges.shift()!;
      await acts.recordEventWindow({ eventId, end });
    }
    while (gateChanges.length > 0) {
      const gate = gateChanges.shift()!;
      await acts.recordEventStatus({
        eventId,
        status: gate,
        timeline: { type: 'gate', message: `pipeline gate: ${gate}` },
      });
      if (gate === 'NOT_APPROVED') await acts.notifyEvent({ eventId, type: 'not_approved_patching' });
    }
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

  async function carryOn(s: RunState | undefined): Promise<never> {
    await condition(allHandlersFinished);
    // Reports that arrived while children were being started live only in this run's memory: fold them
    // into the carried state, or those machines would stay "in flight" until the window end + grace.
    // (No await from here on, so nothing else can arrive before the hand-over.)
    if (s) absorbFinished(s);
    log.info('continuing as new', { historyLength: workflowInfo().historyLength });
    return continueAsNew<typeof eventWorkflow>({
      ...input,
      carried: { status, runNo, excluded: [...excluded], quietSinceMs, run: s, gated, endMs },
    });
  }
}
