import type { AnyRoute } from '../route-table';
import { machineRoutes } from './machines';
import { planRoutes } from './plans';
import { pipelineRoutes } from './pipelines';
import { eventRoutes } from './events';
import { notificationGroupRoutes } from './notification-groups';
import { roleRoutes } from './roles';
import { apiKeyRoutes, auditRoutes, customerRoutes, roleBindingRoutes } from './access';

/** Every /api/v1 route. System routes (health, metrics, openapi) are added by the app. */
export const API_ROUTES: AnyRoute[] = [
  ...machineRoutes,
  ...planRoutes,
  ...pipelineRoutes,
  ...eventRoutes,
  ...notificationGroupRoutes,
  ...apiKeyRoutes,
  ...roleRoutes,
  ...roleBindingRoutes,
  ...customerRoutes,
  ...auditRoutes,
];
