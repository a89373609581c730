import type { Db } from 'mongodb';
import { AuditStore } from './audit';
import { ComplianceStore } from './compliance';
import { EventRecords } from './event-records';
import { LogStore } from './logs';
import { MachineStore } from './machines';
import { NotificationDeliveries } from './notifications';
import { PipelineStore } from './pipelines';
import { PlanStore } from './plans';
import { ReportStore } from './reports';
import { FreezeCalendarStore } from './freeze-calendars';

/** The stores the activities use, built once per worker (createActivities) and handed to each factory. */
export function createStores(db: Db) {
  return {
    events: new EventRecords(db),
    machines: new MachineStore(db),
    plans: new PlanStore(db),
    pipelines: new PipelineStore(db),
    logs: new LogStore(db),
    reports: new ReportStore(db),
    deliveries: new NotificationDeliveries(db),
    audit: new AuditStore(db),
    compliance: new ComplianceStore(db),
    freezeCalendars: new FreezeCalendarStore(db),
  };
}

export type Stores = ReturnType<typeof createStores>;
