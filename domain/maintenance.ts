import { z } from 'zod';
import { SecretRef } from './notification-group';

/**
 * Issue 16 item 6 (seed 004): maintenance announced and monitoring quiet while an event patches
 * (docs/behaviour.md#maintenance). Each entry of a plan's `maintenance` is one external object kept in step
 * with the event's window: an Alertmanager silence, or a Statuspage scheduled incident (auto in progress, auto
 * completed). Created at `lead_minutes` before the start (at once when the event is generated later than
 * that), moved when the window moves, lifted when the event ends early, is deleted or finishes.
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

export const AlertmanagerMaintenance = z.strictObject({
  type: z.literal('alertmanager'),
  /** Base URL of the Alertmanager (`<url>/api/v2/silences`); passes the same SSRF guard as hooks. */
  url: Url,
  lead_minutes: LeadMinutes,
  /** Label equality matchers of the silence: the machines' alerts (for example `{service: 'billing', env: 'prod'}`). */
  matchers: z
    .record(z.string().regex(LABEL, 'must be a label name'), z.string().min(1).max(500))
    .refine((m) => Object.keys(m).length >= 1 && Object.keys(m).length <= 20, 'must name 1 to 20 labels')
    .meta({ minProperties: 1, maxProperties: 20, propertyNames: { pattern: LABEL.source } }),
  /** Sent as `Authorization: Bearer <secret>` when set (an Alertmanager behind an authenticating proxy). */
  api_key_ref: SecretRef.optional(),
});

const StatuspageId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a Statuspage id (letters, digits, _ or -)');

export const StatuspageMaintenance = z.strictObject({
  type: z.literal('statuspage'),
  /** API base URL: `https://api.statuspage.io` (`<url>/v1/pages/<page_id>/incidents`); SSRF-guarded. */
  url: Url.default('https://api.statuspage.io'),
  lead_minutes: LeadMinutes,
  page_id: StatuspageId,
  /** The components under maintenance during the window. */
  component_ids: z.array(StatuspageId).min(1).max(100),
  /** The incident's name; default `Scheduled maintenance: <plan name>`. */
  name: z.string().trim().min(1).max(255).optional(),
  /** The API key, sent as `Authorization: OAuth <key>`: a reference, resolved by the worker (`env:NAME`). */
  api_key_ref: SecretRef,
});

export const MaintenanceIntegration = z.discriminatedUnion('type', [
  AlertmanagerMaintenance,
  StatuspageMaintenance,
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
  /** Silence ID or incident ID. */
  external_id: string;
  starts_at: string;
  ends_at: string;
  state: 'scheduled' | 'lifted';
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
