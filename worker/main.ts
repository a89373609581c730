import { Runtime, DefaultLogger } from '@temporalio/worker';
import { loadConfig } from '../common/config';
import { connectMongo } from '../store/db';
import { createPatchwaveWorker } from './create-worker';
import { ensurePingSchedule } from './ping-schedule';

async function main() {
  const config = loadConfig();
  Runtime.install({ logger: new DefaultLogger(config.LOG_LEVEL === 'debug' ? 'DEBUG' : 'INFO') });
  const { client, db } = await connectMongo(config.MONGODB_URI, config.MONGODB_DB);
  const w = await createPatchwaveWorker({ config, db });
  // Every machine's ping_status is refreshed by a Temporal Schedule (visible in the UI); each worker start keeps
  // it at the configured interval.
  await ensurePingSchedule(w.client, {
    taskQueue: config.PATCHWAVE_TASK_QUEUE,
    everySeconds: config.MACHINE_PING_INTERVAL_SECONDS,
  });
  console.log(`worker polling task queue "${config.PATCHWAVE_TASK_QUEUE}" on ${config.TEMPORAL_ADDRESS}`);
  // The SDK shuts the worker down on SIGINT/SIGTERM; wait for in-flight tasks, then close the store.
  await w.run();
  await w.shutdown();
  await client.close();
}

main().catch((e) => {
  console.error(`worker failed: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
