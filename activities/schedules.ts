import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { Config } from '../common/config';
import type { Stores } from '../store/stores';
import { eventIdFor, pipelineRunIdFor, workflowIds } from '../domain/event';
import { pipelineRunStart } from '../domain/ids';
import { occurrencesBetween } from '../domain/schedule';
import { windowEnd } from '../domain/window';
import type { PipelineStep, PromotionGate, StepPolicy } from '../domain/pipeline';
import type { StepStats } from '../workflows/pipeline-run-state';
import { deleteUpdate, setWindowSignal, type EventWorkflowInput } from '../workflows/defs';

/** Machine statuses a promotion gate counts as succeeded. */
const SUCCEEDED = new Set<string>(['SUCCESS', 'SUCCESS_NO_UPDATES', 'SUCCESS_MANUAL']);

export interface RunStep {
  step: number;
  policy: StepPolicy;
  eventIds: string[];
  /** The step's promotion gate (absent in runs created before gates existed). */
  gate?: PromotionGate;
  /**
   * An `always` step that must still wait for the previous step: it has a gate, or installs what the previous
   * step proved (promotion other than `latest`).
   */
  waits?: true;
}

/**
 * Reconcilers: given what a plan or pipeline says now, make the upcoming events (or pipeline runs) inside
 * the horizon exist, and remove or adjust the ones that no longer match. Idempotent by construction:
 * workflow IDs come from (plan, start), and a start that already exists is left alone.
 */
export function createScheduleActivities(deps: {
  stores: Pick<Stores, 'events' | 'plans' | 'pipelines'>;
  client: Client;
  config: Pick<Config, 'SCHEDULE_HORIZON_HOURS' | 'PATCHWAVE_TASK_QUEUE'>;
  /** Judges an upcoming event against the freeze calendars again (stored on the event; its workflow acts at the start). */
  judgeFreeze?: (a: { eventId: string }) => Promise<unknown>;
}) {
  const { events: records, plans, pipelines } = deps.stores;
  const horizonMs = () => deps.config.SCHEDULE_HORIZON_HOURS * 3600_000;

  async function startEvent(input: EventWorkflowInput): Promise<void> {
    try {
      await deps.client.workflow.start('eventWorkflow', {
        workflowId: workflowIds.event(input.eventId),
        taskQueue: deps.config.PATCHWAVE_TASK_QUEUE,
        args: [input],
        // An event ID is used once: a deleted or finished event is never created again by a re-scan.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  async function deleteEvent(eventId: string): Promise<void> {
    try {
      await deps.client.workflow
        .getHandle(workflowIds.event(eventId))
        .executeUpdate(deleteUpdate, { args: [{ requested_by: 'scheduler' }] });
    } catch {
      /* started or finished meanwhile: it keeps its course */
    }
  }

  async function startPipelineRun(a: { pipelineId: string; start: string }): Promise<{ runId: string }> {
    const p = await pipelines.getById(a.pipelineId);
    if (!p) throw new Error(`pipeline ${a.pipelineId} not found`);
    const runId = pipelineRunIdFor(a.pipelineId, a.start);
    try {
      await deps.client.workflow.start('pipelineRunWorkflow', {
        workflowId: workflowIds.pipelineRun(runId),
        taskQueue: deps.config.PATCHWAVE_TASK_QUEUE,
        args: [{ runId, pipelineId: a.pipelineId, customerId: p.customer_id, start: a.start }],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    return { runId };
  }

  return {
    startPipelineRun,

    /** Keeps a plan's own upcoming events in line with its cron and window. Returns when to look again. */
    async reconcilePlanEvents({
      planId,
    }: {
      planId: string;
    }): Promise<{ active: boolean; nextCheckMs: number }> {
      const now = Date.now();
      const plan = await plans.getById(planId);
      // A plan that a pipeline uses is scheduled by the pipeline, not by its own cron.
      const active = Boolean(
        plan && plan.enabled !== false && !(await pipelines.planIdsInPipelines(plan.customer_id)).has(planId),
      );
      const upcoming = await records.upcomingEventsOfPlan(planId);
      const wanted = new Map<string, Date>();
      if (active && plan) {
        for (const s of occurrencesBetween(plan.cron, new Date(now), new Date(now + horizonMs())))
          wanted.set(eventIdFor(planId, s), s);
      }
      for (const e of upcoming) {
        if (Date.parse(e.start) <= now) continue; // its window is open: not ours to change
        if (!wanted.has(e.id)) {
          await deleteEvent(e.id);
          continue;
        }
        // Calendars may have changed: the event shows the freeze it meets now (its workflow acts at the start).
        if (deps.judgeFreeze) await deps.judgeFreeze({ eventId: e.id });
        if (plan && Date.parse(e.end) !== Date.parse(windowEnd(e.start, plan.window_hours))) {
          const end = windowEnd(e.start, plan.window_hours);
          await deps.client.workflow
            .getHandle(workflowIds.event(e.id))
            .signal(setWindowSignal, { end })
            .catch(() => undefined);
        }
      }
      if (active && plan) {
        for (const [eventId, start] of wanted) {
          await startEvent({
            eventId,
            customerId: plan.customer_id,
            planId,
            start: start.toISOString(),
            end: windowEnd(start, plan.window_hours),
            initialStatus: 'NEW',
            origin: 'schedule',
          });
        }
      }
      return { active, nextCheckMs: Math.min(3600_000, horizonMs() / 4) };
    },

    /** Keeps a pipeline's runs inside the horizon started; a deleted pipeline's future runs are deleted. */
    async reconcilePipelineRuns({
      pipelineId,
    }: {
      pipelineId: string;
    }): Promise<{ active: boolean; nextCheckMs: number }> {
      const now = Date.now();
      const p = await pipelines.getById(pipelineId);
      const active = Boolean(p && p.enabled !== false);
      if (!active) {
        const upcoming = await records.upcomingEventsOfPipeline(pipelineId);
        for (const e of upcoming) if (Date.parse(e.start) > now) await deleteEvent(e.id);
        return { active, nextCheckMs: 3600_000 };
      }
      const starts = occurrencesBetween(p!.cron, new Date(now), new Date(now + horizonMs()));
      // Runs the schedule created for starts the cron no longer has (it was edited) are removed, as a
      // plan's are: every upcoming event of such a run is deleted, which ends the run. A run that has
      // started (its start has passed; runs started by hand always have) keeps its course.
      const wanted = new Set(starts.map((s) => pipelineRunIdFor(pipelineId, s)));
      for (const e of await records.upcomingEventsOfPipeline(pipelineId)) {
        const runStart = e.pipeline_run_id ? pipelineRunStart(e.pipeline_run_id) : undefined;
        if (!runStart || Date.parse(runStart) <= now || wanted.has(e.pipeline_run_id!)) continue;
        await deleteEvent(e.id);
      }
      for (const s of starts) await startPipelineRun({ pipelineId, start: s.toISOString() });
      return { active, nextCheckMs: Math.min(3600_000, horizonMs() / 4) };
    },

    /**
     * What one step of a pipeline run did, for the next step's promotion gate: its machines (excluded ones and
     * deleted events aside), those that succeeded, and when its last event finished.
     */
    async promotionStepStats(a: { runId: string; step: number }): Promise<StepStats> {
      let machines = 0;
      let succeeded = 0;
      let endedAt: string | undefined;
      for (const e of await records.stepEvents(a.runId, a.step)) {
        if (e.status === 'DELETED') continue;
        if (e.finished_at && (!endedAt || e.finished_at > endedAt)) endedAt = e.finished_at;
        for (const m of await records.listMachines(e._id)) {
          if (m.status === 'EXCLUDED') continue;
          machines++;
          if (SUCCEEDED.has(m.status)) succeeded++;
        }
      }
      return { machines, succeeded, ...(endedAt ? { endedAt } : {}) };
    },

    /**
     * Creates the events of every step of a pipeline run (they exist ahead like any upcoming event).
     * Step 0 runs on schedule unless its policy is `approval`; later steps with a policy other than
     * `always` are gated until the pipeline run decides, when the previous step has finished.
     */
    async createPipelineRunEvents(a: {
      runId: string;
      pipelineId: string;
      start: string;
    }): Promise<RunStep[]> {
      const p = await pipelines.getById(a.pipelineId);
      if (!p) return [];
      const runStart = Date.parse(a.start);
      const steps: RunStep[] = [];
      for (const [i, step] of p.steps.entries()) {
        const eventIds: string[] = [];
        for (const planId of step.plans) {
          const plan = await plans.getById(planId);
          if (!plan) continue;
          const start = new Date(runStart + Math.round(step.offset_hours * 3600_000));
          const eventId = eventIdFor(planId, start);
          const gated = i > 0 && (step.policy !== 'always' || waitsForPrevious(step));
          await startEvent({
            eventId,
            customerId: p.customer_id,
            planId,
            start: start.toISOString(),
            end: windowEnd(start, plan.window_hours),
            initialStatus: step.policy === 'approval' ? 'NOT_APPROVED' : 'NEW',
            pipelineId: a.pipelineId,
            pipelineRunId: a.runId,
            step: i,
            gated,
            origin: 'pipeline',
          });
          eventIds.push(eventId);
        }
        steps.push({
          step: i,
          policy: step.policy,
          eventIds,
          ...(i > 0 && step.promotion_gate ? { gate: step.promotion_gate } : {}),
          ...(i > 0 && step.policy === 'always' && waitsForPrevious(step) ? { waits: true as const } : {}),
        });
      }
      return steps;
    },
  };
}

/** A step that cannot run before the previous one ended: a gate reads its result, a promotion its manifest. */
function waitsForPrevious(step: PipelineStep): boolean {
  return step.promotion_gate !== undefined || (step.promotion ?? 'latest') !== 'latest';
}
