import { z } from 'zod';
import { isEventSuccess, isMachineSuccess } from './event-status';
import { redactSource } from './hooks';
import {
  NotificationEventType,
  SEVERITY_ORDER,
  Severity,
  type NotificationGroupInput,
} from './notification-group';

/**
 * Notification event types, severities and message texts, docs/behaviour.md#notifications. Pure (no I/O, no Node built-ins)
 * so workflows may import it; the notify activity turns a message into Slack/Teams/webhook/email payloads.
 */
export { NotificationEventType, SEVERITY_ORDER, Severity };

export function severityRank(s: Severity): number {
  return SEVERITY_ORDER.indexOf(s);
}

/** Fixed severity per type; `outcome` types are SUCCESS or ERROR depending on the result they report. */
export const TYPE_SEVERITY: Record<NotificationEventType, Severity | 'outcome'> = {
  event_new: 'INFO',
  not_approved_patching: 'INFO',
  incoming_patching: 'INFO',
  patching_start: 'INFO',
  patching_halted: 'WARNING',
  patching_finish: 'outcome',
  partial_patching_start: 'INFO',
  partial_patching_finish: 'outcome',
  machine_patching_start: 'INFO',
  machine_patching_finish: 'outcome',
  machine_access_err: 'ERROR',
  machine_not_in_window: 'WARNING',
  hook_start: 'INFO',
  hook_finish: 'outcome',
  host_hook_start: 'INFO',
  host_hook_finish: 'outcome',
  error: 'ERROR',
  plan_new: 'DEBUG',
  plan_modification: 'DEBUG',
  plan_deleted: 'WARNING',
  pipeline_new: 'DEBUG',
  pipeline_modification: 'DEBUG',
  pipeline_deleted: 'WARNING',
};

/** A group receives a notification when it is at least the group's minimum severity and of a listed type. */
export function shouldDeliver(
  group: Pick<NotificationGroupInput, 'min_severity' | 'event_types'>,
  type: NotificationEventType,
  severity: Severity,
): boolean {
  if (severityRank(severity) < severityRank(group.min_severity ?? 'INFO')) return false;
  return !group.event_types || group.event_types.includes(type);
}

// ---------------------------------------------------------------------------------------------------------
// Context: what the caller (a workflow, through the notify activity) knows at the moment of the notification.
// Every field is optional so one schema serves all types; statuses are plain strings so a message can always
// be built, even for a status added later.

const MachineContext = z.object({
  machine_id: z.string(),
  name: z.string().optional(),
  ssm_machine_id: z.string().optional(),
  status: z.string().optional(),
  reason: z.string().optional(),
  installed: z.array(z.string()).optional(),
  rebooted: z.boolean().optional(),
  started_at: z.string().optional(),
  ended_at: z.string().optional(),
  command_id: z.string().optional(),
  action_taken: z.string().optional(),
});
export type MachineContext = z.infer<typeof MachineContext>;

const HookContext = z.object({
  name: z.string(),
  type: z.string().optional(),
  source: z.string().optional(),
  method: z.string().optional(),
  code: z.number().optional(),
  message: z.string().optional(),
});

const EventContext = z.object({
  id: z.string(),
  plan_id: z.string().optional(),
  plan_name: z.string().optional(),
  pipeline_id: z.string().optional(),
  pipeline_name: z.string().optional(),
  step: z.number().optional(),
  start: z.string().optional(),
  end: z.string().optional(),
  status: z.string().optional(),
  run_no: z.number().optional(),
  failure_reasons: z.array(z.string()).optional(),
  machine_count: z.number().optional(),
});

export const NotificationContext = z.object({
  customer_id: z.string().optional(),
  customer_name: z.string().optional(),
  /** Groups to notify: the plan's or pipeline's `notification_groups`. */
  notification_groups: z.array(z.string()).optional(),
  event: EventContext.optional(),
  /** All machines of the event (start/finish messages) or the machines of a partial run. */
  machines: z.array(MachineContext).optional(),
  /** The one machine of machine_* and host_hook_* messages. */
  machine: MachineContext.optional(),
  hook: HookContext.optional(),
  plan: z.object({ id: z.string(), name: z.string().optional() }).optional(),
  pipeline: z.object({ id: z.string(), name: z.string().optional(), step: z.number().optional() }).optional(),
  /** incoming_patching: how long before the start this notice is sent (the configured lead time). */
  lead_time_minutes: z.number().optional(),
  /** not_approved_patching: names of the API keys allowed to approve (filled by the activity when absent). */
  approvers: z.array(z.string()).optional(),
  /** not_approved_patching: the step policy that made the event wait. */
  policy: z.string().optional(),
  /** Why it happened (approval needed, access error, an error message, …). */
  reason: z.string().optional(),
  /** Who made a change (plan/pipeline messages, partial runs). */
  actor: z.string().optional(),
  /** Base URL of the REST API, to print ready-to-use URLs. */
  api_url: z.string().optional(),
});
export type NotificationContext = z.infer<typeof NotificationContext>;

export const NotificationMessage = z.object({
  type: NotificationEventType,
  severity: Severity,
  customer_id: z.string(),
  event_id: z.string().optional(),
  plan_id: z.string().optional(),
  pipeline_id: z.string().optional(),
  machine_id: z.string().optional(),
  /** Plain text; the first line is the title. */
  text: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export type NotificationMessage = z.infer<typeof NotificationMessage>;

// ---------------------------------------------------------------------------------------------------------

/** Longest text a message carries; chat services reject far larger bodies, and the PDF report has it all. */
export const MAX_TEXT_CHARS = 12_000;
const MAX_PACKAGES_PER_MACHINE_IN_TEXT = 40;
const MAX_MACHINES_IN_TEXT = 100;

export function severityOf(type: NotificationEventType, ctx: NotificationContext): Severity {
  const fixed = TYPE_SEVERITY[type];
  if (fixed !== 'outcome') return fixed;
  switch (type) {
    case 'patching_finish':
    case 'partial_patching_finish':
      return isEventSuccess(ctx.event?.status) ? 'SUCCESS' : 'ERROR';
    case 'machine_patching_finish':
      return isMachineSuccess(ctx.machine?.status) ? 'SUCCESS' : 'ERROR';
    default: {
      const code = ctx.hook?.code;
      return code !== undefined && code >= 200 && code <= 299 ? 'SUCCESS' : 'ERROR';
    }
  }
}

/** "2025-03-01 06:00 UTC" — messages are read by people in many time zones; UTC is stated, never implied. */
export function formatUtc(iso: string | undefined): string {
  if (!iso) return '?';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const s = d.toISOString();
  const secs = s.slice(17, 19);
  return `${s.slice(0, 10)} ${s.slice(11, 16)}${secs !== '00' ? `:${secs}` : ''} UTC`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const totalMin = Math.round(ms / 60_000);
  if (totalMin < 1) return `${Math.max(0, Math.round(ms / 1000))} s`;
  const h = Math.floor(totalMin / 60);
  const m = totalMin % 60;
  if (h === 0) return `${m} min`;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

export function formatWindow(start?: string, end?: string): string {
  if (!start) return '?';
  const a = formatUtc(start);
  if (!end) return a;
  const b = formatUtc(end);
  const sameDay = a.slice(0, 10) === b.slice(0, 10);
  const len = formatDuration(Date.parse(end) - Date.parse(start));
  return `${a.replace(/ UTC$/, '')} - ${sameDay ? b.slice(11) : b} (${len})`;
}

export function machineLabel(m: Pick<MachineContext, 'machine_id' | 'name' | 'ssm_machine_id'>): string {
  const name = m.name ?? m.machine_id;
  return m.ssm_machine_id ? `${name} (${m.ssm_machine_id})` : name;
}

export function countByStatus(machines: readonly { status?: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of machines) {
    const k = m.status ?? 'UNKNOWN';
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function leadTimeText(minutes: number | undefined): string {
  if (minutes === undefined) return 'soon';
  return `in ${formatDuration(minutes * 60_000)}`
    .replace(/\b1 h\b/, '1 hour')
    .replace(/\b(\d+) h\b/, '$1 hours');
}

function eventLines(ctx: NotificationContext): string[] {
  const e = ctx.event;
  const lines: string[] = [];
  const customer = ctx.customer_name ?? ctx.customer_id;
  if (customer) lines.push(`Customer: ${customer}`);
  const planName = e?.plan_name ?? ctx.plan?.name;
  const planId = e?.plan_id ?? ctx.plan?.id;
  if (planName || planId)
    lines.push(`Plan: ${planName ?? planId}${planName && planId ? ` (${planId})` : ''}`);
  const pipelineName = e?.pipeline_name ?? ctx.pipeline?.name;
  const pipelineId = e?.pipeline_id ?? ctx.pipeline?.id;
  const step = e?.step ?? ctx.pipeline?.step;
  if (pipelineName || pipelineId)
    lines.push(`Pipeline: ${pipelineName ?? pipelineId}${step !== undefined ? `, step ${step + 1}` : ''}`);
  if (e?.start) lines.push(`Window: ${formatWindow(e.start, e.end)}`);
  if (e?.id) lines.push(`Event: ${e.id}`);
  return lines;
}

function machineStatusLine(m: MachineContext): string {
  const bits = [`${machineLabel(m)}: ${m.status ?? 'UNKNOWN'}`];
  if (m.rebooted) bits.push('rebooted');
  if (m.reason && !isMachineSuccess(m.status)) bits.push(m.reason);
  if (m.action_taken) bits.push(`action taken: ${m.action_taken}`);
  return bits.join(' - ');
}

function packagesLines(m: MachineContext, indent: string): string[] {
  const pk = m.installed ?? [];
  if (pk.length === 0) return m.status === 'SUCCESS_NO_UPDATES' ? [`${indent}no updates were available`] : [];
  const shown = pk.slice(0, MAX_PACKAGES_PER_MACHINE_IN_TEXT);
  const lines = [
    `${indent}${plural(pk.length, 'package')} installed:`,
    ...shown.map((p) => `${indent}  ${p}`),
  ];
  if (pk.length > shown.length)
    lines.push(`${indent}  ... and ${pk.length - shown.length} more (see the report)`);
  return lines;
}

function summaryLine(machines: MachineContext[]): string {
  const counts = countByStatus(machines);
  const parts = Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([s, n]) => `${s} ${n}`);
  return `Machines: ${machines.length}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

function machinesResultLines(machines: MachineContext[]): string[] {
  const lines: string[] = [];
  for (const m of machines.slice(0, MAX_MACHINES_IN_TEXT)) {
    lines.push(`- ${machineStatusLine(m)}`);
    lines.push(...packagesLines(m, '    '));
  }
  if (machines.length > MAX_MACHINES_IN_TEXT)
    lines.push(`... and ${machines.length - MAX_MACHINES_IN_TEXT} more machines (see the report)`);
  return lines;
}

function namesLine(machines: MachineContext[]): string {
  const shown = machines.slice(0, 20).map(machineLabel);
  const more = machines.length > shown.length ? `, ... and ${machines.length - shown.length} more` : '';
  return `Machines (${machines.length}): ${shown.join(', ')}${more}`;
}

function hookLabel(h: NonNullable<NotificationContext['hook']>, host: boolean): string {
  const kind = host ? 'host hook' : 'hook';
  const src = h.source && redactSource(h.source);
  return `${kind} ${h.name}${h.type ? ` (${h.type}${src ? ` ${src}` : ''})` : ''}`;
}

function approvalLines(ctx: NotificationContext, eventId: string | undefined): string[] {
  const id = eventId ?? '<event-id>';
  const lines: string[] = [];
  if (ctx.reason) lines.push(`Why: ${ctx.reason}`);
  else if (ctx.policy === 'approval') lines.push('Why: the pipeline step requires a person to approve it.');
  else if (ctx.policy === 'success_or_approval')
    lines.push('Why: the previous step did not end DONE/DONE_MANUAL, so a person must approve this step.');
  lines.push(
    'The event will not run until it is approved; approving it approves every waiting event of the same step.',
  );
  const who = ctx.approvers?.length
    ? `API keys ${ctx.approvers.join(', ')}`
    : 'any API key with permission event:update on this event (e.g. one bound to the admin role)';
  lines.push(`Who can approve: ${who}.`);
  lines.push(`How: patchwave event approve ${id}`);
  const base = (ctx.api_url ?? '').replace(/\/+$/, '');
  lines.push(`  or: POST ${base}/api/v1/events/${id}/approve`);
  return lines;
}

function truncateText(text: string): string {
  if (text.length <= MAX_TEXT_CHARS) return text;
  return `${text.slice(0, MAX_TEXT_CHARS - 40).replace(/\n[^\n]*$/, '')}\n... (truncated; see the report)`;
}

interface Ids {
  customer_id: string;
  event_id?: string;
  plan_id?: string;
  pipeline_id?: string;
  machine_id?: string;
}

/** Builds the message of one notification. Never throws on missing context: it says less instead. */
export function buildNotification(
  type: NotificationEventType,
  ctx: NotificationContext & Partial<Ids>,
): NotificationMessage {
  const e = ctx.event;
  const ids: Ids = {
    customer_id: ctx.customer_id ?? '',
    event_id: ctx.event_id ?? e?.id,
    plan_id: ctx.plan_id ?? e?.plan_id ?? ctx.plan?.id,
    pipeline_id: ctx.pipeline_id ?? e?.pipeline_id ?? ctx.pipeline?.id,
    machine_id: ctx.machine_id ?? ctx.machine?.machine_id,
  };
  const severity = severityOf(type, ctx);
  const machines = ctx.machines ?? [];
  const m = ctx.machine;
  const planName = e?.plan_name ?? ctx.plan?.name ?? ids.plan_id ?? '?';
  const pipelineName = ctx.pipeline?.name ?? e?.pipeline_name ?? ids.pipeline_id ?? '?';
  const runNo = e?.run_no ?? 0;
  let title: string;
  let body: string[] = [];

  switch (type) {
    case 'event_new':
      title = `Patching scheduled: plan "${planName}" on ${formatUtc(e?.start)}`;
      body = eventLines(ctx);
      if (machines.length) body.push(namesLine(machines));
      else if (e?.machine_count !== undefined) body.push(`Machines: ${e.machine_count}`);
      break;
    case 'not_approved_patching':
      // The `success` policy does not wait for a person: the event was deleted, and the notice says why.
      if (e?.status === 'DELETED') {
        title = `Not patching: plan "${planName}" on ${formatUtc(e?.start)} will not run`;
        body = [
          ...eventLines(ctx),
          `Why: ${ctx.reason ?? 'the previous pipeline step did not succeed'}`,
          'The pipeline step has the policy "success": it runs only after the previous step ended DONE or DONE_MANUAL, and it does not wait for approval.',
        ];
      } else {
        title = `Approval needed: plan "${planName}" on ${formatUtc(e?.start)}`;
        body = [...eventLines(ctx), ...approvalLines(ctx, ids.event_id)];
      }
      break;
    case 'incoming_patching':
      title = `Upcoming patching: plan "${planName}" starts ${leadTimeText(ctx.lead_time_minutes)}`;
      body = eventLines(ctx);
      if (machines.length) body.push(namesLine(machines));
      body.push('Machines may reboot during the window.');
      break;
    case 'patching_start':
    case 'partial_patching_start': {
      const partial = type === 'partial_patching_start';
      title = partial
        ? `Partial patching started: plan "${planName}" (run ${runNo})`
        : `Patching started: plan "${planName}"`;
      body = eventLines(ctx);
      if (partial && ctx.actor) body.push(`Requested by: ${ctx.actor}`);
      if (machines.length) body.push(namesLine(machines));
      break;
    }
    case 'patching_halted':
      title = `Patching halted: plan "${planName}" (a health gate failed)`;
      body = [
        ...eventLines(ctx),
        `Why: ${ctx.reason ?? 'a health gate is unhealthy'}`,
        'No new machine starts; machines already running finish. Resume, override (with a reason) or abort the event.',
      ];
      break;
    case 'patching_finish':
    case 'partial_patching_finish': {
      const partial = type === 'partial_patching_finish';
      const status = e?.status ?? 'UNKNOWN';
      title = `${partial ? `Partial patching (run ${runNo})` : 'Patching'} finished ${status}: plan "${planName}"`;
      body = [...eventLines(ctx), `Status: ${status}`];
      if (machines.length) body.push(summaryLine(machines));
      const reasons = e?.failure_reasons ?? [];
      if (reasons.length) body.push('Failures:', ...reasons.slice(0, 50).map((r) => `- ${r}`));
      if (machines.length) body.push('Results:', ...machinesResultLines(machines));
      break;
    }
    case 'machine_patching_start':
      title = `Patching machine ${m ? machineLabel(m) : (ids.machine_id ?? '?')}: plan "${planName}"`;
      body = eventLines(ctx);
      break;
    case 'machine_patching_finish': {
      const label = m ? machineLabel(m) : (ids.machine_id ?? '?');
      title = `Machine ${label} finished ${m?.status ?? 'UNKNOWN'}: plan "${planName}"`;
      body = eventLines(ctx);
      if (m) {
        body.push(`Status: ${m.status ?? 'UNKNOWN'}${m.rebooted ? ' (rebooted)' : ''}`);
        if (m.started_at) body.push(`Ran: ${formatUtc(m.started_at)} - ${formatUtc(m.ended_at)}`);
        if (m.reason && !isMachineSuccess(m.status)) body.push(`Reason: ${m.reason}`);
        if (m.command_id) body.push(`SSM command: ${m.command_id}`);
        body.push(...packagesLines(m, ''));
      }
      break;
    }
    case 'machine_access_err': {
      const label = m ? machineLabel(m) : (ids.machine_id ?? '?');
      title = `Machine ${label} cannot be reached: plan "${planName}"`;
      body = [...eventLines(ctx), `Status: ${m?.status ?? 'NOT_AVAILABLE'}`];
      const why = m?.reason ?? ctx.reason;
      if (why) body.push(`Reason: ${why}`);
      body.push(
        "Check that the SSM agent is running and online and that Patchwave can assume the machine's IAM role.",
      );
      break;
    }
    case 'machine_not_in_window': {
      const label = m ? machineLabel(m) : (ids.machine_id ?? '?');
      title = `Machine ${label} was not patched: the window ended first`;
      body = [...eventLines(ctx), `Status: ${m?.status ?? 'NOT_IN_TIME_WINDOW'}`];
      const why = m?.reason ?? ctx.reason;
      if (why) body.push(`Reason: ${why}`);
      break;
    }
    case 'hook_start':
    case 'host_hook_start': {
      const host = type === 'host_hook_start';
      const h = ctx.hook ?? { name: '?' };
      title = `Running ${hookLabel(h, host)}${host && m ? ` on ${machineLabel(m)}` : ''}`;
      body = eventLines(ctx);
      break;
    }
    case 'hook_finish':
    case 'host_hook_finish': {
      const host = type === 'host_hook_finish';
      const h = ctx.hook ?? { name: '?' };
      const ok = severity === 'SUCCESS';
      title = `${host ? 'Host hook' : 'Hook'} ${h.name} ${ok ? 'succeeded' : 'failed'}${host && m ? ` on ${machineLabel(m)}` : ''} (code ${h.code ?? '?'})`;
      body = [...eventLines(ctx), `Hook: ${hookLabel(h, host)}`, `Code: ${h.code ?? '?'}`];
      if (h.message) body.push(`Message: ${h.message}`);
      break;
    }
    case 'error':
      title = `Patchwave error${ids.event_id ? ` in event ${ids.event_id}` : ''}${m ? ` on machine ${machineLabel(m)}` : ''}`;
      body = [...eventLines(ctx)];
      if (m) body.push(`Machine: ${machineLabel(m)}: ${m.status ?? 'ERROR'}`);
      if (ctx.reason) body.push(`Error: ${ctx.reason}`);
      break;
    case 'plan_new':
    case 'plan_modification':
    case 'plan_deleted': {
      const verb = { plan_new: 'created', plan_modification: 'changed', plan_deleted: 'deleted' }[type];
      title = `Plan "${planName}" ${verb}${ctx.actor ? ` by ${ctx.actor}` : ''}`;
      body = eventLines(ctx);
      if (type === 'plan_deleted') body.push('Its upcoming events were deleted.');
      if (type === 'plan_modification') body.push('Its upcoming events were regenerated.');
      break;
    }
    case 'pipeline_new':
    case 'pipeline_modification':
    case 'pipeline_deleted': {
      const verb = { pipeline_new: 'created', pipeline_modification: 'changed', pipeline_deleted: 'deleted' }[
        type
      ];
      title = `Pipeline "${pipelineName}" ${verb}${ctx.actor ? ` by ${ctx.actor}` : ''}`;
      body = eventLines(ctx);
      if (type === 'pipeline_deleted') body.push('Its upcoming events were deleted.');
      break;
    }
  }

  const text = truncateText([title, ...body].join('\n'));
  const details: Record<string, unknown> = {
    title,
    ...(ctx.customer_name ? { customer_name: ctx.customer_name } : {}),
    ...(e ? { event: { ...e } } : {}),
    ...(ctx.plan ? { plan: ctx.plan } : {}),
    ...(ctx.pipeline ? { pipeline: ctx.pipeline } : {}),
    ...(machines.length ? { summary: countByStatus(machines), machines } : {}),
    ...(m ? { machine: m } : {}),
    ...(ctx.hook ? { hook: { ...ctx.hook, source: ctx.hook.source && redactSource(ctx.hook.source) } } : {}),
    ...(ctx.lead_time_minutes !== undefined ? { lead_time_minutes: ctx.lead_time_minutes } : {}),
    ...(type === 'not_approved_patching' && e?.status !== 'DELETED'
      ? {
          approval: {
            approvers: ctx.approvers ?? [],
            permission: 'event:update',
            cli: `patchwave event approve ${ids.event_id ?? '<event-id>'}`,
            api: `POST /api/v1/events/${ids.event_id ?? '<event-id>'}/approve`,
          },
        }
      : {}),
    ...(ctx.reason ? { reason: ctx.reason } : {}),
    ...(ctx.actor ? { actor: ctx.actor } : {}),
  };
  return { type, severity, ...dropUndefined(ids), text, details };
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The title (first line) and the rest of a message's text, as chat cards show them. */
export function splitText(text: string): { title: string; body: string } {
  const i = text.indexOf('\n');
  return i < 0 ? { title: text, body: '' } : { title: text.slice(0, i), body: text.slice(i + 1) };
}

/**
 * Idempotency key of one occurrence: `<type>:<part>:<part>…`, e.g. `patching_finish:<event_id>:<run_no>` or
 * `incoming_patching:<event_id>:<lead_minutes>`. Same occurrence → same key → at most one message per channel.
 */
export function notificationKey(type: NotificationEventType, ...parts: (string | number)[]): string {
  return [type, ...parts].join(':');
}

/** NOTIFY_INCOMING_LEAD_HOURS ("24,1") → lead times in minutes, longest first; invalid entries are dropped. */
export function parseLeadTimes(hoursList: string): number[] {
  const minutes = hoursList
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((h) => Number.isFinite(h) && h > 0)
    .map((h) => Math.round(h * 60));
  return [...new Set(minutes)].sort((a, b) => b - a);
}
