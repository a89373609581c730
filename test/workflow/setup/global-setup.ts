import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { provideTemporal } from '../../../scripts/lib/servers';
import {
  SUGGEST_CONTINUE_AS_NEW_AT,
  WF_ENV_FILE_VAR,
  WF_SERVERS_GLOBAL,
  type WorkflowTestEnv,
  type WorkflowTestServers,
} from './shared';

/**
 * Workflow tests: one Temporal dev server (no store, no lab) and one workflow bundle for the whole run.
 * PATCHWAVE_WF_TEMPORAL_ADDRESS attaches to a running server instead (the continue-as-new test then needs
 * that server started with limit.historyCount.suggestContinueAsNew=SUGGEST_CONTINUE_AS_NEW_AT).
 */
export default async function globalSetup(): Promise<void> {
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchwave-wftest-'));
  const external = process.env.PATCHWAVE_WF_TEMPORAL_ADDRESS;
  const [temporal, bundle] = await Promise.allSettled([
    provideTemporal({
      headless: true,
      logFile: path.join(tmpDir, 'temporal.log'),
      env: { TEMPORAL_ADDRESS: external, TEMPORAL_NAMESPACE: process.env.PATCHWAVE_WF_TEMPORAL_NAMESPACE },
      dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': String(SUGGEST_CONTINUE_AS_NEW_AT) },
    }),
    // Bundled once here rather than by each test file's Worker.create (webpack takes seconds each time).
    bundleWorkflowCode({
      workflowsPath: require.resolve('../../../workflows'),
      logger: new DefaultLogger('WARN'),
    }),
  ]);
  if (temporal.status === 'rejected' || bundle.status === 'rejected') {
    if (temporal.status === 'fulfilled') await temporal.value.stop();
    const errors = [temporal, bundle].flatMap((r) =>
      r.status === 'rejected' ? [String((r.reason as Error)?.stack ?? r.reason)] : [],
    );
    throw new Error(`Workflow test setup failed (logs in ${tmpDir}):\n${errors.join('\n\n')}`);
  }
  const bundlePath = path.join(tmpDir, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, bundle.value.code);

  const env: WorkflowTestEnv = {
    PATCHWAVE_WF_TEMPORAL_ADDRESS: temporal.value.address,
    PATCHWAVE_WF_TEMPORAL_NAMESPACE: temporal.value.namespace,
    PATCHWAVE_WF_BUNDLE: bundlePath,
    ...(external ? {} : { PATCHWAVE_WF_SUGGEST_CAN_AT: String(SUGGEST_CONTINUE_AS_NEW_AT) }),
  };
  const envFile = path.join(tmpDir, 'env.json');
  fs.writeFileSync(envFile, JSON.stringify(env, null, 2));
  Object.assign(process.env, env, { [WF_ENV_FILE_VAR]: envFile });
  const servers: WorkflowTestServers = { temporal: temporal.value, tmpDir };
  (globalThis as Record<string, unknown>)[WF_SERVERS_GLOBAL] = servers;
  console.log(
    `\n[workflow-test-setup] Temporal ${temporal.value.address} (${external ? 'external' : 'started'}); logs in ${tmpDir}`,
  );
}
