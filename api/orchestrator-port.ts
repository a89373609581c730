import type { EventPreview } from '../domain/preview';
import type { PlanOperation } from '../domain/statuses';
import type { ConfigNotice } from '../domain/config-notice';
import type { EventRecord } from '../domain/event';
import type { ManualMachineStatus } from '../domain/statuses';
import type { PartialRunRequest as PartialRunUpdateRequest } from '../workflows/defs';

/** Who asked: recorded in the audit log and passed to workflows for their own records. */
export interface Actor {
  customer_id: string;
  api_key_id: string;
}

/** A partial run as the API asks for it: the workflow's request without the actor, which the port adds. */
export type PartialRunRequest = Omit<PartialRunUpdateRequest, 'requested_by'>;

/**
 * Everything the API asks of the orchestration layer. Route handlers validate input, check auth and
 * tenancy, and then call this port; it talks to Temporal (starts, signals, updates) and never writes
 * statuses into MongoDB itself. Implemented by api/orchestrator.ts.
 *
 * Errors: throws `ConflictError` (→ 409) when the workflow's validator refuses, `NotFoundError` (→ 404).
 */
export interface OrchestratorPort {
  /** Starts an event of `planId` now (window = plan.window_hours). Returns the stored event. */
  executePlanNow(planId: string, actor: Actor): Promise<EventRecord>;
  /** Creates an ad-hoc event with an exact window. */
  createEvent(
    planId: string,
    start: string,
    end: string,
    actor: Actor,
    /** A one-off event that scans (or installs) whatever its plan's operation. */
    operation?: PlanOperation,
  ): Promise<EventRecord>;
  approveEvent(eventId: string, actor: Actor): Promise<void>;
  /** What the event will do (docs/behaviour.md#preview), computed on the worker. */
  previewEvent(eventId: string, actor: Actor): Promise<EventPreview>;
  deleteEvent(eventId: string, actor: Actor): Promise<void>;
  excludeMachines(eventId: string, machineIds: string[], actor: Actor): Promise<void>;
  setManualStatus(
    eventId: string,
    machineId: string,
    status: ManualMachineStatus,
    actionTaken: string | undefined,
    actor: Actor,
  ): Promise<void>;
  partialRun(eventId: string, req: PartialRunRequest, actor: Actor): Promise<void>;
  /** resume / override / abort an event a health gate HALTED (409 when it is not halted). */
  gateAction(
    eventId: string,
    action: 'resume' | 'override' | 'abort',
    reason: string | undefined,
    actor: Actor,
  ): Promise<void>;
  /** A plan was created or edited: regenerate its upcoming events. */
  planChanged(planId: string, actor: Actor): Promise<void>;
  planDeleted(planId: string, actor: Actor): Promise<void>;
  pipelineChanged(pipelineId: string, actor: Actor): Promise<void>;
  pipelineDeleted(pipelineId: string, actor: Actor): Promise<void>;
  /** A freeze calendar of the customer was created, edited or deleted: upcoming events are judged again. */
  freezeCalendarsChanged(actor: Actor): Promise<void>;
  /** Sends the notice of an accepted plan/pipeline change (once per notice key) through the worker. */
  sendConfigNotice(notice: ConfigNotice): Promise<void>;
  executePipelineNow(pipelineId: string, actor: Actor): Promise<{ run_id: string; event_ids: string[] }>;
  /**
   * Looks the machines' SSM agents up now (a machine created or moved) and waits a few seconds for their
   * ping_status to be stored. Never throws: a look-up not finished in time lands later, and the schedule repeats it.
   */
  pingMachines(machineIds: string[]): Promise<void>;
  /** Temporal reachable (for /readyz). */
  ping(): Promise<void>;
}

export class ConflictError extends Error {
  readonly details: unknown;
  constructor(message: string, details?: unknown) {
    super(message);
    this.name = 'ConflictError';
    this.details = details;
  }
}

export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}
