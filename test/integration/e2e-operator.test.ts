/**
 * Operator actions and dynamic plans end to end (issue #4): a dynamic plan resolves machines by tags
 * through SSM at start (registering new ones), a scan that meets SSM errors is retried, machines
 * excluded before the start are EXCLUDED, a running event cannot be deleted (409 with the reason), an
 * upcoming one can, and every human action lands in the audit log.
 */
import { newSsmId, startStack, waitFor, waitForEventStatus, type Stack } from '../helpers/stack';

jest.setTimeout(180_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('operator');
});
afterAll(async () => {
  await stack?.close();
});

async function labMachine(tags: Record<string, string>, behaviour: object = {}) {
  const id = newSsmId();
  await stack.lab_('PUT', `/_lab/machines/${id}`, {
    platform: 'Linux',
    online: true,
    tags,
    commands: [{ duration_s: 1, outcome: 'success', installed: ['pkg'] }],
    ...behaviour,
  });
  return id;
}

test('dynamic plan picks up machines by tags from SSM, registers them, and patches only those', async () => {
  const team = `t${Date.now().toString(36)}`;
  const a = await labMachine({ Team: team, Env: 'dev' });
  const b = await labMachine({ Team: team, Env: 'qa' });
  const other = await labMachine({ Team: team, Env: 'prod' });
  const p = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: 'dynamic dev+qa',
    cron: '0 0 1 1 *',
    window_hours: 0.1,
    dynamic: [{ tags: { Team: [team], Env: ['dev', 'qa'] }, regions: ['us-east-1'] }],
  });
  expect(p.status).toBe(201);
  const ev = await stack.api<{ id: string }>('POST', `/api/v1/plans/${p.body.id}/execute`);
  const done = await waitForEventStatus(stack, ev.body.id);
  expect(done.status).toBe('DONE');
  const ssmIds = done.machines.map((m) => (m as unknown as { ssm_machine_id: string }).ssm_machine_id).sort();
  expect(ssmIds).toEqual([a, b].sort());
  const registered = await stack.api<{ items: { access: { ssm_machine_id: string } }[] }>(
    'GET',
    '/api/v1/machines?limit=500',
  );
  const known = registered.body.items.map((m) => m.access.ssm_machine_id);
  expect(known).toEqual(expect.arrayContaining([a, b]));
  expect(known).not.toContain(other);
  expect(await stack.lab_<unknown[]>('GET', `/_lab/machines/${other}/commands`)).toHaveLength(0);
});

test('a dynamic scan that meets SSM errors is retried, then resolves once SSM answers', async () => {
  const team = `r${Date.now().toString(36)}`;
  const only = await labMachine({ Team: team });
  const before =
    (await stack.lab_<{ calls: Record<string, number> }>('GET', '/_lab/stats')).calls[
      'ssm:DescribeInstanceInformation'
    ] ?? 0;
  await stack.lab_('PUT', '/_lab/faults', { ssm: { error_5xx_rate: 1 } });
  try {
    const p = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
      name: 'dynamic flaky',
      cron: '0 0 1 1 *',
      window_hours: 0.1,
      dynamic: [{ tags: { Team: [team] }, regions: ['us-east-1'] }],
    });
    const ev = await stack.api<{ id: string }>('POST', `/api/v1/plans/${p.body.id}/execute`);
    // SSM answered 5xx to at least two scan attempts (SDK retries + activity retries) …
    await waitFor('scan retried', async () => {
      const s = await stack.lab_<{ calls: Record<string, number> }>('GET', '/_lab/stats');
      return (s.calls['ssm:DescribeInstanceInformation'] ?? 0) >= before + 2 ? true : undefined;
    });
    // Not given up: the event has not finished (it stays NEW/IN_PROGRESS while the start is retried).
    expect(['NEW', 'IN_PROGRESS']).toContain(
      (await stack.api<{ status: string }>('GET', `/api/v1/events/${ev.body.id}`)).body.status,
    );
    // … and once SSM recovers, the same event resolves the machine and patches it.
    await stack.lab_('PUT', '/_lab/faults', { ssm: { error_5xx_rate: 0 } });
    const done = await waitForEventStatus(stack, ev.body.id, undefined, 180_000);
    expect(done.status).toBe('DONE');
    expect(done.machines.map((m) => (m as unknown as { ssm_machine_id: string }).ssm_machine_id)).toEqual([
      only,
    ]);
  } finally {
    await stack.lab_('PUT', '/_lab/faults', { ssm: { error_5xx_rate: 0 } });
  }
});

test('exclude before start, delete refused while running, delete of an upcoming event, audit log', async () => {
  const m1 = await labMachine({}, { commands: [{ duration_s: 10, outcome: 'success', installed: ['a'] }] });
  const m2 = await labMachine({});
  const mk = async (ssm: string) =>
    (
      await stack.api<{ id: string }>('POST', '/api/v1/machines', {
        name: ssm,
        access: { ssm_machine_id: ssm, region: 'us-east-1' },
      })
    ).body.id;
  const id1 = await mk(m1);
  const id2 = await mk(m2);
  const p = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: 'ops',
    cron: '0 0 1 1 *',
    window_hours: 0.1,
    machines: [{ machine_id: id1 }, { machine_id: id2 }],
  });
  // An ad-hoc event a few seconds ahead: exclude m2 before it starts.
  const start = new Date(Date.now() + 6_000);
  const end = new Date(start.getTime() + 120_000);
  const ev = await stack.api<{ id: string; status: string }>('POST', '/api/v1/events', {
    plan_id: p.body.id,
    start: start.toISOString(),
    end: end.toISOString(),
  });
  expect(ev.status).toBe(201);
  expect(ev.body.status).toBe('NEW');
  const dup = await stack.api('POST', '/api/v1/events', {
    plan_id: p.body.id,
    start: start.toISOString(),
    end: end.toISOString(),
  });
  expect(dup.status).toBe(409);
  expect(
    (await stack.api('POST', `/api/v1/events/${ev.body.id}/exclude`, { machine_ids: [id2] })).status,
  ).toBeLessThan(300);

  await waitForEventStatus(stack, ev.body.id, ['IN_PROGRESS']);
  // While its patch runs, the machine's record already names the SSM command (to look it up in AWS).
  const running = await waitFor('m1 patching, with its command id', async () => {
    const e = await stack.api<{ machines: { machine_id: string; status: string; command_id?: string }[] }>(
      'GET',
      `/api/v1/events/${ev.body.id}`,
    );
    const m = e.body.machines.find((x) => x.machine_id === id1);
    return m?.command_id ? m : undefined;
  });
  expect(running.status).toBe('IN_PROGRESS');
  const sent = await stack.lab_<{ command_id: string; status: string }[]>(
    'GET',
    `/_lab/machines/${m1}/commands`,
  );
  expect(sent.map((c) => c.command_id)).toEqual([running.command_id]);
  expect(['Pending', 'InProgress']).toContain(sent[0].status); // not finished: the id is there before the end
  const refused = await stack.api<{ error: { code: string; message: string } }>(
    'DELETE',
    `/api/v1/events/${ev.body.id}`,
  );
  expect(refused.status).toBe(409);
  expect(refused.body.error.message).toMatch(/IN_PROGRESS|only upcoming/);
  const partialTooEarly = await stack.api<{ error: { message: string } }>(
    'POST',
    `/api/v1/events/${ev.body.id}/partial`,
    {},
  );
  expect(partialTooEarly.status).toBe(409);
  expect(partialTooEarly.body.error.message).toMatch(/finished/);

  const done = await waitForEventStatus(stack, ev.body.id);
  expect(done.status).toBe('DONE');
  expect(done.machines.find((m) => m.machine_id === id2)!.status).toBe('EXCLUDED');
  expect(await stack.lab_<unknown[]>('GET', `/_lab/machines/${m2}/commands`)).toHaveLength(0);

  // An upcoming event can be deleted.
  const later = new Date(Date.now() + 3600_000);
  const ev2 = await stack.api<{ id: string }>('POST', '/api/v1/events', {
    plan_id: p.body.id,
    start: later.toISOString(),
    end: new Date(later.getTime() + 600_000).toISOString(),
  });
  expect((await stack.api('DELETE', `/api/v1/events/${ev2.body.id}`)).status).toBe(200);
  await waitForEventStatus(stack, ev2.body.id, ['DELETED']);

  const audit = await waitFor('audit entries', async () => {
    const r = await stack.api<{ items: { action: string; resource_id?: string }[] }>(
      'GET',
      '/api/v1/audit?limit=500',
    );
    const forEvent = r.body.items
      .filter((i) => i.resource_id === ev.body.id || i.resource_id === ev2.body.id)
      .map((i) => i.action);
    return forEvent.includes('exclude') && forEvent.includes('delete') ? forEvent : undefined;
  });
  expect(audit).toEqual(expect.arrayContaining(['create', 'exclude', 'delete']));
});
