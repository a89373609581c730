import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { MongoClient } from 'mongodb';
import { SEARCH_ATTRIBUTE_FLAGS } from '../../domain/search-attributes';
import { freePort, spawnManaged, waitUntil, type ManagedProcess } from './processes';

/**
 * Starts the two servers Patchwave needs outside production (Temporal CLI dev server, FerretDB on SQLite)
 * from the binaries scripts/setup.sh builds, or attaches to servers named by TEMPORAL_ADDRESS / MONGODB_URI.
 * Used by scripts/dev-stack.ts, the jest global setup and the benchmarks.
 */

export const DEFAULT_START_TIMEOUT_MS = Number(process.env.PATCHWAVE_SERVER_START_TIMEOUT_MS) || 60_000;
const PORT_RETRIES = 3;

/** The repository root, whether this runs from scripts/lib (ts) or dist/scripts/lib (compiled). */
export const REPO_ROOT = findRepoRoot(__dirname);

function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'domain'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`cannot find the Patchwave repository root above ${from}`);
  }
}

/** The FerretDB build setup makes (scripts/ferretdb-build): upstream plus our patches. */
export const FERRETDB_BUILD = fs
  .readFileSync(path.join(REPO_ROOT, 'scripts', 'ferretdb-build'), 'utf8')
  .trim();

/**
 * `.tools/bin/<name>` if built (FerretDB: `.tools/bin/ferretdb-<build>`, one file per build because worktrees on
 * different commits share .tools), else the first `<name>` on PATH.
 */
export function findBinary(name: 'temporal' | 'ferretdb'): string {
  const candidates = [
    path.join(REPO_ROOT, '.tools', 'bin', name === 'ferretdb' ? `ferretdb-${FERRETDB_BUILD}` : name),
    ...(process.env.PATH ?? '')
      .split(path.delimiter)
      .filter(Boolean)
      .map((d) => path.join(d, name)),
  ];
  for (const file of candidates) {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not this one
    }
  }
  throw new Error(
    `${name} binary not found in .tools/bin or on PATH. Run \`npm run setup\` (scripts/setup.sh) to build it.`,
  );
}

export interface ServerOutput {
  /** Append the server's output to this file. */
  logFile?: string;
  /** Receive each output line (the dev stack prefixes and prints them). */
  onLine?: (line: string) => void;
  timeoutMs?: number;
}

// ---------------------------------------------------------------------------------------------------------
// FerretDB

export interface FerretOptions extends ServerOutput {
  /** SQLite files and FerretDB state live here; created if missing. */
  dataDir: string;
  /** Default: a free port. */
  port?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export interface MongoServer {
  /** mongodb://host:port/ (no database: callers pick one). */
  uri: string;
  port: number;
  /** Undefined when attached to an external server. */
  process?: ManagedProcess;
  stop(): Promise<void>;
}

export async function startFerret(opts: FerretOptions): Promise<MongoServer> {
  const dataDir = path.resolve(opts.dataDir);
  fs.mkdirSync(path.join(dataDir, 'state'), { recursive: true });
  const binary = findBinary('ferretdb');
  return withPortRetries(opts.port, async (port) => {
    const uri = `mongodb://127.0.0.1:${port}/`;
    const proc = spawnManaged({
      name: 'ferretdb',
      command: binary,
      args: [
        '--handler=sqlite',
        `--sqlite-url=file:${dataDir}/`,
        `--state-dir=${path.join(dataDir, 'state')}`,
        `--listen-addr=127.0.0.1:${port}`,
        // The debug HTTP server would take 127.0.0.1:8088 in every instance; telemetry would call the internet.
        '--debug-addr=-',
        '--telemetry=disable',
        `--log-level=${(opts.logLevel ?? 'warn').toUpperCase()}`,
      ],
      cwd: dataDir,
      logFile: opts.logFile,
      onLine: opts.onLine,
    });
    await waitReady(proc, () =>
      waitForMongo(uri, { timeoutMs: opts.timeoutMs ?? DEFAULT_START_TIMEOUT_MS, process: proc }),
    );
    return { uri, port, process: proc, stop: async () => void (await proc.stop()) };
  });
}

export async function waitForMongo(
  uri: string,
  opts: { timeoutMs: number; process?: ManagedProcess },
): Promise<void> {
  await waitUntil(() => pingMongo(uri), { what: `MongoDB protocol server at ${uri}`, ...opts });
}

async function pingMongo(uri: string): Promise<boolean> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 1_000, connectTimeoutMS: 1_000 });
  try {
    await client.connect();
    const res = await client.db('admin').command({ ping: 1 });
    return res.ok === 1;
  } finally {
    await client.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Temporal

export interface TemporalOptions extends ServerOutput {
  /** gRPC port; default: a free port. */
  port?: number;
  /** Web UI port; default: a free port. Ignored when headless. */
  uiPort?: number;
  /** Persist to this SQLite file; default: in memory (lost on stop). */
  dbFile?: string;
  /** No Web UI (tests, benchmarks). */
  headless?: boolean;
  /** Namespace to create besides "default" (and to check readiness against). */
  namespace?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Dynamic config on top of TEMPORAL_DYNAMIC_CONFIG (e.g. a low continue-as-new threshold for tests). */
  dynamicConfig?: Record<string, string>;
}

export interface TemporalServer {
  address: string;
  namespace: string;
  /** Set when this process started the server with its UI. */
  uiUrl?: string;
  process?: ManagedProcess;
  stop(): Promise<void>;
}

/** Dynamic config every Patchwave Temporal needs (the dev server is started with it). */
export const TEMPORAL_DYNAMIC_CONFIG: Record<string, string> = {
  'frontend.enableUpdateWorkflowExecution': 'true',
  'frontend.enableUpdateWorkflowExecutionAsyncAccepted': 'true',
};

export async function startTemporal(opts: TemporalOptions = {}): Promise<TemporalServer> {
  const binary = findBinary('temporal');
  const namespace = opts.namespace ?? 'default';
  if (opts.dbFile) fs.mkdirSync(path.dirname(path.resolve(opts.dbFile)), { recursive: true });
  return withPortRetries(opts.port, async (port) => {
    const uiPort = opts.headless ? undefined : (opts.uiPort ?? (await freePort()));
    const args = [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--log-level',
      opts.logLevel ?? 'warn',
    ];
    args.push(...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)]));
    if (opts.dbFile) args.push('--db-filename', path.resolve(opts.dbFile));
    if (namespace !== 'default') args.push('--namespace', namespace);
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTE_FLAGS))
      args.push('--search-attribute', `${name}=${type}`);
    for (const [key, value] of Object.entries({ ...TEMPORAL_DYNAMIC_CONFIG, ...opts.dynamicConfig }))
      args.push('--dynamic-config-value', `${key}=${value}`);

    const address = `127.0.0.1:${port}`;
    const proc = spawnManaged({
      name: 'temporal',
      command: binary,
      args,
      logFile: opts.logFile,
      onLine: opts.onLine,
    });
    await waitReady(proc, () =>
      waitForTemporal(address, namespace, {
        timeoutMs: opts.timeoutMs ?? DEFAULT_START_TIMEOUT_MS,
        process: proc,
      }),
    );
    return {
      address,
      namespace,
      uiUrl: uiPort === undefined ? undefined : `http://127.0.0.1:${uiPort}`,
      process: proc,
      stop: async () => void (await proc.stop()),
    };
  });
}

/** Ready = answers gRPC, the namespace exists and all our search attributes are visible on it. */
export async function waitForTemporal(
  address: string,
  namespace: string,
  opts: { timeoutMs: number; process?: ManagedProcess },
): Promise<void> {
  await waitUntil(
    async () => {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await connection.workflowService.getSystemInfo({});
        await connection.workflowService.describeNamespace({ namespace });
        return (await missingSearchAttributes(connection, namespace)).length === 0;
      } finally {
        await connection.close();
      }
    },
    { what: `Temporal at ${address} (namespace ${namespace})`, ...opts },
  );
}

async function missingSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  return Object.keys(SEARCH_ATTRIBUTE_FLAGS).filter((name) => !customAttributes?.[name]);
}

const GRPC_ALREADY_EXISTS = 6;

/**
 * Registers our search attributes on a server we did not start (idempotent: existing ones are kept,
 * "already exists" from a concurrent caller is ignored), then waits until they are all visible.
 */
export async function ensureSearchAttributes(
  address: string,
  namespace: string,
  timeoutMs = DEFAULT_START_TIMEOUT_MS,
) {
  const connection = await Connection.connect({ address, connectTimeout: 10_000 });
  try {
    const missing = await missingSearchAttributes(connection, namespace);
    if (missing.length > 0) {
      const searchAttributes = Object.fromEntries(
        missing.map((name) => [
          name,
          encodeSearchAttributeIndexedValueType(cliTypeToSdk(SEARCH_ATTRIBUTE_FLAGS[name]))!,
        ]),
      );
      try {
        await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
      } catch (e) {
        if ((e as { code?: number }).code !== GRPC_ALREADY_EXISTS) throw e;
      }
    }
  } finally {
    await connection.close();
  }
  await waitForTemporal(address, namespace, { timeoutMs });
}

function cliTypeToSdk(cliType: string) {
  const sdk = cliType.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase(); // KeywordList → KEYWORD_LIST
  if (!['TEXT', 'KEYWORD', 'INT', 'DOUBLE', 'BOOL', 'DATETIME', 'KEYWORD_LIST'].includes(sdk)) {
    throw new Error(`unknown search attribute type ${cliType}`);
  }
  return sdk as 'KEYWORD';
}

// ---------------------------------------------------------------------------------------------------------
// "Use the configured server, or start one"

/** TEMPORAL_ADDRESS set → attach (and register search attributes); else start a dev server. */
export async function provideTemporal(
  opts: TemporalOptions & { env?: NodeJS.ProcessEnv } = {},
): Promise<TemporalServer> {
  const env = opts.env ?? process.env;
  const address = env.TEMPORAL_ADDRESS;
  if (!address) return startTemporal(opts);
  const namespace = env.TEMPORAL_NAMESPACE || opts.namespace || 'default';
  await ensureSearchAttributes(address, namespace, opts.timeoutMs);
  return { address, namespace, stop: async () => undefined };
}

/** MONGODB_URI set → attach (after a ping); else start FerretDB in `dataDir`. */
export async function provideMongo(opts: FerretOptions & { env?: NodeJS.ProcessEnv }): Promise<MongoServer> {
  const uri = (opts.env ?? process.env).MONGODB_URI;
  if (!uri) return startFerret(opts);
  await waitForMongo(uri, { timeoutMs: opts.timeoutMs ?? DEFAULT_START_TIMEOUT_MS });
  return { uri, port: Number(new URL(uri).port) || 27017, stop: async () => undefined };
}

// ---------------------------------------------------------------------------------------------------------

class PortTakenError extends Error {}

/** Stops the process if it never became ready; turns "address in use" into a retryable error. */
async function waitReady(proc: ManagedProcess, wait: () => Promise<void>): Promise<void> {
  try {
    await wait();
  } catch (e) {
    await proc.stop(2_000);
    if (/address already in use/i.test(proc.recentOutput(50))) throw new PortTakenError((e as Error).message);
    throw e;
  }
}

/** With a fixed port, one attempt; with a picked port, a few (another process may grab it in between). */
async function withPortRetries<T>(
  fixedPort: number | undefined,
  start: (port: number) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? (await freePort());
    try {
      return await start(port);
    } catch (e) {
      if (!(e instanceof PortTakenError) || fixedPort !== undefined || attempt >= PORT_RETRIES) throw e;
    }
  }
}
