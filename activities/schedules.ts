import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { Config } from '../common/config';
import { EventRecords } from '../store/event-records';
import { PlanStore } from '../store/plans';
import { PipelineStore } from '../store/pipelines';
import { COLLECTIONS } from '../store/db';
import { eventIdFor, pipelineRunIdFor, workflowIds } from '../domain/event';
import { occurrencesBetween } from '../domain/schedule';
import type { StepPolicy } from '../domain/pipeline';
import { deleteUpdate, setWindowSignal, type EventWorkflowInput } from '../workflows/defs';

const UPCOMING = ['NEW', 'NOT_APPROVED', 'APPROVED'] as const;

export interface RunStep {
  step: number;
  policy: StepPolicy;
  eventIds: string[];
}

/**
 * Reconcilers: given what a plan or pipeline says now, make the upcoming events (or pipeline runs) inside
 * the horizon exist, and remove or adjust the ones that no longer match. Idempotent by construction:
 * workflow IDs come from (plan, start), and a start that already exists is left alone.
 */
export function createScheduleActivities(deps: {
  db: Db;
  client: Client;
  config: Pick<Config, 'SCHEDULE_HORIZON_HOURS' | 'PATCHWAVE_TASK_QUEUE'>;
}) {
  const records = new EventRecords(deps.db);
  const plans = new PlanStore(deps.db);
  const pipelines = new PipelineStore(deps.db);
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

  async function plansInPipelines(customerId: string): Promise<Set<string>> {
    const docs = await deps.db
      .collection(COLLECTIONS.pipelines)
      .find({ customer_id: customerId }, { projection: { steps: 1 } })
      .toArray();
    return new Set(docs.flatMap((d) => ((d.steps ?? []) as { plans: string[] }[]).flatMap((s) => s.plans)));
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
        plan && plan.enabled !== false && !(await plansInPipelines(plan.customer_id)).has(planId),
      );
      const upcoming = await records.events
        .find({ plan_id: planId, origin: 'schedule', status: { $in: [...UPCOMING] } })
        .toArray();
      const wanted = new Map<string, Date>();
      if (active && plan) {
        for (const s of occurrencesBetween(plan.cron, new Date(now), new Date(now + horizonMs())))
          wanted.set(eventIdFor(planId, s), s);
      }
      const windowMs = plan ? Math.round(plan.window_hours * 3600_000) : 0;
      for (const e of upcoming) {
        if (Date.parse(e.start) <= now) continue; // its window is open: not ours to change
        if (!wanted.has(e._id)) await deleteEvent(e._id);
        else if (Date.parse(e.end) - Date.parse(e.start) !== windowMs) {
          const end = new Date(Date.parse(e.start) + windowMs).toISOString();
          await deps.client.workflow
            .getHandle(workflowIds.event(e._id))
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
            end: new Date(start.getTime() + windowMs).toISOString(),
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
        const upcoming = await records.events
          .find({ pipeline_id: pipelineId, origin: 'pipeline', status: { $in: [...UPCOMING] } })
          .toArray();
        for (const e of upcoming) if (Date.parse(e.start) > now) await deleteEvent(e._id);
        return { active, nextCheckMs: 3600_000 };
      }
      for (const s of occurrencesBetween(p!.cron, new Date(now), new Date(now + horizonMs()))) {
        await startPipelineRun({ pipelineId, start: s.toISOString() });
      }
      return { active, nextCheckMs: Math.min(3600_000, horizonMs() / 4) };
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
          const gated = i > 0 && step.policy !== 'always';
          await startEvent({
            eventId,
            customerId: p.customer_id,
            planId,
            start: start.toISOString(),
            end: new Date(start.getTime() + Math.round(plan.window_hours * 3600_000)).toISOString(),
            initialStatus: step.policy === 'approval' ? 'NOT_APPROVED' : 'NEW',
            pipelineId: a.pipelineId,
            pipelineRunId: a.runId,
            step: i,
            gated,
            origin: 'pipeline',
          });
          eventIds.push(eventId);
        }
        steps.push({ step: i, policy: step.policy, eventIds });
      }
      return steps;
    },
  };
}
