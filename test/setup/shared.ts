import type { MongoServer, TemporalServer } from '../../scripts/lib/servers';

/** Names shared by global-setup, global-teardown and load-env (kept here so they cannot drift apart). */
export const ENV_FILE_VAR = 'PATCHWAVE_TEST_ENV_FILE';
export const SERVERS_GLOBAL = '__patchwaveTestServers';

export interface TestServerEnv {
  TEMPORAL_ADDRESS: string;
  TEMPORAL_NAMESPACE: string;
  MONGODB_URI: string;
  /** Scratch directory of this run: server logs, FerretDB data. */
  PATCHWAVE_TEST_TMP_DIR: string;
}

export interface TestServers {
  mongo: MongoServer;
  temporal: TemporalServer;
  tmpDir: string;
}
