import fs from 'node:fs';
import { WF_SERVERS_GLOBAL, type WorkflowTestServers } from './shared';

/** Stops what global-setup started. PATCHWAVE_KEEP_TEST_DATA=1 keeps the server log for a post-mortem. */
export default async function globalTeardown(): Promise<void> {
  const servers = (globalThis as Record<string, unknown>)[WF_SERVERS_GLOBAL] as
    WorkflowTestServers | undefined;
  if (!servers) return;
  delete (globalThis as Record<string, unknown>)[WF_SERVERS_GLOBAL];
  await servers.temporal.stop();
  if (process.env.PATCHWAVE_KEEP_TEST_DATA === '1')
    console.log(`[workflow-test-teardown] kept ${servers.tmpDir}`);
  else fs.rmSync(servers.tmpDir, { recursive: true, force: true });
}
