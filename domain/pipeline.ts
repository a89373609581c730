import { z } from 'zod';
import { TRIMMED_9 } from './plan';

const ID = z.string().min(1).max(128);

/** docs/behaviour.md#pipeline and #pipelines; policies come from the seed's `success_or_approval`. */
export const StepPolicy = z.enum(['always', 'success', 'success_or_approval', 'approval']);
export type StepPolicy = z.infer<typeof StepPolicy>;

/**
 * How a step chooses the patches it installs (docs/behaviour.md#promotion): `latest` what the repositories and
 * the machines' filters give today; `exact_previous_step` exactly the previous step's manifest (an
 * InstallOverrideList); `publish_date_cutoff` only patches released before the previous step started (a
 * BaselineOverride rule with ApproveUntilDate).
 */
export const PromotionMode = z.enum(['latest', 'exact_previous_step', 'publish_date_cutoff']);
export type PromotionMode = z.infer<typeof PromotionMode>;

/**
 * What the previous step must show before this one runs; not met, the step does what its policy does when the
 * previous step failed (`success`: not run; otherwise it waits for approval). The soak is waited out.
 */
export const PromotionGate = z
  .strictObject({
    min_success_rate: z
      .number()
      .min(0)
      .max(100)
      .optional()
      .describe('Percent of the previous step’s machines (excluded ones aside) that ended SUCCESS*'),
    min_machines: z
      .number()
      .int()
      .min(0)
      .max(100_000)
      .optional()
      .describe('Machines of the previous step that ended SUCCESS*, at least'),
    min_soak_minutes: z
      .number()
      .min(0)
      .max(30 * 24 * 60)
      .optional()
      .describe('Minutes since the previous step ended before this step may start'),
  })
  .meta({ id: 'PromotionGate' });
export type PromotionGate = z.infer<typeof PromotionGate>;

const PatchId = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^(KB\d{6,8}|[A-Za-z0-9._+:*-]{1,100})$/, 'must be a KB or package name');

export const PipelineStep = z.strictObject({
  name: z.string().trim().min(1).max(255).meta({ pattern: '\\S' }).optional(),
  plans: z.array(ID).min(1).max(500).meta({ uniqueItems: true }),
  policy: StepPolicy.default('always'),
  /** Hours after the run's start at which this step's events start. */
  offset_hours: z
    .number()
    .min(0)
    .max(24 * 30)
    .default(0),
  /** Absent: `latest`. */
  promotion: PromotionMode.optional(),
  promotion_gate: PromotionGate.optional(),
  /** Patches this step and every later step of the pipeline must not install (RejectedPatches, BLOCK). */
  exclude_patches: z.array(PatchId).max(50).meta({ uniqueItems: true }).optional(),
});
export type PipelineStep = z.infer<typeof PipelineStep>;

const PipelineFields = {
  name: z.string().trim().min(1).max(255).meta({ pattern: '\\S' }),
  description: z.string().max(2000).optional(),
  /** 5-field cron, UTC: when a run starts. */
  cron: z.string().trim().min(9).max(200).meta({ pattern: TRIMMED_9 }),
  steps: z.array(PipelineStep).min(1).max(50),
  notification_groups: z.array(ID).max(20).default([]),
  enabled: z.boolean().default(true),
};

function planOncePerStep(p: { steps: PipelineStep[] }, ctx: z.RefinementCtx) {
  p.steps.forEach((s, i) => {
    const seen = new Set<string>();
    s.plans.forEach((planId, j) => {
      if (seen.has(planId))
        ctx.addIssue({
          code: 'custom',
          path: ['steps', i, 'plans', j],
          message: 'is listed twice in this step',
        });
      seen.add(planId);
    });
  });
}

/** The first step has no previous step to promote from or be gated by. */
function firstStepPromotes(p: { steps: PipelineStep[] }, ctx: z.RefinementCtx) {
  const first = p.steps[0];
  if (!first) return;
  if (first.promotion && first.promotion !== 'latest')
    ctx.addIssue({
      code: 'custom',
      path: ['steps', 0, 'promotion'],
      message: `the first step has no previous step to promote from; only latest applies`,
    });
  if (first.promotion_gate)
    ctx.addIssue({
      code: 'custom',
      path: ['steps', 0, 'promotion_gate'],
      message: 'the first step has no previous step to be gated by',
    });
}

/** Cumulative exclusions reach at most AWS's 50 RejectedPatches in one baseline. */
function exclusionsFit(p: { steps: PipelineStep[] }, ctx: z.RefinementCtx) {
  const seen = new Set<string>();
  p.steps.forEach((s, i) => {
    (s.exclude_patches ?? []).forEach((x) => seen.add(x.toLowerCase()));
    if (seen.size > 50)
      ctx.addIssue({
        code: 'custom',
        path: ['steps', i, 'exclude_patches'],
        message: `steps 0-${i} exclude ${seen.size} patches together; a BaselineOverride holds at most 50 RejectedPatches`,
      });
  });
}

export const PipelineInput = z.strictObject(PipelineFields).superRefine((p, ctx) => {
  planOncePerStep(p, ctx);
  firstStepPromotes(p, ctx);
  exclusionsFit(p, ctx);
});
export type PipelineInput = z.infer<typeof PipelineInput>;

export const Pipeline = z.object({
  ...PipelineFields,
  id: z.string(),
  customer_id: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Pipeline = z.infer<typeof Pipeline>;

/** The patches step `i` must not install: its own exclusions and every earlier step's (case kept, duplicates dropped). */
export function cumulativeExclusions(steps: Pick<PipelineStep, 'exclude_patches'>[], i: number): string[] {
  const out = new Map<string, string>();
  for (const s of steps.slice(0, i + 1))
    for (const x of s.exclude_patches ?? []) if (!out.has(x.toLowerCase())) out.set(x.toLowerCase(), x);
  return [...out.values()];
}
