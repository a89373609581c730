import { z } from 'zod';

/**
 * What a role can grant, docs/behaviour.md#access.
 * `audit` is ours: the audit log needs its own permission so reading it can be granted separately.
 */
export const Resource = z.enum([
  'machine',
  'plan',
  'pipeline',
  'event',
  'notification_group',
  'freeze_calendar',
  'report',
  'update_log',
  'api_key',
  'role',
  'role_binding',
  'customer',
  'audit',
]);
export type Resource = z.infer<typeof Resource>;

export const Action = z.enum(['get', 'list', 'create', 'update', 'delete', 'execute']);
export type Action = z.infer<typeof Action>;

const ID = z.string().min(1).max(128);
const NAME = z.string().trim().min(1).max(255).meta({ pattern: '\\S' });

export const RoleRule = z.strictObject({
  resources: z.array(Resource).min(1).max(Resource.options.length),
  actions: z.array(Action).min(1).max(Action.options.length),
  /** Restricts the rule to these objects; omitted = every object of the customer. */
  resource_ids: z.array(ID).min(1).max(1000).optional(),
});
export type RoleRule = z.infer<typeof RoleRule>;

export const RoleInput = z.strictObject({
  name: NAME,
  description: z.string().max(2000).optional(),
  rules: z.array(RoleRule).min(1).max(100),
});
export type RoleInput = z.infer<typeof RoleInput>;

export const Role = z.object({
  ...RoleInput.shape,
  id: z.string(),
  customer_id: z.string(),
  /** The per-customer `admin` role: every action on every resource; it cannot be changed or deleted. */
  builtin: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Role = z.infer<typeof Role>;

/** Every resource and action: the rules of the built-in `admin` role. */
export const ADMIN_RULES: RoleRule[] = [{ resources: [...Resource.options], actions: [...Action.options] }];

export const ApiKeyInput = z.strictObject({
  name: NAME,
  /** Only a super-admin (a key of the bootstrap customer allowed to create customers) may name another customer. */
  customer_id: ID.optional(),
  /** Roles to bind at once (roles of the key's customer). */
  role_ids: z.array(ID).max(50).optional(),
});
export type ApiKeyInput = z.infer<typeof ApiKeyInput>;

export const ApiKey = z.object({
  id: z.string(),
  customer_id: z.string(),
  name: z.string(),
  created_at: z.string(),
  created_by: z.string().optional(),
  last_used_at: z.string().optional(),
});
export type ApiKey = z.infer<typeof ApiKey>;

/** Answer of key creation: the only time the secret is ever shown. */
export const CreatedApiKey = ApiKey.extend({
  secret: z.string(),
  role_binding_ids: z.array(z.string()),
});
export type CreatedApiKey = z.infer<typeof CreatedApiKey>;

export const RoleBindingInput = z.strictObject({
  api_key_id: ID,
  role_id: ID,
});
export type RoleBindingInput = z.infer<typeof RoleBindingInput>;

export const RoleBinding = RoleBindingInput.extend({
  id: z.string(),
  customer_id: z.string(),
  created_at: z.string(),
  /** Stored with every tenant object; a binding is never changed, so it equals created_at. */
  updated_at: z.string(),
});
export type RoleBinding = z.infer<typeof RoleBinding>;

export const CustomerInput = z.strictObject({
  name: NAME,
  description: z.string().max(2000).optional(),
});
export type CustomerInput = z.infer<typeof CustomerInput>;

export const Customer = CustomerInput.extend({
  id: z.string(),
  /** The customer created at first start; its keys with `customer:create` act as super-admins. */
  bootstrap: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Customer = z.infer<typeof Customer>;

export const CreatedCustomer = Customer.extend({ admin_role_id: z.string() });

/** What a set of rules allows for one (resource, action): everything, some IDs, or nothing. */
export type Grant = { kind: 'all' } | { kind: 'ids'; ids: Set<string> } | { kind: 'none' };

export function grantFor(rules: readonly RoleRule[], resource: Resource, action: Action): Grant {
  const ids = new Set<string>();
  for (const r of rules) {
    if (!r.resources.includes(resource) || !r.actions.includes(action)) continue;
    if (!r.resource_ids) return { kind: 'all' };
    r.resource_ids.forEach((id) => ids.add(id));
  }
  return ids.size > 0 ? { kind: 'ids', ids } : { kind: 'none' };
}

export function isAllowed(
  rules: readonly RoleRule[],
  resource: Resource,
  action: Action,
  resourceId?: string,
): boolean {
  const g = grantFor(rules, resource, action);
  if (g.kind === 'all') return true;
  if (g.kind === 'none') return false;
  return resourceId !== undefined && g.ids.has(resourceId);
}
