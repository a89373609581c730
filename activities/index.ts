import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import type { Config } from '../common/config';
import { AwsClients } from './aws';
import { createEventActivities } from './events';
import { createHookActivities } from './hooks';
import { createMachineOwnerActivities } from './machine-owner';
import { createSsmActivities } from './ssm';

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
  return {
    ...createEventActivities({ db: deps.db, aws }),
    ...createSsmActivities({ db: deps.db, aws, config: deps.config }),
    ...createHookActivities({ db: deps.db, aws, config: deps.config, fetchImpl: deps.fetchImpl }),
    ...createMachineOwnerActivities({ client: deps.client, taskQueue: deps.config.PATCHWAVE_TASK_QUEUE }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
