import { z } from 'zod';
import { HookDef } from './hooks';
import { IAM_ROLE_ARN } from './machine';
import { HealthGates } from './health-gates';
import { PlanOperation } from './statuses';
import { FreezeRule } from './freeze';
import { MaxUnavailable, WaveBy, Waves } from './waves';
import { ReapprovalThreshold } from './approval';
import { Maintenance } from './maintenance';
export { targetGroupName } from './target-group';

const ID = z.string().min(1).max(128);
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

export const PlanMachine = z.strictObject({
  machine_id: ID,
  order: z.number().int().min(0).max(10_000).default(0),
  pre_host_hooks: z.array(HookDef).max(20).default([]),
  post_host_hooks: z.array(HookDef).max(20).default([]),
});
export type PlanMachine = z.infer<typeof PlanMachine>;

export const DynamicSelector = z.strictObject({
  tags: z
    .record(z.string().min(1).max(128), z.array(z.string().min(1).max(256)).min(1).max(50))
    .refine(
      (t) => Object.keys(t).length >= 1 && Object.keys(t).length <= 10,
      'must name between 1 and 10 tag keys',
    )
    .meta({ minProperties: 1, maxProperties: 10, propertyNames: { minLength: 1, maxLength: 128 } }),
  iam_role: z.string().regex(IAM_ROLE_ARN, 'must be an IAM role ARN').optional(),
  regions: z.array(z.string().regex(REGION, 'must be an AWS region such as eu-west-1')).min(1).max(30),
  order: z.number().int().min(0).max(10_000).default(0),
  pre_host_hooks: z.array(HookDef).max(20).default([]),
  post_host_hooks: z.array(HookDef).max(20).default([]),
});
export type DynamicSelector = z.infer<typeof DynamicSelector>;

/**
 * A tag key AWS accepts on both EC2 instances (CreateTags) and managed nodes (SSM AddTagsToResource): 1-128
 * characters of letters, digits, spaces and `_ . : / = + - @` (SSM's TagKey pattern), not starting with `aws:`.
 */
export const PATCH_TAG_KEY = /^(?![aA][wW][sS]:)[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;

/** Seed 003: after a successful patch, tag the instance with the patch date under `key`. */
export const PatchDateTag = z.strictObject({
  key: z
    .string()
    .regex(PATCH_TAG_KEY, 'must be 1-128 letters, digits, spaces or _ . : / = + - @, not starting with aws:'),
});
export type PatchDateTag = z.infer<typeof PatchDateTag>;

/**
 * Issue 16 item 7 (seed 003): keep a machine out of service while it is patched, so its Auto Scaling group's health
 * check does not replace it while it reboots and its load balancer sends it no requests. At least one of:
 * - `auto_scaling: 'standby'`: an EC2 instance found in a group (DescribeAutoScalingInstances) is moved to Standby
 *   (EnterStandby, ShouldDecrementDesiredCapacity) before its patch command and back (ExitStandby) once the command
 *   has ended and SSM sees it Online again.
 * - `target_groups: 'deregister'`: an EC2 instance registered in load-balancer target groups (of target type
 *   `instance`, in the machine's region) is deregistered from each, Patchwave waits until draining has ended, and
 *   registers it again (same ports) once the command has ended and it is Online, then waits until it is healthy.
 *   The groups are found with DescribeTargetGroups + DescribeTargetHealth, or only `target_group_arns` are looked at.
 * `orders`: only the machines of these order groups; unset = every machine of the plan.
 */
export const TARGET_GROUP_ARN =
  /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/;
export const OutOfService = z
  .strictObject({
    auto_scaling: z.enum(['standby']).optional(),
    target_groups: z.enum(['deregister']).optional(),
    target_group_arns: z
      .array(
        z
          .string()
          .regex(
            TARGET_GROUP_ARN,
            'must be a target group ARN (arn:aws:elasticloadbalancing:…:targetgroup/<name>/<id>)',
          ),
      )
      .min(1)
      .max(50)
      .optional(),
    orders: z.array(z.number().int().min(0).max(10_000)).min(1).max(100).optional(),
  })
  .superRefine((o, ctx) => {
    if (!o.auto_scaling && !o.target_groups)
      ctx.addIssue({
        code: 'custom',
        path: ['auto_scaling'],
        message: "set `auto_scaling: 'standby'`, `target_groups: 'deregister'` or both",
      });
    if (o.target_group_arns && !o.target_groups)
      ctx.addIssue({
        code: 'custom',
        path: ['target_group_arns'],
        message: "only with `target_groups: 'deregister'`",
      });
  });
export type OutOfService = z.infer<typeof OutOfService>;

function ordersInclude(opt: OutOfService, order: number): boolean {
  return !opt.orders || opt.orders.includes(order);
}

/** Whether a machine of order group `order` is taken out of service (Auto Scaling standby) by the plan's option. */
export function standbyApplies(opt: OutOfService | undefined, order: number): boolean {
  if (opt?.auto_scaling !== 'standby') return false;
  return ordersInclude(opt, order);
}

/** Whether a machine of order group `order` is deregistered from its load-balancer target groups while patched. */
export function targetGroupsApply(opt: OutOfService | undefined, order: number): boolean {
  if (opt?.target_groups !== 'deregister') return false;
  return ordersInclude(opt, order);
}

/** Window length: a positive number of hours, at least one minute. */
export const WindowHours = z
  .number()
  .min(1 / 60, 'must be at least one minute (1/60 hour)')
  .max(24 * 14, 'must be at most 14 days');

/** At least 9 characters once trimmed (states `.trim().min(9)` in the OpenAPI document). */
export const TRIMMED_9 = '\\S[\\s\\S]{7,}\\S';

const PlanFields = {
  name: z.string().trim().min(1).max(255).meta({ pattern: '\\S' }),
  description: z.string().max(2000).optional(),
  /** 5-field cron, UTC. Validated further by domain/schedule (cron library). */
  cron: z.string().trim().min(9).max(200).meta({ pattern: TRIMMED_9 }),
  window_hours: WindowHours,
  notification_groups: z.array(ID).max(20).default([]),
  machines: z.array(PlanMachine).max(20_000).optional(),
  dynamic: z.array(DynamicSelector).min(1).max(20).optional(),
  pre_hooks: z.array(HookDef).max(20).default([]),
  post_hooks: z.array(HookDef).max(20).default([]),
  /** Machines patched at once inside one order group; unset = unlimited. */
  max_concurrency: z.number().int().min(1).max(10_000).optional(),
  /** Stop starting new machines once this many have failed; unset = unlimited. */
  max_errors: z.number().int().min(1).max(100_000).optional(),
  /** Waves by percentage (docs/behaviour.md#waves): each wave is an order group; unset = the machines' `order`. */
  waves: Waves.optional(),
  /** How machines are put in waves; only with `waves`; unset = `hash`. */
  wave_by: WaveBy.optional(),
  /** At most `max` machines of one value of a tag at once (docs/behaviour.md#waves); unset = no such limit. */
  max_unavailable: MaxUnavailable.optional(),
  /** Probes that halt the event (HALTED) when the service behind the machines is unhealthy; unset = none. */
  health_gates: HealthGates.optional(),
  /**
   * Tag each machine that patched successfully (SUCCESS or SUCCESS_NO_UPDATES) with the patch date (SSM's end
   * time of the patch command, ISO 8601 UTC) under this key: EC2 CreateTags for `i-…`, SSM AddTagsToResource for
   * `mi-…`. Unset = no tag. A failed tag is on the timeline and changes no status.
   */
  patch_date_tag: PatchDateTag.optional(),
  /**
   * Take machines out of service while they are patched (docs/behaviour.md#out-of-service): `{auto_scaling?:
   * 'standby', target_groups?: 'deregister', target_group_arns?, orders?}` puts an instance of an Auto Scaling group in
   * Standby and/or takes it out of its load-balancer target groups (drained first) from just before its patch command
   * until the command has ended and the instance is Online (and healthy in its target groups) again. Unset = off.
   */
  out_of_service: OutOfService.optional(),
  /**
   * Maintenance announced and monitoring quiet while the event patches (docs/behaviour.md#maintenance): an
   * Alertmanager silence, a Statuspage scheduled incident, a Pingdom maintenance window or signed calls to an
   * operator's webhook per entry (targets fixed or from the machines' tags), created `lead_minutes` (default
   * 1440) before the start, moved with the window, lifted when the event ends early or is deleted. Unset = none.
   */
  maintenance: Maintenance.optional(),
  /** `scan`: the plan's events only scan (AWS-RunPatchBaseline Scan): no installs, no reboots, no hooks skipped. */
  operation: PlanOperation.default('install'),
  /** What an event that falls in a freeze calendar does (docs/behaviour.md#freeze-calendars); unset = skip. */
  freeze_rule: FreezeRule.optional(),
  /** docs/behaviour.md#approve: unset = DEFAULT_REAPPROVAL_THRESHOLD (0.1). */
  reapproval_threshold: ReapprovalThreshold.optional(),
  enabled: z.boolean().default(true),
};

function exactlyOneMachineSource(p: { machines?: unknown[]; dynamic?: unknown[] }, ctx: z.RefinementCtx) {
  if ((p.machines === undefined) === (p.dynamic === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: p.machines === undefined ? ['machines'] : ['dynamic'],
      message: 'a plan has exactly one of `machines` (static list) or `dynamic` (tag selectors)',
    });
  }
  if (p.machines) {
    const seen = new Set<string>();
    (p.machines as PlanMachine[]).forEach((m, i) => {
      if (seen.has(m.machine_id))
        ctx.addIssue({
          code: 'custom',
          path: ['machines', i, 'machine_id'],
          message: 'is listed twice in this plan',
        });
      seen.add(m.machine_id);
    });
  }
}

/** With `waves`, the wave is the order group: a machine or selector `order` other than 0 is refused. */
function wavesReplaceOrder(
  p: { waves?: unknown; wave_by?: unknown; machines?: { order?: number }[]; dynamic?: { order?: number }[] },
  ctx: z.RefinementCtx,
) {
  if (p.waves === undefined) {
    if (p.wave_by !== undefined)
      ctx.addIssue({ code: 'custom', path: ['wave_by'], message: 'applies only with `waves`' });
    return;
  }
  for (const source of ['machines', 'dynamic'] as const)
    (p[source] ?? []).forEach((m, i) => {
      if ((m.order ?? 0) !== 0)
        ctx.addIssue({
          code: 'custom',
          path: [source, i, 'order'],
          message: 'must be 0 (or left out) when the plan has `waves`: the wave is the order group',
        });
    });
}

export const PlanInput = z
  .strictObject(PlanFields)
  .superRefine(exactlyOneMachineSource)
  .superRefine(wavesReplaceOrder)
  // States "exactly one of machines or dynamic" in the OpenAPI document (JSON Schema can say it; zod's shape cannot).
  .meta({ oneOf: [{ required: ['machines'] }, { required: ['dynamic'] }] });
export type PlanInput = z.infer<typeof PlanInput>;

export const Plan = z.object({
  ...PlanFields,
  id: z.string(),
  customer_id: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Plan = z.infer<typeof Plan>;
