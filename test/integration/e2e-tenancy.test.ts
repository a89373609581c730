/**
 * Tenancy through the front door, on the real stack (Temporal, worker, FerretDB, fleet lab): tenant A runs
 * a real event (so every tenant-scoped collection gets documents written by the code that writes them in
 * production: machines, plans, pipelines, notification groups, events, event machines, timeline, commands,
 * reports, patch logs, API keys, roles, role bindings, audit), then a second tenant B, created through the
 * API, reads every route and sees none of it, while A reads its own.
 */
import { fleet } from '../helpers/e2e-fleet';
import { startStack, waitFor, type Stack } from '../helpers/stack';

jest.setTimeout(240_000);

let stack: Stack;
let f: ReturnType<typeof fleet>;
let keyB: string;

async function call(key: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
}

beforeAll(async () => {
  stack = await startStack('e2e_tenancy');
  f = fleet(stack);
  const cus = await stack.api<{ id: string; admin_role_id: string }>('POST', '/api/v1/customers', {
    name: 'Tenant B',
  });
  expect(cus.status).toBe(201);
  const key = await stack.api<{ secret: string }>('POST', '/api/v1/api-keys', {
    name: 'tenant B admin',
    customer_id: cus.body.id,
    role_ids: [cus.body.admin_role_id],
  });
  expect(key.status).toBe(201);
  keyB = key.body.secret;
});
afterAll(async () => {
  await stack?.close();
});

test('a second tenant sees nothing of the first; the first sees its own, patch log and report included', async () => {
  const A = stack.key;
  const m = await f.machine({
    commands: [{ duration_s: 1, outcome: 'success', installed: ['openssl-3.0.13'] }],
  });
  const group = await stack.api<{ id: string }>('POST', '/api/v1/notification-groups', {
    name: 'ops-a',
    channels: [{ type: 'email', to: ['ops-a@example.com'] }],
  });
  expect(group.status).toBe(201);
  const plan = await f.plan({ machines: [{ machine_id: m.id }], notification_groups: [group.body.id] });
  const pipeline = await stack.api<{ id: string }>('POST', '/api/v1/pipelines', {
    name: 'pipe-a',
    cron: '0 3 1 1 *',
    enabled: false,
    steps: [{ plans: [plan] }],
  });
  expect(pipeline.status).toBe(201);
  const role = await stack.api<{ id: string }>('POST', '/api/v1/roles', {
    name: 'readers-a',
    rules: [{ resources: ['event'], actions: ['get', 'list'] }],
  });
  expect(role.status).toBe(201);
  const apiKey = await stack.api<{ id: string; role_binding_ids: string[] }>('POST', '/api/v1/api-keys', {
    name: 'reader-a',
    role_ids: [role.body.id],
  });
  expect(apiKey.status).toBe(201);
  const binding = apiKey.body.role_binding_ids[0];

  const eventId = await f.execute(plan);
  const ev = await f.finished(eventId);
  expect(ev.status).toBe('DONE');
  const commandId = ev.machines[0].command_id!;
  expect(commandId).toBeTruthy();

  // A reads its patch log (written by the worker, as in production) and its report.
  const log = await call(A, 'GET', `/api/v1/events/${eventId}/machines/${m.id}/log`);
  expect([log.status, log.type]).toEqual([200, expect.stringMatching(/^text\/plain/)]);
  expect(log.text).toContain(`command ${commandId} | AWS-RunPatchBaseline | Success`);
  const report = await waitFor('the report', async () => {
    const r = await call(A, 'GET', `/api/v1/events/${eventId}/report`);
    return r.status === 200 ? r : undefined;
  });
  expect(report.type).toMatch(/^application\/pdf/);

  const aIds = [m.id, plan, pipeline.body.id, group.body.id, role.body.id, apiKey.body.id, binding, eventId];
  const items: [string, string][] = [
    ['/api/v1/machines', m.id],
    ['/api/v1/plans', plan],
    ['/api/v1/pipelines', pipeline.body.id],
    ['/api/v1/notification-groups', group.body.id],
    ['/api/v1/roles', role.body.id],
    ['/api/v1/api-keys', apiKey.body.id],
    ['/api/v1/role-bindings', binding],
    ['/api/v1/events', eventId],
  ];
  const lists = [...items.map(([p]) => p), '/api/v1/audit?limit=500'];
  for (const path of lists) {
    const b = await call(keyB, 'GET', path);
    expect([path, b.status]).toEqual([path, 200]);
    for (const id of aIds) expect([path, b.text]).toEqual([path, expect.not.stringContaining(id)]);
  }
  for (const [path, id] of items) {
    const a = await call(A, 'GET', `${path}?limit=500`);
    expect([path, a.text]).toEqual([path, expect.stringContaining(id)]);
    expect([path, (await call(keyB, 'GET', `${path}/${id}`)).status]).toEqual([path, 404]);
    expect([path, (await call(A, 'GET', `${path}/${id}`)).status]).toEqual([path, 200]);
  }
  const audit = await call(A, 'GET', '/api/v1/audit?limit=500');
  expect(audit.text).toContain(plan);

  // Event sub-resources: the timeline, machines and commands come with the event; logs and report alone.
  for (const path of [
    `/api/v1/events/${eventId}`,
    `/api/v1/events/${eventId}/report`,
    `/api/v1/events/${eventId}/machines/${m.id}/log`,
  ]) {
    const b = await call(keyB, 'GET', path);
    expect([path, b.status]).toEqual([path, 404]);
    expect(b.text).not.toContain(commandId);
  }
  // B's writes on A's objects find nothing and change nothing.
  const manual = await call(keyB, 'POST', `/api/v1/events/${eventId}/machines/${m.id}/status`, {
    manual_status: 'SUCCESS_MANUAL',
    action_taken: 'by hand',
  });
  expect(manual.status).toBe(404);
  expect((await call(keyB, 'DELETE', `/api/v1/machines/${m.id}`)).status).toBe(404);
  expect((await call(A, 'GET', `/api/v1/machines/${m.id}`)).status).toBe(200);
});
