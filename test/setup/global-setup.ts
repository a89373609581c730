import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  provideMongo,
  provideTemporal,
  type MongoServer,
  type TemporalServer,
} from '../../scripts/lib/servers';
import { ENV_FILE_VAR, SERVERS_GLOBAL, type TestServers, type TestServerEnv } from './shared';

/**
 * Starts one FerretDB and one in-memory Temporal dev server for the whole integration run (or attaches to
 * TEMPORAL_ADDRESS / MONGODB_URI when those are set), and publishes their addresses to every test worker
 * through process.env and a JSON file (read by load-env.ts).
 */
export default async function globalSetup(): Promise<void> {
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchwave-test-'));
  const started = await Promise.allSettled([
    provideMongo({ dataDir: path.join(tmpDir, 'ferretdb'), logFile: path.join(tmpDir, 'ferretdb.log') }),
    provideTemporal({ headless: true, logFile: path.join(tmpDir, 'temporal.log') }),
  ]);
  const [mongoResult, temporalResult] = started;
  if (mongoResult.status === 'rejected' || temporalResult.status === 'rejected') {
    // Never leave the other server running when one of them failed.
    await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    const errors = started.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    throw new Error(`Integration test servers did not start (logs in ${tmpDir}):\n${errors.join('\n\n')}`);
  }
  const mongo: MongoServer = mongoResult.value;
  const temporal: TemporalServer = temporalResult.value;

  const env: TestServerEnv = {
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: temporal.namespace,
    MONGODB_URI: mongo.uri,
    PATCHWAVE_TEST_TMP_DIR: tmpDir,
  };
  const envFile = path.join(tmpDir, 'env.json');
  fs.writeFileSync(envFile, JSON.stringify(env, null, 2));
  Object.assign(process.env, env, { [ENV_FILE_VAR]: envFile });

  const servers: TestServers = { mongo, temporal, tmpDir };
  (globalThis as Record<string, unknown>)[SERVERS_GLOBAL] = servers;
  const where = (s: { process?: unknown }) => (s.process ? 'started' : 'external');
  console.log(
    `\n[test-setup] Temporal ${temporal.address} (${where(temporal)}), MongoDB ${mongo.uri} (${where(mongo)}); logs in ${tmpDir}`,
  );
}
