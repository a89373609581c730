import { closedSpans, type ClosedSpan, type FreezeMode } from './freeze';
import { icsSpans, IcsError } from './ics';

/** The calendar fields the freeze check reads. */
export interface CalendarText {
  id: string;
  name: string;
  mode: FreezeMode;
  ics?: string;
  url?: string;
  fetched_ics?: string;
}

/**
 * The spans one calendar closes within [fromMs, toMs), or why they cannot be known. A URL calendar not
 * fetched yet, or whose text cannot be read, freezes nothing: the problem is shown on the calendar.
 */
export function calendarClosedSpans(
  cal: CalendarText,
  fromMs: number,
  toMs: number,
): { spans: ClosedSpan[]; problem?: string } {
  const text = cal.ics ?? cal.fetched_ics;
  if (text === undefined) return { spans: [], problem: `${cal.url} has not been fetched yet` };
  try {
    return { spans: closedSpans(cal, icsSpans(text, fromMs, toMs), fromMs, toMs) };
  } catch (e) {
    if (!(e instanceof IcsError)) throw e;
    return { spans: [], problem: `the calendar text ${e.message}` };
  }
}
