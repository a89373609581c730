/**
 * Route-level tests of the resources and actions (see api-harness.ts: real store, recording fake of the
 * orchestrator port). They check validation, tenancy, store effects, orchestrator calls and the audit log.
 */
import { ConflictError } from '../../api/orchestrator-port';
import { COLLECTIONS } from '../../store/db';
import { TEST_SECRET_REF, machineBody, planBody, startApi, type ApiHarness } from './api-harness';

// Fixtures go through the API: the 5 s default is too short on a loaded machine (as in api-events).
jest.setTimeout(60_000);

let h: ApiHarness;
beforeAll(async () => {
  h = await startApi('resources');
});
afterAll(async () => {
  await h?.close();
});

async function createMachine(n: number, key?: string) {
  const r = await h.request('POST', '/api/v1/machines', { body: machineBody(n), key });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

describe('machines', () => {
  it('creates, reads, replaces, patches and deletes a machine', async () => {
    const created = await h.request('POST', '/api/v1/machines', {
      body: machineBody(1, { description: 'first' }),
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(created.body).toMatchObject({
      name: 'web-1',
      provider: 'AWS',
      reboot_policy: 'IF_NEEDED',
      plans: [],
      pipelines: [],
    });

    const got = await h.request('GET', `/api/v1/machines/${id}`);
    expect(got.status).toBe(200);
    expect(got.body.description).toBe('first');

    const replaced = await h.request('PUT', `/api/v1/machines/${id}`, {
      body: machineBody(1, { name: 'web-1b' }),
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body.name).toBe('web-1b');
    expect(replaced.body.description).toBeUndefined(); // PUT replaces: omitted optional fields go

    const patched = await h.request('PATCH', `/api/v1/machines/${id}`, { body: { reboot_policy: 'NEVER' } });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'web-1b', reboot_policy: 'NEVER' });

    const badPatch = await h.request('PATCH', `/api/v1/machines/${id}`, {
      body: { reboot_policy: 'SOMETIMES' },
    });
    expect(badPatch.status).toBe(400);
    expect(badPatch.body.error.details).toEqual([
      expect.objectContaining({ in: 'body', path: 'reboot_policy' }),
    ]);

    const del = await h.request('DELETE', `/api/v1/machines/${id}`);
    expect(del.status).toBe(204);
    expect((await h.request('GET', `/api/v1/machines/${id}`)).status).toBe(404);
  });

  it('refuses a second machine with the same SSM id (409) and unknown fields (400)', async () => {
    await createMachine(2);
    const dup = await h.request('POST', '/api/v1/machines', { body: machineBody(2) });
    expect(dup.status).toBe(409);
    const unknown = await h.request('POST', '/api/v1/machines', {
      body: { ...machineBody(3), colour: 'red' },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toEqual([
      { in: 'body', path: 'colour', message: 'is not a known field' },
    ]);
  });

  it('pages with limit and continuation_token in a stable order', async () => {
    const { adminKey } = await h.newCustomer('paging');
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await createMachine(100 + i, adminKey));
    const seen: string[] = [];
    let token: string | null = null;
    do {
      const q: string = token ? `&continuation_token=${token}` : '';
      const page = await h.request('GET', `/api/v1/machines?limit=2${q}`, { key: adminKey });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((m: { id: string }) => m.id));
      token = page.body.continuation_token;
    } while (token);
    expect(seen.sort()).toEqual(ids.sort());
    const bad = await h.request('GET', '/api/v1/machines?continuation_token=nonsense', { key: adminKey });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('continuation_token');
    const badLimit = await h.request('GET', '/api/v1/machines?limit=501', { key: adminKey });
    expect(badLimit.status).toBe(400);
  });
});

describe('plans', () => {
  it('validates references, cron and hook URLs, naming each bad field, and writes nothing', async () => {
    const m = await createMachine(10);
    const before = await h.db.collection(COLLECTIONS.plans).countDocuments();
    const calls = h.orchestrator.calls.length;
    const r = await h.request('POST', '/api/v1/plans', {
      body: planBody([m, 'mch_missing'], {
        cron: '0 3 * *',
        pre_hooks: [
          { type: 'azure', source: 'http://example.com/api/f?code=x' },
          { type: 'azure', source: 'https://169.254.169.254/latest' },
          { type: 'script', source: 's3://bucket/x.sh' },
        ],
        notification_groups: ['ngr_missing'],
      }),
    });
    expect(r.status).toBe(400);
    const paths = r.body.error.details.map((d: { path: string }) => d.path).sort();
    expect(paths).toEqual(
      [
        'cron',
        'machines.1.machine_id',
        'notification_groups.0',
        'pre_hooks.0.source',
        'pre_hooks.1.source',
        'pre_hooks.2.type',
      ].sort(),
    );
    expect(r.body.error.details.find((d: { path: string }) => d.path === 'cron').message).toMatch(
      /exactly 5 fields/,
    );
    expect(await h.db.collection(COLLECTIONS.plans).countDocuments()).toBe(before);
    expect(h.orchestrator.calls.length).toBe(calls);
  });

  it('allows http hooks to allow-listed hosts and tells the orchestrator after each write', async () => {
    const m = await createMachine(11);
    const body = planBody([m], {
      pre_hooks: [{ type: 'azure', source: 'http://lab.local:4566/_lab/azure/a?code=c' }],
    });
    const r = await h.request('POST', '/api/v1/plans', { body });
    expect(r.status).toBe(201);
    const id = r.body.id;
    expect(r.body.machine_ids).toBeUndefined();
    expect(h.orchestrator.callsOf('planChanged').map((c) => c.args[0])).toContain(id);

    const machine = await h.request('GET', `/api/v1/machines/${m}`);
    expect(machine.body.plans).toEqual([id]);
    expect((await h.request('DELETE', `/api/v1/machines/${m}`)).status).toBe(409);

    const put = await h.request('PUT', `/api/v1/plans/${id}`, { body: { ...body, window_hours: 3 } });
    expect(put.status).toBe(200);
    expect(h.orchestrator.callsOf('planChanged').filter((c) => c.args[0] === id)).toHaveLength(2);

    const del = await h.request('DELETE', `/api/v1/plans/${id}`);
    expect(del.status).toBe(204);
    expect(h.orchestrator.callsOf('planDeleted').map((c) => c.args[0])).toContain(id);

    const audit = await h.request('GET', `/api/v1/audit?resource=plan&resource_id=${id}`);
    expect(audit.body.items.map((a: { action: string }) => a.action)).toEqual(['delete', 'update', 'create']);
    // The Azure function code is a secret: the audit snapshot keeps the host only.
    expect(JSON.stringify(audit.body.items)).not.toContain('code=c');
  });

  it('executes a plan now and answers with the created event', async () => {
    const m = await createMachine(12);
    const plan = (await h.request('POST', '/api/v1/plans', { body: planBody([m]) })).body;
    const r = await h.request('POST', `/api/v1/plans/${plan.id}/execute`);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ plan_id: plan.id, status: 'IN_PROGRESS' });
    expect(typeof r.body.id).toBe('string');
    h.orchestrator.failNext.set('executePlanNow', new ConflictError('an event of this plan is running'));
    const again = await h.request('POST', `/api/v1/plans/${plan.id}/execute`);
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/running/);
  });
});

describe('pipelines', () => {
  it('creates a pipeline whose steps reference existing plans only', async () => {
    const m = await createMachine(20);
    const plan = (await h.request('POST', '/api/v1/plans', { body: planBody([m]) })).body;
    const bad = await h.request('POST', '/api/v1/pipelines', {
      body: {
        name: 'p',
        cron: '0 0 * * 1',
        steps: [{ plans: [plan.id, 'pln_nope'], policy: 'sometimes', offset_hours: -1 }],
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'steps.0.offset_hours',
      'steps.0.policy',
    ]);
    const missing = await h.request('POST', '/api/v1/pipelines', {
      body: { name: 'p', cron: '0 0 * * 1', steps: [{ plans: [plan.id, 'pln_nope'] }] },
    });
    // Valid as written, but names a plan this customer does not have: a conflict with state (409).
    expect(missing.status).toBe(409);
    expect(missing.body.error.code).toBe('unknown_reference');
    expect(missing.body.error.details).toEqual([
      expect.objectContaining({ path: 'steps.0.plans.1', code: 'unknown_reference' }),
    ]);
    const ok = await h.request('POST', '/api/v1/pipelines', {
      body: {
        name: 'p',
        cron: '0 0 * * 1',
        steps: [
          { plans: [plan.id], policy: 'always' },
          { name: 'prod', plans: [plan.id], policy: 'approval', offset_hours: 24 },
        ],
      },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.steps[0]).toEqual({ plans: [plan.id], policy: 'always', offset_hours: 0 });
    expect(h.orchestrator.callsOf('pipelineChanged').map((c) => c.args[0])).toContain(ok.body.id);
    expect((await h.request('DELETE', `/api/v1/plans/${plan.id}`)).status).toBe(409);
    const run = await h.request('POST', `/api/v1/pipelines/${ok.body.id}/execute`);
    expect(run.status).toBe(201);
    expect(run.body.run_id).toBeDefined();
  });
});

describe('notification groups', () => {
  it('refuses webhook URLs to metadata addresses and accepts https ones', async () => {
    const bad = await h.request('POST', '/api/v1/notification-groups', {
      body: {
        name: 'ops',
        channels: [
          { type: 'webhook', url: 'https://[fd00:ec2::254]/x' },
          { type: 'email', to: ['nope'] },
        ],
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path)).toEqual(['channels.1.to.0']);
    const bad2 = await h.request('POST', '/api/v1/notification-groups', {
      body: { name: 'ops', channels: [{ type: 'webhook', url: 'https://[fd00:ec2::254]/x' }] },
    });
    expect(bad2.status).toBe(400);
    expect(bad2.body.error.details.map((d: { path: string }) => d.path)).toEqual([
      'channels.0.url',
      'channels.0.secret_ref',
    ]);
    const ok = await h.request('POST', '/api/v1/notification-groups', {
      body: {
        name: 'ops',
        min_severity: 'WARNING',
        channels: [{ type: 'slack', url: 'https://hooks.slack.com/services/T/B/x' }],
      },
    });
    expect(ok.status).toBe(201);
  });

  it('refuses a webhook channel whose signing secret does not resolve, naming it, and writes nothing', async () => {
    const url = 'https://hooks.example.com/patchwave';
    const before = await h.db.collection(COLLECTIONS.notificationGroups).countDocuments();
    const noDefault = await h.request('POST', '/api/v1/notification-groups', {
      body: {
        name: 'hooks',
        channels: [
          { type: 'email', to: ['a@example.com'] },
          { type: 'webhook', url },
        ],
      },
    });
    expect(noDefault.status).toBe(400);
    expect(noDefault.body.error.details).toEqual([
      {
        in: 'body',
        path: 'channels.1.secret_ref',
        message: 'no signing secret: PATCHWAVE_WEBHOOK_SECRET is not set and the channel has no secret_ref',
      },
    ]);
    delete process.env.PW_ROUTE_TEST_UNSET_SECRET;
    const unset = await h.request('POST', '/api/v1/notification-groups', {
      body: {
        name: 'hooks',
        channels: [{ type: 'webhook', url, secret_ref: 'env:PW_ROUTE_TEST_UNSET_SECRET' }],
      },
    });
    // A secret_ref that does not resolve on this server conflicts with its configuration (409).
    expect(unset.status).toBe(409);
    expect(unset.body.error.code).toBe('secret_unresolved');
    expect(unset.body.error.details[0]).toMatchObject({
      path: 'channels.0.secret_ref',
      message: expect.stringContaining('PW_ROUTE_TEST_UNSET_SECRET'),
    });
    expect(await h.db.collection(COLLECTIONS.notificationGroups).countDocuments()).toBe(before);

    const ok = await h.request('POST', '/api/v1/notification-groups', {
      body: { name: 'hooks', channels: [{ type: 'webhook', url, secret_ref: TEST_SECRET_REF }] },
    });
    expect(ok.status).toBe(201);
    // An update that drops the secret_ref is refused the same way; the stored group is unchanged.
    const patched = await h.request('PUT', `/api/v1/notification-groups/${ok.body.id}`, {
      body: { name: 'hooks', channels: [{ type: 'webhook', url }] },
    });
    expect([patched.status, patched.body.error.details[0].path]).toEqual([400, 'channels.0.secret_ref']);
    expect((await h.request('GET', `/api/v1/notification-groups/${ok.body.id}`)).body.channels).toEqual([
      { type: 'webhook', url, secret_ref: TEST_SECRET_REF },
    ]);
  });

  it('accepts a webhook channel without secret_ref when PATCHWAVE_WEBHOOK_SECRET is set', async () => {
    const withDefault = await startApi('resources_secret', {
      env: { PATCHWAVE_WEBHOOK_SECRET: 'a-default-signing-secret-0123' },
    });
    try {
      const ok = await withDefault.request('POST', '/api/v1/notification-groups', {
        body: { name: 'hooks', channels: [{ type: 'webhook', url: 'https://hooks.example.com/p' }] },
      });
      expect(ok.status).toBe(201);
    } finally {
      await withDefault.close();
    }
  });
});

describe('unique names on update', () => {
  it('answers 409 (never 500) when a role or machine is renamed to one that exists, and changes nothing', async () => {
    const rules = [{ resources: ['event'], actions: ['get'] }];
    const a = await h.request('POST', '/api/v1/roles', { body: { name: 'dup-a', rules } });
    const b = await h.request('POST', '/api/v1/roles', { body: { name: 'dup-b', rules } });
    expect([a.status, b.status]).toEqual([201, 201]);
    const patch = await h.request('PATCH', `/api/v1/roles/${b.body.id}`, { body: { name: 'dup-a' } });
    expect([patch.status, patch.body.error.code, patch.body.error.details]).toEqual([
      409,
      'name_taken',
      [
        {
          in: 'body',
          path: 'name',
          message: 'a role with this name already exists for this customer',
          code: 'name_taken',
        },
      ],
    ]);
    const put = await h.request('PUT', `/api/v1/roles/${b.body.id}`, { body: { name: 'dup-a', rules } });
    expect(put.status).toBe(409);
    expect((await h.request('GET', `/api/v1/roles/${b.body.id}`)).body.name).toBe('dup-b');

    const m1 = await createMachine(9101);
    const m2 = await createMachine(9102);
    const taken = machineBody(9101).access;
    const mPatch = await h.request('PATCH', `/api/v1/machines/${m2}`, { body: { access: taken } });
    expect([mPatch.status, mPatch.body.error.code, mPatch.body.error.details[0].path]).toEqual([
      409,
      'name_taken',
      'access.ssm_machine_id',
    ]);
    const mPut = await h.request('PUT', `/api/v1/machines/${m2}`, {
      body: machineBody(9102, { access: taken }),
    });
    expect(mPut.status).toBe(409);
    expect((await h.request('GET', `/api/v1/machines/${m2}`)).body.access.ssm_machine_id).toBe(
      machineBody(9102).access.ssm_machine_id,
    );
    void m1;
  });
});
