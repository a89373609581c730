/**
 * Authorization matrix: every /api/v1 route, called with no key, a wrong key, a key without the route's
 * permission, a key of another customer, and a key with the permission.
 *
 * Route-level test with the RECORDING FAKE orchestrator (see api-harness.ts); the route list comes from
 * the route table, so a new route without a row here fails the test.
 */
import { Action, Resource, type RoleRule } from '../../domain/auth';
import { API_ROUTES } from '../../api/routes';
import type { AnyRoute } from '../../api/route-table';
import { startApi, type ApiHarness } from './api-harness';
import { CASES, fixtures } from './api-cases';

// Each row creates its fixtures through the API: seconds apart on a loaded 2-core machine, not a 5 s default.
jest.setTimeout(60_000);

let h: ApiHarness;
let otherTenantKey: string;

beforeAll(async () => {
  h = await startApi('authz', {
    reports: {
      eventReport: async () => ({ contentType: 'application/pdf', body: Buffer.from('%PDF-1.4') }),
      machineLog: async () => ({ contentType: 'text/plain', body: 'log' }),
    },
  });
  otherTenantKey = (await h.newCustomer('tenant-b')).adminKey;
});
afterAll(async () => {
  await h?.close();
});

/** Every permission except this route's own (resource, action). */
function allBut(resource: Resource, action: Action): RoleRule[] {
  return [
    { resources: Resource.options.filter((r) => r !== resource), actions: [...Action.options] },
    { resources: [resource], actions: Action.options.filter((a) => a !== action) },
  ];
}

const protectedRoutes = API_ROUTES.filter((r) => r.permission !== 'public');

it('has a row for every route of the table', () => {
  expect(protectedRoutes.map((r) => r.operationId).filter((id) => !CASES[id])).toEqual([]);
});

describe.each(protectedRoutes.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as [string, AnyRoute]))(
  '%s',
  (_name, route) => {
    it('answers 401, 401, 403, other-tenant and success as it should', async () => {
      const f = await fixtures(h);
      const c = CASES[route.operationId](f);
      const call = (key: string | null) =>
        h.request(route.method.toUpperCase(), c.path, { key, body: c.body });
      // Ids the caller sent may be echoed in an error; any other object of tenant A must never show.
      const sent = c.path + JSON.stringify(c.body ?? null);
      const A_IDS = Object.values(f).filter((id) => id !== f.customer && !sent.includes(id));

      const none = await call(null);
      expect([none.status, none.body?.error?.code]).toEqual([401, 'unauthorized']);
      const wrong = await call(`pw_key_doesnotexist.${'Z'.repeat(43)}`);
      expect([wrong.status, wrong.body?.error?.code]).toEqual([401, 'unauthorized']);

      if (typeof route.permission === 'object') {
        const noPermKey = await h.keyWithRules(
          'default',
          allBut(route.permission.resource, route.permission.action),
        );
        const denied = await call(noPermKey);
        expect([denied.status, denied.body?.error?.code]).toEqual([403, 'forbidden']);
      }

      const other = await call(otherTenantKey);
      const expectedOther = c.otherTenant ?? (route.params ? 404 : route.response.status);
      expect([other.status, other.text]).toEqual([expectedOther, expect.any(String)]);
      // Whatever tenant B gets, it never contains tenant A's objects.
      for (const id of A_IDS) expect(other.text).not.toContain(id);

      if (c.allowedElsewhere) return;
      const allowed = await call(h.adminKey);
      expect([allowed.status, allowed.text]).toEqual([
        c.allowed ?? route.response.status,
        expect.any(String),
      ]);
    });
  },
);
