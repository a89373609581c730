import { z } from 'zod';

/**
 * Notification group, docs/behaviour.md#notification-group. Channel URLs are secrets (a Slack/Teams webhook URL is its own
 * credential): they are checked by the SSRF guard at save time and again at send time, and never logged.
 */
export const Severity = z.enum(['DEBUG', 'INFO', 'SUCCESS', 'WARNING', 'ERROR']);
export type Severity = z.infer<typeof Severity>;

/** Lowest first: a group with min_severity INFO gets everything but DEBUG. */
export const SEVERITY_ORDER: readonly Severity[] = Severity.options;

export const NotificationEventType = z.enum([
  'event_new',
  'not_approved_patching',
  'incoming_patching',
  'patching_start',
  'patching_halted',
  'patching_finish',
  'partial_patching_start',
  'partial_patching_finish',
  'machine_patching_start',
  'machine_patching_finish',
  'machine_access_err',
  'machine_not_in_window',
  'hook_start',
  'hook_finish',
  'host_hook_start',
  'host_hook_finish',
  'error',
  'plan_new',
  'plan_modification',
  'plan_deleted',
  'pipeline_new',
  'pipeline_modification',
  'pipeline_deleted',
]);
export type NotificationEventType = z.infer<typeof NotificationEventType>;

const Url = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(2048)
  .meta({ pattern: '^[Hh][Tt][Tt][Pp][Ss]?://' });

/**
 * Where the worker finds a webhook's HMAC signing secret: `env:NAME` = the worker's environment variable NAME.
 * Only the reference is stored, so reading a group through the API never reveals the secret.
 */
export const SecretRef = z
  .string()
  .regex(
    /^env:[A-Z_][A-Z0-9_]{0,127}$/,
    'must be env:NAME (an environment variable of the worker, upper case)',
  );

/**
 * The signing secret of a webhook channel: the variable its `secret_ref` names, else the default
 * (PATCHWAVE_WEBHOOK_SECRET). One rule for the API (refuses a channel at save time when nothing resolves)
 * and the worker (signs with it).
 */
export function resolveWebhookSecret(
  c: { secret_ref?: string },
  defaultSecret: string | undefined,
  readEnv: (name: string) => string | undefined,
): string | undefined {
  if (!c.secret_ref) return defaultSecret || undefined;
  return readEnv(c.secret_ref.replace(/^env:/, '')) || undefined;
}

/** Why a webhook channel has no signing secret (for a 400 at save time), or undefined when it has one. */
export function missingWebhookSecret(
  c: { secret_ref?: string },
  defaultSecret: string | undefined,
  readEnv: (name: string) => string | undefined,
): string | undefined {
  if (resolveWebhookSecret(c, defaultSecret, readEnv)) return undefined;
  return c.secret_ref
    ? `no signing secret: ${c.secret_ref.replace(/^env:/, '')} (named by secret_ref ${c.secret_ref}) is not set`
    : 'no signing secret: PATCHWAVE_WEBHOOK_SECRET is not set and the channel has no secret_ref';
}

/**
 * An e-mail address as this API accepts it: one regular expression, without look-arounds, that the server
 * applies and the OpenAPI document states as the `pattern`, so both read an address the same way (zod's
 * built-in e-mail check and JSON Schema's `format: email` disagree at the edges).
 */
export const EMAIL_PATTERN = "^[A-Za-z0-9_'+-][A-Za-z0-9_'+.-]*@[A-Za-z0-9][A-Za-z0-9.-]*\\.[A-Za-z]{2,63}$";
const EmailAddress = z
  .string()
  .max(254)
  .regex(new RegExp(EMAIL_PATTERN), 'must be an e-mail address such as ops@example.com');

export const Channel = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('slack'), url: Url }),
  z.strictObject({ type: z.literal('teams'), url: Url }),
  /** Without `secret_ref` the worker signs with PATCHWAVE_WEBHOOK_SECRET (see docs/notifications.md). */
  z.strictObject({ type: z.literal('webhook'), url: Url, secret_ref: SecretRef.optional() }),
  z.strictObject({
    type: z.literal('email'),
    to: z.array(EmailAddress).min(1).max(100),
  }),
]);
export type Channel = z.infer<typeof Channel>;
export type ChannelType = Channel['type'];

export const NotificationGroupInput = z.strictObject({
  name: z.string().trim().min(1).max(255).meta({ pattern: '\\S' }),
  description: z.string().max(2000).optional(),
  min_severity: Severity.default('INFO'),
  /** Only these event types; all by default. */
  event_types: z.array(NotificationEventType).min(1).max(NotificationEventType.options.length).optional(),
  channels: z.array(Channel).min(1).max(20),
});
export type NotificationGroupInput = z.infer<typeof NotificationGroupInput>;

export const NotificationGroup = NotificationGroupInput.extend({
  id: z.string(),
  customer_id: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type NotificationGroup = z.infer<typeof NotificationGroup>;
