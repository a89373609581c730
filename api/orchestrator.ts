import type { EventPreview } from '../domain/preview';
import type { PlanOperation } from '../domain/statuses';
import {
  Client,
  Connection,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { Db } from 'mongodb';
import { newId } from '../common/ids';
import { EventRecords, type EventDoc } from '../store/event-records';
import { PlanStore } from '../store/plans';
import { PipelineStore } from '../store/pipelines';
import { eventIdFor, pipelineRunIdFor, workflowIds, type EventRecord } from '../domain/event';
import { isEventFinished } from '../domain/finished';
import { windowEnd } from '../domain/window';
import {
  approveUpdate,
  resumeUpdate,
  overrideUpdate,
  abortUpdate,
  deleteUpdate,
  excludeUpdate,
  manualStatusUpdate,
  partialRunUpdate,
  registeredUpdate,
  configChangedSignal,
  type EventWorkflowInput,
} from '../workflows/defs';
import type { eventWorkflow } from '../workflows/event';
import {
  ConflictError,
  NotFoundError,
  type Actor,
  type OrchestratorPort,
  type PartialRunRequest,
} from './orchestrator-port';

/** Statuses of an event that has not run: with its workflow closed, its window passed and it never will. */
const NEVER_RAN_STATUSES: ReadonlySet<string> = new Set(['NEW', 'NOT_APPROVED', 'APPROVED']);

/** How long the API waits for a write's effect to reach the store before it answers anyway. */
const SETTLE_MS = 15_000;

/** How long a machine write waits for the machine's first SSM look-up before it answers without it. */
const PING_WAIT_MS = 5_000;

/** Polls `done` until it holds or SETTLE_MS pass (the write itself is accepted either way). */
async function settle(done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  let wait = 20;
  while (!(await done()) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 250);
  }
}

export interface OrchestratorOptions {
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  db: Db;
}

/** The API's only way into Temporal: starts, updates and signals. It never writes statuses itself. */
export async function createOrchestrator(
  opts: OrchestratorOptions,
): Promise<OrchestratorPort & { close(): Promise<void>; client: Client }> {
  const connection = await Connection.connect({ address: opts.temporalAddress });
  const client = new Client({ connection, namespace: opts.namespace });
  const records = new EventRecords(opts.db);
  const plans = new PlanStore(opts.db);

  const pipelines = new PipelineStore(opts.db);

  async function pipelinePlans(pipelineId: string): Promise<string[]> {
    const p = await pipelines.getById(pipelineId);
    return p ? [...new Set(p.steps.flatMap((s) => s.plans))] : [];
  }

  async function wakeScheduler(workflow: string, workflowId: string, arg: object): Promise<void> {
    await client.workflow.signalWithStart(workflow, {
      workflowId,
      taskQueue: opts.taskQueue,
      args: [arg],
      signal: configChangedSignal,
      signalArgs: [],
    });
  }

  async function ownEvent(eventId: string, actor: Actor): Promise<EventDoc> {
    const e = await records.getEvent(eventId);
    if (!e || e.customer_id !== actor.customer_id) throw new NotFoundError(`event ${eventId} not found`);
    return e;
  }

  /** Validator refusals become 409 with the workflow's own reason. */
  async function update<R>(fn: () => Promise<R>, closedMessage: string): Promise<R> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const cause = err.cause as Error | undefined;
        if (cause?.message && /NotFound/.test((cause as { type?: string }).type ?? ''))
          throw new NotFoundError(cause.message);
        throw new ConflictError(cause?.message ?? err.message);
      }
      if (err instanceof WorkflowNotFoundError) throw new ConflictError(closedMessage);
      throw err;
    }
  }

  async function startEvent(
    planId: string,
    start: Date,
    end: Date,
    actor: Actor,
    mustBeNew: boolean,
    operation?: PlanOperation,
  ): Promise<EventRecord> {
    const plan = await plans.getById(planId);
    if (!plan || plan.customer_id !== actor.customer_id) throw new NotFoundError(`plan ${planId} not found`);
    const eventId = eventIdFor(planId, start);
    if (mustBeNew && (await records.getEvent(eventId)))
      throw new ConflictError(`event ${eventId} already exists for this plan and start`);
    const input: EventWorkflowInput = {
      eventId,
      customerId: plan.customer_id,
      planId,
      start: start.toISOString(),
      end: end.toISOString(),
      initialStatus: 'NEW',
      origin: 'adhoc',
      ...(operation ? { operation } : {}),
    };
    const op = new WithStartWorkflowOperation<typeof eventWorkflow>('eventWorkflow', {
      workflowId: workflowIds.event(eventId),
      taskQueue: opts.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      memo: { plan_name: plan.name, requested_by: actor.api_key_id },
    });
    try {
      return await client.workflow.executeUpdateWithStart(registeredUpdate, { startWorkflowOperation: op });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError)
        throw new ConflictError(`event ${eventId} already exists`);
      throw err;
    }
  }

  /** A finished event's workflow may have closed after its quiet period: re-open it with its stored state. */
  async function reopenAndUpdate<R>(
    e: EventDoc,
    run: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<R>,
    startOp: () => WithStartWorkflowOperation<typeof eventWorkflow>,
    viaStart: (op: WithStartWorkflowOperation<typeof eventWorkflow>) => Promise<R>,
  ): Promise<R> {
    try {
      return await run(client.workflow.getHandle(e.workflow_id));
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      return viaStart(startOp());
    }
  }

  function reopenOp(e: EventDoc): WithStartWorkflowOperation<typeof eventWorkflow> {
    const input: EventWorkflowInput = {
      eventId: e._id,
      customerId: e.customer_id,
      planId: e.plan_id,
      start: e.start,
      end: e.end,
      initialStatus: 'NEW',
      ...(e.pipeline_id ? { pipelineId: e.pipeline_id } : {}),
      ...(e.pipeline_run_id ? { pipelineRunId: e.pipeline_run_id } : {}),
      ...(e.step !== undefined ? { step: e.step } : {}),
      carried: { status: e.status, runNo: e.run_no ?? 0, excluded: e.excluded_machine_ids ?? [] },
    };
    return new WithStartWorkflowOperation<typeof eventWorkflow>('eventWorkflow', {
      workflowId: e.workflow_id,
      taskQueue: opts.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  }

  return {
    client,

    async executePlanNow(planId, actor) {
      const plan = await plans.getById(planId);
      if (!plan || plan.customer_id !== actor.customer_id)
        throw new NotFoundError(`plan ${planId} not found`);
      const start = new Date(Math.floor(Date.now() / 1000) * 1000);
      const end = new Date(windowEnd(start, plan.window_hours));
      return startEvent(planId, start, end, actor, true);
    },

    async createEvent(planId, start, end, actor, operation) {
      return startEvent(planId, new Date(start), new Date(end), actor, true, operation);
    },

    async approveEvent(eventId, actor) {
      const e = await ownEvent(eventId, actor);
      await update(
        () =>
          client.workflow
            .getHandle(e.workflow_id)
            .executeUpdate(approveUpdate, { args: [{ requested_by: actor.api_key_id }] }),
        `event ${eventId} is ${e.status} and can no longer be approved`,
      );
      // Approving one event approves its whole step, through the pipeline run (event → pipeline run →
      // each sibling). Read-your-writes: answer once no event of the step still reads NOT_APPROVED.
      if (e.pipeline_run_id && e.step !== undefined) {
        const runId = e.pipeline_run_id;
        const step = e.step;
        await settle(async () => (await records.countStepEventsIn(runId, step, 'NOT_APPROVED')) === 0);
      }
    },

    async deleteEvent(eventId, actor) {
      const e = await ownEvent(eventId, actor);
      const req = { requested_by: actor.api_key_id };
      const refused = `event ${eventId} is ${e.status}; only upcoming events can be deleted`;
      // An event whose window passed while it was not NEW never ran, and its workflow closed then
      // (docs/behaviour.md#upcoming); it still reads NOT_APPROVED (or APPROVED/NEW). Deleting it re-opens the
      // workflow with its stored state, so the delete goes through the same handler as any other: status,
      // timeline, the pipeline run told. The re-opened workflow ends right after (its window is over).
      if (!NEVER_RAN_STATUSES.has(e.status)) {
        await update(
          () => client.workflow.getHandle(e.workflow_id).executeUpdate(deleteUpdate, { args: [req] }),
          refused,
        );
        return;
      }
      await update(
        () =>
          reopenAndUpdate(
            e,
            (h) => h.executeUpdate(deleteUpdate, { args: [req] }),
            () => reopenOp(e),
            (op) =>
              client.workflow.executeUpdateWithStart(deleteUpdate, {
                args: [req],
                startWorkflowOperation: op,
              }),
          ),
        refused,
      );
    },

    async excludeMachines(eventId, machineIds, actor) {
      const e = await ownEvent(eventId, actor);
      await update(
        () =>
          client.workflow.getHandle(e.workflow_id).executeUpdate(excludeUpdate, {
            args: [{ machine_ids: machineIds, requested_by: actor.api_key_id }],
          }),
        `event ${eventId} is ${e.status}; machines can only be excluded before it starts`,
      );
    },

    async setManualStatus(eventId, machineId, status, actionTaken, actor) {
      const e = await ownEvent(eventId, actor);
      if (!isEventFinished(e.status) && e.status !== 'IN_PROGRESS')
        throw new ConflictError(`manual status changes need a finished event; this one is ${e.status}`);
      const req = {
        machine_id: machineId,
        manual_status: status,
        action_taken: actionTaken,
        requested_by: actor.api_key_id,
      };
      await update(
        () =>
          reopenAndUpdate(
            e,
            (h) => h.executeUpdate(manualStatusUpdate, { args: [req] }),
            () => reopenOp(e),
            (op) =>
              client.workflow.executeUpdateWithStart(manualStatusUpdate, {
                args: [req],
                startWorkflowOperation: op,
              }),
          ),
        `event ${eventId} cannot take manual changes`,
      );
    },

    async partialRun(eventId, r: PartialRunRequest, actor) {
      const e = await ownEvent(eventId, actor);
      if (!isEventFinished(e.status))
        throw new ConflictError(`partial patching needs a finished event; this one is ${e.status}`);
      const req = { ...r, requested_by: actor.api_key_id };
      await update(
        () =>
          reopenAndUpdate(
            e,
            (h) => h.executeUpdate(partialRunUpdate, { args: [req] }),
            () => reopenOp(e),
            (op) =>
              client.workflow.executeUpdateWithStart(partialRunUpdate, {
                args: [req],
                startWorkflowOperation: op,
              }),
          ),
        `event ${eventId} cannot be partially re-run`,
      );
    },

    async gateAction(eventId, action, reason, actor) {
      const e = await ownEvent(eventId, actor);
      const def = { resume: resumeUpdate, override: overrideUpdate, abort: abortUpdate }[action];
      await update(
        () =>
          client.workflow.getHandle(e.workflow_id).executeUpdate(def, {
            args: [{ requested_by: actor.api_key_id, ...(reason !== undefined ? { reason } : {}) }],
          }),
        `event ${eventId} is ${e.status}; only a HALTED event can be resumed, overridden or aborted`,
      );
    },

    // Upcoming events are kept by one reconciler workflow per plan / pipeline; a change just wakes it.
    async planChanged(planId, actor) {
      await wakeScheduler('planSchedulerWorkflow', workflowIds.planScheduler(planId), {
        planId,
        customerId: actor.customer_id,
      });
    },
    async planDeleted(planId, actor) {
      await wakeScheduler('planSchedulerWorkflow', workflowIds.planScheduler(planId), {
        planId,
        customerId: actor.customer_id,
      });
    },
    async freezeCalendarsChanged(actor) {
      // Each plan's scheduler judges its upcoming events against the freezes again on its next cycle.
      for (const planId of await plans.idsOfCustomer(actor.customer_id))
        await wakeScheduler('planSchedulerWorkflow', workflowIds.planScheduler(planId), {
          planId,
          customerId: actor.customer_id,
        });
    },
    async pipelineChanged(pipelineId, actor) {
      await wakeScheduler('pipelineSchedulerWorkflow', workflowIds.pipelineScheduler(pipelineId), {
        pipelineId,
        customerId: actor.customer_id,
      });
      // Plans a pipeline uses stop having events of their own: let their schedulers re-check.
      for (const planId of await pipelinePlans(pipelineId))
        await wakeScheduler('planSchedulerWorkflow', workflowIds.planScheduler(planId), {
          planId,
          customerId: actor.customer_id,
        });
    },
    async pipelineDeleted(pipelineId, actor) {
      await wakeScheduler('pipelineSchedulerWorkflow', workflowIds.pipelineScheduler(pipelineId), {
        pipelineId,
        customerId: actor.customer_id,
      });
    },
    async sendConfigNotice(notice) {
      try {
        await client.workflow.start('configNoticeWorkflow', {
          workflowId: workflowIds.notice(notice.key),
          taskQueue: opts.taskQueue,
          args: [notice],
        });
      } catch (err) {
        // The same change told twice (a repeated request after a 503): the notice is already on its way.
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    },
    async executePipelineNow(pipelineId, actor) {
      const p = await pipelines.getById(pipelineId);
      if (!p || p.customer_id !== actor.customer_id)
        throw new NotFoundError(`pipeline ${pipelineId} not found`);
      const start = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
      const runId = pipelineRunIdFor(pipelineId, start);
      await client.workflow.start('pipelineRunWorkflow', {
        workflowId: workflowIds.pipelineRun(runId),
        taskQueue: opts.taskQueue,
        args: [{ runId, pipelineId, customerId: p.customer_id, start }],
      });
      const expected = p.steps.reduce((n, s) => n + s.plans.length, 0);
      const deadline = Date.now() + 15_000;
      let ids: string[] = [];
      while (Date.now() < deadline) {
        ids = await records.eventIdsOfPipelineRun(runId);
        if (ids.length >= expected) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      return { run_id: runId, event_ids: ids.sort() };
    },

    async pingMachines(machineIds) {
      if (machineIds.length === 0) return;
      try {
        const handle = await client.workflow.start('pingMachinesWorkflow', {
          workflowId: `machine-ping/${machineIds.length === 1 ? machineIds[0] : newId('ping')}`,
          taskQueue: opts.taskQueue,
          args: [{ machineIds }],
          // A second change while a look-up runs shares it (both see the machine as stored by then).
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowExecutionTimeout: '10 minutes',
        });
        await Promise.race([handle.result(), new Promise((r) => setTimeout(r, PING_WAIT_MS).unref())]);
      } catch {
        /* Temporal away or the look-up failed: the machine keeps its old ping until the schedule's next run */
      }
    },

    async previewEvent(eventId, actor) {
      await ownEvent(eventId, actor);
      const handle = await client.workflow.start('eventPreviewWorkflow', {
        workflowId: `event-preview/${eventId}/${newId('pv')}`,
        taskQueue: opts.taskQueue,
        args: [{ eventId }],
        workflowExecutionTimeout: '6 minutes',
      });
      return (await handle.result()) as EventPreview;
    },

    async ping() {
      await client.workflowService.getSystemInfo({});
    },

    async close() {
      await connection.close();
    },
  };
}
