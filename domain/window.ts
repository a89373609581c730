/**
 * Event windows are absolute UTC instants `[start, end)` (docs/behaviour.md#event). Pure: `now` is always a
 * parameter, so workflow code passes Temporal's deterministic clock.
 */

function toMs(t: string | number): number {
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) throw new RangeError(`invalid instant: ${String(t)}`);
  return ms;
}

/** Milliseconds from `now` until the instant; 0 once it has passed (a timer can't be negative). */
export function msUntil(isoOrMs: string | number, now: number): number {
  return Math.max(0, toMs(isoOrMs) - now);
}

/** A window's length in milliseconds; fractions of an hour are kept to the millisecond. */
export function windowMs(windowHours: number): number {
  if (!Number.isFinite(windowHours) || windowHours <= 0)
    throw new RangeError(`window_hours must be a positive number, got ${windowHours}`);
  return Math.round(windowHours * 3_600_000);
}

/** `end = start + window_hours`, as an ISO string. */
export function windowEnd(start: string | Date, windowHours: number): string {
  return new Date(
    toMs(start instanceof Date ? start.getTime() : start) + windowMs(windowHours),
  ).toISOString();
}

/** Inside `[start, end)`: the start instant is in, the end instant is out (the end is a hard stop). */
export function isWithinWindow(now: number, start: string, end: string): boolean {
  return now >= toMs(start) && now < toMs(end);
}
