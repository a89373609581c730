import { CronExpressionParser } from 'cron-parser';

/**
 * Plan and pipeline schedules: 5-field cron, always UTC (docs/behaviour.md#plan).
 *
 * Not importable by workflow code: cron-parser's package entry also loads its crontab-file reader, which
 * requires `fs`. Schedules are computed in activities and the API, which is fine.
 *
 * Semantics worth knowing (cron-parser 5): when both day-of-month and day-of-week are restricted, a day
 * matches if *either* does (classic cron OR); `L` (last day) and `#` (nth weekday) are accepted. `H` (random
 * per-parse "hashed" values) is refused, since a schedule must give the same instants every time it is read.
 */
const FIELD_NAMES = 'minute hour day-of-month month day-of-week';

export function validateCron(expr: string): { ok: true } | { ok: false; message: string } {
  const trimmed = expr.trim();
  const fields = trimmed === '' ? [] : trimmed.split(/\s+/);
  if (fields.length !== 5)
    return {
      ok: false,
      message: `cron must have exactly 5 fields (${FIELD_NAMES}, UTC); got ${fields.length}`,
    };
  if (
    /h/i.test(
      trimmed.replace(
        /\b(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|SUN|MON|TUE|WED|THU|FRI|SAT)\b/gi,
        '',
      ),
    )
  )
    return { ok: false, message: 'cron "H" (hashed/random) values are not supported; write explicit values' };
  try {
    CronExpressionParser.parse(trimmed, { tz: 'UTC', currentDate: new Date(0) }).next();
  } catch (e) {
    return { ok: false, message: `invalid cron expression "${trimmed}": ${(e as Error).message}` };
  }
  return { ok: true };
}

function parse(expr: string, after: Date) {
  const v = validateCron(expr);
  if (!v.ok) throw new RangeError(v.message);
  return CronExpressionParser.parse(expr.trim(), { tz: 'UTC', currentDate: after });
}

/** Guard against a runaway horizon (e.g. `* * * * *` over months). */
export const MAX_OCCURRENCES = 100_000;

/** Every start in `[from, to)`, oldest first. Throws if there are more than `max`. */
export function occurrencesBetween(expr: string, from: Date, to: Date, max = MAX_OCCURRENCES): Date[] {
  if (!(from.getTime() < to.getTime())) return [];
  // cron-parser returns instants strictly after currentDate; step back 1 ms so `from` itself is included.
  const it = parse(expr, new Date(from.getTime() - 1));
  const out: Date[] = [];
  for (;;) {
    let next: Date;
    try {
      next = it.next().toDate();
    } catch {
      return out; // no further occurrence at all
    }
    if (next.getTime() >= to.getTime()) return out;
    if (out.length >= max)
      throw new RangeError(
        `more than ${max} occurrences of "${expr}" between ${from.toISOString()} and ${to.toISOString()}`,
      );
    out.push(next);
  }
}
