import { z } from 'zod';

const LAMBDA_ARN =
  /^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9-_]{1,64}(:[A-Za-z0-9-_$]+)?$/;
const S3_URI = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+$/;

/** A hook as configured on a plan (global) or on a machine of a plan (host). product.md §1. */
export const HookDef = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('lambda'),
    source: z
      .string()
      .regex(LAMBDA_ARN, 'must be a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)'),
    name: z.string().max(200).optional(),
  }),
  z.strictObject({
    type: z.literal('azure'),
    source: z.url({
      protocol: /^https?$/,
      error: 'must be an http(s) URL of an Azure Function (with its ?code=...)',
    }),
    method: z.enum(['GET', 'POST']).default('GET'),
    name: z.string().max(200).optional(),
  }),
  z.strictObject({
    type: z.literal('script'),
    source: z.string().regex(S3_URI, 'must be an s3://bucket/key URI of a shell or PowerShell script'),
    name: z.string().max(200).optional(),
  }),
]);
export type HookDef = z.infer<typeof HookDef>;
export type HookType = HookDef['type'];

export const HookPhase = z.enum(['pre', 'post', 'pre_host', 'post_host']);
export type HookPhase = z.infer<typeof HookPhase>;

/** Hook names are assigned by position, counted from 0: pre_0, post_1, pre_host_0, post_host_2. */
export function hookName(phase: HookPhase, index: number): string {
  if (!Number.isInteger(index) || index < 0)
    throw new RangeError(`hook index must be a non-negative integer, got ${index}`);
  return `${phase}_${index}`;
}

export function parseHookName(name: string): { phase: HookPhase; index: number } | undefined {
  const m = /^(pre_host|post_host|pre|post)_(\d+)$/.exec(name);
  if (!m) return undefined;
  return { phase: m[1] as HookPhase, index: Number(m[2]) };
}

/** What a hook answered, after normalisation (product.md §2 "Hook run"). */
export const HookRun = z.object({
  name: z.string(),
  type: z.enum(['lambda', 'azure', 'script']),
  /** Shown to people; secrets (e.g. an Azure function `code`) are redacted. */
  source: z.string(),
  method: z.enum(['GET', 'POST']).optional(),
  code: z.number().int(),
  message: z.string(),
  output: z.string(),
  started_at: z.string(),
  finished_at: z.string(),
  machine_id: z.string().optional(),
  command_id: z.string().optional(),
  /** Which run of the event produced it: 0 for the scheduled run, 1.. for partial runs. */
  run_no: z.number().int().nonnegative().default(0),
});
export type HookRun = z.infer<typeof HookRun>;

export function isHookSuccess(code: number): boolean {
  return code >= 200 && code <= 299;
}

/** Hook payload, product.md §4. */
export const HookPayloadMachine = z.object({
  id: z.string(),
  status: z.string(),
  name: z.string(),
  subscription_id: z.string().optional(),
  subscription_name: z.string().optional(),
  resource_group_name: z.string().optional(),
});
export const HookOutputEntry = z.object({
  code: z.number(),
  message: z.string(),
  hook: z.object({ type: z.string(), source: z.string(), method: z.string().optional(), name: z.string() }),
  plan_name: z.string().optional(),
  event_id: z.string().optional(),
  output: z.string(),
  machine_id: z.string().optional(),
  command_id: z.string().optional(),
});
export const HookPayload = z.object({
  event_id: z.string(),
  customer_id: z.string(),
  machines: z.array(HookPayloadMachine),
  hook_outputs: z.array(HookOutputEntry),
});
export type HookPayload = z.infer<typeof HookPayload>;
export type HookOutputEntry = z.infer<typeof HookOutputEntry>;
export type HookPayloadMachine = z.infer<typeof HookPayloadMachine>;
