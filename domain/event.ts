import { z } from 'zod';
import { EventStatus, MachineStatus } from './statuses';
import { HookRun } from './hooks';

/**
 * Event IDs come from business keys so a retry or a second scheduler pass never creates a duplicate:
 * `<plan_id>-<start as YYYYMMDDTHHmmssZ>`. An ad-hoc event for the same plan and start is the same event.
 */
export function eventIdFor(planId: string, start: Date | string): string {
  return `${planId}-${compactUtc(start)}`;
}

export function compactUtc(t: Date | string): string {
  const d = typeof t === 'string' ? new Date(t) : t;
  if (Number.isNaN(d.getTime())) throw new RangeError(`invalid date: ${String(t)}`);
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** A pipeline run is keyed by its pipeline and start, like events. */
export function pipelineRunIdFor(pipelineId: string, start: Date | string): string {
  return `${pipelineId}-${compactUtc(start)}`;
}

export const workflowIds = {
  event: (eventId: string) => `event/${eventId}`,
  machineRun: (eventId: string, machineId: string, runNo: number) => `event/${eventId}/machine/${machineId}/run-${runNo}`,
  machine: (machineId: string) => `machine/${machineId}`,
  planScheduler: (planId: string) => `plan/${planId}`,
  pipelineScheduler: (pipelineId: string) => `pipeline/${pipelineId}`,
  pipelineRun: (runId: string) => `pipeline-run/${runId}`,
};

/** One machine's record inside an event (stored per event×machine; `_id` = `<event_id>/<machine_id>`). */
export const EventMachineRecord = z.object({
  event_id: z.string(),
  customer_id: z.string(),
  machine_id: z.string(),
  name: z.string(),
  ssm_machine_id: z.string(),
  order: z.number().int(),
  status: MachineStatus,
  /** Human-readable reason for a non-success status. */
  reason: z.string().optional(),
  started_at: z.string().optional(),
  ended_at: z.string().optional(),
  command_id: z.string().optional(),
  hooks: z.array(HookRun).default([]),
  installed: z.array(z.string()).optional(),
  rebooted: z.boolean().optional(),
  action_taken: z.string().optional(),
  run_no: z.number().int().nonnegative().default(0),
  updated_at: z.string(),
});
export type EventMachineRecord = z.infer<typeof EventMachineRecord>;

export const TimelineEntry = z.object({
  at: z.string(),
  type: z.string(),
  machine_id: z.string().optional(),
  message: z.string(),
});
export type TimelineEntry = z.infer<typeof TimelineEntry>;

/** The event document (`events` collection, `_id` = event id). Machines live in `event_machines`. */
export const EventRecord = z.object({
  id: z.string(),
  customer_id: z.string(),
  plan_id: z.string(),
  plan_name: z.string(),
  pipeline_id: z.string().optional(),
  pipeline_run_id: z.string().optional(),
  step: z.number().int().optional(),
  start: z.string(),
  end: z.string(),
  status: EventStatus,
  workflow_id: z.string(),
  hooks: z.array(HookRun).default([]),
  failure_reasons: z.array(z.string()).default([]),
  started_at: z.string().optional(),
  finished_at: z.string().optional(),
  run_no: z.number().int().nonnegative().default(0),
  created_at: z.string(),
  updated_at: z.string(),
});
export type EventRecord = z.infer<typeof EventRecord>;
