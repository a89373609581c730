import type { HookOutputEntry, HookPayload, HookPayloadMachine, HookRun } from './hooks';

/**
 * The JSON a hook receives (docs/behaviour.md#hook-payload). `machines` is the event's machines, or only the hook's own
 * machine for a host hook — the caller chooses. `previous` must already be in order (orderHookOutputs) and
 * already converted (toHookOutputEntry).
 */
export function buildHookPayload(args: {
  eventId: string;
  customerId: string;
  machines: HookPayloadMachine[];
  previous: HookOutputEntry[];
}): HookPayload {
  return {
    event_id: args.eventId,
    customer_id: args.customerId,
    machines: args.machines.map(payloadMachine),
    hook_outputs: args.previous.map((e) => ({ ...e })),
  };
}

// Unset optional fields are left out rather than sent as null: the seed's hook code tests them for truthiness.
function payloadMachine(m: HookPayloadMachine): HookPayloadMachine {
  const out: HookPayloadMachine = { id: m.id, status: m.status, name: m.name };
  if (m.subscription_id !== undefined) out.subscription_id = m.subscription_id;
  if (m.subscription_name !== undefined) out.subscription_name = m.subscription_name;
  if (m.resource_group_name !== undefined) out.resource_group_name = m.resource_group_name;
  return out;
}

/**
 * A stored hook run → one `hook_outputs` entry. `plan_name`/`event_id` only for runs from other events of
 * the pipeline run (`sameEvent: false`); `machine_id` for host hooks; `command_id` for script hooks;
 * `msg` was already stored as `message`.
 */
export function toHookOutputEntry(
  run: HookRun,
  ctx: { planName?: string; eventId?: string; sameEvent: boolean },
): HookOutputEntry {
  const hook: HookOutputEntry['hook'] = { type: run.type, source: run.source, name: run.name };
  if (run.method !== undefined) hook.method = run.method;
  const entry: HookOutputEntry = { code: run.code, message: run.message, hook, output: run.output };
  if (!ctx.sameEvent) {
    if (ctx.planName !== undefined) entry.plan_name = ctx.planName;
    if (ctx.eventId !== undefined) entry.event_id = ctx.eventId;
  }
  if (run.machine_id !== undefined) entry.machine_id = run.machine_id;
  if (run.type === 'script' && run.command_id !== undefined) entry.command_id = run.command_id;
  return entry;
}

function instant(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
}

/**
 * Oldest first: by finished_at, then started_at; ties keep their given order (Array#sort is stable).
 * Timestamps are compared as instants, so differing precision or offsets don't matter; unparseable ones go last.
 */
export function orderHookOutputs<T extends { finished_at: string; started_at: string }>(
  entries: readonly T[],
): T[] {
  return [...entries].sort(
    (a, b) =>
      compare(instant(a.finished_at), instant(b.finished_at)) ||
      compare(instant(a.started_at), instant(b.started_at)),
  );
}

function compare(x: number, y: number): number {
  return x < y ? -1 : x > y ? 1 : 0;
}
