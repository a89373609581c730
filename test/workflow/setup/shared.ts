import type { TemporalServer } from '../../../scripts/lib/servers';

/**
 * Names shared by the workflow project's global setup, teardown and load-env. Its own variable names (not
 * TEMPORAL_ADDRESS): when one jest run selects this project and the integration project together, neither
 * global setup may attach to the other's server.
 */
export const WF_ENV_FILE_VAR = 'PATCHWAVE_WF_TEST_ENV_FILE';
export const WF_SERVERS_GLOBAL = '__patchwaveWorkflowTestServers';

/**
 * The dev server suggests continue-as-new from this many history events (default 4,096), so an event of a
 * few dozen machines hands over mid-run within seconds. Small events (under ~10 machines) stay below it; one of 40 passes it.
 */
export const SUGGEST_CONTINUE_AS_NEW_AT = 150;

export interface WorkflowTestEnv {
  PATCHWAVE_WF_TEMPORAL_ADDRESS: string;
  PATCHWAVE_WF_TEMPORAL_NAMESPACE: string;
  /** The workflow bundle, built once per run the way the worker builds it (workflowsPath: workflows/). */
  PATCHWAVE_WF_BUNDLE: string;
  /** Set when this run started the server with SUGGEST_CONTINUE_AS_NEW_AT (not when attached to one). */
  PATCHWAVE_WF_SUGGEST_CAN_AT?: string;
}

export interface WorkflowTestServers {
  temporal: TemporalServer;
  tmpDir: string;
}
