/**
 * Notices of configuration changes (issue 14): creating, editing and deleting a plan or a pipeline through
 * the REST API sends plan_new / plan_modification / plan_deleted (pipeline_* alike) to the object's
 * notification groups, received here by a real signed webhook channel; one notice per change.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startStack, waitFor, type Stack } from '../helpers/stack';

jest.setTimeout(120_000);
const SECRET = 'test-webhook-secret-config-0123';

interface Received {
  type: string;
  severity: string;
  text: string;
  plan_id?: string;
  pipeline_id?: string;
  signed: boolean;
  delivery: string;
}

let stack: Stack;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const ts = String(req.headers['x-patchwave-timestamp'] ?? '');
      const sig = String(req.headers['x-patchwave-signature'] ?? '');
      const want = `sha256=${createHmac('sha256', SECRET).update(`${ts}.${raw}`).digest('hex')}`;
      received.push({
        ...JSON.parse(raw),
        signed: sig === want,
        delivery: String(req.headers['x-patchwave-delivery']),
      });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  stack = await startStack('notifycfg', { env: { PATCHWAVE_WEBHOOK_SECRET: SECRET } });
});
afterAll(async () => {
  await stack?.close();
  await new Promise((r) => receiver?.close(r));
});

async function debugGroup(name: string): Promise<string> {
  const g = await stack.api<{ id: string }>('POST', '/api/v1/notification-groups', {
    name,
    min_severity: 'DEBUG',
    channels: [{ type: 'webhook', url: receiverUrl }],
  });
  expect(g.status).toBe(201);
  return g.body.id;
}

const typesOf = (rs: Received[]) => rs.map((r) => r.type).sort();

test('a plan created, edited twice and deleted sends plan_new, two plan_modification, plan_deleted', async () => {
  const group = await debugGroup('plan-changes');
  const plan = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: 'watched-plan',
    cron: '0 0 1 1 *',
    window_hours: 1,
    enabled: false,
    notification_groups: [group],
    machines: [],
  });
  expect(plan.status).toBe(201);
  const id = plan.body.id;
  for (const name of ['watched-plan-2', 'watched-plan-3'])
    expect((await stack.api('PATCH', `/api/v1/plans/${id}`, { name })).status).toBe(200);
  expect((await stack.api('DELETE', `/api/v1/plans/${id}`)).status).toBe(204);

  const mine = await waitFor('four plan notices', async () => {
    const m = received.filter((r) => r.plan_id === id);
    return m.length >= 4 ? m : undefined;
  });
  expect(typesOf(mine)).toEqual(['plan_deleted', 'plan_modification', 'plan_modification', 'plan_new']);
  expect(mine.every((r) => r.signed)).toBe(true);
  expect(new Set(mine.map((r) => r.delivery)).size).toBe(4);
  const sev = Object.fromEntries(mine.map((r) => [r.type, r.severity]));
  expect(sev).toEqual({ plan_new: 'DEBUG', plan_modification: 'DEBUG', plan_deleted: 'WARNING' });
  expect(mine.find((r) => r.type === 'plan_new')!.text).toMatch(/^Plan "watched-plan" created by /);
  expect(mine.find((r) => r.type === 'plan_deleted')!.text).toMatch(/^Plan "watched-plan-3" deleted by /);

  // Recorded once per change under a key from the change itself (plan id, audit record), never the clock.
  const keys = await waitFor('four sent deliveries', async () => {
    const docs = await stack.db.db
      .collection('notifications')
      .find({ key: { $regex: `^plan_[a-z]+:${id}` }, status: 'sent' })
      .toArray();
    return docs.length >= 4 ? docs.map((d) => String(d.key)) : undefined;
  });
  expect(keys).toEqual(expect.arrayContaining([`plan_new:${id}`, `plan_deleted:${id}`]));
  expect(keys.filter((k) => /^plan_modification:.+:aud_/.test(k))).toHaveLength(2);
});

test('a pipeline created, edited and deleted sends pipeline_new, pipeline_modification, pipeline_deleted', async () => {
  const group = await debugGroup('pipeline-changes');
  const plan = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: 'step-plan',
    cron: '0 0 1 1 *',
    window_hours: 1,
    enabled: false,
    machines: [],
  });
  expect(plan.status).toBe(201);
  const pipeline = await stack.api<{ id: string }>('POST', '/api/v1/pipelines', {
    name: 'watched-pipeline',
    cron: '0 0 1 1 *',
    enabled: false,
    notification_groups: [group],
    steps: [{ plans: [plan.body.id] }],
  });
  expect(pipeline.status).toBe(201);
  const id = pipeline.body.id;
  expect((await stack.api('PATCH', `/api/v1/pipelines/${id}`, { name: 'watched-pipeline-2' })).status).toBe(
    200,
  );
  expect((await stack.api('DELETE', `/api/v1/pipelines/${id}`)).status).toBe(204);

  const mine = await waitFor('three pipeline notices', async () => {
    const m = received.filter((r) => r.pipeline_id === id);
    return m.length >= 3 ? m : undefined;
  });
  expect(typesOf(mine)).toEqual(['pipeline_deleted', 'pipeline_modification', 'pipeline_new']);
  expect(mine.every((r) => r.signed)).toBe(true);
  expect(mine.find((r) => r.type === 'pipeline_modification')!.text).toMatch(
    /^Pipeline "watched-pipeline-2" changed by /,
  );
  expect(mine.find((r) => r.type === 'pipeline_deleted')!.severity).toBe('WARNING');
  // The plan itself has no groups: its own creation told no one.
  expect(received.filter((r) => r.plan_id === plan.body.id)).toEqual([]);
});
