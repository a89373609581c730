/**
 * Notifications through a real event run (issue #6): a plan with a notification group whose webhook points
 * at a receiver started here gets exactly the expected messages, in order, with severities and the
 * installed packages; a dead channel on the same plan is recorded and changes nothing in the event.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { newSsmId, startStack, waitFor, waitForEventStatus, type Stack } from '../helpers/stack';

jest.setTimeout(120_000);
const SECRET = 'test-webhook-secret-0123456789';

let stack: Stack;
let receiver: Server;
let receiverUrl: string;
const received: {
  type: string;
  severity: string;
  text: string;
  machine_id?: string;
  details: Record<string, unknown>;
  signed: boolean;
}[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const ts = String(req.headers['x-patchwave-timestamp'] ?? '');
      const sig = String(req.headers['x-patchwave-signature'] ?? '');
      const want = `sha256=${createHmac('sha256', SECRET).update(`${ts}.${raw}`).digest('hex')}`;
      received.push({ ...JSON.parse(raw), signed: sig === want });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  stack = await startStack('notify', { env: { PATCHWAVE_WEBHOOK_SECRET: SECRET } });
});
afterAll(async () => {
  await stack?.close();
  await new Promise((r) => receiver?.close(r));
});

test('a full event sends the expected notifications; a dead channel is recorded and harmless', async () => {
  const ok = newSsmId();
  const bad = newSsmId();
  await stack.lab_('PUT', `/_lab/machines/${ok}`, {
    platform: 'Linux',
    online: true,
    commands: [{ duration_s: 1, outcome: 'success', installed: ['openssl-3.0.13', 'curl-8.5.0'] }],
  });
  await stack.lab_('PUT', `/_lab/machines/${bad}`, {
    platform: 'Linux',
    online: true,
    commands: [{ duration_s: 1, outcome: 'failed' }],
  });
  const ids: string[] = [];
  for (const [name, ssm] of [
    ['web-1', ok],
    ['db-1', bad],
  ]) {
    const r = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
      name,
      access: { ssm_machine_id: ssm, region: 'us-east-1' },
    });
    ids.push(r.body.id);
  }
  const group = await stack.api<{ id: string }>('POST', '/api/v1/notification-groups', {
    name: 'ops',
    min_severity: 'INFO',
    channels: [
      { type: 'webhook', url: receiverUrl },
      { type: 'webhook', url: 'http://127.0.0.1:1/dead' },
    ],
  });
  expect(group.status).toBe(201);
  const plan = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: 'notified',
    cron: '0 0 1 1 *',
    window_hours: 0.1,
    notification_groups: [group.body.id],
    machines: ids.map((machine_id, order) => ({ machine_id, order })),
  });
  const ev = await stack.api<{ id: string }>('POST', `/api/v1/plans/${plan.body.id}/execute`);
  const done = await waitForEventStatus(stack, ev.body.id);
  expect(done.status).toBe('DONE_PARTIAL');

  const mine = await waitFor('patching_finish delivered', async () => {
    const m = received.filter(
      (r) =>
        (r.details as { event?: { id?: string } }).event?.id === ev.body.id || r.text.includes(ev.body.id),
    );
    return m.some((r) => r.type === 'patching_finish') ? m : undefined;
  });
  expect(mine.every((r) => r.signed)).toBe(true);
  expect(mine.map((r) => `${r.type}:${r.severity}`)).toEqual([
    'event_new:INFO',
    'patching_start:INFO',
    'machine_patching_start:INFO',
    'machine_patching_finish:SUCCESS',
    'machine_patching_start:INFO',
    'machine_patching_finish:ERROR',
    'patching_finish:ERROR',
  ]);
  const finish = mine.find((r) => r.type === 'patching_finish')!;
  expect(finish.text).toContain('openssl-3.0.13');
  expect(finish.text).toMatch(/DONE_PARTIAL/);

  // The dead channel is recorded as failed; the event and its machines are untouched by it.
  const failed = await waitFor('failed deliveries recorded', async () => {
    const n = await stack.db.db.collection('notifications').countDocuments({ status: 'failed' });
    return n > 0 ? n : undefined;
  });
  expect(failed).toBeGreaterThan(0);
  const again = await stack.api<{ status: string }>('GET', `/api/v1/events/${ev.body.id}`);
  expect(again.body.status).toBe('DONE_PARTIAL');
});
