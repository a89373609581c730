import { Runtime, DefaultLogger } from '@temporalio/worker';
import { loadConfig } from '../common/config';
import { connectMongo } from '../store/db';
import { createPatchwaveWorker } from './create-worker';

async function main() {
  const config = loadConfig();
  Runtime.install({ logger: new DefaultLogger(config.LOG_LEVEL === 'debug' ? 'DEBUG' : 'INFO') });
  const { client, db } = await connectMongo(config.MONGODB_URI, config.MONGODB_DB);
  const w = await createPatchwaveWorker({ config, db });
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
