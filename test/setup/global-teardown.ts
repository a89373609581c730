import fs from 'node:fs';
import { SERVERS_GLOBAL, type TestServers } from './shared';

/** Stops what global-setup started. Set PATCHWAVE_KEEP_TEST_DATA=1 to keep the logs and data for a post-mortem. */
export default async function globalTeardown(): Promise<void> {
  const servers = (globalThis as Record<string, unknown>)[SERVERS_GLOBAL] as TestServers | undefined;
  if (!servers) return;
  delete (globalThis as Record<string, unknown>)[SERVERS_GLOBAL];
  await Promise.all([servers.temporal.stop(), servers.mongo.stop()]);
  if (process.env.PATCHWAVE_KEEP_TEST_DATA === '1') console.log(`[test-teardown] kept ${servers.tmpDir}`);
  else fs.rmSync(servers.tmpDir, { recursive: true, force: true });
}
