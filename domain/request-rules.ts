/**
 * Rules of a request that JSON Schema cannot state (a field compared with another, a cron that must fire),
 * published on the operation as `x-patchwave-rules` and listed in its description, so a client or a fuzzer
 * knows every reason the server answers 400 for a request alone. The server enforces each one in its own
 * checks (the check named in `enforced_by`); test/unit/openapi-rules.test.ts holds the two together, and the
 * conformance run's hooks (test/conformance/schemathesis_hooks.py) read these objects to keep generated
 * valid data inside them.
 *
 * Paths are dotted; `*` stands for every item of an array. A rule about a field that is absent holds.
 */
export type Rule =
  /** `field` is a later instant than `after` (both date-time strings). */
  | { rule: 'after'; in: 'query' | 'body'; field: string; after: string }
  /** `end` - `start` is between min_hours and max_hours. */
  | { rule: 'window_hours'; in: 'body'; start: string; end: string; min_hours: number; max_hours: number }
  /** `field` is no earlier than now minus `minutes`. */
  | { rule: 'not_in_past'; in: 'body'; field: string; minutes: number }
  /** `field` is a 5-field UTC cron (minute hour day-of-month month day-of-week) that fires at least once. */
  | { rule: 'cron_fires'; in: 'body'; field: string }
  /** When `field` is set (a non-empty object or array, or any other value), every one of `requires` is set. */
  | { rule: 'requires'; in: 'body'; field: string; requires: string[] }
  /** When `field` is set (as above), none of `excludes` is set. */
  | { rule: 'excludes'; in: 'body'; field: string; excludes: string[] }
  /** No value is in both arrays (compared case-insensitively). */
  | { rule: 'disjoint'; in: 'body'; fields: [string, string]; case_insensitive: true }
  /**
   * Some vocabulary holds every value given: for each field, an array of allowed values (case-insensitive)
   * or `true` (the field may be set) / `false` (it may not).
   */
  | {
      rule: 'one_vocabulary';
      in: 'body';
      fields: string[];
      vocabularies: Record<string, Record<string, string[] | boolean>>;
    }
  /** No two items of the array `array` have the same `key`. */
  | { rule: 'unique_by'; in: 'body'; array: string; key: string }
  /** No item of the array `array` has `key` equal to `value`. */
  | { rule: 'not_value'; in: 'body'; array: string; key: string; value: string }
  /**
   * `field` is iCalendar text (RFC 5545) that can be read: a VCALENDAR with at least one VEVENT, each with a
   * DTSTART, and recurrence rules that can be expanded.
   */
  | { rule: 'icalendar'; in: 'body'; field: string }
  /** The array of numbers `field` is strictly ascending and its last item is `ends_at`. */
  | { rule: 'ascending'; in: 'body'; field: string; ends_at: number }
  /** When `field` is set (as for `requires`), every item of the array `array` has `key` absent or equal to `value`. */
  /**
   * The first item of the array `array` has `key` absent or (when `allowed` lists values) one of them: a field
   * that refers to a previous item cannot be set on the first.
   */
  | { rule: 'first_item'; in: 'body'; array: string; key: string; allowed: string[] }
  /**
   * Over the items of the array `array`, in order, the distinct values (case-insensitive) of each item's array
   * `key` together with every earlier item's number at most `max`.
   */
  | { rule: 'cumulative_max'; in: 'body'; array: string; key: string; max: number }
  | { rule: 'fixed_when'; in: 'body'; field: string; array: string; key: string; value: number };

export type BodyRule = Rule;

/** One line per rule, for the operation's description. */
export function describeRule(r: Rule): string {
  switch (r.rule) {
    case 'after':
      return `\`${r.field}\` must be after \`${r.after}\``;
    case 'window_hours':
      return `\`${r.end}\` − \`${r.start}\` must be between ${+(r.min_hours * 60).toFixed(3)} minutes and ${r.max_hours} hours`;
    case 'not_in_past':
      return `\`${r.field}\` must not be more than ${r.minutes} minutes in the past`;
    case 'cron_fires':
      return `\`${r.field}\` must be a 5-field UTC cron (minute hour day-of-month month day-of-week, no \`H\`) that fires at least once`;
    case 'requires':
      return `\`${r.field}\`, when set, needs ${r.requires.map((f) => `\`${f}\``).join(', ')}`;
    case 'excludes':
      return `\`${r.field}\`, when set, cannot be combined with ${r.excludes.map((f) => `\`${f}\``).join(', ')}`;
    case 'disjoint':
      return `no value may be in both \`${r.fields[0]}\` and \`${r.fields[1]}\` (case-insensitive)`;
    case 'one_vocabulary':
      return `the values of ${r.fields.map((f) => `\`${f}\``).join(', ')} must all belong to one of the vocabularies listed in x-patchwave-rules (${Object.keys(r.vocabularies).join(', ')})`;
    case 'unique_by':
      return `no two items of \`${r.array}\` may have the same \`${r.key}\``;
    case 'not_value':
      return `no item of \`${r.array}\` may have \`${r.key}\` = \`${r.value}\``;
    case 'first_item':
      return r.allowed.length
        ? `the first item of \`${r.array}\` may have \`${r.key}\` only absent or ${r.allowed.map((v) => `\`${v}\``).join(', ')}`
        : `the first item of \`${r.array}\` may not have \`${r.key}\``;
    case 'cumulative_max':
      return `the distinct values (case-insensitive) of \`${r.key}\` over the items of \`${r.array}\` up to each item number at most ${r.max}`;
    case 'icalendar':
      return `\`${r.field}\` must be readable iCalendar text (RFC 5545): a VCALENDAR with at least one VEVENT, each with a DTSTART, and recurrence rules that can be expanded`;
    case 'ascending':
      return `\`${r.field}\` must be strictly ascending and end at ${r.ends_at}`;
    case 'fixed_when':
      return `when \`${r.field}\` is set, every item of \`${r.array}\` must have \`${r.key}\` left out or ${r.value}`;
  }
}

/** The description of an operation with rules: its own text, then the rules. */
export function describeRules(description: string | undefined, rules: Rule[]): string {
  const head = description ? `${description}\n\n` : '';
  return `${head}Also refused with 400 (rules JSON Schema cannot state; machine-readable in x-patchwave-rules):\n${rules
    .map((r) => `- ${describeRule(r)}`)
    .join('\n')}`;
}
