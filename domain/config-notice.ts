/**
 * Notices of configuration changes (plan_new / plan_modification / plan_deleted and the pipeline_* ones),
 * docs/notifications.md. Pure and zod-free: the API builds the notice, a workflow hands it to `notify`.
 */
import type { NotificationEventType } from './notification-group';

export type ConfigChange = 'create' | 'update' | 'delete';
export type ConfigResource = 'plan' | 'pipeline';

export interface ConfigNotice {
  type: NotificationEventType;
  /** One notice per change: `<type>:<id>` for create/delete (ids are never reused), `:<audit id>` for an edit. */
  key: string;
  customer_id: string;
  plan_id?: string;
  pipeline_id?: string;
  context: {
    notification_groups: string[];
    plan?: { id: string; name?: string };
    pipeline?: { id: string; name?: string };
    actor: string;
  };
}

const TYPES: Record<ConfigResource, Record<ConfigChange, NotificationEventType>> = {
  plan: { create: 'plan_new', update: 'plan_modification', delete: 'plan_deleted' },
  pipeline: { create: 'pipeline_new', update: 'pipeline_modification', delete: 'pipeline_deleted' },
};

/** The notice of one accepted change; `item` is the stored object after the change (before it, for a delete). */
export function configNotice(
  resource: ConfigResource,
  change: ConfigChange,
  item: { id: string; customer_id: string; name?: string; notification_groups?: string[] },
  auditId: string,
  actor: string,
): ConfigNotice {
  const type = TYPES[resource][change];
  const ref = { id: item.id, ...(item.name ? { name: item.name } : {}) };
  return {
    type,
    key: change === 'update' ? `${type}:${item.id}:${auditId}` : `${type}:${item.id}`,
    customer_id: item.customer_id,
    ...(resource === 'plan' ? { plan_id: item.id } : { pipeline_id: item.id }),
    context: {
      notification_groups: item.notification_groups ?? [],
      ...(resource === 'plan' ? { plan: ref } : { pipeline: ref }),
      actor,
    },
  };
}
