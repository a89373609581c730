import {
  Client,
  Connection,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { Db } from 'mongodb';
import { EventRecords, type EventDoc } from '../store/event-records';
import { PlanStore } from '../store/plans';
import { eventIdFor, workflowIds, type EventRecord } from '../domain/event';
import { isEventFinished } from '../domain/statuses';
import {
  approveUpdate,
  deleteUpdate,
  excludeUpdate,
  manualStatusUpdate,
  partialRunUpdate,
  registeredUpdate,
  type EventWorkflowInput,
} from '../workflows/defs';
import type { eventWorkflow } from '../workflows/event';
import { ConflictError, NotFoundError, type Actor, type OrchestratorPort, type PartialRunRequest } from './orchestrator-port';

export interface OrchestratorOptions {
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  db: Db;
}

/** The API's only way into Temporal: starts, updates and signals. It never writes statuses itself. */
export async function createOrchestrator(opts: OrchestratorOptions): Promise<OrchestratorPort & { close(): Promise<void>; client: Client }> {
  const connection = await Connection.connect({ address: opts.temporalAddress });
  const client = new Client({ connection, namespace: opts.namespace });
  const records = new EventRecords(opts.db);
  const plans = new PlanStore(opts.db);

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
        if (cause?.message && /NotFound/.test((cause as { type?: string }).type ?? '')) throw new NotFoundError(cause.message);
        throw new ConflictError(cause?.message ?? err.message);
      }
      if (err instanceof WorkflowNotFoundError) throw new ConflictError(closedMessage);
      throw err;
    }
  }

  async function startEvent(planId: string, start: Date, end: Date, actor: Actor, mustBeNew: boolean): Promise<EventRecord> {
    const plan = await plans.getById(planId);
    if (!plan || plan.customer_id !== actor.customer_id) throw new NotFoundError(`plan ${planId} not found`);
    const eventId = eventIdFor(planId, start);
    if (mustBeNew && (await records.getEvent(eventId))) throw new ConflictError(`event ${eventId} already exists for this plan and start`);
    const input: EventWorkflowInput = {
      eventId,
      customerId: plan.customer_id,
      planId,
      start: start.toISOString(),
      end: end.toISOString(),
      initialStatus: 'NEW',
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
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new ConflictError(`event ${eventId} already exists`);
      throw err;
    }
  }

  /** A finished event's workflow may have closed after its quiet period: re-open it with its stored state. */
  async function reopenAndUpdate<R>(e: EventDoc, run: (handle: ReturnType<Client['workflow']['getHandle']>) => Promise<R>, startOp: () => WithStartWorkflowOperation<typeof eventWorkflow>, viaStart: (op: WithStartWorkflowOperation<typeof eventWorkflow>) => Promise<R>): Promise<R> {
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
      if (!plan || plan.customer_id !== actor.customer_id) throw new NotFoundError(`plan ${planId} not found`);
      const start = new Date(Math.floor(Date.now() / 1000) * 1000);
      const end = new Date(start.getTime() + Math.round(plan.window_hours * 3600_000));
      return startEvent(planId, start, end, actor, true);
    },

    async createEvent(planId, start, end, actor) {
      return startEvent(planId, new Date(start), new Date(end), actor, true);
    },

    async approveEvent(eventId, actor) {
      const e = await ownEvent(eventId, actor);
      await update(
        () => client.workflow.getHandle(e.workflow_id).executeUpdate(approveUpdate, { args: [{ requested_by: actor.api_key_id }] }),
        `event ${eventId} is ${e.status} and can no longer be approved`,
      );
    },

    async deleteEvent(eventId, actor) {
      const e = await ownEvent(eventId, actor);
      await update(
        () => client.workflow.getHandle(e.workflow_id).executeUpdate(deleteUpdate, { args: [{ requested_by: actor.api_key_id }] }),
        `event ${eventId} is ${e.status}; only upcoming events can be deleted`,
      );
    },

    async excludeMachines(eventId, machineIds, actor) {
      const e = await ownEvent(eventId, actor);
      await update(
        () =>
          client.workflow
            .getHandle(e.workflow_id)
            .executeUpdate(excludeUpdate, { args: [{ machine_ids: machineIds, requested_by: actor.api_key_id }] }),
        `event ${eventId} is ${e.status}; machines can only be excluded before it starts`,
      );
    },

    async setManualStatus(eventId, machineId, status, actionTaken, actor) {
      const e = await ownEvent(eventId, actor);
      if (!isEventFinished(e.status) && e.status !== 'IN_PROGRESS')
        throw new ConflictError(`manual status changes need a finished event; this one is ${e.status}`);
      const req = { machine_id: machineId, manual_status: status, action_taken: actionTaken, requested_by: actor.api_key_id };
      await update(
        () =>
          reopenAndUpdate(
            e,
            (h) => h.executeUpdate(manualStatusUpdate, { args: [req] }),
            () => reopenOp(e),
            (op) => client.workflow.executeUpdateWithStart(manualStatusUpdate, { args: [req], startWorkflowOperation: op }),
          ),
        `event ${eventId} cannot take manual changes`,
      );
    },

    async partialRun(eventId, r: PartialRunRequest, actor) {
      const e = await ownEvent(eventId, actor);
      if (!isEventFinished(e.status)) throw new ConflictError(`partial patching needs a finished event; this one is ${e.status}`);
      const req = { ...r, requested_by: actor.api_key_id };
      await update(
        () =>
          reopenAndUpdate(
            e,
            (h) => h.executeUpdate(partialRunUpdate, { args: [req] }),
            () => reopenOp(e),
            (op) => client.workflow.executeUpdateWithStart(partialRunUpdate, { args: [req], startWorkflowOperation: op }),
          ),
        `event ${eventId} cannot be partially re-run`,
      );
    },

    // Upcoming-event generation and pipeline runs are driven by the scheduler workflows (issue #4).
    async planChanged() {},
    async planDeleted() {},
    async pipelineChanged() {},
    async pipelineDeleted() {},
    async executePipelineNow() {
      throw new ConflictError('pipeline runs are not available yet');
    },

    async ping() {
      await client.workflowService.getSystemInfo({});
    },

    async close() {
      await connection.close();
    },
  };
}
