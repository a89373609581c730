import { Role, RoleInput } from '../../domain/auth';
import { conflict } from '../errors';
import { crudRoutes } from './crud';

export const roleRoutes = crudRoutes({
  resource: 'role',
  tag: 'roles',
  basePath: '/api/v1/roles',
  singular: 'role',
  idPrefix: 'role',
  input: RoleInput.meta({ id: 'RoleInput' }),
  inputKeys: Object.keys(RoleInput.shape),
  view: Role.meta({ id: 'Role' }),
  repo: (api) => api.auth.roles,
  toStored: () => ({ builtin: false }),
  immutable: (role) =>
    role.builtin ? `role ${role.name} is built in and cannot be changed or deleted` : undefined,
  duplicateMessage: 'a role with this name already exists for this customer',
  uniqueField: 'name',
  async beforeDelete(api, customerId, role) {
    const n = await api.auth.bindingCountForRole(customerId, role.id);
    if (n > 0)
      throw conflict(`role ${role.id} is bound to ${n} API key(s); delete those role bindings first`);
  },
});
