import { z } from 'zod';
import { SecretRef } from './notification-group';

/**
 * Issue 16 item 6 (seed 004): maintenance announced and monitoring quiet while an event patches
 * (docs/behaviour.md#maintenance). Each entry of a plan's `maintenance` is one external object kept in step
 * with the event's window: an Alertmanager silence, a Statuspage scheduled incident (auto in progress, auto
 * completed), a Pingdom maintenance window (pausing uptime checks), or whatever an operator's webhook receiver
 * makes of `create` / `move` / `lift` calls. Created at `lead_minutes` before the start (at once when the event
 * is generated later than that), moved when the window moves, lifted when the event ends early, is deleted or
 * finishes. Targets (components, checks, matchers) are fixed in the entry, read from the event's machines' tags,
 * or both.
 */
const Url = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(2000)
  .meta({ pattern: '^[Hh][Tt][Tt][Pp][Ss]?://' });

/** Minutes before the start the object is created: default 24 hours (seed 004), at most 14 days. */
const LeadMinutes = z
  .number()
  .int()
  .min(0)
  .max(14 * 24 * 60)
  .default(24 * 60);

const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A machine tag (metadata key) whose values an entry takes its targets from. */
const TagName = z.string().min(1).max(128);

const Matchers = z
  .record(z.string().regex(LABEL, 'must be a label name'), z.string().min(1).max(500))
  .refine((m) => Object.keys(m).length >= 1 && Object.keys(m).length <= 20, 'must name 1 to 20 labels')
  .meta({ minProperties: 1, maxProperties: 20, propertyNames: { pattern: LABEL.source } });

const MatchersFromTags = z
  .record(z.string().regex(LABEL, 'must be a label name'), TagName)
  .refine((m) => Object.keys(m).length >= 1 && Object.keys(m).length <= 20, 'must name 1 to 20 labels')
  .meta({ minProperties: 1, maxProperties: 20, propertyNames: { pattern: LABEL.source } });

/** States "fixed values, a tag, or both" in the OpenAPI document (zod's shape cannot say it). */
const needsOneOf = (fixed: string, fromTag: string) => ({
  anyOf: [{ required: [fixed] }, { required: [fromTag] }],
});

/** An entry names its targets as fixed values, a machine tag, or both: not neither. */
function fixedOrTag(fixed: string, fromTag: string) {
  return (o: Record<string, unknown>, ctx: z.RefinementCtx) => {
    if (o[fixed] === undefined && o[fromTag] === undefined)
      ctx.addIssue({ code: 'custom', path: [fixed], message: `give ${fixed}, ${fromTag} or both` });
  };
}

export const AlertmanagerMaintenance = z
  .strictObject({
    type: z.literal('alertmanager'),
    /** Base URL of the Alertmanager (`<url>/api/v2/silences`); passes the same SSRF guard as hooks. */
    url: Url,
    lead_minutes: LeadMinutes,
    /** Label equality matchers of the silence: the machines' alerts (for example `{service: 'billing', env: 'prod'}`). */
    matchers: Matchers.optional(),
    /**
     * Matchers from the event's machines' tags: label ← tag name (`{service: 'Service'}`). The values of all the
     * machines are matched (one value: equality; several: a regex matcher `^(a|b)$`); combined with `matchers`.
     */
    matchers_from_tags: MatchersFromTags.optional().describe(
      "Matchers from the event's machines' tags, label ← tag name (e.g. {service: 'Service'}): one value gives an " +
        'equality matcher, several a regex matcher matching any of them; combined with `matchers`.',
    ),
    /** Sent as `Authorization: Bearer <secret>` when set (an Alertmanager behind an authenticating proxy). */
    api_key_ref: SecretRef.optional(),
  })
  .superRefine(fixedOrTag('matchers', 'matchers_from_tags'))
  .meta(needsOneOf('matchers', 'matchers_from_tags'));

const StatuspageId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a Statuspage id (letters, digits, _ or -)');

export const StatuspageMaintenance = z
  .strictObject({
    type: z.literal('statuspage'),
    /** API base URL: `https://api.statuspage.io` (`<url>/v1/pages/<page_id>/incidents`); SSRF-guarded. */
    url: Url.default('https://api.statuspage.io'),
    lead_minutes: LeadMinutes,
    page_id: StatuspageId,
    /** The components under maintenance during the window. */
    component_ids: z.array(StatuspageId).min(1).max(100).optional(),
    /** Components also from this tag of the event's machines (comma-separated ids allowed), combined with `component_ids`. */
    component_ids_from_tag: TagName.optional().describe(
      "Components also read from this tag of the event's machines (a value may list ids separated by commas); " +
        'combined with `component_ids`.',
    ),
    /** The incident's name; default `Scheduled maintenance: <plan name>`. */
    name: z.string().trim().min(1).max(255).optional(),
    /** The API key, sent as `Authorization: OAuth <key>`: a reference, resolved by the worker (`env:NAME`). */
    api_key_ref: SecretRef,
  })
  .superRefine(fixedOrTag('component_ids', 'component_ids_from_tag'))
  .meta(needsOneOf('component_ids', 'component_ids_from_tag'));

/** A Pingdom uptime check id (an integer). */
const PingdomCheckId = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const PingdomMaintenance = z
  .strictObject({
    type: z.literal('pingdom'),
    /** API base URL: `https://api.pingdom.com` (`<url>/api/3.1/maintenance`); SSRF-guarded. */
    url: Url.default('https://api.pingdom.com'),
    lead_minutes: LeadMinutes,
    /** The uptime checks the maintenance window pauses. */
    check_ids: z.array(PingdomCheckId).min(1).max(100).optional().describe('Pingdom uptime check ids'),
    /** Checks also from this tag of the event's machines (comma-separated ids allowed), combined with `check_ids`. */
    check_ids_from_tag: TagName.optional().describe(
      "Check ids also read from this tag of the event's machines (a value may list ids separated by commas); " +
        'combined with `check_ids`.',
    ),
    /** The window's description; default `Patchwave: <plan name>`. */
    description: z.string().trim().min(1).max(255).meta({ pattern: '\\S' }).optional(),
    /** The API token, sent as `Authorization: Bearer <token>`: a reference (`env:NAME`). */
    api_key_ref: SecretRef,
  })
  .superRefine(fixedOrTag('check_ids', 'check_ids_from_tag'))
  .meta(needsOneOf('check_ids', 'check_ids_from_tag'));

export const WebhookMaintenance = z.strictObject({
  type: z.literal('webhook'),
  /** The operator's receiver: POSTed `{action: create | move | lift, …}`, signed as webhook channels are; SSRF-guarded. */
  url: Url,
  lead_minutes: LeadMinutes,
  /** The HMAC signing secret (`env:NAME`); PATCHWAVE_WEBHOOK_SECRET when unset, as for webhook channels. */
  secret_ref: SecretRef.optional().describe(
    'The HMAC signing secret, env:NAME; PATCHWAVE_WEBHOOK_SECRET when unset (as for webhook channels).',
  ),
});

export const MaintenanceIntegration = z.discriminatedUnion('type', [
  AlertmanagerMaintenance,
  StatuspageMaintenance,
  PingdomMaintenance,
  WebhookMaintenance,
]);
export type MaintenanceIntegration = z.infer<typeof MaintenanceIntegration>;

export const Maintenance = z.array(MaintenanceIntegration).min(1).max(10);

/** What the event record keeps of one external object (never the secret: its reference only). */
export interface MaintenanceRecord {
  /** `<index>-<type>`: the plan entry it was made for. */
  key: string;
  type: MaintenanceIntegration['type'];
  url: string;
  page_id?: string;
  api_key_ref?: string;
  /** Webhook: the signing secret's reference. */
  secret_ref?: string;
  /** Silence ID, incident ID, Pingdom window ID, or the id a webhook receiver answered (may be empty). */
  external_id: string;
  starts_at: string;
  ends_at: string;
  state: 'scheduled' | 'lifted';
  /** The targets it was made (or last moved) with: fixed and tag-derived values together. */
  component_ids?: string[];
  check_ids?: number[];
  matchers?: Record<string, string[]>;
}

export const maintenanceKey = (m: { type: string }, index: number) => `${index}-${m.type}`;

/** The secret an entry's `api_key_ref` names, or undefined (unset, or the variable is empty). */
export function resolveApiKey(
  ref: string | undefined,
  readEnv: (name: string) => string | undefined,
): string | undefined {
  if (!ref) return undefined;
  return readEnv(ref.replace(/^env:/, '')) || undefined;
}

/** One of the event's machines, as a maintenance entry sees it: its tags are its `metadata` entries. */
export interface MaintenanceMachine {
  id: string;
  name: string;
  tags: readonly { key: string; value: string }[];
}

/** What an entry covers once its tag mappings are read from the event's machines. */
export interface MaintenanceTargets {
  component_ids?: string[];
  check_ids?: number[];
  /** label → the values matched (one: equality; several: any of them). */
  matchers?: Record<string, string[]>;
  /** Tag values that are not valid targets (`<tag>=<value> on <machine>`): left out. */
  ignored: string[];
  /** Nothing to cover: the entry is skipped (on the timeline), never a failure. */
  empty: boolean;
}

const STATUSPAGE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const PINGDOM_ID = /^[1-9][0-9]{0,14}$/;
const MAX_TARGETS = 100;

/**
 * The values of one tag over the machines, in machine order: every metadata entry with that key counts, and a
 * value may list several ids separated by commas (`"c1, c2"`). `valid` filters ids; the rest is `ignored`.
 */
function tagValues(
  machines: readonly MaintenanceMachine[],
  tag: string,
  split: boolean,
  valid: (v: string) => boolean,
  ignored: string[],
): string[] {
  const out: string[] = [];
  for (const m of machines)
    for (const t of m.tags) {
      if (t.key !== tag) continue;
      for (const v of split ? t.value.split(',') : [t.value]) {
        const value = v.trim();
        if (!value) continue;
        if (valid(value)) out.push(value);
        else ignored.push(`${tag}=${value} on ${m.name}`);
      }
    }
  return out;
}

const union = <T>(...lists: (readonly T[])[]): T[] => [...new Set(lists.flat())];

/**
 * Pure: an entry's targets over the event's machines, fixed values first, then the tag-derived ones (the union
 * over the machines, without repeats, at most 100). A webhook entry has no targets and is never empty.
 */
export function resolveMaintenanceTargets(
  entry: MaintenanceIntegration,
  machines: readonly MaintenanceMachine[],
): MaintenanceTargets {
  const ignored: string[] = [];
  switch (entry.type) {
    case 'statuspage': {
      const fromTags = entry.component_ids_from_tag
        ? tagValues(machines, entry.component_ids_from_tag, true, (v) => STATUSPAGE_ID.test(v), ignored)
        : [];
      const component_ids = union(entry.component_ids ?? [], fromTags).slice(0, MAX_TARGETS);
      return { component_ids, ignored, empty: component_ids.length === 0 };
    }
    case 'pingdom': {
      const fromTags = entry.check_ids_from_tag
        ? tagValues(machines, entry.check_ids_from_tag, true, (v) => PINGDOM_ID.test(v), ignored).map(Number)
        : [];
      const check_ids = union(entry.check_ids ?? [], fromTags).slice(0, MAX_TARGETS);
      return { check_ids, ignored, empty: check_ids.length === 0 };
    }
    case 'alertmanager': {
      const matchers: Record<string, string[]> = {};
      for (const [label, value] of Object.entries(entry.matchers ?? {})) matchers[label] = [value];
      for (const [label, tag] of Object.entries(entry.matchers_from_tags ?? {})) {
        const values = tagValues(machines, tag, false, (v) => v.length <= 500, ignored);
        const all = union(matchers[label] ?? [], values).slice(0, MAX_TARGETS);
        if (all.length) matchers[label] = all;
      }
      return { matchers, ignored, empty: Object.keys(matchers).length === 0 };
    }
    case 'webhook':
      return { ignored, empty: false };
  }
}

/** Alertmanager's regex matchers are anchored: `a|b` matches exactly `a` or `b` once each is escaped. */
export function silenceMatchers(
  matchers: Record<string, string[]>,
): { name: string; value: string; isRegex: boolean; isEqual: boolean }[] {
  return Object.entries(matchers).map(([name, values]) =>
    values.length === 1
      ? { name, value: values[0], isRegex: false, isEqual: true }
      : {
          name,
          value: values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'),
          isRegex: true,
          isEqual: true,
        },
  );
}

/** Where an event stands, as far as its maintenance objects care. */
export interface MaintenanceEventView {
  start: string;
  end: string;
  /** Upcoming or running: the window still matters. False once finished or deleted. */
  live: boolean;
  deleted: boolean;
}

/** What to do with one plan entry now. */
export type MaintenanceStep =
  | { kind: 'none' }
  | { kind: 'create'; startsAt: string; endsAt: string }
  | { kind: 'move'; startsAt: string; endsAt: string }
  /** `delete`: the event was deleted before the window: the announcement goes away rather than "completed". */
  | { kind: 'lift'; how: 'expire' | 'complete' | 'delete' };

/**
 * The one rule (pure): an entry is wanted while the event is live, its window has not ended, and its lead time
 * has come; it covers exactly the event's window. A wanted entry that does not exist is created, one that covers
 * another window is moved; an existing one no longer wanted is lifted (Statuspage: deleted when the event was
 * deleted before its start, completed otherwise; Alertmanager: expired).
 */
export function maintenanceStep(
  entry: { type: string; lead_minutes: number } | undefined,
  rec: MaintenanceRecord | undefined,
  ev: MaintenanceEventView,
  nowMs: number,
): MaintenanceStep {
  const startMs = Date.parse(ev.start);
  const endMs = Date.parse(ev.end);
  const wanted =
    entry !== undefined && ev.live && endMs > nowMs && nowMs >= startMs - entry.lead_minutes * 60_000;
  const live = rec?.state === 'scheduled' ? rec : undefined;
  if (wanted) {
    if (!live) return { kind: 'create', startsAt: ev.start, endsAt: ev.end };
    if (Date.parse(live.starts_at) !== startMs || Date.parse(live.ends_at) !== endMs)
      return { kind: 'move', startsAt: ev.start, endsAt: ev.end };
    return { kind: 'none' };
  }
  if (!live) return { kind: 'none' };
  // An entry still in the plan whose lead time is not due yet (the window moved later) stays, moved.
  if (entry !== undefined && ev.live && endMs > nowMs)
    return Date.parse(live.starts_at) !== startMs || Date.parse(live.ends_at) !== endMs
      ? { kind: 'move', startsAt: ev.start, endsAt: ev.end }
      : { kind: 'none' };
  if (live.type === 'alertmanager') return { kind: 'lift', how: 'expire' };
  return { kind: 'lift', how: ev.deleted && nowMs < Date.parse(live.starts_at) ? 'delete' : 'complete' };
}

/** When the next entry not yet created becomes due (ms), or undefined when none will. */
export function nextMaintenanceDueMs(
  entries: readonly { type: string; lead_minutes: number }[],
  records: readonly MaintenanceRecord[],
  ev: MaintenanceEventView,
  nowMs: number,
): number | undefined {
  if (!ev.live) return undefined;
  const startMs = Date.parse(ev.start);
  const due = entries
    .map((e, i) => ({ e, key: maintenanceKey(e, i) }))
    .filter(({ key }) => !records.some((r) => r.key === key && r.state === 'scheduled'))
    .map(({ e }) => startMs - e.lead_minutes * 60_000)
    .filter((ms) => ms > nowMs && ms < Date.parse(ev.end));
  return due.length ? Math.min(...due) : undefined;
}
