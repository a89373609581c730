/**
 * Notifications through a real event run (issue #6): a plan with a notification group whose webhook points
 * at a receiver started here gets exactly the expected messages, in order, with severities and the
 * installed packages; a dead channel on the same plan is recorded and changes nothing in the event.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { newSsmId, startStack, waitFor, waitForEventStatus, type Stack } from '../helpers/stack';
import { answer, fleet } from '../helpers/e2e-fleet';

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

test("a pipeline's notification_groups receive its events' notices (the plan names none)", async () => {
  const ssm = newSsmId();
  await stack.lab_('PUT', `/_lab/machines/${ssm}`, {
    platform: 'Linux',
    online: true,
    commands: [{ duration_s: 1, outcome: 'success', installed: ['zlib-1.3'] }],
  });
  const machine = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
    name: 'pipe-web-1',
    access: { ssm_machine_id: ssm, region: 'us-east-1' },
  });
  const group = await stack.api<{ id: string }>('POST', '/api/v1/notification-groups', {
    name: 'pipeline-ops',
    channels: [{ type: 'webhook', url: `${receiverUrl}/pipeline` }],
  });
  expect(group.status).toBe(201);
  const plan = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: 'in-a-pipeline',
    cron: '0 0 1 1 *',
    window_hours: 0.1,
    enabled: false,
    machines: [{ machine_id: machine.body.id }],
  });
  const pipeline = await stack.api<{ id: string }>('POST', '/api/v1/pipelines', {
    name: 'notified-pipeline',
    cron: '0 0 1 1 *',
    enabled: false,
    notification_groups: [group.body.id],
    steps: [{ plans: [plan.body.id] }],
  });
  expect(pipeline.status).toBe(201);
  const run = await stack.api<{ event_ids: string[] }>(
    'POST',
    `/api/v1/pipelines/${pipeline.body.id}/execute`,
  );
  expect([run.status, run.body.event_ids.length]).toEqual([201, 1]);
  const eventId = run.body.event_ids[0];
  const done = await waitForEventStatus(stack, eventId);
  expect(done.status).toBe('DONE');

  const mine = await waitFor('patching_finish delivered to the pipeline group', async () => {
    const m = received.filter((r) => (r.details as { event?: { id?: string } }).event?.id === eventId);
    return m.some((r) => r.type === 'patching_finish') ? m : undefined;
  });
  expect(mine.map((r) => r.type)).toEqual(
    expect.arrayContaining(['patching_start', 'machine_patching_finish', 'patching_finish']),
  );
  expect(mine.find((r) => r.type === 'patching_finish')!.text).toContain('zlib-1.3');
});

test('machines marked in bulk (OMITTED after a failed global pre hook) each get their own notice', async () => {
  const f = fleet(stack);
  const m1 = await f.machine();
  const m2 = await f.machine();
  const pre = await f.lambda([answer(500, 'maintenance mode refused', '')]);
  const group = await stack.api<{ id: string }>('POST', '/api/v1/notification-groups', {
    name: 'bulk-ops',
    channels: [{ type: 'webhook', url: `${receiverUrl}/bulk` }],
  });
  expect(group.status).toBe(201);
  const planId = await f.plan({
    notification_groups: [group.body.id],
    pre_hooks: [pre.hook],
    machines: [
      { machine_id: m1.id, order: 0 },
      { machine_id: m2.id, order: 1 },
    ],
  });
  const eventId = await f.execute(planId);
  const ev = await f.finished(eventId);
  expect(ev.machines.map((m) => m.status)).toEqual(['OMITTED', 'OMITTED']);

  const perMachine = await waitFor('a notice per omitted machine', async () => {
    const m = received.filter(
      (r) =>
        (r.details as { event?: { id?: string } }).event?.id === eventId &&
        r.type === 'machine_patching_finish',
    );
    return m.length >= 2 ? m : undefined;
  });
  expect(perMachine.map((r) => r.machine_id).sort()).toEqual([m1.id, m2.id].sort());
  expect(perMachine.every((r) => r.severity === 'ERROR' && /OMITTED/.test(r.text))).toBe(true);
  // One notice per machine and run: the bulk mark never repeats one.
  await waitFor('patching_finish delivered', async () =>
    received.some(
      (r) => r.type === 'patching_finish' && (r.details as { event?: { id?: string } }).event?.id === eventId,
    )
      ? true
      : undefined,
  );
  expect(
    received.filter(
      (r) =>
        r.type === 'machine_patching_finish' &&
        (r.details as { event?: { id?: string } }).event?.id === eventId,
    ),
  ).toHaveLength(2);
});

/** What the receiver got for one event, in arrival order. */
const forEvent = (eventId: string) =>
  received.filter((r) => (r.details as { event?: { id?: string } }).event?.id === eventId);

test('hook_start / hook_finish / host_hook_start / host_hook_finish: one each per hook, in order, with the result', async () => {
  const f = fleet(stack);
  const postScript = await f.script('#!/bin/sh\necho healthy\n');
  const m = await f.machine({
    commands: [
      { duration_s: 1, outcome: 'success', installed: ['openssl-3.0.13'] },
      { duration_s: 1, outcome: 'success', stdout: 'healthy' },
    ],
  });
  const pre = await f.lambda([answer(200, 'drained', '')]);
  const post = await f.azure([answer(500, 'health check failed', '')]);
  const hostPre = await f.lambda([answer(200, 'snapshot taken', '')]);
  const group = await stack.api<{ id: string }>('POST', '/api/v1/notification-groups', {
    name: 'hook-ops',
    event_types: ['hook_start', 'hook_finish', 'host_hook_start', 'host_hook_finish', 'patching_finish'],
    channels: [{ type: 'webhook', url: `${receiverUrl}/hooks` }],
  });
  expect(group.status).toBe(201);
  const planId = await f.plan({
    notification_groups: [group.body.id],
    pre_hooks: [pre.hook],
    post_hooks: [post.hook],
    machines: [
      {
        machine_id: m.id,
        pre_host_hooks: [hostPre.hook],
        post_host_hooks: [{ type: 'script', source: postScript }],
      },
    ],
  });
  const eventId = await f.execute(planId);
  const ev = await f.finished(eventId);
  expect(ev.status).toBe('DONE_PARTIAL'); // the post hook failed

  const mine = await waitFor('patching_finish delivered', async () => {
    const got = forEvent(eventId);
    return got.some((r) => r.type === 'patching_finish') ? got : undefined;
  });
  const hookOf = (r: (typeof received)[number]) => (r.details.hook as { name: string }).name;
  expect(
    mine.filter((r) => r.type !== 'patching_finish').map((r) => `${r.type}:${hookOf(r)}:${r.severity}`),
  ).toEqual([
    'hook_start:pre_0:INFO',
    'hook_finish:pre_0:SUCCESS',
    'host_hook_start:pre_host_0:INFO',
    'host_hook_finish:pre_host_0:SUCCESS',
    'host_hook_start:post_host_0:INFO',
    'host_hook_finish:post_host_0:SUCCESS',
    'hook_start:post_0:INFO',
    'hook_finish:post_0:ERROR',
  ]);
  expect(mine.every((r) => r.signed)).toBe(true);
  // Host hook notices name the machine; global ones do not.
  expect(mine.filter((r) => r.type.startsWith('host_hook')).every((r) => r.machine_id === m.id)).toBe(true);
  expect(mine.filter((r) => r.type.startsWith('hook_')).every((r) => r.machine_id === undefined)).toBe(true);
  const failed = mine.find((r) => r.type === 'hook_finish' && hookOf(r) === 'post_0')!;
  expect(failed.text).toMatch(/^Hook post_0 failed \(code 500\)/);
  expect(failed.text).toContain('Message: health check failed');
  expect(failed.text).not.toContain(post.code); // the Azure function key is redacted
  expect(mine.find((r) => r.type === 'host_hook_finish')!.text).toContain(`on ${m.name}`);
});

test('error: a dynamic scan that fails for good (AssumeRole refused) notifies once, naming the cause', async () => {
  const group = await stack.api<{ id: string }>('POST', '/api/v1/notification-groups', {
    name: 'error-ops',
    min_severity: 'ERROR',
    channels: [{ type: 'webhook', url: `${receiverUrl}/errors` }],
  });
  expect(group.status).toBe(201);
  // A role name longer than IAM's 64 characters: STS refuses AssumeRole (ValidationError), which no retry fixes.
  const role = `arn:aws:iam::123456789012:role/${'r'.repeat(70)}`;
  const plan = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: 'dynamic refused',
    cron: '0 0 1 1 *',
    window_hours: 0.1,
    enabled: false,
    notification_groups: [group.body.id],
    dynamic: [{ tags: { Team: ['nobody'] }, iam_role: role, regions: ['us-east-1'] }],
  });
  expect(plan.status).toBe(201);
  const ev = await stack.api<{ id: string }>('POST', `/api/v1/plans/${plan.body.id}/execute`);
  const done = await waitForEventStatus(stack, ev.body.id);
  expect(done.status).toBe('DONE_ERROR');

  const mine = await waitFor('patching_finish delivered', async () => {
    const got = forEvent(ev.body.id);
    return got.some((r) => r.type === 'patching_finish') ? got : undefined;
  });
  // min_severity ERROR: only the error and the failed finish.
  expect(mine.map((r) => `${r.type}:${r.severity}`)).toEqual(['error:ERROR', 'patching_finish:ERROR']);
  const error = mine[0];
  expect(error.text).toMatch(new RegExp(`^Patchwave error in event ${ev.body.id}`));
  expect(error.text).toMatch(/Error: dynamic scan of us-east-1 failed: ValidationError/);
});
