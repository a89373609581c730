import type { Db } from 'mongodb';
import type { Config } from '../common/config';
import { httpAllowlist } from '../common/config';
import type { OrchestratorPort } from './orchestrator-port';
import type { ReportsPort } from '../store/reports-port';
import { MachineStore } from '../store/machines';
import { PlanStore } from '../store/plans';
import { PipelineStore } from '../store/pipelines';
import { AuthStore } from '../store/auth';
import { AuditStore } from '../store/audit';
import { EventQueries } from '../store/event-queries';
import { ComplianceStore } from '../store/compliance';
import { TenantRepo } from '../store/tenant-repo';
import { COLLECTIONS } from '../store/db';
import type { NotificationGroup } from '../domain/notification-group';
import { FreezeCalendarStore } from '../store/freeze-calendars';

/** Everything route handlers use, built once per app. */
export interface ApiContext {
  db: Db;
  config: Config;
  orchestrator: OrchestratorPort;
  reports?: ReportsPort;
  allowlist: string[];
  machines: MachineStore;
  plans: PlanStore;
  pipelines: PipelineStore;
  groups: TenantRepo<NotificationGroup>;
  freezeCalendars: FreezeCalendarStore;
  auth: AuthStore;
  audit: AuditStore;
  events: EventQueries;
  compliance: ComplianceStore;
}

export function buildContext(deps: {
  db: Db;
  config: Config;
  orchestrator: OrchestratorPort;
  reports?: ReportsPort;
}): ApiContext {
  return {
    ...deps,
    allowlist: httpAllowlist(deps.config),
    machines: new MachineStore(deps.db),
    plans: new PlanStore(deps.db),
    pipelines: new PipelineStore(deps.db),
    groups: new TenantRepo<NotificationGroup>(deps.db, COLLECTIONS.notificationGroups),
    freezeCalendars: new FreezeCalendarStore(deps.db),
    auth: new AuthStore(deps.db),
    audit: new AuditStore(deps.db),
    events: new EventQueries(deps.db),
    compliance: new ComplianceStore(deps.db),
  };
}
