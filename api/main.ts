import type { AddressInfo } from 'node:net';
import { loadConfig } from '../common/config';
import { connectMongo } from '../store/db';
import { ensureApiIndexes } from '../store/indexes';
import { EventRecords } from '../store/event-records';
import { AuthStore } from '../store/auth';
import { createApp, createLogger } from './app';
import { ensureBootstrap } from './bootstrap';
import { createOrchestrator } from './orchestrator';
import { createReportsPort } from '../store/reports';

async function main() {
  const config = loadConfig();
  const logger = createLogger(config);
  const { client, db } = await connectMongo(config.MONGODB_URI, config.MONGODB_DB);
  // The event indexes and listing keys too (the worker makes them as well): the event listings read those keys,
  // and an API started before any worker on an older database must still list its events (issue 18).
  await Promise.all([ensureApiIndexes(db), new EventRecords(db).ensureIndexes()]);
  const boot = await ensureBootstrap(new AuthStore(db), config);
  const orchestrator = await createOrchestrator({
    temporalAddress: config.TEMPORAL_ADDRESS,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.PATCHWAVE_TASK_QUEUE,
    db,
  });
  const app = createApp({ db, orchestrator, config, logger, reports: createReportsPort(db) });
  const server = app.listen(config.API_PORT, config.API_HOST);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  // Plain stdout lines (not JSON logs): scripts and people wait for them.
  console.log(`API listening on http://${config.API_HOST}:${port}`);
  if (boot.source === 'generated')
    console.log(`Bootstrap admin API key (shown once): ${boot.generatedSecret}`);
  else if (boot.source === 'env')
    console.log(`Bootstrap admin API key from PATCHWAVE_BOOTSTRAP_KEY (id ${boot.keyId})`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await orchestrator.close();
    await client.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e) => {
  console.error(`API failed to start: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
