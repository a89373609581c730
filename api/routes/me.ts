import { z } from 'zod';
import { Action, Resource, grantFor } from '../../domain/auth';
import { route } from '../route-table';
import { isSuperAdmin } from './access';

/**
 * What the presented key is and may do, so a client (the console) can hide or disable what would be refused,
 * from the same rules the server enforces: `permissions[resource][action]` is `"all"` or the object ids a
 * `resource_ids` rule narrows it to; absent = refused.
 */
const Grant = z.union([z.literal('all'), z.array(z.string())]);
export const MeView = z
  .object({
    api_key: z.object({ id: z.string(), name: z.string() }),
    customer: z.object({ id: z.string(), name: z.string(), bootstrap: z.boolean() }),
    super_admin: z.boolean().describe('a key of the bootstrap customer allowed to create customers'),
    permissions: z
      .record(z.string(), z.record(z.string(), Grant))
      .describe('resource → action → "all" or the ids a rule narrows it to; absent = not allowed'),
    temporal_ui: z
      .object({ url: z.string(), namespace: z.string() })
      .nullable()
      .describe('where the Temporal UI is (PATCHWAVE_TEMPORAL_UI_URL); null when not configured'),
  })
  .meta({ id: 'Me' });

export const meRoutes = [
  route({
    method: 'get',
    path: '/api/v1/me',
    operationId: 'getMe',
    summary: 'The presented API key: its customer and what it may do',
    description:
      'Any valid key may read its own permissions; nothing else is revealed (no secrets, no other keys).',
    tag: 'api-keys',
    permission: 'authenticated',
    response: { status: 200, description: 'The key and its permissions', schema: MeView },
    async handle({ api, principal }) {
      const permissions: Record<string, Record<string, 'all' | string[]>> = {};
      for (const resource of Resource.options) {
        for (const action of Action.options) {
          const g = grantFor(principal.rules, resource, action);
          if (g.kind === 'none') continue;
          (permissions[resource] ??= {})[action] = g.kind === 'all' ? 'all' : [...g.ids].sort();
        }
      }
      const ui = api.config.PATCHWAVE_TEMPORAL_UI_URL;
      return {
        api_key: { id: principal.key.id, name: principal.key.name },
        customer: {
          id: principal.customer.id,
          name: principal.customer.name,
          bootstrap: principal.customer.bootstrap,
        },
        super_admin: isSuperAdmin(principal),
        permissions,
        temporal_ui: ui ? { url: ui.replace(/\/+$/, ''), namespace: api.config.TEMPORAL_NAMESPACE } : null,
      };
    },
  }),
];
