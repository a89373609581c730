import { z } from 'zod';
import { HookDef } from './hooks';

/**
 * Health gates of a plan (issue 16, docs/behaviour.md#health-gates): probes read before the first order group,
 * on an interval while machines remain to start, and for `soak_s` after each group before the next one. A
 * failing probe halts the event (HALTED): no new machine starts until an operator resumes, overrides or aborts.
 */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

const ProbeName = z.string().trim().min(1).max(100).optional();
const TimeoutS = z.number().int().min(1).max(60).default(10);

export const CloudWatchAlarmProbe = z.strictObject({
  type: z.literal('cloudwatch_alarm'),
  name: ProbeName,
  /** Any of these alarms in state ALARM means unhealthy; an alarm that does not exist cannot be read. */
  alarm_names: z.array(z.string().min(1).max(255)).min(1).max(100),
  /** Default: the worker's AWS_REGION. */
  region: z.string().regex(REGION, 'must be an AWS region such as eu-west-1').optional(),
  timeout_s: TimeoutS,
});

export const HttpProbe = z.strictObject({
  type: z.literal('http'),
  name: ProbeName,
  /** GET; passes the same SSRF guard as hooks (https only unless the host is in PATCHWAVE_HTTP_ALLOWLIST). */
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000),
  expected_status: z.number().int().min(100).max(599).default(200),
  /** Dotted path into the JSON answer (`status`, `checks.db.state`); with `json_value`, that field must equal it. */
  json_field: z.string().min(1).max(200).optional(),
  json_value: z.union([z.string().max(500), z.number(), z.boolean()]).optional(),
  timeout_s: TimeoutS,
});

export const PrometheusProbe = z.strictObject({
  type: z.literal('prometheus'),
  name: ProbeName,
  /** Base URL of an Alertmanager (`/api/v2/alerts`) or a Prometheus server (`/api/v1/alerts`); SSRF-guarded. */
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000),
  api: z.enum(['alertmanager', 'prometheus']).default('alertmanager'),
  /** Label equality matchers: a firing alert carrying all of them means unhealthy. */
  matchers: z
    .record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a label name'), z.string().max(500))
    .refine((m) => Object.keys(m).length >= 1 && Object.keys(m).length <= 20, 'must name 1 to 20 labels')
    .meta({ minProperties: 1, maxProperties: 20, propertyNames: { pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' } }),
  timeout_s: TimeoutS,
});

/** The plan's hook shapes that answer over the network (a script hook runs on a machine, not as a probe). */
const [LambdaFunction, AzureFunction] = HookDef.options;

export const HookProbe = z.strictObject({
  type: z.literal('hook'),
  name: ProbeName,
  /**
   * A Lambda function or an Azure function, written as a plan's hook is; called with the usual hook payload
   * and answering `{"healthy": true|false, "reason": "…"}`. Azure URLs pass the SSRF guard.
   */
  hook: z.discriminatedUnion('type', [
    LambdaFunction.omit({ name: true }),
    AzureFunction.omit({ name: true }),
  ]),
  timeout_s: TimeoutS,
});

export const HealthProbe = z.discriminatedUnion('type', [
  CloudWatchAlarmProbe,
  HttpProbe,
  PrometheusProbe,
  HookProbe,
]);
export type HealthProbe = z.infer<typeof HealthProbe>;

export const HealthGates = z.strictObject({
  probes: z.array(HealthProbe).min(1).max(20),
  /** How often probes are read while machines remain to start (and during a soak). */
  interval_s: z.number().int().min(1).max(3600).default(30),
  /** After each order group, wait this long (probing) before the next group starts. */
  soak_s: z
    .number()
    .int()
    .min(0)
    .max(24 * 3600)
    .default(0),
  /** A probe that cannot be read (timeout, error, unknown alarm) counts as unhealthy unless this says `healthy`. */
  on_unreadable: z.enum(['unhealthy', 'healthy']).default('unhealthy'),
});
export type HealthGates = z.infer<typeof HealthGates>;

/** A probe's name on the timeline: its own, else its type and position (`cloudwatch_alarm_0`). */
export function probeLabel(p: { type: string; name?: string }, index: number): string {
  return p.name ?? `${p.type}_${index}`;
}

/** What one reading of the gates found: healthy, or the first failing probe and its answer. */
export interface GateReading {
  healthy: boolean;
  probe?: string;
  answer?: string;
}
