import { z } from 'zod';

const ID = z.string().min(1).max(128);

/** product.md §1 "Pipeline" and §5; policies come from the seed's `success_or_approval`. */
export const StepPolicy = z.enum(['always', 'success', 'success_or_approval', 'approval']);
export type StepPolicy = z.infer<typeof StepPolicy>;

export const PipelineStep = z.strictObject({
  name: z.string().trim().min(1).max(255).optional(),
  plans: z.array(ID).min(1).max(500),
  policy: StepPolicy.default('always'),
  /** Hours after the run's start at which this step's events start. */
  offset_hours: z
    .number()
    .min(0)
    .max(24 * 30)
    .default(0),
});
export type PipelineStep = z.infer<typeof PipelineStep>;

const PipelineFields = {
  name: z.string().trim().min(1).max(255),
  description: z.string().max(2000).optional(),
  /** 5-field cron, UTC: when a run starts. */
  cron: z.string().trim().min(9).max(200),
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

export const PipelineInput = z.strictObject(PipelineFields).superRefine(planOncePerStep);
export type PipelineInput = z.infer<typeof PipelineInput>;

export const Pipeline = z.object({
  ...PipelineFields,
  id: z.string(),
  customer_id: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Pipeline = z.infer<typeof Pipeline>;
