import { z } from 'zod';

/**
 * What an event will do, as far as can be known before it starts (docs/behaviour.md#preview): its targets
 * (a dynamic plan's resolved now, and again at the start), each machine's SSM agent, whether its hooks answer a
 * dry-run call, and its order groups with times predicted from the plan's past events. Pure: shapes and the
 * time prediction.
 */

export const PreviewMachine = z.object({
  machine_id: z
    .string()
    .optional()
    .describe('Absent for a node a dynamic plan would find that is not registered yet'),
  name: z.string(),
  ssm_machine_id: z.string(),
  order: z.number().int(),
  excluded: z.boolean(),
  /** DescribeInstanceInformation PingStatus (Online, ConnectionLost, Inactive), or NotRegistered. */
  ping_status: z.string(),
  platform_type: z.string().optional(),
  platform_name: z.string().optional(),
  platform_version: z.string().optional(),
});
export type PreviewMachine = z.infer<typeof PreviewMachine>;

export const PreviewHook = z.object({
  name: z.string(),
  type: z.enum(['lambda', 'azure', 'script']),
  /** Secrets (an Azure function key) redacted. */
  source: z.string(),
  machine_id: z.string().optional(),
  reachable: z.boolean(),
  /** The dry-run answer's HTTP status (Lambda: its StatusCode). */
  http_status: z.number().int().optional(),
  message: z.string(),
  duration_ms: z.number().int(),
});
export type PreviewHook = z.infer<typeof PreviewHook>;

export const PreviewGroup = z.object({
  order: z.number().int(),
  machines: z.number().int(),
  /** Batches of max_concurrency machines the group takes (not the plan's percentage `waves`). */
  waves: z.number().int(),
  wave_percent: z
    .number()
    .optional()
    .describe(
      "With the plan's `waves`: this order group is wave `order` (0-based), and the waves up to it hold this cumulative percentage of the event's machines",
    ),
  predicted_start: z.string().optional(),
  predicted_end: z.string().optional(),
});

export const EventPreview = z.object({
  event_id: z.string(),
  plan_id: z.string(),
  status: z.string(),
  operation: z.enum(['install', 'scan']),
  computed_at: z.string(),
  start: z.string(),
  end: z.string(),
  /** A dynamic plan: these targets were resolved now; the event resolves them again when it starts. */
  targets_re_resolved_at_start: z.boolean(),
  target_error: z.string().optional(),
  machines: z.array(PreviewMachine),
  hooks: z.array(PreviewHook),
  groups: z.array(PreviewGroup),
  predicted_end: z.string().optional(),
  /** The prediction will not fit the window. */
  predicted_overrun: z.boolean().optional(),
  prediction: z.object({
    past_events: z.number().int(),
    machine_seconds: z
      .number()
      .optional()
      .describe(
        "Median run of one wave in past events (a machine's run, or the event's run per order group)",
      ),
    pre_hooks_seconds: z
      .number()
      .optional()
      .describe('Median time from the event start to its first machine'),
    basis: z.string(),
  }),
});
export type EventPreview = z.infer<typeof EventPreview>;

export interface PastEventTimes {
  started_at?: string;
  finished_at?: string;
  machines: { started_at?: string; ended_at?: string; order?: number }[];
}

export function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Order groups run one after another; inside one, `max_concurrency` machines at a time (a group of n takes
 * ceil(n / max_concurrency) waves). Each wave lasts the median machine run of the plan's past events; the first
 * group starts after the median time past events took from their start to their first machine (the pre hooks).
 * Without past machine runs there are no predicted times.
 */
export function predictGroups(
  start: Date,
  groups: { order: number; machines: number; wave_percent?: number }[],
  maxConcurrency: number | undefined,
  past: PastEventTimes[],
): {
  groups: z.infer<typeof PreviewGroup>[];
  predicted_end?: string;
  prediction: EventPreview['prediction'];
} {
  const runs: number[] = [];
  const lead: number[] = [];
  for (const e of past) {
    const starts: number[] = [];
    for (const m of e.machines) {
      const a = Date.parse(m.started_at ?? '');
      const b = Date.parse(m.ended_at ?? '');
      if (Number.isFinite(a)) starts.push(a);
      if (Number.isFinite(a) && Number.isFinite(b) && b >= a) runs.push((b - a) / 1000);
    }
    const s = Date.parse(e.started_at ?? '');
    if (Number.isFinite(s) && starts.length) lead.push(Math.max(0, Math.min(...starts) - s) / 1000);
    // Machine records without their own times: the event's run spread evenly over its order groups.
    const f = Date.parse(e.finished_at ?? '');
    if (starts.length === 0 && Number.isFinite(s) && Number.isFinite(f) && f >= s) {
      const groupsRun = new Set(e.machines.map((m) => m.order ?? 0)).size || 1;
      runs.push((f - s) / 1000 / groupsRun);
    }
  }
  const machineS = median(runs);
  const preS = median(lead) ?? 0;
  const waves = (n: number) => (maxConcurrency ? Math.ceil(n / maxConcurrency) : n > 0 ? 1 : 0);
  if (machineS === undefined)
    return {
      groups: groups.map((g) => ({ ...g, waves: waves(g.machines) })),
      prediction: { past_events: past.length, basis: 'no finished machine run of this plan yet' },
    };
  let at = start.getTime() + preS * 1000;
  const out = groups.map((g) => {
    const w = waves(g.machines);
    const from = at;
    at += w * machineS * 1000;
    return {
      ...g,
      waves: w,
      predicted_start: new Date(from).toISOString(),
      predicted_end: new Date(at).toISOString(),
    };
  });
  return {
    groups: out,
    predicted_end: new Date(at).toISOString(),
    prediction: {
      past_events: past.length,
      machine_seconds: Math.round(machineS * 10) / 10,
      pre_hooks_seconds: Math.round(preS * 10) / 10,
      basis: `median of ${runs.length} group run(s) in the plan's last ${past.length} finished event(s)`,
    },
  };
}
