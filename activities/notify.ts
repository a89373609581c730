import pino from 'pino';
import { Counter } from 'prom-client';
import { z } from 'zod';
import { httpAllowlist, type Config } from '../common/config';
import { registry } from '../common/metrics';
import {
  resolveWebhookSecret,
  type Channel,
  type NotificationGroupInput,
} from '../domain/notification-group';
import {
  NotificationContext,
  NotificationEventType,
  buildNotification,
  severityOf,
  shouldDeliver,
  type NotificationMessage,
} from '../domain/notifications';
import { NotificationDeliveries, deliveryId, type DeliveryDoc } from '../store/notifications';
import {
  createSmtpTransport,
  emailAttempt,
  smtpSettingsFromConfig,
  type SmtpSettings,
} from './channels/email';
import type { HttpDeps } from './channels/http';
import { DEFAULT_RETRY, withRetries, type RetryPolicy } from './channels/retry';
import { slackAttempt } from './channels/slack';
import { teamsAttempt } from './channels/teams';
import type { ChannelAttempt } from './channels/types';
import { webhookAttempt } from './channels/webhook';

export const notificationsTotal = new Counter({
  name: 'patchwave_notifications_total',
  help: 'Notification deliveries by channel type and final status (sent|failed)',
  labelNames: ['channel', 'status'] as const,
  registers: [registry],
});

export const NotifyInput = z.object({
  /** Idempotency key of the occurrence, e.g. `patching_finish:<event_id>:<run_no>`: one message per key and channel. */
  key: z.string().min(1).max(400),
  type: NotificationEventType,
  customer_id: z.string().min(1),
  event_id: z.string().optional(),
  plan_id: z.string().optional(),
  pipeline_id: z.string().optional(),
  machine_id: z.string().optional(),
  /** NotificationContext, with `notification_groups` (group ids of the plan/pipeline). */
  context: z.record(z.string(), z.unknown()).default({}),
});
export type NotifyInput = z.input<typeof NotifyInput>;

export interface NotifyResult {
  /** Deliveries that are sent (now or by an earlier attempt with the same key). */
  delivered: number;
  /** Deliveries that failed for good (recorded; see listDeliveries). */
  failed: number;
}

export interface NotifyDeps {
  deliveries: NotificationDeliveries;
  config: Config;
  /** Defaults to SMTP_URL/SMTP_FROM of the config; without either, e-mail channels are recorded as failed. */
  smtp?: SmtpSettings;
  fetchImpl?: typeof fetch;
  now?: () => Date;
  /** Reads `env:NAME` secret references; defaults to process.env. */
  readSecret?: (name: string) => string | undefined;
  /** Tests shorten the backoff; production keeps 3 attempts, 1 s then 2 s apart. */
  retry?: Partial<RetryPolicy>;
  logger?: Pick<pino.Logger, 'info' | 'warn' | 'error'>;
}

type GroupDoc = NotificationGroupInput & { _id: string; customer_id: string };

/**
 * Activity factory. `notify` never throws: a failing channel is retried, then recorded as failed, and the
 * event carries on. Register it with a start-to-close timeout of at least 2 minutes (3 attempts × 10 s
 * plus backoff per channel; channels are called in parallel).
 */
export function createNotifyActivities(deps: NotifyDeps) {
  const now = deps.now ?? (() => new Date());
  const log = deps.logger ?? pino({ level: deps.config.LOG_LEVEL, name: 'notify' });
  const deliveries = deps.deliveries;
  const timeoutMs = deps.config.NOTIFY_CHANNEL_TIMEOUT_MS;
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...deps.retry };
  // The lease outlives every attempt of one claim, so only a crashed attempt's delivery is taken over.
  const leaseMs = retry.attempts * (timeoutMs + retry.baseDelayMs * 2 ** retry.attempts) + 30_000;
  const http: HttpDeps = {
    fetchImpl: deps.fetchImpl ?? globalThis.fetch,
    timeoutMs,
    allowlist: httpAllowlist(deps.config),
  };
  const readSecret = deps.readSecret ?? ((name: string) => process.env[name]);
  const smtp = deps.smtp ?? smtpSettingsFromConfig(deps.config);
  let transport: ReturnType<typeof createSmtpTransport> | undefined;
  const smtpTransport = () => (smtp ? (transport ??= createSmtpTransport(smtp, timeoutMs)) : undefined);

  function webhookSecret(c: Extract<Channel, { type: 'webhook' }>): string | undefined {
    return resolveWebhookSecret(c, deps.config.PATCHWAVE_WEBHOOK_SECRET, readSecret);
  }

  function attemptFor(c: Channel): ChannelAttempt {
    switch (c.type) {
      case 'slack':
        return slackAttempt(http, c.url);
      case 'teams':
        return teamsAttempt(http, c.url);
      case 'webhook':
        return webhookAttempt(http, c.url, webhookSecret(c), () => Math.floor(now().getTime() / 1000));
      case 'email':
        return emailAttempt(smtpTransport(), smtp?.from, c.to);
    }
  }

  async function deliver(
    input: z.output<typeof NotifyInput>,
    msg: NotificationMessage,
    group: GroupDoc,
    channel: Channel,
    index: number,
  ): Promise<DeliveryDoc['status'] | 'in_flight'> {
    const id = deliveryId(input.key, group._id, index);
    const logFields = {
      delivery: id,
      group_id: group._id,
      channel_index: index,
      channel: channel.type,
      type: msg.type,
    };
    const { claimed, doc } = await deliveries.claim(
      {
        _id: id,
        key: input.key,
        customer_id: input.customer_id,
        ...(msg.event_id ? { event_id: msg.event_id } : {}),
        ...(msg.machine_id ? { machine_id: msg.machine_id } : {}),
        group_id: group._id,
        channel_index: index,
        channel_type: channel.type,
        notification_type: msg.type,
        severity: msg.severity,
      },
      now(),
      leaseMs,
    );
    if (!claimed) return doc?.status === 'sent' ? 'sent' : 'in_flight';
    const attempt = attemptFor(channel);
    const outcome = await withRetries(retry, () => attempt({ msg, deliveryId: id }));
    const status = outcome.error === undefined ? 'sent' : 'failed';
    await deliveries.finish(id, { status, attempts: outcome.attempts, last_error: outcome.error }, now());
    notificationsTotal.inc({ channel: channel.type, status });
    if (status === 'failed')
      log.warn(
        { ...logFields, attempts: outcome.attempts, error: outcome.error },
        'notification delivery failed',
      );
    else log.info({ ...logFields, attempts: outcome.attempts }, 'notification sent');
    return status;
  }

  async function loadGroups(customerId: string, ids: string[]): Promise<GroupDoc[]> {
    return deliveries.groups<GroupDoc>(customerId, ids);
  }

  async function enrich(
    input: z.output<typeof NotifyInput>,
    ctx: NotificationContext,
  ): Promise<NotificationContext> {
    const out = { ...ctx };
    if (!out.customer_name) {
      const name = await deliveries.customerName(input.customer_id);
      if (name) out.customer_name = name;
    }
    const eventId = input.event_id ?? ctx.event?.id;
    if (input.type === 'not_approved_patching' && !out.approvers && eventId)
      out.approvers = await deliveries.approverKeyNames(input.customer_id, eventId);
    return out;
  }

  async function notify(rawInput: NotifyInput): Promise<NotifyResult> {
    const parsed = NotifyInput.safeParse(rawInput);
    if (!parsed.success) {
      // A caller bug; throwing would only make Temporal retry the same bad input forever.
      log.error(
        { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
        'invalid notify input',
      );
      return { delivered: 0, failed: 0 };
    }
    const input = parsed.data;
    try {
      let ctx: NotificationContext;
      const ctxParsed = NotificationContext.safeParse(input.context);
      if (ctxParsed.success) ctx = ctxParsed.data;
      else {
        log.warn(
          { key: input.key, issues: ctxParsed.error.issues.map((i) => i.path.join('.')) },
          'notify context partly invalid',
        );
        const groups = input.context.notification_groups;
        ctx = {
          notification_groups: Array.isArray(groups)
            ? groups.filter((g): g is string => typeof g === 'string')
            : [],
        };
      }
      const severity = severityOf(input.type, ctx);
      const groups = (await loadGroups(input.customer_id, ctx.notification_groups ?? [])).filter((g) =>
        shouldDeliver(g, input.type, severity),
      );
      if (groups.length === 0) return { delivered: 0, failed: 0 };
      const msg = buildNotification(input.type, {
        ...(await enrich(input, ctx).catch(() => ctx)),
        customer_id: input.customer_id,
        event_id: input.event_id,
        plan_id: input.plan_id,
        pipeline_id: input.pipeline_id,
        machine_id: input.machine_id,
      });
      const jobs = groups.flatMap((g) => g.channels.map((c, i) => deliver(input, msg, g, c, i)));
      const results = await Promise.allSettled(jobs);
      let delivered = 0;
      let failed = 0;
      for (const r of results) {
        if (r.status === 'fulfilled' && r.value === 'sent') delivered++;
        else if (r.status === 'fulfilled' && r.value === 'failed') failed++;
        else if (r.status === 'rejected') {
          failed++;
          log.error(
            { key: input.key, error: String((r.reason as Error)?.message ?? r.reason) },
            'delivery bookkeeping failed',
          );
        }
      }
      return { delivered, failed };
    } catch (err) {
      // Store unreachable etc.: the event must not fail because of a notification.
      log.error({ key: input.key, error: String((err as Error)?.message ?? err) }, 'notify failed');
      return { delivered: 0, failed: 0 };
    }
  }

  return { notify };
}

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
