import {
  ApiKey,
  ApiKeyInput,
  CreatedApiKey,
  CreatedCustomer,
  Customer,
  CustomerInput,
  RoleBinding,
  RoleBindingInput,
  isAllowed,
} from '../../domain/auth';
import type { Principal } from '../../store/auth';
import { route } from '../route-table';
import { conflict, forbidden, notFound, type FieldIssue } from '../errors';
import {
  ApiKeyListQuery,
  AuditQuery,
  AuditRecordView,
  IdParams,
  ListQuery,
  mergePatchOf,
  RoleBindingQuery,
  isoNormalised,
  pageOf,
} from '../schemas';
import { mergePatch, parseOr400, throwIfIssues } from '../validate';
import { writeAudit } from '../audit-log';

/** A key of the bootstrap customer allowed to create customers: may act on customers and their keys. */
export function isSuperAdmin(p: Principal): boolean {
  return p.customer.bootstrap && isAllowed(p.rules, 'customer', 'create');
}

const KeyView = ApiKey.meta({ id: 'ApiKey' });
const BindingView = RoleBinding.meta({ id: 'RoleBinding' });
const CustomerView = Customer.meta({ id: 'Customer' });
const CustomerPatch = mergePatchOf(CustomerInput).meta({ id: 'CustomerPatch' });

export const apiKeyRoutes = [
  route({
    method: 'get',
    path: '/api/v1/api-keys',
    operationId: 'listApiKeys',
    summary: 'List API keys (never their secrets)',
    description: 'A super-admin may pass customer_id to list the keys of another customer.',
    tag: 'api-keys',
    permission: { resource: 'api_key', action: 'list' },
    query: ApiKeyListQuery,
    response: { status: 200, description: 'A page of keys', schema: pageOf(KeyView) },
    async handle({ api, query, actor, principal, grant }) {
      let customerId = actor.customer_id;
      if (query.customer_id && query.customer_id !== actor.customer_id) {
        if (!isSuperAdmin(principal))
          throw forbidden('only a super-admin may list the keys of another customer');
        customerId = query.customer_id;
      }
      return api.auth.listKeys(
        customerId,
        query.limit,
        query.continuation_token,
        grant.kind === 'ids' ? grant.ids : undefined,
      );
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/api-keys',
    operationId: 'createApiKey',
    summary: 'Create an API key; the answer is the only time its secret is shown',
    tag: 'api-keys',
    permission: { resource: 'api_key', action: 'create' },
    body: ApiKeyInput.meta({ id: 'ApiKeyInput' }),
    response: {
      status: 201,
      description: 'The key with its secret',
      schema: CreatedApiKey.meta({ id: 'CreatedApiKey' }),
    },
    errors: [409],
    async handle({ api, body, actor, principal }) {
      const customerId = body.customer_id ?? actor.customer_id;
      const issues: FieldIssue[] = [];
      if (customerId !== actor.customer_id) {
        if (!isSuperAdmin(principal))
          throw forbidden('only a super-admin may create keys for another customer');
        if (!(await api.auth.getCustomer(customerId)))
          issues.push({
            in: 'body',
            path: 'customer_id',
            message: `no customer ${customerId}`,
            code: 'unknown_reference',
          });
      }
      const roleIds = [...new Set(body.role_ids ?? [])];
      const roles = await api.auth.roles.existingIds(customerId, roleIds);
      roleIds.forEach((r, i) => {
        if (!roles.has(r))
          issues.push({
            in: 'body',
            path: `role_ids.${i}`,
            message: `no role ${r} for this customer`,
            code: 'unknown_reference',
          });
      });
      throwIfIssues(issues);
      const { key, secret } = await api.auth.createKey({
        customerId,
        name: body.name,
        createdBy: actor.api_key_id,
      });
      const bindings = [];
      for (const r of roleIds) bindings.push(await api.auth.bind(customerId, key.id, r));
      await writeAudit(api, actor, {
        action: 'create',
        resource: 'api_key',
        resource_id: key.id,
        after: { ...key, role_ids: roleIds },
      });
      return { ...key, secret, role_binding_ids: bindings.map((b) => b.id) };
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/api-keys/:id',
    operationId: 'getApiKey',
    summary: 'Get an API key (never its secret)',
    tag: 'api-keys',
    permission: { resource: 'api_key', action: 'get', idParam: 'id' },
    params: IdParams,
    response: { status: 200, description: 'The key', schema: KeyView },
    async handle({ api, params, actor }) {
      const key = await api.auth.getKey(actor.customer_id, params.id);
      if (!key) throw notFound('API key', params.id);
      return key;
    },
  }),
  route({
    method: 'delete',
    path: '/api/v1/api-keys/:id',
    operationId: 'deleteApiKey',
    summary: 'Delete an API key and its role bindings',
    tag: 'api-keys',
    permission: { resource: 'api_key', action: 'delete', idParam: 'id' },
    params: IdParams,
    response: { status: 204, description: 'Deleted' },
    async handle({ api, params, actor }) {
      const key = await api.auth.getKey(actor.customer_id, params.id);
      if (!key || !(await api.auth.deleteKey(actor.customer_id, params.id)))
        throw notFound('API key', params.id);
      await writeAudit(api, actor, {
        action: 'delete',
        resource: 'api_key',
        resource_id: params.id,
        before: key,
      });
      return undefined;
    },
  }),
];

export const roleBindingRoutes = [
  route({
    method: 'get',
    path: '/api/v1/role-bindings',
    operationId: 'listRoleBindings',
    summary: 'List role bindings (filter by api_key_id, role_id)',
    tag: 'role-bindings',
    permission: { resource: 'role_binding', action: 'list' },
    query: RoleBindingQuery,
    response: { status: 200, description: 'A page of bindings', schema: pageOf(BindingView) },
    async handle({ api, query, actor, grant }) {
      const where: Record<string, string> = {};
      if (query.api_key_id) where.api_key_id = query.api_key_id;
      if (query.role_id) where.role_id = query.role_id;
      return api.auth.bindings.list(actor.customer_id, {
        limit: query.limit,
        token: query.continuation_token,
        where,
        onlyIds: grant.kind === 'ids' ? grant.ids : undefined,
      });
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/role-bindings',
    operationId: 'createRoleBinding',
    summary: 'Bind a role to an API key (binding twice answers the existing binding)',
    tag: 'role-bindings',
    permission: { resource: 'role_binding', action: 'create' },
    body: RoleBindingInput.meta({ id: 'RoleBindingInput' }),
    response: { status: 201, description: 'The binding', schema: BindingView },
    errors: [409],
    async handle({ api, body, actor }) {
      const issues: FieldIssue[] = [];
      if (!(await api.auth.getKey(actor.customer_id, body.api_key_id)))
        issues.push({
          in: 'body',
          path: 'api_key_id',
          message: `no API key ${body.api_key_id} for this customer`,
          code: 'unknown_reference',
        });
      if (!(await api.auth.roles.get(actor.customer_id, body.role_id)))
        issues.push({
          in: 'body',
          path: 'role_id',
          message: `no role ${body.role_id} for this customer`,
          code: 'unknown_reference',
        });
      throwIfIssues(issues);
      const b = await api.auth.bind(actor.customer_id, body.api_key_id, body.role_id);
      await writeAudit(api, actor, {
        action: 'create',
        resource: 'role_binding',
        resource_id: b.id,
        after: b,
      });
      return b;
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/role-bindings/:id',
    operationId: 'getRoleBinding',
    summary: 'Get a role binding',
    tag: 'role-bindings',
    permission: { resource: 'role_binding', action: 'get', idParam: 'id' },
    params: IdParams,
    response: { status: 200, description: 'The binding', schema: BindingView },
    async handle({ api, params, actor }) {
      const b = await api.auth.bindings.get(actor.customer_id, params.id);
      if (!b) throw notFound('role binding', params.id);
      return b;
    },
  }),
  route({
    method: 'delete',
    path: '/api/v1/role-bindings/:id',
    operationId: 'deleteRoleBinding',
    summary: 'Delete a role binding',
    tag: 'role-bindings',
    permission: { resource: 'role_binding', action: 'delete', idParam: 'id' },
    params: IdParams,
    response: { status: 204, description: 'Deleted' },
    async handle({ api, params, actor }) {
      const b = await api.auth.bindings.get(actor.customer_id, params.id);
      if (!b || !(await api.auth.bindings.delete(actor.customer_id, params.id)))
        throw notFound('role binding', params.id);
      await writeAudit(api, actor, {
        action: 'delete',
        resource: 'role_binding',
        resource_id: params.id,
        before: b,
      });
      return undefined;
    },
  }),
];

/** A customer is visible to its own keys and to super-admins; to anyone else it does not exist. */
function visibleCustomerId(principal: Principal, id: string): boolean {
  return id === principal.customer.id || isSuperAdmin(principal);
}

export const customerRoutes = [
  route({
    method: 'get',
    path: '/api/v1/customers',
    operationId: 'listCustomers',
    summary: 'List customers (a super-admin sees all; other keys see their own)',
    tag: 'customers',
    permission: { resource: 'customer', action: 'list' },
    query: ListQuery,
    response: { status: 200, description: 'A page of customers', schema: pageOf(CustomerView) },
    async handle({ api, query, principal }) {
      if (isSuperAdmin(principal)) return api.auth.listAllCustomers(query.limit, query.continuation_token);
      if (query.continuation_token) return { items: [], continuation_token: null };
      return { items: [principal.customer], continuation_token: null };
    },
  }),
  route({
    method: 'post',
    path: '/api/v1/customers',
    operationId: 'createCustomer',
    summary: 'Create a customer with its built-in admin role (super-admin only)',
    tag: 'customers',
    permission: { resource: 'customer', action: 'create' },
    body: CustomerInput.meta({ id: 'CustomerInput' }),
    response: {
      status: 201,
      description: 'The customer and its admin role id',
      schema: CreatedCustomer.meta({ id: 'CreatedCustomer' }),
    },
    async handle({ api, body, actor, principal }) {
      if (!isSuperAdmin(principal))
        throw forbidden('only keys of the bootstrap customer may create customers');
      const { customer, adminRoleId } = await api.auth.createCustomer(body);
      await writeAudit(api, actor, {
        action: 'create',
        resource: 'customer',
        resource_id: customer.id,
        after: customer,
      });
      return { ...customer, admin_role_id: adminRoleId };
    },
  }),
  route({
    method: 'get',
    path: '/api/v1/customers/:id',
    operationId: 'getCustomer',
    summary: 'Get a customer',
    tag: 'customers',
    permission: { resource: 'customer', action: 'get', idParam: 'id' },
    params: IdParams,
    response: { status: 200, description: 'The customer', schema: CustomerView },
    async handle({ api, params, principal }) {
      const c = visibleCustomerId(principal, params.id) ? await api.auth.getCustomer(params.id) : null;
      if (!c) throw notFound('customer', params.id);
      return c;
    },
  }),
  ...(['put', 'patch'] as const).map((method) =>
    route({
      method,
      path: '/api/v1/customers/:id',
      operationId: method === 'put' ? 'replaceCustomer' : 'patchCustomer',
      summary:
        method === 'put'
          ? 'Replace a customer’s name and description'
          : 'Change a customer’s name or description',
      tag: 'customers',
      permission: { resource: 'customer', action: 'update', idParam: 'id' },
      params: IdParams,
      body: method === 'put' ? CustomerInput : CustomerPatch,
      validatesBody: true,
      response: { status: 200, description: 'The customer', schema: CustomerView },
      async handle({ api, params, body, actor, principal }) {
        const before = visibleCustomerId(principal, params.id) ? await api.auth.getCustomer(params.id) : null;
        if (!before) throw notFound('customer', params.id);
        if (method === 'patch') parseOr400(CustomerPatch, body, 'body');
        const raw =
          method === 'put'
            ? body
            : mergePatch(before, body as Record<string, unknown>, Object.keys(CustomerInput.shape));
        const input = parseOr400(CustomerInput, raw, 'body');
        const after = await api.auth.customers.replaceInput(
          params.id,
          params.id,
          input,
          Object.keys(CustomerInput.shape),
        );
        await writeAudit(api, actor, {
          action: 'update',
          resource: 'customer',
          resource_id: params.id,
          before,
          after,
        });
        return after;
      },
    }),
  ),
  route({
    method: 'delete',
    path: '/api/v1/customers/:id',
    operationId: 'deleteCustomer',
    summary: 'Delete a customer: its keys, roles and bindings go; its data stays (super-admin only)',
    tag: 'customers',
    permission: { resource: 'customer', action: 'delete', idParam: 'id' },
    params: IdParams,
    response: { status: 204, description: 'Deleted' },
    errors: [409],
    async handle({ api, params, actor, principal }) {
      const c = visibleCustomerId(principal, params.id) ? await api.auth.getCustomer(params.id) : null;
      if (!c) throw notFound('customer', params.id);
      if (!isSuperAdmin(principal)) throw forbidden('only a super-admin may delete customers');
      if (c.bootstrap) throw conflict('the bootstrap customer cannot be deleted');
      await api.auth.deleteCustomer(params.id);
      await writeAudit(api, actor, {
        action: 'delete',
        resource: 'customer',
        resource_id: params.id,
        before: c,
      });
      return undefined;
    },
  }),
];

export const auditRoutes = [
  route({
    method: 'get',
    path: '/api/v1/audit',
    operationId: 'listAudit',
    summary: 'The audit log of changes made through the API, newest first',
    description:
      'Filters: resource, resource_id, action, actor (API key id), from/to on the time of the change.',
    tag: 'audit',
    permission: { resource: 'audit', action: 'list' },
    query: AuditQuery,
    response: { status: 200, description: 'A page of audit records', schema: pageOf(AuditRecordView) },
    async handle({ api, query, actor }) {
      const { limit, continuation_token, from, to, ...filters } = query;
      return api.audit.list(
        actor.customer_id,
        { ...filters, from: isoNormalised(from), to: isoNormalised(to) },
        limit,
        continuation_token,
      );
    },
  }),
];
