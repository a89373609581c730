import { z } from 'zod';
import type { IcsSpan } from './ics';

/**
 * Freeze calendars (issue 16 item 4, docs/behaviour.md#freeze-calendars): named iCalendar calendars that
 * close (or, in `open_only_during_events` mode, alone open) the time in which events may patch, attached to
 * the whole customer, to some plans, or to the machines carrying some tags. Pure: the spans come from
 * domain/ics (the calendar's text) and are evaluated here.
 */
const ID = z.string().min(1).max(128);

export const FreezeMode = z.enum(['closed_during_events', 'open_only_during_events']);
export type FreezeMode = z.infer<typeof FreezeMode>;

export const FreezeAttach = z.discriminatedUnion('to', [
  z.strictObject({ to: z.literal('customer') }),
  z.strictObject({ to: z.literal('plans'), plan_ids: z.array(ID).min(1).max(200) }),
  z.strictObject({
    to: z.literal('machine_tags'),
    /** A machine carrying any of these values under the key (any key listed) is covered. */
    tags: z
      .record(z.string().min(1).max(128), z.array(z.string().max(256)).min(1).max(50))
      .refine(
        (t) => Object.keys(t).length >= 1 && Object.keys(t).length <= 10,
        'must name between 1 and 10 tag keys',
      )
      .meta({ minProperties: 1, maxProperties: 10, propertyNames: { minLength: 1, maxLength: 128 } }),
  }),
]);
export type FreezeAttach = z.infer<typeof FreezeAttach>;

const CalendarFields = {
  name: z.string().trim().min(1).max(255).meta({ pattern: '\\S' }),
  description: z.string().max(2000).optional(),
  mode: FreezeMode.default('closed_during_events'),
  /** The calendar as iCalendar text (an uploaded .ics file); exactly one of `ics` or `url`. */
  ics: z.string().min(1).max(1_000_000).optional(),
  /** An https URL the worker fetches (SSRF-guarded, like hooks) and refreshes every `refresh_minutes`. */
  url: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .max(2000)
    .optional(),
  refresh_minutes: z
    .number()
    .int()
    .min(5)
    .max(7 * 24 * 60)
    .default(60),
  attach: FreezeAttach.default({ to: 'customer' }),
  enabled: z.boolean().default(true),
};

function exactlyOneSource(c: { ics?: string; url?: string }, ctx: z.RefinementCtx) {
  if ((c.ics === undefined) === (c.url === undefined))
    ctx.addIssue({
      code: 'custom',
      path: c.ics === undefined ? ['ics'] : ['url'],
      message: 'a freeze calendar has exactly one of `ics` (iCalendar text) or `url` (fetched and refreshed)',
    });
}

export const FreezeCalendarInput = z
  .strictObject(CalendarFields)
  .superRefine(exactlyOneSource)
  .meta({ oneOf: [{ required: ['ics'] }, { required: ['url'] }] });
export type FreezeCalendarInput = z.infer<typeof FreezeCalendarInput>;

/** What the worker last fetched from a calendar's `url`. */
export const FreezeFetch = z.object({
  fetched_at: z.string().optional(),
  /** The last fetch that failed (the previous text stays in use). */
  error: z.string().optional(),
  error_at: z.string().optional(),
});

export const FreezeSpanView = z.object({ start: z.string(), end: z.string(), summary: z.string() });

export const FreezeCalendar = z.object({
  ...CalendarFields,
  id: z.string(),
  customer_id: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  fetch: FreezeFetch.optional(),
  /** The next spans in which this calendar closes patching (its events, or the gaps between them). */
  upcoming_freezes: z.array(FreezeSpanView),
  /** Why the spans cannot be computed now (an unreadable fetched text, a URL not fetched yet). */
  problem: z.string().optional(),
});
export type FreezeCalendar = z.infer<typeof FreezeCalendar>;

/** A plan's answer to an event that falls in a freeze. */
export const FreezeRule = z.strictObject({
  action: z
    .enum(['skip', 'shift_to_next_open', 'run_with_approval'])
    .default('skip')
    .describe(
      'What an event whose window opens inside a freeze does (docs/behaviour.md#freeze-calendars). `skip` (default): not run (DELETED when its window opens still frozen). `shift_to_next_open`: its window moves to the end of the freeze, if that is within `max_delay_hours`, else skipped. `run_with_approval`: the event becomes NOT_APPROVED with the freeze as the reason and runs inside the freeze only if two different people (two different API keys) approved it before its window opens; one approval is "1 of 2", the same key approving again is refused (409); not approved twice when the window opens still frozen: skipped.',
    ),
  /** shift_to_next_open: the latest the start may move; beyond it the event is skipped. */
  max_delay_hours: z
    .number()
    .min(1 / 60)
    .max(24 * 30)
    .default(72),
});
export type FreezeRule = z.infer<typeof FreezeRule>;

/** A span in which patching is closed, with the calendar that closes it. */
export interface ClosedSpan {
  startMs: number;
  endMs: number;
  calendarId: string;
  calendarName: string;
  /** The calendar event's SUMMARY, or "outside <calendar>'s open events". */
  why: string;
}

/** Spans a calendar closes within [fromMs, toMs): its events, or in open-only mode the gaps between them. */
export function closedSpans(
  cal: { id: string; name: string; mode: FreezeMode },
  spans: IcsSpan[],
  fromMs: number,
  toMs: number,
): ClosedSpan[] {
  const base = { calendarId: cal.id, calendarName: cal.name };
  if (cal.mode === 'closed_during_events')
    return spans.map((s) => ({
      ...base,
      startMs: s.startMs,
      endMs: s.endMs,
      why: s.summary || '(no summary)',
    }));
  const out: ClosedSpan[] = [];
  let cursor = fromMs;
  for (const s of spans) {
    if (s.startMs > cursor)
      out.push({ ...base, startMs: cursor, endMs: s.startMs, why: `outside the open events of ${cal.name}` });
    cursor = Math.max(cursor, s.endMs);
  }
  if (cursor < toMs)
    out.push({ ...base, startMs: cursor, endMs: toMs, why: `outside the open events of ${cal.name}` });
  return out;
}

/** The closed span covering `t`, extended through spans that touch or overlap it (the freeze as a whole). */
export function freezeAt(spans: ClosedSpan[], t: number): ClosedSpan | undefined {
  const at = spans.filter((s) => s.startMs <= t && t < s.endMs).sort((a, b) => b.endMs - a.endMs)[0];
  if (!at) return undefined;
  let end = at.endMs;
  for (let grew = true; grew;) {
    grew = false;
    for (const s of spans)
      if (s.startMs <= end && s.endMs > end) {
        end = s.endMs;
        grew = true;
      }
  }
  return { ...at, endMs: end };
}

/** The first closed span starting in (fromMs, toMs), if any: a freeze that begins while the window is open. */
export function freezeStartingIn(spans: ClosedSpan[], fromMs: number, toMs: number): ClosedSpan | undefined {
  return spans.filter((s) => s.startMs > fromMs && s.startMs < toMs).sort((a, b) => a.startMs - b.startMs)[0];
}

/** Does a calendar's attachment cover this plan and (for tag attachments) any of these machines' tags? */
export function attachCovers(
  attach: FreezeAttach,
  planId: string,
  machineTags: { key: string; value: string }[][],
): boolean {
  if (attach.to === 'customer') return true;
  if (attach.to === 'plans') return attach.plan_ids.includes(planId);
  return machineTags.some((tags) => tags.some((t) => attach.tags[t.key]?.includes(t.value)));
}

/** How an upcoming or running event stands against the freezes (stored on the event, shown by the API). */
export const EventFreeze = z.object({
  /** `frozen`: the window opens inside a freeze; `freeze_during_window`: a freeze begins before the window ends. */
  state: z.enum(['frozen', 'freeze_during_window']),
  calendar_id: z.string(),
  calendar_name: z.string(),
  reason: z.string(),
  from: z.string(),
  until: z.string(),
  /** What the plan's freeze rule does about it (`run_with_approval`: runs only if approved by two people). */
  action: z.enum(['skip', 'shift_to_next_open', 'run_with_approval', 'halt']),
  /** shift_to_next_open: where the start moves (absent when the shift would exceed max_delay_hours). */
  shifted_to: z.string().optional(),
  checked_at: z.string(),
});
export type EventFreeze = z.infer<typeof EventFreeze>;

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The freeze verdict for a window [startMs, endMs) under a plan's rule, or undefined when nothing
 * freezes it. A window that opens frozen gets the plan's rule; one that opens free but meets a freeze
 * before its end is marked `halt` (the run halts when the freeze begins).
 */
export function judgeWindow(
  spans: ClosedSpan[],
  startMs: number,
  endMs: number,
  rule: FreezeRule,
  nowMs: number,
): EventFreeze | undefined {
  const at = freezeAt(spans, startMs);
  if (at) {
    const base = {
      state: 'frozen' as const,
      calendar_id: at.calendarId,
      calendar_name: at.calendarName,
      reason: `freeze calendar ${at.calendarName}: ${at.why}`,
      from: iso(at.startMs),
      until: iso(at.endMs),
      checked_at: iso(nowMs),
    };
    if (rule.action !== 'shift_to_next_open') return { ...base, action: rule.action };
    const fits = at.endMs - startMs <= rule.max_delay_hours * 3600_000;
    return fits
      ? { ...base, action: 'shift_to_next_open', shifted_to: iso(at.endMs) }
      : { ...base, action: 'skip' };
  }
  const later = freezeStartingIn(spans, startMs, endMs);
  if (!later) return undefined;
  const whole = freezeAt(spans, later.startMs)!;
  return {
    state: 'freeze_during_window',
    calendar_id: later.calendarId,
    calendar_name: later.calendarName,
    reason: `freeze calendar ${later.calendarName}: ${later.why}`,
    from: iso(later.startMs),
    until: iso(whole.endMs),
    action: 'halt',
    checked_at: iso(nowMs),
  };
}

/** The two-person rule of `run_with_approval` lives in a zod-free module (the event workflow imports it). */
export { FREEZE_APPROVALS_NEEDED, freezeApprovalRefusal, freezeApprovalLine } from './freeze-approval';
