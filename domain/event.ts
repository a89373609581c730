import { z } from 'zod';
import { EventFreeze } from './freeze';
import { EventStatus, MachineStatus, PlanOperation } from './statuses';
import { HookRun } from './hooks';
import { PatchManifest } from './manifest';
import { PromotionCheck } from './promotion-check';
import { ApprovalRecord } from './approval';

export { eventIdFor, compactUtc, pipelineRunIdFor, workflowIds } from './ids';

/** One machine's record inside an event (stored per event×machine; `_id` = `<event_id>/<machine_id>`). */
/**
 * One load-balancer target group a machine was taken out of in one run (plan `out_of_service.target_groups`).
 * `state`: `deregistering` while DeregisterTargets is under way, `draining` until the group reports the target gone,
 * `deregistered` while out of service, `registered` once RegisterTargets was accepted (waiting for health),
 * `healthy` once back, `deregister_failed` (not patched), `register_failed` (left out after bounded retries) and
 * `unhealthy` (registered, but not healthy in time): both with an operator notified.
 */
export const MachineTargetGroup = z.object({
  arn: z.string(),
  ports: z.array(z.number().int()),
  state: z.enum([
    'deregistering',
    'draining',
    'deregistered',
    'registered',
    'healthy',
    'deregister_failed',
    'register_failed',
    'unhealthy',
  ]),
  /** The target's health when Patchwave found it (e.g. `healthy`, `unhealthy`, `unavailable`). */
  health_before: z.string().optional(),
  deregistered_at: z.string().optional(),
  healthy_at: z.string().optional(),
  error: z.string().optional(),
});
export type MachineTargetGroup = z.infer<typeof MachineTargetGroup>;

/**
 * A machine out of service in one run (plan `out_of_service`, issue 16 item 7). Auto Scaling standby
 * (`auto_scaling_group` and `state`, present when the instance is in a group): `entering` while EnterStandby is under
 * way, `standby` while out of service, `in_service` once back, `enter_failed` (not patched), `exit_failed` (left in
 * Standby after bounded retries: an operator was notified). `target_groups`: the load-balancer target groups it was
 * taken out of.
 */
export const MachineOutOfService = z.object({
  auto_scaling_group: z.string().optional(),
  run_no: z.number().int().nonnegative(),
  state: z.enum(['entering', 'standby', 'in_service', 'enter_failed', 'exit_failed']).optional(),
  standby_at: z.string().optional(),
  in_service_at: z.string().optional(),
  error: z.string().optional(),
  target_groups: z.array(MachineTargetGroup).optional(),
});

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
  /** AWS-RunPatchBaseline runs: the patches this run installed (DescribeInstancePatches, InstalledTime in the run). */
  patches: z
    .array(
      z.object({
        title: z.string(),
        kb_id: z.string(),
        classification: z.string(),
        severity: z.string(),
        state: z.string(),
        installed_time: z.string(),
        cve_ids: z.array(z.string()).optional(),
      }),
    )
    .optional(),
  /** botocore's OperatingSystem of the node when its patch command was sent (nodeOperatingSystem). */
  operating_system: z.string().optional(),
  /** The SnapshotId its AWS-RunPatchBaseline command was sent with (activities/snapshot-id.ts). */
  snapshot_id: z.string().optional(),
  /** A patch of this run is INSTALLED_PENDING_REBOOT. */
  reboot_required: z.boolean().optional(),
  /** Derived: the run installed patches and none is pending a reboot (RebootIfNeeded rebooted the node). */
  rebooted: z.boolean().optional(),
  /** When the patch command ended (SSM's ExecutionEndDateTime). */
  patched_at: z.string().optional(),
  /** A scan-only run (COMPLIANT / NON_COMPLIANT): what the scan found, from SSM's patch compliance data. */
  compliance: z
    .object({
      missing_count: z.number().int(),
      failed_count: z.number().int(),
      installed_pending_reboot_count: z.number().int(),
      scanned_at: z.string(),
    })
    .optional(),
  action_taken: z.string().optional(),
  /** The machine was on hold when the run began (status OMITTED): the hold as it was then. */
  hold: z.object({ reason: z.string(), until: z.string(), set_by: z.string() }).optional(),
  /** Plan `out_of_service` (issue 16 item 7): Auto Scaling standby / target groups in run `run_no`. */
  out_of_service: MachineOutOfService.optional(),
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

/**
 * An event as every reader sees it (API lists and answers, the CLI): the one definition of the summary. The
 * API schema is this with an OpenAPI id, and the store reads exactly these fields (never the plan snapshot,
 * whose hook sources are secrets).
 */
export const EventSummary = z.object({
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
  /**
   * `install` or `scan`: set when a one-off event asked for one, and when the event starts (the plan's
   * operation then); absent on an upcoming event that follows its plan's operation.
   */
  operation: PlanOperation.optional(),
  run_no: z.number().int(),
  started_at: z.string().optional(),
  finished_at: z.string().optional(),
  failure_reasons: z.array(z.string()),
  excluded_machine_ids: z.array(z.string()).optional(),
  /** [ours] A freeze calendar this event meets, and what the plan's freeze rule does (behaviour.md#freeze-calendars). */
  freeze: EventFreeze.optional(),
  /** [ours] The last approval and what it was given on (behaviour.md#approve). */
  approval: ApprovalRecord.optional(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type EventSummary = z.infer<typeof EventSummary>;

/** The event document (`events` collection, `_id` = event id): the summary's fields and what the run keeps. */
export const EventRecord = EventSummary.omit({ excluded_machine_ids: true }).extend({
  workflow_id: z.string(),
  hooks: z.array(HookRun).default([]),
  failure_reasons: z.array(z.string()).default([]),
  run_no: z.number().int().nonnegative().default(0),
  /** What the latest run installed on its successful machines, per operating system (domain/manifest.ts). */
  manifest: PatchManifest.optional(),
  /** A promoted pipeline step: its promoted set compared with what each machine installed (domain/promotion-check.ts). */
  promotion_check: PromotionCheck.optional(),
});
export type EventRecord = z.infer<typeof EventRecord>;
