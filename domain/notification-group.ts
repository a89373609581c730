import { z } from 'zod';

/**
 * Notification group, product.md §1. Channel URLs are secrets (a Slack/Teams webhook URL is its own
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

const Url = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2048);

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

export const Channel = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('slack'), url: Url }),
  z.strictObject({ type: z.literal('teams'), url: Url }),
  /** Without `secret_ref` the worker signs with PATCHWAVE_WEBHOOK_SECRET (see docs/notifications.md). */
  z.strictObject({ type: z.literal('webhook'), url: Url, secret_ref: SecretRef.optional() }),
  z.strictObject({ type: z.literal('email'), to: z.array(z.email()).min(1).max(100) }),
]);
export type Channel = z.infer<typeof Channel>;
export type ChannelType = Channel['type'];

export const NotificationGroupInput = z.strictObject({
  name: z.string().trim().min(1).max(255),
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
