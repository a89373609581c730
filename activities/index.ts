import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { Config } from '../common/config';
import { createStores } from '../store/stores';
import { AwsClients } from './aws';
import { createEventActivities } from './events';
import { createHookActivities } from './hooks';
import { commandRequesters, createCommandQueueActivities } from './command-queue';
import { createSsmActivities } from './ssm';
import { createNotifyActivities } from './notify';
import { createBulkMarkActivities } from './bulk-marks';
import { createReportActivities } from './report';
import { createLogActivities } from './logs';
import { createEventOutputActivities } from './event-outputs';
import { createScheduleActivities } from './schedules';
import { createMachineRunWriteActivities } from './machine-run-writes';
import { createAuditActivities } from './audit';
import { createHealthProbeActivities } from './health-probes';
import { createErrorNoticeActivities } from './error-notices';
import { createFreezeActivities } from './freeze';
import { createHookNotices } from './hook-notices';
import { createPatchDateTagActivities } from './patch-date-tag';
import { createStandbyActivities } from './standby';
import { createTargetGroupActivities } from './target-groups';
import { createPreviewActivities } from './preview';
import { createMaintenanceActivities } from './maintenance';
import type { CommandEnds } from './command-tracker';

export interface ActivityDeps {
  db: Db;
  config: Config;
  client: Client;
  aws?: AwsClients;
  fetchImpl?: typeof fetch;
  /** End notices from the command events queue (worker/create-worker.ts); unset when event-driven completion is off. */
  commandEnds?: CommandEnds;
}

/**
 * Every activity, built from injected clients so the worker and tests share one construction path. The
 * stores are built here once and handed to each factory: no factory opens collections of its own.
 */
export function createActivities(deps: ActivityDeps) {
  const aws = deps.aws ?? new AwsClients(deps.config);
  const stores = createStores(deps.db);
  const { notify } = createNotifyActivities({
    deliveries: stores.deliveries,
    config: deps.config,
    fetchImpl: deps.fetchImpl,
  });
  const { storeEventReport } = createReportActivities({ reports: stores.reports });
  const { storeCommandLog } = createLogActivities({ logs: stores.logs });
  const outputs = createEventOutputActivities({
    stores,
    notify,
    report: storeEventReport,
    leadHours: deps.config.NOTIFY_INCOMING_LEAD_HOURS,
  });
  const events = createEventActivities({ stores, aws });
  const freeze = createFreezeActivities({ stores, config: deps.config, fetchImpl: deps.fetchImpl });
  const hookNotices = createHookNotices({ notifyEvent: outputs.notifyEvent });
  return {
    notify,
    storeEventReport,
    ...outputs,
    ...events,
    ...createMachineRunWriteActivities({ events, outputs }),
    ...createAuditActivities({ audit: stores.audit }),
    // These two wrap activities of `events` (markMachines, beginEventRun) with their notices: listed after it.
    ...createBulkMarkActivities({ events, outputs, records: stores.events }),
    ...createErrorNoticeActivities({ events, outputs }),
    ...createSsmActivities({
      stores,
      aws,
      config: deps.config,
      storeCommandLog,
      hookNotices,
      commandEnds: deps.commandEnds,
      requesters: commandRequesters(deps.client),
    }),
    ...createHookActivities({
      records: stores.events,
      aws,
      config: deps.config,
      fetchImpl: deps.fetchImpl,
      notices: hookNotices,
    }),
    readHealthGates: createHealthProbeActivities({
      records: stores.events,
      aws,
      config: deps.config,
      fetchImpl: deps.fetchImpl,
    }).readHealthGates,
    ...createPatchDateTagActivities({ records: stores.events, aws }),
    ...createStandbyActivities({ records: stores.events, aws, notifyEvent: outputs.notifyEvent }),
    ...createTargetGroupActivities({ records: stores.events, aws, notifyEvent: outputs.notifyEvent }),
    ...createMaintenanceActivities({
      records: stores.events,
      plans: stores.plans,
      machines: stores.machines,
      config: deps.config,
      fetchImpl: deps.fetchImpl,
    }),
    ...createPreviewActivities({ stores, aws, config: deps.config, fetchImpl: deps.fetchImpl }),
    ...freeze,
    ...createScheduleActivities({
      stores,
      client: deps.client,
      config: deps.config,
      judgeFreeze: freeze.judgeEventFreeze,
    }),
    ...createCommandQueueActivities({ client: deps.client, taskQueue: deps.config.PATCHWAVE_TASK_QUEUE }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
