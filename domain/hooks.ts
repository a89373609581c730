import { z } from 'zod';

const LAMBDA_ARN =
  /^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9-_]{1,64}(:[A-Za-z0-9-_$]+)?$/;
const S3_URI = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+$/;

/** A hook as configured on a plan (global) or on a machine of a plan (host). docs/behaviour.md#hook. */
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
    source: z
      .url({
        protocol: /^https?$/,
        error: 'must be an http(s) URL of an Azure Function (with its ?code=...)',
      })
      .meta({ pattern: '^[Hh][Tt][Tt][Pp][Ss]?://' }),
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

/** What a hook answered, after normalisation (docs/behaviour.md#hook-run). */
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

/**
 * A hook's source as people see it (API answers, stored runs, hook payloads, messages, reports): an http(s)
 * URL keeps its parameter names but not their values (an Azure function's `code` is its key) and loses its
 * fragment; Lambda ARNs and S3 URIs carry no secret and stay as they are.
 */
export function redactSource(source: string): string {
  if (!/^https?:\/\//i.test(source)) return source;
  try {
    const u = new URL(source);
    for (const k of new Set(u.searchParams.keys())) u.searchParams.set(k, '***');
    u.hash = '';
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}

export function isHookSuccess(code: number): boolean {
  return code >= 200 && code <= 299;
}

/** Hook payload, docs/behaviour.md#hook-payload. */
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
