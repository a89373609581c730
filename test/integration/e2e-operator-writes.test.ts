/**
 * Operator writes as a REST client sees them (issue 14), on the real API, worker, Temporal and lab:
 *
 * - read-your-writes: after every accepted write (approve, exclude, manual status, partial, delete) the very
 *   next GET shows its effect — no polling in between;
 * - a NOT_APPROVED event whose window passed (it never ran, its workflow closed) can still be deleted;
 * - manual status only on finished events: refused with 409 and the reason while the event runs (here during
 *   its global pre hook), and the run's result is then not overwritten.
 */
import { openTestTemporal, type TestTemporal } from '../helpers/servers';
import { newSsmId, startStack, waitFor, waitForEventStatus, type Stack } from '../helpers/stack';

jest.setTimeout(240_000);

let stack: Stack;
let temporal: TestTemporal;
beforeAll(async () => {
  stack = await startStack('operator-writes');
  temporal = await openTestTemporal();
});
afterAll(async () => {
  await temporal?.close();
  await stack?.close();
});

interface Ev {
  id: string;
  status: string;
  excluded_machine_ids?: string[];
  machines: { machine_id: string; status: string; action_taken?: string }[];
}

const lambda = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;

async function machine(commands: object[] = [{ duration_s: 1, outcome: 'success', installed: ['p'] }]) {
  const ssmId = newSsmId();
  await stack.lab_('PUT', `/_lab/machines/${ssmId}`, { platform: 'Linux', online: true, commands });
  const r = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
    name: `m-${ssmId.slice(-6)}`,
    access: { ssm_machine_id: ssmId, region: 'us-east-1' },
  });
  expect(r.status).toBe(201);
  return r.body.id;
}

async function plan(machineIds: string[], extra: object = {}) {
  const r = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: `p-${Math.random().toString(36).slice(2, 8)}`,
    cron: '0 0 1 1 *',
    window_hours: 0.1,
    machines: machineIds.map((machine_id) => ({ machine_id })),
    ...extra,
  });
  expect(r.status).toBe(201);
  return r.body.id;
}

const read = async (id: string) => (await stack.api<Ev>('GET', `/api/v1/events/${id}`)).body;

test('manual status is refused (409, with the reason) while the event runs, and accepted once it is finished', async () => {
  // A slow global pre hook keeps the event IN_PROGRESS with its machine recorded but not started.
  await stack.lab_('PUT', '/_lab/lambdas/slow-pre', {
    responses: [{ delay_s: 6, status: 200, body: { code: 200, msg: 'ready', output: '' } }],
  });
  const m = await machine([{ duration_s: 1, outcome: 'failed' }]);
  const p = await plan([m], { pre_hooks: [{ type: 'lambda', source: lambda('slow-pre') }] });
  const ev = await stack.api<{ id: string }>('POST', `/api/v1/plans/${p}/execute`);
  expect(ev.status).toBe(201);
  await waitFor('event running with its machine recorded', async () => {
    const e = await read(ev.body.id);
    return e.status === 'IN_PROGRESS' && e.machines.length === 1 ? e : undefined;
  });

  const during = await stack.api<{ error: { code: string; message: string } }>(
    'POST',
    `/api/v1/events/${ev.body.id}/machines/${m}/status`,
    { manual_status: 'SUCCESS_MANUAL', action_taken: 'patched by hand' },
  );
  expect(during.status).toBe(409);
  expect(during.body.error.message).toMatch(/finished event.*IN_PROGRESS/);

  // The run's own result stands: the refused change was never applied.
  const done = await waitForEventStatus(stack, ev.body.id);
  expect(done.status).toBe('DONE_ERROR');
  expect(done.machines[0].status).toBe('FAILED');

  const after = await stack.api<{ status: string }>(
    'POST',
    `/api/v1/events/${ev.body.id}/machines/${m}/status`,
    { manual_status: 'SUCCESS_MANUAL', action_taken: 'patched by hand' },
  );
  expect(after.status).toBe(200);
  expect(after.body.status).toBe('DONE_MANUAL');
});

test('read-your-writes: partial run and manual status show in the very next GET', async () => {
  const ok = await machine();
  const bad = await machine([
    { duration_s: 1, outcome: 'failed' },
    { duration_s: 3, outcome: 'success', installed: ['q'] },
  ]);
  const p = await plan([ok, bad]);
  const ev = await stack.api<{ id: string }>('POST', `/api/v1/plans/${p}/execute`);
  expect((await waitForEventStatus(stack, ev.body.id)).status).toBe('DONE_PARTIAL');

  // Partial run: the next read is IN_PROGRESS (not the old DONE_PARTIAL) and the chosen machine is re-opened.
  const partial = await stack.api('POST', `/api/v1/events/${ev.body.id}/partial`, { machine_ids: [bad] });
  expect(partial.status).toBe(202);
  const right = await read(ev.body.id);
  expect(right.status).toBe('IN_PROGRESS');
  expect(['PENDING', 'IN_PROGRESS']).toContain(right.machines.find((x) => x.machine_id === bad)!.status);
  expect(right.machines.find((x) => x.machine_id === ok)!.status).toBe('SUCCESS');
  expect((await waitForEventStatus(stack, ev.body.id)).status).toBe('DONE');

  // Manual status: the next read shows the machine's manual status and the recomputed event status.
  const manual = await stack.api('POST', `/api/v1/events/${ev.body.id}/machines/${ok}/status`, {
    manual_status: 'FAILED_MANUAL',
    action_taken: 'rolled back',
  });
  expect(manual.status).toBe(200);
  const afterManual = await read(ev.body.id);
  expect(afterManual.machines.find((x) => x.machine_id === ok)).toMatchObject({
    status: 'FAILED_MANUAL',
    action_taken: 'rolled back',
  });
  expect(afterManual.status).toBe('DONE_PARTIAL');
});

test('read-your-writes: exclude and delete of an upcoming event show in the very next GET', async () => {
  const a = await machine();
  const b = await machine();
  const p = await plan([a, b]);
  const start = new Date(Date.now() + 3600_000);
  const ev = await stack.api<{ id: string }>('POST', '/api/v1/events', {
    plan_id: p,
    start: start.toISOString(),
    end: new Date(start.getTime() + 600_000).toISOString(),
  });
  expect(ev.status).toBe(201);
  expect((await stack.api('POST', `/api/v1/events/${ev.body.id}/exclude`, { machine_ids: [b] })).status).toBe(
    200,
  );
  expect((await read(ev.body.id)).excluded_machine_ids).toEqual([b]);
  expect((await stack.api('DELETE', `/api/v1/events/${ev.body.id}`)).status).toBe(200);
  expect((await read(ev.body.id)).status).toBe('DELETED');
});

test('read-your-writes: approving one event of a step shows every event of the step approved in the next GET', async () => {
  const p1 = await plan([await machine()]);
  const p2 = await plan([await machine()]);
  const p3 = await plan([await machine()]);
  const pl = await stack.api<{ id: string }>('POST', '/api/v1/pipelines', {
    name: `approve-${Date.now().toString(36)}`,
    cron: '0 0 1 1 *',
    steps: [{ plans: [p1, p2, p3], policy: 'approval', offset_hours: 0.5 }],
  });
  expect(pl.status).toBe(201);
  const run = await stack.api<{ event_ids: string[] }>('POST', `/api/v1/pipelines/${pl.body.id}/execute`);
  expect(run.status).toBeLessThan(300);
  expect(run.body.event_ids).toHaveLength(3);
  for (const id of run.body.event_ids) await waitForEventStatus(stack, id, ['NOT_APPROVED']);

  const [first, ...siblings] = run.body.event_ids;
  expect((await stack.api('POST', `/api/v1/events/${first}/approve`)).status).toBe(200);
  // Step 0 has no earlier step, so approval opens it: APPROVED on the way to NEW, never NOT_APPROVED.
  for (const id of [first, ...siblings]) expect(['APPROVED', 'NEW']).toContain((await read(id)).status);
});

test('a NOT_APPROVED event whose window passed (its workflow closed) is deleted through the API, with timeline and audit', async () => {
  // A one-minute window (the shortest a plan has) on an approval step nobody approves.
  const p = await plan([await machine()], { window_hours: 1 / 60 });
  const pl = await stack.api<{ id: string }>('POST', '/api/v1/pipelines', {
    name: `unapproved-${Date.now().toString(36)}`,
    cron: '0 0 1 1 *',
    enabled: false,
    steps: [{ plans: [p], policy: 'approval' }],
  });
  expect(pl.status).toBe(201);
  const run = await stack.api<{ event_ids: string[] }>('POST', `/api/v1/pipelines/${pl.body.id}/execute`);
  expect(run.status).toBeLessThan(300);
  const [id] = run.body.event_ids;
  await waitForEventStatus(stack, id, ['NOT_APPROVED']);
  // The window passes; the event never ran and its workflow closes, still NOT_APPROVED.
  await waitFor(
    'the event workflow to close after its window',
    async () => {
      const d = await temporal.client.workflow.getHandle(`event/${id}`).describe();
      return d.status.name === 'COMPLETED' ? true : undefined;
    },
    180_000,
  );
  expect((await read(id)).status).toBe('NOT_APPROVED');

  const del = await stack.api<{ status: string }>('DELETE', `/api/v1/events/${id}`);
  expect([del.status, del.body.status]).toEqual([200, 'DELETED']);
  const after = await stack.api<{ status: string; timeline: { type: string; message: string }[] }>(
    'GET',
    `/api/v1/events/${id}`,
  );
  expect(after.body.status).toBe('DELETED');
  expect(after.body.timeline).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ type: 'deleted', message: expect.stringMatching(/^deleted by /) }),
    ]),
  );
  const audit = await stack.api<{
    items: { action: string; before?: { status: string }; after?: { status: string } }[];
  }>('GET', `/api/v1/audit?resource=event&resource_id=${encodeURIComponent(id)}`);
  expect(audit.body.items).toEqual([
    expect.objectContaining({
      action: 'delete',
      before: { status: 'NOT_APPROVED' },
      after: { status: 'DELETED' },
    }),
  ]);
  // A second delete is refused: the event is DELETED now.
  expect((await stack.api('DELETE', `/api/v1/events/${id}`)).status).toBe(409);
});
