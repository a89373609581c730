import type { AnyRoute } from '../route-table';
import { machineRoutes } from './machines';
import { machineHoldRoutes } from './machine-holds';
import { planRoutes } from './plans';
import { pipelineRoutes } from './pipelines';
import { eventRoutes } from './events';
import { complianceRoutes } from './compliance';
import { notificationGroupRoutes } from './notification-groups';
import { freezeCalendarRoutes } from './freeze-calendars';
import { roleRoutes } from './roles';
import { meRoutes } from './me';
import { apiKeyRoutes, auditRoutes, customerRoutes, roleBindingRoutes } from './access';

/** Every /api/v1 route. System routes (health, metrics, openapi) are added by the app. */
export const API_ROUTES: AnyRoute[] = [
  ...machineRoutes,
  ...machineHoldRoutes,
  ...planRoutes,
  ...pipelineRoutes,
  ...eventRoutes,
  ...complianceRoutes,
  ...notificationGroupRoutes,
  ...freezeCalendarRoutes,
  ...apiKeyRoutes,
  ...roleRoutes,
  ...roleBindingRoutes,
  ...customerRoutes,
  ...auditRoutes,
  ...meRoutes,
];
