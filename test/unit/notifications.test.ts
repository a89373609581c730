import { NotificationGroupInput } from '../../domain/notification-group';
import {
  MAX_TEXT_CHARS,
  NotificationEventType,
  TYPE_SEVERITY,
  buildNotification,
  notificationKey,
  parseLeadTimes,
  severityOf,
  shouldDeliver,
  type NotificationContext,
} from '../../domain/notifications';
import { emailContent } from '../../activities/channels/email';
import { slackPayload } from '../../activities/channels/slack';
import { teamsPayload } from '../../activities/channels/teams';
import { signWebhook, verifyWebhookSignature, webhookBody } from '../../activities/channels/webhook';
import { withRetries } from '../../activities/channels/retry';
import { DeliveryError } from '../../activities/channels/types';
import { AZURE_SECRET_CODE, CUSTOMER, EVENT_ID, mixedEvent, mixedMachines } from './notifications-fixtures';

const eventCtx = {
  id: mixedEvent.id,
  plan_id: mixedEvent.plan_id,
  plan_name: mixedEvent.plan_name,
  pipeline_id: mixedEvent.pipeline_id,
  pipeline_name: 'Production rollout',
  step: mixedEvent.step,
  start: mixedEvent.start,
  end: mixedEvent.end,
  status: mixedEvent.status,
  failure_reasons: mixedEvent.failure_reasons,
};
const base: NotificationContext & { customer_id: string } = {
  customer_id: CUSTOMER.id,
  customer_name: CUSTOMER.name,
  event: eventCtx,
};

describe('notification groups (schema)', () => {
  it('accepts every channel type and defaults min_severity to INFO', () => {
    const g = NotificationGroupInput.parse({
      name: 'ops',
      channels: [
        { type: 'slack', url: 'https://hooks.slack.com/services/T/B/x' },
        { type: 'teams', url: 'https://example.webhook.office.com/x' },
        { type: 'webhook', url: 'https://hooks.example.com/pw', secret_ref: 'env:OPS_HOOK_SECRET' },
        { type: 'email', to: ['ops@example.com'] },
      ],
    });
    expect(g.min_severity).toBe('INFO');
  });

  it('refuses a malformed secret_ref, an unknown event type and a bad address, naming the field', () => {
    const r = NotificationGroupInput.safeParse({
      name: 'x',
      event_types: ['patching_finish', 'nope'],
      channels: [
        { type: 'webhook', url: 'https://h.example.com', secret_ref: 'plain-secret' },
        { type: 'email', to: ['not-an-address'] },
      ],
    });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining(['event_types.1', 'channels.0.secret_ref', 'channels.1.to.0']),
    );
  });
});

describe('severity and filtering', () => {
  it('gives each type of docs/behaviour.md#notifications its severity', () => {
    expect(NotificationEventType.options).toHaveLength(23);
    expect(severityOf('patching_halted', base)).toBe('WARNING');
    expect(severityOf('event_new', base)).toBe('INFO');
    expect(severityOf('machine_access_err', base)).toBe('ERROR');
    expect(severityOf('machine_not_in_window', base)).toBe('WARNING');
    expect(severityOf('plan_new', base)).toBe('DEBUG');
    expect(severityOf('plan_deleted', base)).toBe('WARNING');
    expect(severityOf('pipeline_modification', base)).toBe('DEBUG');
    expect(severityOf('patching_finish', { event: { ...eventCtx, status: 'DONE' } })).toBe('SUCCESS');
    expect(severityOf('patching_finish', { event: { ...eventCtx, status: 'DONE_MANUAL' } })).toBe('SUCCESS');
    expect(severityOf('patching_finish', { event: { ...eventCtx, status: 'DONE_PARTIAL' } })).toBe('ERROR');
    expect(severityOf('partial_patching_finish', { event: { ...eventCtx, status: 'DONE_ERROR' } })).toBe(
      'ERROR',
    );
    expect(
      severityOf('machine_patching_finish', { machine: { machine_id: 'm', status: 'SUCCESS_NO_UPDATES' } }),
    ).toBe('SUCCESS');
    expect(severityOf('machine_patching_finish', { machine: { machine_id: 'm', status: 'TIMED_OUT' } })).toBe(
      'ERROR',
    );
    expect(severityOf('hook_finish', { hook: { name: 'pre_0', code: 204 } })).toBe('SUCCESS');
    expect(severityOf('host_hook_finish', { hook: { name: 'pre_host_0', code: 500 } })).toBe('ERROR');
    expect(severityOf('hook_finish', { hook: { name: 'pre_0' } })).toBe('ERROR');
  });

  it('delivers by minimum severity (DEBUG < INFO < SUCCESS < WARNING < ERROR) and by event type', () => {
    expect(shouldDeliver({ min_severity: 'INFO' }, 'plan_new', 'DEBUG')).toBe(false);
    expect(shouldDeliver({ min_severity: 'DEBUG' }, 'plan_new', 'DEBUG')).toBe(true);
    expect(shouldDeliver({ min_severity: 'WARNING' }, 'patching_finish', 'SUCCESS')).toBe(false);
    expect(shouldDeliver({ min_severity: 'WARNING' }, 'patching_finish', 'ERROR')).toBe(true);
    expect(
      shouldDeliver({ min_severity: 'INFO', event_types: ['patching_finish'] }, 'patching_start', 'INFO'),
    ).toBe(false);
    expect(
      shouldDeliver({ min_severity: 'INFO', event_types: ['patching_finish'] }, 'patching_finish', 'SUCCESS'),
    ).toBe(true);
  });
});

describe('keys and lead times', () => {
  it('builds idempotency keys from the occurrence', () => {
    expect(notificationKey('patching_finish', EVENT_ID, 0)).toBe(`patching_finish:${EVENT_ID}:0`);
  });
  it('reads NOTIFY_INCOMING_LEAD_HOURS as minutes, longest first', () => {
    expect(parseLeadTimes('24,1')).toEqual([1440, 60]);
    expect(parseLeadTimes(' 1, 0.5 ,24, x, -2, 1')).toEqual([1440, 60, 30]);
    expect(parseLeadTimes('')).toEqual([]);
  });
});

describe('message texts', () => {
  it('builds a non-empty message with ids for every type, even with almost no context', () => {
    for (const type of NotificationEventType.options) {
      const bare = buildNotification(type, { customer_id: 'cus_1' });
      expect(bare.text.length).toBeGreaterThan(5);
      const full = buildNotification(type, {
        ...base,
        machines: mixedMachines,
        machine: mixedMachines[0],
        hook: { name: 'pre_0', code: 200 },
      });
      expect(full).toMatchObject({
        type,
        customer_id: CUSTOMER.id,
        event_id: EVENT_ID,
        plan_id: 'pln_webfleet',
        pipeline_id: 'ppl_prod',
      });
      if (TYPE_SEVERITY[type] !== 'outcome') expect(full.severity).toBe(TYPE_SEVERITY[type]);
    }
  });

  it('patching_finish names customer, plan, pipeline step, window, status, failures and the packages per machine', () => {
    const m = buildNotification('patching_finish', { ...base, machines: mixedMachines });
    expect(m.severity).toBe('ERROR');
    const lines = m.text.split('\n');
    expect(lines[0]).toBe('Patching finished DONE_PARTIAL: plan "Web fleet monthly"');
    expect(m.text).toContain('Customer: Acme Corp');
    expect(m.text).toContain('Pipeline: Production rollout, step 2');
    expect(m.text).toContain('Window: 2025-03-04 06:00 - 07:00 UTC (1 h)');
    expect(m.text).toContain(
      'Machines: 8 (FAILED 1, NOT_AVAILABLE 1, NOT_IN_TIME_WINDOW 1, OMITTED 1, SUCCESS 1, SUCCESS_MANUAL 1, SUCCESS_NO_UPDATES 1, TIMED_OUT 1)',
    );
    expect(m.text).toContain(
      '- post hook post_0 failed with code 500: health check failed: 2 of 5 endpoints down',
    );
    // web-1's packages follow its own line, app-1's follow app-1's
    const web1 = lines.findIndex((l) => l.startsWith('- web-1 (i-0a1b2c3d4e5f60001): SUCCESS - rebooted'));
    expect(lines.slice(web1 + 1, web1 + 5)).toEqual([
      '    3 packages installed:',
      '      openssl-3.0.7-27.el9.x86_64',
      '      kernel-5.14.0-427.13.1.el9_4.x86_64',
      '      curl-7.76.1-29.el9_4.x86_64',
    ]);
    expect(m.text).toContain(
      '- web-2 (i-0a1b2c3d4e5f60002): SUCCESS_NO_UPDATES\n    no updates were available',
    );
    expect(m.text).toContain(
      '- db-1 (i-0a1b2c3d4e5f60003): FAILED - SSM command Failed: yum exited with code 1',
    );
    expect(m.text).toContain(
      '- app-1 (i-0a1b2c3d4e5f60005): SUCCESS_MANUAL - rebooted - action taken: Finished yum update by hand',
    );
    expect(m.details).toMatchObject({ summary: { SUCCESS: 1, FAILED: 1 }, title: lines[0] });
  });

  it('machine_patching_finish lists what was installed on that machine', () => {
    const m = buildNotification('machine_patching_finish', { ...base, machine: mixedMachines[0] });
    expect(m).toMatchObject({ severity: 'SUCCESS', machine_id: 'mch_web1' });
    expect(m.text).toContain('Machine web-1 (i-0a1b2c3d4e5f60001) finished SUCCESS');
    expect(m.text).toContain('3 packages installed:\n  openssl-3.0.7-27.el9.x86_64');
    const failed = buildNotification('machine_patching_finish', { ...base, machine: mixedMachines[2] });
    expect(failed.severity).toBe('ERROR');
    expect(failed.text).toContain('Reason: SSM command Failed: yum exited with code 1');
  });

  it('not_approved_patching says who can approve and how (CLI and API)', () => {
    const m = buildNotification('not_approved_patching', {
      ...base,
      approvers: ['ops-lead', 'release-bot'],
      policy: 'success_or_approval',
    });
    expect(m.severity).toBe('INFO');
    expect(m.text).toContain('Who can approve: API keys ops-lead, release-bot.');
    expect(m.text).toContain(`How: patchwave event approve ${EVENT_ID}`);
    expect(m.text).toContain(`POST /api/v1/events/${EVENT_ID}/approve`);
    expect(m.text).toContain('previous step did not end DONE/DONE_MANUAL');
    const nobody = buildNotification('not_approved_patching', base);
    expect(nobody.text).toContain('permission event:update');
  });

  it('incoming_patching states the lead time (24 h and 1 h notices of seed 004)', () => {
    expect(
      buildNotification('incoming_patching', { ...base, lead_time_minutes: 24 * 60 }).text.split('\n')[0],
    ).toBe('Upcoming patching: plan "Web fleet monthly" starts in 24 hours');
    expect(
      buildNotification('incoming_patching', { ...base, lead_time_minutes: 60 }).text.split('\n')[0],
    ).toBe('Upcoming patching: plan "Web fleet monthly" starts in 1 hour');
  });

  it('never puts an Azure function code into a message', () => {
    const src = mixedEvent.hooks[1].source;
    const m = buildNotification('hook_finish', {
      ...base,
      hook: { name: 'post_0', type: 'azure', source: src, code: 500, message: 'down' },
    });
    expect(JSON.stringify(m)).not.toContain(AZURE_SECRET_CODE);
    expect(m.text.split('\n')[0]).toBe('Hook post_0 failed (code 500)');
    expect(m.text).toContain(
      'Hook: hook post_0 (azure https://acme-hooks.azurewebsites.net/api/health-check?code=***)',
    );
  });

  it('caps very long texts', () => {
    const many = Array.from({ length: 400 }, (_, i) => ({
      ...mixedMachines[0],
      machine_id: `m${i}`,
      name: `host-${i}`,
    }));
    const m = buildNotification('patching_finish', { ...base, machines: many });
    expect(m.text.length).toBeLessThanOrEqual(MAX_TEXT_CHARS);
    expect(m.text).toMatch(/\(truncated; see the report\)$/);
  });
});

describe('channel payloads', () => {
  const msg = buildNotification('patching_finish', {
    ...base,
    event: { ...eventCtx, status: 'DONE' },
    machines: [mixedMachines[0]],
  });

  it('slack: coloured attachment with the title, escaped text', () => {
    const p = slackPayload({ ...msg, text: 'a <b> & c\nline <2>' }) as {
      text: string;
      attachments: { color: string; title: string; text: string }[];
    };
    expect(p.text).toBe('a &lt;b&gt; &amp; c');
    expect(p.attachments[0]).toMatchObject({
      color: '#2EB67D',
      title: 'a &lt;b&gt; &amp; c',
      text: 'line &lt;2&gt;',
    });
  });

  it('teams: an Adaptive Card message with one block per line', () => {
    const p = teamsPayload(msg) as {
      type: string;
      attachments: { contentType: string; content: { body: { text: string; color?: string }[] } }[];
    };
    expect(p.type).toBe('message');
    expect(p.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    const texts = p.attachments[0].content.body.map((b) => b.text);
    expect(texts[0]).toBe('Patching finished DONE: plan "Web fleet monthly"');
    expect(p.attachments[0].content.body[0].color).toBe('Good');
    expect(texts).toContain('      openssl-3.0.7-27.el9.x86_64');
  });

  it('webhook: the body is the message; the signature covers timestamp and body', () => {
    const body = webhookBody(msg);
    expect(JSON.parse(body)).toEqual(msg);
    const sig = signWebhook('s3cret-s3cret-s3cret', '1741068000', body);
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    const ok = {
      secret: 's3cret-s3cret-s3cret',
      rawBody: body,
      signature: sig,
      timestamp: '1741068000',
      nowSeconds: 1741068010,
    };
    expect(verifyWebhookSignature(ok)).toBe(true);
    expect(verifyWebhookSignature({ ...ok, rawBody: body.replace('DONE', 'DONX') })).toBe(false);
    expect(verifyWebhookSignature({ ...ok, timestamp: '1741068001' })).toBe(false);
    expect(verifyWebhookSignature({ ...ok, secret: 'other-secret-other' })).toBe(false);
    expect(verifyWebhookSignature({ ...ok, nowSeconds: 1741068000 + 3600 })).toBe(false); // replayed late
  });

  it('email: severity and title in the subject, HTML escaped', () => {
    const c = emailContent({ ...msg, text: 'Title <x>\nbody & more' });
    expect(c.subject).toBe('[Patchwave SUCCESS] Title <x>');
    expect(c.text).toContain('body & more');
    expect(c.html).toContain('Title &lt;x&gt;');
    expect(c.html).not.toContain('<x>');
  });
});

describe('retries', () => {
  const policy = { attempts: 3, baseDelayMs: 1, sleep: async () => undefined };

  it('retries retryable failures up to 3 attempts, then reports the last error', async () => {
    let n = 0;
    const r = await withRetries(policy, async () => {
      n++;
      throw new DeliveryError('receiver answered HTTP 503', true);
    });
    expect(n).toBe(3);
    expect(r).toEqual({ attempts: 3, error: 'receiver answered HTTP 503' });
  });

  it('stops at once on a permanent failure, and succeeds after a transient one', async () => {
    let n = 0;
    expect(
      await withRetries(policy, async () => {
        n++;
        throw new DeliveryError('receiver answered HTTP 404', false);
      }),
    ).toEqual({ attempts: 1, error: 'receiver answered HTTP 404' });
    n = 0;
    expect(
      await withRetries(policy, async () => {
        if (++n < 2) throw new DeliveryError('connection reset', true);
      }),
    ).toEqual({ attempts: 2 });
  });

  it('never leaks the text of unexpected errors (they may hold the URL)', async () => {
    const r = await withRetries({ ...policy, attempts: 1 }, async () => {
      throw new TypeError('Failed to parse URL from https://hooks.slack.com/services/T0/B0/SECRET');
    });
    expect(r.error).toBe('unexpected error while sending');
  });
});
