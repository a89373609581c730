import {
  NotificationGroup,
  NotificationGroupInput,
  missingWebhookSecret,
} from '../../domain/notification-group';
import type { ApiContext } from '../context';
import { conflict, type FieldIssue } from '../errors';
import { checkOutboundUrl, checkOutboundUrlAtSave } from '../../common/url-guard';
import { crudRoutes } from './crud';

/**
 * A webhook is never sent unsigned, so one without a secret would fail every message: refuse it now. The
 * API resolves the secret as the worker does (both get the same environment: docs/notifications.md).
 */
const readEnv = (name: string) => process.env[name];

function groupIssues(api: ApiContext, g: Partial<NotificationGroupInput>): FieldIssue[] {
  return (g.channels ?? []).flatMap((c, i) => {
    if (c.type === 'email') return [];
    const issues: FieldIssue[] = [];
    const why = checkOutboundUrl(c.url, api.allowlist);
    if (why) issues.push({ in: 'body', path: `channels.${i}.url`, message: why, code: 'egress_refused' });
    const noSecret =
      c.type === 'webhook'
        ? missingWebhookSecret(c, api.config.PATCHWAVE_WEBHOOK_SECRET, readEnv)
        : undefined;
    // A secret_ref that names nothing on this server conflicts with its configuration (409); a webhook with
    // no secret_ref while the server has no default secret cannot be signed at all (400).
    if (noSecret)
      issues.push({
        in: 'body',
        path: `channels.${i}.secret_ref`,
        message: noSecret,
        ...(c.type === 'webhook' && c.secret_ref ? { code: 'secret_unresolved' as const } : {}),
      });
    return issues;
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
      if (why) issues.push({ in: 'body', path: `channels.${i}.url`, message: why, code: 'egress_refused' });
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
