/**
 * API keys, roles, role bindings, customers and bootstrap (see api-harness.ts: real store, recording fake of
 * the orchestrator port, which these routes never call).
 */
import { ensureBootstrap } from '../../api/bootstrap';
import { AuthStore, hashSecret, PRINCIPAL_TTL_MS } from '../../store/auth';
import { COLLECTIONS } from '../../store/db';
import { machineBody, startApi, type ApiHarness } from './api-harness';

let h: ApiHarness;
beforeAll(async () => {
  h = await startApi('access');
});
afterAll(async () => {
  await h?.close();
});

describe('API keys', () => {
  it('shows the secret once, stores only its SHA-256 hash, and works at once', async () => {
    const created = await h.request('POST', '/api/v1/api-keys', {
      body: { name: 'ci', role_ids: ['role_admin_default'] },
    });
    expect(created.status).toBe(201);
    const { id, secret } = created.body;
    expect(secret).toMatch(/^pw_key_[a-z0-9]+\.[A-Za-z0-9_-]{43}$/);
    const stored = await h.db.collection(COLLECTIONS.apiKeys).findOne({ _id: id });
    expect(stored?.secret_hash).toBe(hashSecret(secret));
    expect(JSON.stringify(stored)).not.toContain(secret);

    const got = await h.request('GET', `/api/v1/api-keys/${id}`);
    expect(got.body.secret).toBeUndefined();
    expect(got.body.secret_hash).toBeUndefined();
    const list = await h.request('GET', '/api/v1/api-keys');
    expect(list.text).not.toContain('secret');

    expect((await h.request('GET', '/api/v1/machines', { key: secret })).status).toBe(200);
    // x-api-key works as well as Authorization: Bearer.
    const viaHeader = await h.request('GET', '/api/v1/machines', {
      key: null,
      headers: { 'x-api-key': secret },
    });
    expect(viaHeader.status).toBe(200);
    // A right id with a wrong secret is refused.
    expect(
      (await h.request('GET', '/api/v1/machines', { key: `${secret.split('.')[0]}.${'A'.repeat(43)}` }))
        .status,
    ).toBe(401);
  });

  it('deleting a key deletes its role bindings and the key stops working', async () => {
    const created = (
      await h.request('POST', '/api/v1/api-keys', { body: { name: 'tmp', role_ids: ['role_admin_default'] } })
    ).body;
    expect(await h.db.collection(COLLECTIONS.roleBindings).countDocuments({ api_key_id: created.id })).toBe(
      1,
    );
    // In use (its principal is now cached by the API), then deleted: refused on the very next request.
    expect((await h.request('GET', '/api/v1/machines', { key: created.secret })).status).toBe(200);
    expect((await h.request('DELETE', `/api/v1/api-keys/${created.id}`)).status).toBe(204);
    expect(await h.db.collection(COLLECTIONS.roleBindings).countDocuments({ api_key_id: created.id })).toBe(
      0,
    );
    expect((await h.request('GET', '/api/v1/machines', { key: created.secret })).status).toBe(401);
  });

  it('a role binding removed through the API takes effect on the next request', async () => {
    const key = (
      await h.request('POST', '/api/v1/api-keys', {
        body: { name: 'unbound', role_ids: ['role_admin_default'] },
      })
    ).body;
    expect((await h.request('GET', '/api/v1/machines', { key: key.secret })).status).toBe(200);
    const bindings = await h.request('GET', `/api/v1/role-bindings?api_key_id=${key.id}`);
    const mine = (bindings.body.items as { id: string; api_key_id: string }[]).filter(
      (b) => b.api_key_id === key.id,
    );
    expect(mine).toHaveLength(1);
    expect((await h.request('DELETE', `/api/v1/role-bindings/${mine[0].id}`)).status).toBe(204);
    expect((await h.request('GET', '/api/v1/machines', { key: key.secret })).status).toBe(403);
  });

  it('a key removed behind the API (another API process) is refused within PRINCIPAL_TTL_MS', async () => {
    const key = (
      await h.request('POST', '/api/v1/api-keys', {
        body: { name: 'elsewhere', role_ids: ['role_admin_default'] },
      })
    ).body;
    expect((await h.request('GET', '/api/v1/machines', { key: key.secret })).status).toBe(200);
    await h.db.collection(COLLECTIONS.apiKeys).deleteOne({ _id: key.id });
    const t0 = Date.now();
    while ((await h.request('GET', '/api/v1/machines', { key: key.secret })).status !== 401) {
      expect(Date.now() - t0).toBeLessThan(PRINCIPAL_TTL_MS + 1_000);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('a key without roles can do nothing', async () => {
    const bare = (await h.request('POST', '/api/v1/api-keys', { body: { name: 'bare' } })).body;
    const r = await h.request('GET', '/api/v1/machines', { key: bare.secret });
    expect(r.status).toBe(403);
    expect(r.body.error.message).toMatch(/list machine/);
  });
});

describe('roles and bindings', () => {
  it('grants the union of rules and honours resource_ids', async () => {
    const m1 = (await h.request('POST', '/api/v1/machines', { body: machineBody(1) })).body.id;
    const m2 = (await h.request('POST', '/api/v1/machines', { body: machineBody(2) })).body.id;
    const reader = await h.request('POST', '/api/v1/roles', {
      body: {
        name: 'one-machine',
        rules: [{ resources: ['machine'], actions: ['get', 'list'], resource_ids: [m1] }],
      },
    });
    expect(reader.status).toBe(201);
    const events = await h.request('POST', '/api/v1/roles', {
      body: { name: 'events', rules: [{ resources: ['event'], actions: ['list'] }] },
    });
    const key = (
      await h.request('POST', '/api/v1/api-keys', { body: { name: 'k', role_ids: [reader.body.id] } })
    ).body;
    const bind = await h.request('POST', '/api/v1/role-bindings', {
      body: { api_key_id: key.id, role_id: events.body.id },
    });
    expect(bind.status).toBe(201);

    expect((await h.request('GET', `/api/v1/machines/${m1}`, { key: key.secret })).status).toBe(200);
    expect((await h.request('GET', `/api/v1/machines/${m2}`, { key: key.secret })).status).toBe(403);
    const list = await h.request('GET', '/api/v1/machines', { key: key.secret });
    expect(list.body.items.map((m: { id: string }) => m.id)).toEqual([m1]);
    expect((await h.request('GET', '/api/v1/events', { key: key.secret })).status).toBe(200);
    expect(
      (await h.request('POST', '/api/v1/machines', { key: key.secret, body: machineBody(3) })).status,
    ).toBe(403);

    // A role in use cannot be deleted; the built-in admin role cannot be changed.
    expect((await h.request('DELETE', `/api/v1/roles/${events.body.id}`)).status).toBe(409);
    expect(
      (await h.request('PATCH', '/api/v1/roles/role_admin_default', { body: { name: 'x' } })).status,
    ).toBe(409);
    expect(
      (await h.request('POST', '/api/v1/roles', { body: { name: 'events', rules: events.body.rules } }))
        .status,
    ).toBe(409);

    const badRole = await h.request('POST', '/api/v1/roles', {
      body: { name: 'bad', rules: [{ resources: ['machines'], actions: ['read'] }] },
    });
    expect(badRole.status).toBe(400);
    expect(badRole.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'rules.0.actions.0',
      'rules.0.resources.0',
    ]);
  });

  it('binds only keys and roles of the same customer', async () => {
    const other = await h.newCustomer('other-binding');
    const otherKeys = await h.request('GET', '/api/v1/api-keys', { key: other.adminKey });
    const otherKeyId = otherKeys.body.items[0].id;
    const r = await h.request('POST', '/api/v1/role-bindings', {
      body: { api_key_id: otherKeyId, role_id: 'role_admin_default' },
    });
    // Valid as written, but the id names nothing of this customer: 409 unknown_reference, naming the field.
    expect(r.status).toBe(409);
    expect(r.body.error.details).toEqual([
      expect.objectContaining({ path: 'api_key_id', code: 'unknown_reference' }),
    ]);
  });
});

describe('customers and the super-admin', () => {
  it('lets the bootstrap admin create a customer and a key for it; that key sees only its customer', async () => {
    const c = await h.request('POST', '/api/v1/customers', { body: { name: 'acme' } });
    expect(c.status).toBe(201);
    const key = await h.request('POST', '/api/v1/api-keys', {
      body: { name: 'acme admin', customer_id: c.body.id, role_ids: [c.body.admin_role_id] },
    });
    expect(key.status).toBe(201);
    expect(key.body.customer_id).toBe(c.body.id);
    const acme = key.body.secret;
    const mine = await h.request('POST', '/api/v1/machines', { key: acme, body: machineBody(50) });
    expect(mine.status).toBe(201);
    expect(mine.body.customer_id).toBe(c.body.id);
    // acme cannot create customers, nor keys for others, nor see the default customer.
    expect((await h.request('POST', '/api/v1/customers', { key: acme, body: { name: 'evil' } })).status).toBe(
      403,
    );
    expect(
      (
        await h.request('POST', '/api/v1/api-keys', {
          key: acme,
          body: { name: 'x', customer_id: 'default' },
        })
      ).status,
    ).toBe(403);
    expect((await h.request('GET', '/api/v1/customers/default', { key: acme })).status).toBe(404);
    const own = await h.request('GET', '/api/v1/customers', { key: acme });
    expect(own.body.items.map((x: { id: string }) => x.id)).toEqual([c.body.id]);
    // The super-admin sees every customer and may delete acme; the bootstrap customer cannot be deleted.
    const all = await h.request('GET', '/api/v1/customers?limit=500');
    expect(all.body.items.map((x: { id: string }) => x.id)).toEqual(
      expect.arrayContaining(['default', c.body.id]),
    );
    expect((await h.request('DELETE', '/api/v1/customers/default')).status).toBe(409);
    expect((await h.request('DELETE', `/api/v1/customers/${c.body.id}`)).status).toBe(204);
    expect((await h.request('GET', '/api/v1/machines', { key: acme })).status).toBe(401);
  });
});

describe('bootstrap', () => {
  it('generates one admin key on a fresh install and none after', async () => {
    const db = h.db.client.db(`${h.db.databaseName}_boot`);
    try {
      const auth = new AuthStore(db);
      const first = await ensureBootstrap(auth, {});
      expect(first.source).toBe('generated');
      expect(first.generatedSecret).toMatch(/^pw_/);
      expect((await auth.authenticate(first.generatedSecret!))?.customer.bootstrap).toBe(true);
      const second = await ensureBootstrap(auth, {});
      expect(second).toMatchObject({ source: 'existing' });
      expect(second.generatedSecret).toBeUndefined();
    } finally {
      await db.dropDatabase();
    }
  });

  it('installs and rotates a key given in PATCHWAVE_BOOTSTRAP_KEY', async () => {
    const db = h.db.client.db(`${h.db.databaseName}_boot2`);
    try {
      const auth = new AuthStore(db);
      const k1 = 'dev-bootstrap-key-0123456789abcdef';
      await ensureBootstrap(auth, { PATCHWAVE_BOOTSTRAP_KEY: k1 });
      const p = await auth.authenticate(k1);
      expect(p?.rules.length).toBeGreaterThan(0);
      const k2 = 'dev-bootstrap-key-rotated-0123456789';
      await ensureBootstrap(auth, { PATCHWAVE_BOOTSTRAP_KEY: k2 });
      expect(await auth.authenticate(k1)).toBeNull();
      expect(await auth.authenticate(k2)).not.toBeNull();
      expect(await db.collection(COLLECTIONS.apiKeys).countDocuments()).toBe(1);
    } finally {
      await db.dropDatabase();
    }
  });
});
