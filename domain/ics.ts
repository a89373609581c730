import ICAL from 'ical.js';

/**
 * iCalendar (RFC 5545) text → the time spans its events cover, recurring events (RRULE, RDATE, EXDATE,
 * RECURRENCE-ID overrides) expanded by ical.js. Used by freeze calendars (docs/behaviour.md#freeze-calendars).
 *
 * Times with a TZID are read through the VTIMEZONE the calendar carries (as Outlook and Google export it);
 * a TZID without one, floating times and all-day dates count as UTC. Cancelled events and occurrences
 * (STATUS:CANCELLED) cover nothing.
 */
export interface IcsSpan {
  startMs: number;
  endMs: number;
  summary: string;
}

/** The whole text may not be larger than this (a calendar of years of events is far below). */
export const ICS_MAX_CHARS = 1_000_000;
/** Occurrences stepped through per recurring event before giving up (an hourly rule over decades). */
const MAX_STEPS_PER_EVENT = 200_000;

export class IcsError extends Error {}

type Ev = InstanceType<typeof ICAL.Event>;
type Time = InstanceType<typeof ICAL.Time>;

const ms = (t: Time) => t.toUnixTime() * 1000;

function parseEvents(text: string): Ev[] {
  if (text.length > ICS_MAX_CHARS) throw new IcsError(`is longer than ${ICS_MAX_CHARS} characters`);
  let root: InstanceType<typeof ICAL.Component>;
  try {
    root = new ICAL.Component(ICAL.parse(text));
  } catch (e) {
    throw new IcsError(`is not iCalendar text: ${(e as Error).message}`);
  }
  if (root.name !== 'vcalendar') throw new IcsError('must be a VCALENDAR');
  const vevents = root.getAllSubcomponents('vevent');
  const masters = new Map<string, Ev>();
  const exceptions: Ev[] = [];
  const out: Ev[] = [];
  for (const [i, c] of vevents.entries()) {
    if (!c.hasProperty('dtstart')) throw new IcsError(`VEVENT ${i + 1} has no DTSTART`);
    const ev = new ICAL.Event(c);
    if (ev.isRecurrenceException()) exceptions.push(ev);
    else {
      out.push(ev);
      if (ev.uid) masters.set(ev.uid, ev);
    }
  }
  for (const ex of exceptions) {
    const master = masters.get(ex.uid);
    if (master) master.relateException(ex);
    else out.push(ex); // an override without its series still covers its own time
  }
  return out;
}

const cancelled = (c: InstanceType<typeof ICAL.Component>) =>
  String(c.getFirstPropertyValue('status') ?? '').toUpperCase() === 'CANCELLED';

/** An event without DTEND/DURATION lasts one day when it is all-day, else nothing (RFC 5545 §3.6.1). */
function endOf(start: Time, end: Time | undefined): number {
  if (end) return ms(end);
  return start.isDate ? ms(start) + 86_400_000 : ms(start);
}

/** Every span that overlaps [fromMs, toMs), sorted by start. Throws IcsError on text it cannot read. */
export function icsSpans(text: string, fromMs: number, toMs: number): IcsSpan[] {
  const spans: IcsSpan[] = [];
  for (const ev of parseEvents(text)) {
    if (cancelled(ev.component)) continue;
    const summary = ev.summary ?? '';
    if (!ev.isRecurring()) {
      const s = ms(ev.startDate);
      const e = endOf(ev.startDate, ev.endDate);
      if (s < toMs && e > fromMs && e > s) spans.push({ startMs: s, endMs: e, summary });
      continue;
    }
    let it: ReturnType<Ev['iterator']>;
    try {
      it = ev.iterator();
    } catch (e) {
      throw new IcsError(`event "${summary}" has a recurrence ICAL cannot read: ${(e as Error).message}`);
    }
    for (let step = 0; ; step++) {
      if (step >= MAX_STEPS_PER_EVENT)
        throw new IcsError(
          `event "${summary}" recurs more than ${MAX_STEPS_PER_EVENT} times before the period`,
        );
      const next = it.next();
      if (!next) break;
      if (ms(next) >= toMs) break;
      const d = ev.getOccurrenceDetails(next);
      if (cancelled(d.item.component)) continue;
      const s = ms(d.startDate);
      const e = endOf(d.startDate, d.endDate);
      if (e > fromMs && s < toMs && e > s)
        spans.push({ startMs: s, endMs: e, summary: d.item.summary ?? summary });
    }
  }
  return spans.sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
}

/** Why the text cannot be used as a calendar, or undefined. Expands one year ahead to find bad rules now. */
export function icsProblem(text: string, nowMs = Date.now()): string | undefined {
  try {
    const events = parseEvents(text);
    if (events.length === 0) return 'has no VEVENT';
    icsSpans(text, nowMs, nowMs + 366 * 86_400_000);
    return undefined;
  } catch (e) {
    if (e instanceof IcsError) return e.message;
    return `cannot be read: ${(e as Error).message}`;
  }
}
