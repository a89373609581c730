import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { loadConfig } from '../../common/config';
import { createNotifyActivities, notificationsTotal, type NotifyInput } from '../../activities/notify';
import { verifyWebhookSignature } from '../../activities/channels/webhook';
import type { NotificationEventType, Severity } from '../../domain/notifications';
import { COLLECTIONS } from '../../store/db';
import { listDeliveries, NotificationDeliveries } from '../../store/notifications';
import { openTestDb, type TestDb } from '../helpers/servers';
import { CUSTOMER, EVENT_ID, mixedEvent, mixedMachines } from '../unit/notifications-fixtures';

jest.setTimeout(60_000);

const DEFAULT_SECRET = 'default-webhook-secret-0123456789';
const ERRORS_SECRET = 'errors-group-secret-9876543210';

// ---------------------------------------------------------------------------------------------------------
// Real receivers: one HTTP server for Slack/Teams/webhook payloads, one SMTP server for e-mail.

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  json: unknown;
}

class HttpReceiver {
  readonly received: Received[] = [];
  /** Per path: status codes to answer in turn (the last one repeats); 200 when absent. */
  readonly script = new Map<string, number[]>();
  private server!: http.Server;
  base = '';

  async start() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const path = req.url ?? '';
        if (path.startsWith('/hang')) return; // never answers
        let json: unknown;
        try {
          json = JSON.parse(raw);
        } catch {
          json = undefined;
        }
        this.received.push({ path, headers: req.headers, raw, json });
        if (path.startsWith('/redirect')) {
          res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
          return;
        }
        const codes = this.script.get(path);
        const code = codes ? (codes.length > 1 ? codes.shift()! : codes[0]) : 200;
        res.writeHead(code, code === 429 ? { 'retry-after': '0' } : {}).end(code === 200 ? 'ok' : 'nope');
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  at(path: string) {
    return this.received.filter((r) => r.path === path);
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

interface Mail {
  to: string[];
  raw: string;
  subject: string;
  /** Quoted-printable decoded source, enough to search the text part. */
  decoded: string;
}

function decodeQuotedPrintable(s: string): string {
  const bytes = s
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** RFC 2047 encoded words (nodemailer encodes long subjects): adjacent words join without their space. */
function decodeMimeWords(s: string): string {
  return s
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?([QB])\?([^?]*)\?=/gi, (_, enc: string, text: string) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(
            text
              .replace(/_/g, ' ')
              .replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
            'latin1',
          ).toString('utf8'),
    );
}

class SmtpReceiver {
  readonly mails: Mail[] = [];
  port = 0;
  private server!: SMTPServer;

  async start() {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onRcptTo(address, _session, cb) {
        if (address.address.startsWith('nobody@'))
          return cb(Object.assign(new Error('No such user'), { responseCode: 550 }));
        cb();
      },
      onData: (stream, session, cb) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const folded = /^Subject: (.*(?:\r?\n[ \t].*)*)/m.exec(raw)?.[1] ?? '';
          const subject = decodeMimeWords(folded.replace(/\r?\n([ \t])/g, '$1'));
          this.mails.push({
            to: session.envelope.rcptTo.map((a) => a.address),
            raw,
            subject,
            decoded: decodeQuotedPrintable(raw),
          });
          cb();
        });
      },
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.port = (this.server.server.address() as AddressInfo).port;
  }

  async stop() {
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

// ---------------------------------------------------------------------------------------------------------

let store: TestDb;
const receiver = new HttpReceiver();
const smtp = new SmtpReceiver();

function activities(overrides: Record<string, string> = {}) {
  const config = loadConfig({
    PATCHWAVE_HTTP_ALLOWLIST: '127.0.0.1',
    PATCHWAVE_WEBHOOK_SECRET: DEFAULT_SECRET,
    LOG_LEVEL: 'silent',
    ...overrides,
  });
  return createNotifyActivities({
    deliveries: new NotificationDeliveries(store.db),
    config,
    smtp: { host: '127.0.0.1', port: smtp.port, from: 'Patchwave <patchwave@test.local>', ignoreTLS: true },
    readSecret: (name) => (name === 'PW_TEST_ERRORS_SECRET' ? ERRORS_SECRET : undefined),
    retry: { baseDelayMs: 5 },
  });
}

async function addGroup(id: string, group: Record<string, unknown>, customerId = CUSTOMER.id) {
  const now = new Date().toISOString();
  await store.db.collection(COLLECTIONS.notificationGroups).insertOne({
    _id: id as never,
    customer_id: customerId,
    min_severity: 'INFO',
    created_at: now,
    updated_at: now,
    ...group,
  });
}

async function metric(channel: string, status: string): Promise<number> {
  const m = await notificationsTotal.get();
  return m.values.find((v) => v.labels.channel === channel && v.labels.status === status)?.value ?? 0;
}

beforeAll(async () => {
  store = await openTestDb('notify_delivery');
  await Promise.all([receiver.start(), smtp.start()]);
  await store.db
    .collection(COLLECTIONS.customers)
    .insertOne({ _id: CUSTOMER.id as never, name: CUSTOMER.name });
});

afterAll(async () => {
  await Promise.all([receiver.stop(), smtp.stop()]);
  await store?.close();
});

// ---------------------------------------------------------------------------------------------------------

const eventCtx = {
  id: mixedEvent.id,
  plan_id: mixedEvent.plan_id,
  plan_name: mixedEvent.plan_name,
  pipeline_id: mixedEvent.pipeline_id,
  pipeline_name: 'Production rollout',
  step: mixedEvent.step,
  start: mixedEvent.start,
  end: mixedEvent.end,
};
const byId = (id: string) => mixedMachines.find((m) => m.machine_id === id)!;

/** What the event workflow sends for the mixed event, in order, with the severity each must have. */
function mixedEventNotifications(groups: string[]): { input: NotifyInput; severity: Severity }[] {
  const n = (
    key: string,
    type: NotificationEventType,
    severity: Severity,
    context: Record<string, unknown>,
    machine_id?: string,
  ): { input: NotifyInput; severity: Severity } => ({
    input: {
      key: `${key}:${EVENT_ID}`,
      type,
      customer_id: CUSTOMER.id,
      event_id: EVENT_ID,
      plan_id: mixedEvent.plan_id,
      pipeline_id: mixedEvent.pipeline_id,
      ...(machine_id ? { machine_id } : {}),
      context: { notification_groups: groups, event: eventCtx, ...context },
    },
    severity,
  });
  const ended = {
    ...eventCtx,
    status: 'DONE_PARTIAL',
    failure_reasons: mixedEvent.failure_reasons,
    run_no: 0,
  };
  return [
    n('event_new', 'event_new', 'INFO', {
      machines: mixedMachines.map((m) => ({ ...m, status: 'PENDING' })),
    }),
    n('incoming:1440', 'incoming_patching', 'INFO', { lead_time_minutes: 1440 }),
    n('incoming:60', 'incoming_patching', 'INFO', { lead_time_minutes: 60 }),
    n('patching_start:0', 'patching_start', 'INFO', { machines: mixedMachines }),
    n('hook_start:pre_0', 'hook_start', 'INFO', {
      hook: { name: 'pre_0', type: 'lambda', source: mixedEvent.hooks[0].source },
    }),
    n('hook_finish:pre_0', 'hook_finish', 'SUCCESS', { hook: { ...mixedEvent.hooks[0] } }),
    n('machine_start:web1', 'machine_patching_start', 'INFO', { machine: byId('mch_web1') }, 'mch_web1'),
    n('machine_finish:web1', 'machine_patching_finish', 'SUCCESS', { machine: byId('mch_web1') }, 'mch_web1'),
    n('machine_finish:db1', 'machine_patching_finish', 'ERROR', { machine: byId('mch_db1') }, 'mch_db1'),
    n('access_err:db2', 'machine_access_err', 'ERROR', { machine: byId('mch_db2') }, 'mch_db2'),
    n(
      'host_hook_finish:app3:pre_host_0',
      'host_hook_finish',
      'ERROR',
      { machine: byId('mch_app3'), hook: byId('mch_app3').hooks[0] },
      'mch_app3',
    ),
    n(
      'not_in_window:cache1',
      'machine_not_in_window',
      'WARNING',
      { machine: byId('mch_cache1') },
      'mch_cache1',
    ),
    n('hook_finish:post_0', 'hook_finish', 'ERROR', { hook: { ...mixedEvent.hooks[1] } }),
    n('patching_finish:0', 'patching_finish', 'ERROR', { event: ended, machines: mixedMachines }),
    n('plan_modification:1', 'plan_modification', 'DEBUG', { actor: 'key ops-lead' }),
  ];
}

describe('notify with real receivers', () => {
  it("sends a mixed event's notifications to every channel, filtered by severity and type, exactly once each", async () => {
    const p = (s: string) => `${receiver.base}${s}`;
    await addGroup('ngr_all', {
      name: 'everything',
      min_severity: 'DEBUG',
      channels: [
        { type: 'slack', url: p('/slack/all') },
        { type: 'teams', url: p('/teams/all') },
        { type: 'webhook', url: p('/hook/all') },
        { type: 'email', to: ['ops@acme.test', 'oncall@acme.test'] },
      ],
    });
    await addGroup('ngr_errors', {
      name: 'errors',
      min_severity: 'WARNING',
      channels: [{ type: 'webhook', url: p('/hook/errors'), secret_ref: 'env:PW_TEST_ERRORS_SECRET' }],
    });
    await addGroup('ngr_finish', {
      name: 'results',
      event_types: ['patching_finish', 'machine_patching_finish'],
      channels: [{ type: 'slack', url: p('/slack/finish') }],
    });
    // Another customer's group, referenced by mistake: never used.
    await addGroup(
      'ngr_foreign',
      { name: 'foreign', min_severity: 'DEBUG', channels: [{ type: 'webhook', url: p('/hook/foreign') }] },
      'cus_other',
    );

    const { notify } = activities();
    const slackBefore = await metric('slack', 'sent');
    const plan = mixedEventNotifications(['ngr_all', 'ngr_errors', 'ngr_finish', 'ngr_foreign']);
    const results = [];
    for (const { input } of plan) results.push(await notify(input));

    // Exactly the expected messages, in order, with the right severities.
    const expectedAll = plan.map((x) => ({ type: x.input.type, severity: x.severity }));
    const hooks = receiver.at('/hook/all').map((r) => r.json as { type: string; severity: string });
    expect(hooks.map((h) => ({ type: h.type, severity: h.severity }))).toEqual(expectedAll);
    expect(receiver.at('/slack/all')).toHaveLength(plan.length);
    expect(receiver.at('/teams/all')).toHaveLength(plan.length);
    expect(smtp.mails.map((m) => m.subject)).toEqual(
      hooks.map(
        (h) => `[Patchwave ${h.severity}] ${(h as unknown as { details: { title: string } }).details.title}`,
      ),
    );
    smtp.mails.forEach((m) => expect(m.to.sort()).toEqual(['oncall@acme.test', 'ops@acme.test']));

    const errorTypes = receiver
      .at('/hook/errors')
      .map((r) => `${(r.json as { type: string }).type}/${(r.json as { severity: string }).severity}`);
    expect(errorTypes).toEqual([
      'machine_patching_finish/ERROR',
      'machine_access_err/ERROR',
      'host_hook_finish/ERROR',
      'machine_not_in_window/WARNING',
      'hook_finish/ERROR',
      'patching_finish/ERROR',
    ]);
    const finishTitles = receiver.at('/slack/finish').map((r) => (r.json as { text: string }).text);
    expect(finishTitles).toEqual([
      'Machine web-1 (i-0a1b2c3d4e5f60001) finished SUCCESS: plan "Web fleet monthly"',
      'Machine db-1 (i-0a1b2c3d4e5f60003) finished FAILED: plan "Web fleet monthly"',
      'Patching finished DONE_PARTIAL: plan "Web fleet monthly"',
    ]);
    expect(receiver.at('/hook/foreign')).toHaveLength(0);

    // Every webhook is signed over timestamp + raw body, with the group's own secret where it has one.
    for (const r of receiver.at('/hook/all'))
      expect(
        verifyWebhookSignature({
          secret: DEFAULT_SECRET,
          rawBody: r.raw,
          signature: r.headers['x-patchwave-signature'] as string,
          timestamp: r.headers['x-patchwave-timestamp'] as string,
        }),
      ).toBe(true);
    for (const r of receiver.at('/hook/errors')) {
      const args = {
        rawBody: r.raw,
        signature: r.headers['x-patchwave-signature'] as string,
        timestamp: r.headers['x-patchwave-timestamp'] as string,
      };
      expect(verifyWebhookSignature({ ...args, secret: ERRORS_SECRET })).toBe(true);
      expect(verifyWebhookSignature({ ...args, secret: DEFAULT_SECRET })).toBe(false);
    }

    // The finish message carries what matters: customer, window, status, failures, packages per machine.
    const finish = receiver
      .at('/hook/all')
      .find((r) => (r.json as { type: string }).type === 'patching_finish')!;
    const body = finish.json as {
      text: string;
      event_id: string;
      customer_id: string;
      pipeline_id: string;
      details: { summary: Record<string, number> };
    };
    expect(body).toMatchObject({ event_id: EVENT_ID, customer_id: CUSTOMER.id, pipeline_id: 'ppl_prod' });
    expect(body.details.summary).toMatchObject({ SUCCESS: 1, FAILED: 1, NOT_AVAILABLE: 1, TIMED_OUT: 1 });
    expect(body.text).toContain('Customer: Acme Corp');
    expect(body.text).toContain('Window: 2025-03-04 06:00 - 07:00 UTC (1 h)');
    expect(body.text).toContain(
      '- web-1 (i-0a1b2c3d4e5f60001): SUCCESS - rebooted\n    3 packages installed:\n      openssl-3.0.7-27.el9.x86_64',
    );
    expect(body.text).toContain('- app-1 (i-0a1b2c3d4e5f60005): SUCCESS_MANUAL - rebooted - action taken:');
    expect(body.text).toContain('- post hook post_0 failed with code 500');
    const finishMail = smtp.mails.find((m) =>
      m.subject.startsWith('[Patchwave ERROR] Patching finished DONE_PARTIAL'),
    )!;
    expect(finishMail.decoded).toContain('kernel-5.14.0-427.13.1.el9_4.x86_64');
    const slackFinish = receiver
      .at('/slack/all')
      .find((r) => (r.json as { text: string }).text.startsWith('Patching finished'))!;
    expect(
      (slackFinish.json as { attachments: { color: string; text: string }[] }).attachments[0],
    ).toMatchObject({ color: '#E01E5A' });
    expect(JSON.stringify(receiver.received)).not.toContain('c0de-SECRET'); // the Azure hook's code

    // Results and records: all sent, one record per (notification, group, channel).
    const expectedDeliveries = plan.length * 4 + 6 + 3;
    expect(results.reduce((a, r) => a + r.delivered, 0)).toBe(expectedDeliveries);
    expect(results.every((r) => r.failed === 0)).toBe(true);
    const recorded = await listDeliveries(store.db, EVENT_ID, CUSTOMER.id);
    expect(recorded).toHaveLength(expectedDeliveries);
    expect(recorded.every((d) => d.status === 'sent' && d.attempts === 1 && d.sent_at)).toBe(true);
    expect(JSON.stringify(recorded)).not.toContain(receiver.base); // URLs are secrets
    expect((await metric('slack', 'sent')) - slackBefore).toBe(plan.length + 3);
  });

  it('does not send again when the activity is retried with the same key, even concurrently', async () => {
    await addGroup('ngr_idem', {
      name: 'idem',
      channels: [
        { type: 'webhook', url: `${receiver.base}/hook/idem` },
        { type: 'email', to: ['idem@acme.test'] },
      ],
    });
    const { notify } = activities();
    const input: NotifyInput = {
      key: `patching_finish:${EVENT_ID}-idem:0`,
      type: 'patching_finish',
      customer_id: CUSTOMER.id,
      event_id: `${EVENT_ID}-idem`,
      context: {
        notification_groups: ['ngr_idem'],
        event: { ...eventCtx, id: `${EVENT_ID}-idem`, status: 'DONE' },
        machines: [byId('mch_web1')],
      },
    };
    const mailsBefore = smtp.mails.length;
    const [a, b] = await Promise.all([notify(input), notify(input)]);
    const c = await notify(input);
    expect(receiver.at('/hook/idem')).toHaveLength(1);
    expect(smtp.mails.length - mailsBefore).toBe(1);
    // The attempt that lost the race reports nothing in flight as delivered; later retries see "sent".
    expect(a.delivered + b.delivered).toBeGreaterThanOrEqual(2);
    expect(c).toEqual({ delivered: 2, failed: 0 });
    // A new occurrence (another key) is a new message.
    await notify({ ...input, key: `patching_finish:${EVENT_ID}-idem:1` });
    expect(receiver.at('/hook/idem')).toHaveLength(2);
  });

  it('takes over a delivery left "sending" by a crashed attempt only once its lease expired', async () => {
    await addGroup('ngr_lease', {
      name: 'lease',
      channels: [{ type: 'webhook', url: `${receiver.base}/hook/lease` }],
    });
    const { notify } = activities();
    const input: NotifyInput = {
      key: 'error:lease-test',
      type: 'error',
      customer_id: CUSTOMER.id,
      event_id: 'evt-lease',
      context: { notification_groups: ['ngr_lease'], reason: 'boom' },
    };
    const coll = store.db.collection(COLLECTIONS.notifications);
    const id = 'error:lease-test/ngr_lease/0';
    const now = Date.now();
    await coll.insertOne({
      _id: id as never,
      status: 'sending',
      attempts: 0,
      lease_until: new Date(now + 60_000).toISOString(),
      customer_id: CUSTOMER.id,
      event_id: 'evt-lease',
      created_at: new Date(now).toISOString(),
    });
    expect(await notify(input)).toEqual({ delivered: 0, failed: 0 });
    expect(receiver.at('/hook/lease')).toHaveLength(0);
    await coll.updateOne({ _id: id as never }, { $set: { lease_until: new Date(now - 1000).toISOString() } });
    expect(await notify(input)).toEqual({ delivered: 1, failed: 0 });
    expect(receiver.at('/hook/lease')).toHaveLength(1);
    expect(await coll.findOne({ _id: id as never })).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('records dead channels as failed, retries only transient errors, never throws and leaves the event alone', async () => {
    const dead = await closedPort();
    receiver.script.set('/hook/500', [500]);
    receiver.script.set('/hook/flaky', [503, 429, 200]);
    await addGroup('ngr_dead', {
      name: 'dead',
      channels: [
        { type: 'webhook', url: `${receiver.base}/hook/500` },
        { type: 'slack', url: `http://127.0.0.1:${dead}/services/T0/B0/SECRETPATH` },
        { type: 'teams', url: `${receiver.base}/redirect/teams` },
        { type: 'webhook', url: `${receiver.base}/hang/hook` },
        { type: 'email', to: ['nobody@acme.test'] },
        { type: 'webhook', url: 'https://169.254.169.254/latest/meta-data/' },
        { type: 'webhook', url: `${receiver.base}/hook/flaky` },
        { type: 'webhook', url: `${receiver.base}/hook/nosecret`, secret_ref: 'env:PW_TEST_UNSET_SECRET' },
      ],
    });
    const events = store.db.collection(COLLECTIONS.events);
    await events.insertOne({
      _id: 'evt-dead' as never,
      customer_id: CUSTOMER.id,
      status: 'DONE_PARTIAL',
      plan_id: 'pln_x',
    });
    const before = await events.findOne({ _id: 'evt-dead' as never });
    const failedBefore = await metric('webhook', 'failed');

    const { notify } = activities({ NOTIFY_CHANNEL_TIMEOUT_MS: '300' });
    const r = await notify({
      key: 'patching_finish:evt-dead:0',
      type: 'patching_finish',
      customer_id: CUSTOMER.id,
      event_id: 'evt-dead',
      context: {
        notification_groups: ['ngr_dead'],
        event: { ...eventCtx, id: 'evt-dead', status: 'DONE_PARTIAL' },
      },
    });
    expect(r).toEqual({ delivered: 1, failed: 7 });

    const byIndex = Object.fromEntries(
      (await listDeliveries(store.db, 'evt-dead')).map((d) => [d.channel_index, d]),
    );
    expect(byIndex[0]).toMatchObject({
      status: 'failed',
      attempts: 3,
      last_error: 'receiver answered HTTP 500',
    });
    expect(byIndex[1]).toMatchObject({ status: 'failed', attempts: 3, last_error: 'connection refused' });
    expect(byIndex[2]).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_error: 'receiver answered HTTP 302 (redirects are not followed)',
    });
    expect(byIndex[3]).toMatchObject({
      status: 'failed',
      attempts: 3,
      last_error: 'no answer within 300 ms',
    });
    expect(byIndex[4]).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_error: 'SMTP server answered 550',
    });
    expect(byIndex[5]).toMatchObject({ status: 'failed', attempts: 1 });
    expect(byIndex[5].last_error).toMatch(
      /^channel URL refused: must not point at a loopback, link-local or cloud metadata address/,
    );
    expect(byIndex[6]).toMatchObject({ status: 'sent', attempts: 3 });
    expect(byIndex[7]).toMatchObject({
      status: 'failed',
      attempts: 1,
      last_error: 'no signing secret: set PATCHWAVE_WEBHOOK_SECRET or the channel secret_ref',
    });
    expect(JSON.stringify(byIndex)).not.toMatch(/SECRETPATH|127\.0\.0\.1|169\.254/);

    expect(receiver.at('/hook/500')).toHaveLength(3);
    expect(receiver.at('/hook/flaky')).toHaveLength(3);
    expect(receiver.at('/redirect/teams')).toHaveLength(1);
    expect(receiver.at('/hook/nosecret')).toHaveLength(0); // never sent unsigned
    expect((await metric('webhook', 'failed')) - failedBefore).toBe(4);
    expect(await events.findOne({ _id: 'evt-dead' as never })).toEqual(before);

    // The same occurrence retried later: only what failed is sent again; what was sent is not.
    receiver.script.set('/hook/500', [200]);
    const again = await activities({ NOTIFY_CHANNEL_TIMEOUT_MS: '300' }).notify({
      key: 'patching_finish:evt-dead:0',
      type: 'patching_finish',
      customer_id: CUSTOMER.id,
      event_id: 'evt-dead',
      context: {
        notification_groups: ['ngr_dead'],
        event: { ...eventCtx, id: 'evt-dead', status: 'DONE_PARTIAL' },
      },
    });
    expect(again).toEqual({ delivered: 2, failed: 6 });
    expect(receiver.at('/hook/500')).toHaveLength(4);
    expect(receiver.at('/hook/flaky')).toHaveLength(3);
    const recovered = (await listDeliveries(store.db, 'evt-dead')).find((d) => d.channel_index === 0)!;
    expect(recovered).toMatchObject({ status: 'sent', attempts: 4 });
  });

  it('refuses plain http to hosts outside the allowlist without calling them', async () => {
    await addGroup('ngr_http', {
      name: 'http',
      channels: [{ type: 'slack', url: 'http://hooks.example.invalid/x' }],
    });
    const { notify } = activities({ PATCHWAVE_HTTP_ALLOWLIST: '' });
    expect(
      await notify({
        key: 'error:http',
        type: 'error',
        customer_id: CUSTOMER.id,
        event_id: 'evt-http',
        context: { notification_groups: ['ngr_http'] },
      }),
    ).toEqual({ delivered: 0, failed: 1 });
    const [d] = await listDeliveries(store.db, 'evt-http');
    expect(d).toMatchObject({ status: 'failed', attempts: 1 });
    expect(d.last_error).toMatch(/^channel URL refused: must use https/);
  });

  it("tells who may approve a waiting event, from the customer's roles and keys", async () => {
    const db = store.db;
    await db.collection(COLLECTIONS.roles).insertMany([
      {
        _id: 'rol_approver' as never,
        customer_id: CUSTOMER.id,
        name: 'approver',
        rules: [{ resources: ['event'], actions: ['update'] }],
      },
      {
        _id: 'rol_reader' as never,
        customer_id: CUSTOMER.id,
        name: 'reader',
        rules: [{ resources: ['event'], actions: ['get', 'list'] }],
      },
    ]);
    await db.collection(COLLECTIONS.apiKeys).insertMany([
      { _id: 'key_a' as never, customer_id: CUSTOMER.id, name: 'release-manager' },
      { _id: 'key_b' as never, customer_id: CUSTOMER.id, name: 'dashboard-readonly' },
    ]);
    await db.collection(COLLECTIONS.roleBindings).insertMany([
      { _id: 'rbd_a' as never, customer_id: CUSTOMER.id, api_key_id: 'key_a', role_id: 'rol_approver' },
      { _id: 'rbd_b' as never, customer_id: CUSTOMER.id, api_key_id: 'key_b', role_id: 'rol_reader' },
    ]);
    await addGroup('ngr_approve', {
      name: 'approvals',
      channels: [{ type: 'webhook', url: `${receiver.base}/hook/approve` }],
    });
    await activities().notify({
      key: `not_approved:${EVENT_ID}`,
      type: 'not_approved_patching',
      customer_id: CUSTOMER.id,
      event_id: EVENT_ID,
      context: { notification_groups: ['ngr_approve'], event: eventCtx, policy: 'success_or_approval' },
    });
    const [msg] = receiver.at('/hook/approve').map((r) => r.json as { text: string; severity: string });
    expect(msg.severity).toBe('INFO');
    expect(msg.text).toContain('Who can approve: API keys release-manager.');
    expect(msg.text).toContain(`How: patchwave event approve ${EVENT_ID}`);
    expect(msg.text).toContain(`POST /api/v1/events/${EVENT_ID}/approve`);
  });

  it('resolves without sending when the input is invalid or no group applies', async () => {
    const { notify } = activities();
    expect(await notify({ key: '', type: 'error', customer_id: CUSTOMER.id, context: {} })).toEqual({
      delivered: 0,
      failed: 0,
    });
    expect(
      await notify({
        key: 'k',
        type: 'plan_new',
        customer_id: CUSTOMER.id,
        context: { notification_groups: ['ngr_errors', 'ngr_missing'] },
      }),
    ).toEqual({ delivered: 0, failed: 0 });
  });
});
