import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { Config } from '../common/config';
import { AwsClients } from './aws';
import { createEventActivities } from './events';
import { createHookActivities } from './hooks';
import { createMachineOwnerActivities } from './machine-owner';
import { createSsmActivities } from './ssm';
import { createNotifyActivities } from './notify';
import { createReportActivities } from './report';
import { createLogActivities } from './logs';
import { createEventOutputActivities } from './event-outputs';
import { createScheduleActivities } from './schedules';
import { createMachineStepActivities } from './machine-steps';

export interface ActivityDeps {
  db: Db;
  config: Config;
  client: Client;
  aws?: AwsClients;
  fetchImpl?: typeof fetch;
}

/** Every activity, built from injected clients so the worker and tests share one construction path. */
export function createActivities(deps: ActivityDeps) {
  const aws = deps.aws ?? new AwsClients(deps.config);
  const { notify } = createNotifyActivities({ db: deps.db, config: deps.config, fetchImpl: deps.fetchImpl });
  const { storeEventReport } = createReportActivities({ db: deps.db });
  const { storeCommandLog } = createLogActivities({ db: deps.db });
  const outputs = createEventOutputActivities({
    db: deps.db,
    notify,
    report: storeEventReport,
    leadHours: deps.config.NOTIFY_INCOMING_LEAD_HOURS,
  });
  const events = createEventActivities({ db: deps.db, aws });
  return {
    notify,
    storeEventReport,
    ...outputs,
    ...events,
    ...createMachineStepActivities({ events, outputs }),
    ...createSsmActivities({ db: deps.db, aws, config: deps.config, storeCommandLog }),
    ...createHookActivities({ db: deps.db, aws, config: deps.config, fetchImpl: deps.fetchImpl }),
    ...createScheduleActivities({ db: deps.db, client: deps.client, config: deps.config }),
    ...createMachineOwnerActivities({ client: deps.client, taskQueue: deps.config.PATCHWAVE_TASK_QUEUE }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
