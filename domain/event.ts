import { z } from 'zod';
import { EventStatus, MachineStatus } from './statuses';
import { HookRun } from './hooks';

export { eventIdFor, compactUtc, pipelineRunIdFor, workflowIds } from './ids';

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
