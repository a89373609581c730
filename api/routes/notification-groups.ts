import { NotificationGroup, NotificationGroupInput } from '../../domain/notification-group';
import type { ApiContext } from '../context';
import { conflict, type FieldIssue } from '../errors';
import { checkOutboundUrl, checkOutboundUrlAtSave } from '../url-guard';
import { crudRoutes } from './crud';

function groupIssues(api: ApiContext, g: Partial<NotificationGroupInput>): FieldIssue[] {
  return (g.channels ?? []).flatMap((c, i) => {
    if (c.type === 'email') return [];
    const why = checkOutboundUrl(c.url, api.allowlist);
    return why ? [{ in: 'body' as const, path: `channels.${i}.url`, message: why }] : [];
  });
}

export const notificationGroupRoutes = crudRoutes({
  resource: 'notification_group',
  tag: 'notification-groups',
  basePath: '/api/v1/notification-groups',
  singular: 'notification-group',
  idPrefix: 'ngr',
  input: NotificationGroupInput.meta({ id: 'NotificationGroupInput' }),
  inputKeys: Object.keys(NotificationGroupInput.shape),
  view: NotificationGroup.meta({ id: 'NotificationGroup' }),
  repo: (api) => api.groups,
  check: async (api, _customerId, input) => {
    const issues = groupIssues(api, input);
    // A host name that resolves to a blocked address passes the pure check: resolve it too.
    for (const [i, c] of (input.channels ?? []).entries()) {
      if (c.type === 'email' || issues.some((k) => k.path === `channels.${i}.url`)) continue;
      const why = await checkOutboundUrlAtSave(c.url, api.allowlist);
      if (why) issues.push({ in: 'body', path: `channels.${i}.url`, message: why });
    }
    return issues;
  },
  async beforeDelete(api, customerId, group) {
    const [plans, pipelines] = await Promise.all([
      api.plans.idsUsingGroup(customerId, group.id),
      api.pipelines.idsUsingGroup(customerId, group.id),
    ]);
    if (plans.length || pipelines.length)
      throw conflict(`notification group ${group.id} is used by ${[...plans, ...pipelines].join(', ')}`, {
        plans,
        pipelines,
      });
  },
});
