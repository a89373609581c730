import type { EventRecord } from '../domain/event';
import type { ManualMachineStatus } from '../domain/statuses';

/** Who asked: recorded in the audit log and passed to workflows for their own records. */
export interface Actor {
  customer_id: string;
  api_key_id: string;
}

export interface PartialRunRequest {
  machine_ids?: string[];
  pre_hooks?: boolean;
  post_hooks?: boolean;
  /** Per machine: which host hooks to run again (all by default). */
  host_hooks?: Record<string, { pre?: boolean; post?: boolean }>;
}

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
  createEvent(planId: string, start: string, end: string, actor: Actor): Promise<EventRecord>;
  approveEvent(eventId: string, actor: Actor): Promise<void>;
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
  /** A plan was created or edited: regenerate its upcoming events. */
  planChanged(planId: string, actor: Actor): Promise<void>;
  planDeleted(planId: string, actor: Actor): Promise<void>;
  pipelineChanged(pipelineId: string, actor: Actor): Promise<void>;
  pipelineDeleted(pipelineId: string, actor: Actor): Promise<void>;
  executePipelineNow(pipelineId: string, actor: Actor): Promise<{ run_id: string; event_ids: string[] }>;
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
