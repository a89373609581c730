/**
 * Malformed bodies to every write route: each must answer 400 with a message per bad field, and nothing
 * may be written (the store is compared before/after; the orchestrator port must not be called).
 *
 * Route-level test with the RECORDING FAKE orchestrator (see api-harness.ts).
 */
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { API_ROUTES } from '../../api/routes';
import type { AnyRoute } from '../../api/route-table';
import { startApi, type ApiHarness } from './api-harness';
import { CASES, fixtures } from './api-cases';

// Each row creates its fixtures through the API, then sends many bodies: over jest's 5 s default under load.
jest.setTimeout(60_000);

let h: ApiHarness;
beforeAll(async () => {
  h = await startApi('malformed');
});
afterAll(async () => {
  await h?.close();
});

/** A digest of every document in the database (less the key usage timestamp, which reads may refresh). */
async function storeDigest(): Promise<string> {
  const hash = createHash('sha256');
  const names = (await h.db.listCollections().toArray()).map((c) => c.name).sort();
  for (const n of names) {
    const docs = await h.db.collection(n).find({}).sort({ _id: 1 }).toArray();
    hash.update(n + JSON.stringify(docs.map(({ last_used_at, ...d }) => (void last_used_at, d))));
  }
  return hash.digest('hex');
}

function deep(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
}

/** Top-level field names of a route's body schema (empty for record-shaped PATCH bodies). */
function fieldsOf(r: AnyRoute): string[] {
  const shape = (r.body as unknown as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}

const bodyRoutes = API_ROUTES.filter((r) => r.body);

it('covers every route that takes a body', () => {
  expect(bodyRoutes.length).toBeGreaterThanOrEqual(24);
});

describe.each(bodyRoutes.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as [string, AnyRoute]))(
  '%s',
  (_n, route) => {
    it('refuses malformed bodies with 400, naming fields, and writes nothing', async () => {
      const f = await fixtures(h);
      const { path } = CASES[route.operationId](f);
      const bodies: { body?: unknown; raw?: string; field?: string }[] = [
        { body: [] },
        { body: 'text' },
        { body: 42 },
        { body: null },
        { body: { $where: 'sleep(1000)', __unknown__: true }, field: '$where' },
        { body: deep(500), field: 'a' },
      ];
      const fields = fieldsOf(route);
      for (const k of fields) {
        bodies.push({ body: { [k]: { $ne: null } }, field: k });
        bodies.push({ body: { [k]: 'x'.repeat(100_000) }, field: k });
        bodies.push({ body: { [k]: [1, { $gt: '' }] }, field: k });
      }
      if (route.method === 'patch')
        bodies.push({ body: { name: { $ne: null } }, field: 'name' }, { body: { name: 7 }, field: 'name' });

      // Far deeper than any schema: must be refused without recursing through it.
      const depth = 100_000;
      bodies.push({ raw: '{"a":'.repeat(depth) + '1' + '}'.repeat(depth), field: 'a' });
      bodies.push({ raw: '{"__proto__":{"name":"x"}}', field: '__proto__' });

      const before = await storeDigest();
      const calls = h.orchestrator.calls.length;
      for (const { body, raw, field } of bodies) {
        const r = await h.request(route.method.toUpperCase(), path, raw === undefined ? { body } : { raw });
        const where = `${route.method} ${path} ${(raw ?? JSON.stringify(body)).slice(0, 80)}`;
        expect([where, r.status]).toEqual([where, 400]);
        expect(r.body.error.code).toBe('validation_error');
        expect(r.body.error.message.length).toBeGreaterThan(0);
        const details = r.body.error.details as { in: string; path: string; message: string }[];
        expect(details.length).toBeGreaterThan(0);
        for (const d of details) expect(d.message.length).toBeGreaterThan(0);
        if (field)
          expect([where, details.some((d) => d.path === field || d.path.startsWith(`${field}.`))]).toEqual([
            where,
            true,
          ]);
      }
      expect(h.orchestrator.calls.length).toBe(calls);
      expect(await storeDigest()).toBe(before);
    });
  },
);

/** fetch refuses TRACE: node:http sends any method. */
function rawRequest(method: string, path: string): Promise<{ status: number; allow?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${h.url}${path}`,
      { method, headers: { authorization: `Bearer ${h.adminKey}` } },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += String(c)));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, allow: res.headers.allow as string | undefined, body }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('undeclared methods', () => {
  it('answers 405 with Allow on a known path, for every method the document does not declare', async () => {
    for (const [method, path, allow] of [
      ['TRACE', '/api/v1/machines', 'GET, POST, HEAD'],
      ['PUT', '/api/v1/machines', 'GET, POST, HEAD'],
      ['DELETE', '/api/v1/events/pln_x-20300101T000000Z/approve', 'POST'],
      ['POST', '/api/v1/roles/role_x', 'GET, PUT, PATCH, DELETE, HEAD'],
    ]) {
      const r = await rawRequest(method, path);
      expect([method, path, r.status, r.allow, JSON.parse(r.body).error.code]).toEqual([
        method,
        path,
        405,
        allow,
        'method_not_allowed',
      ]);
    }
    // An unknown path stays 404.
    expect((await rawRequest('TRACE', '/api/v1/nothing-here')).status).toBe(404);
  });
});
