/**
 * `npm run bench`: the scenarios of issue 7 against the real Temporal dev server and FerretDB (started here, or
 * TEMPORAL_ADDRESS / MONGODB_URI), the fleet lab and one worker process per run.
 *
 *   node dist/bench/run.js [--scale 1] [--only a,c,f] [--profile a-orchestration] [--results DIR] [--no-doc]
 *                          [--workers 2]
 *
 * Environment: BENCH_SCALE (default 0.1; 1 = the sizes of issue 7), BENCH_ONLY, BENCH_PROFILE (scenario names whose
 * worker gets `node --cpu-prof`), BENCH_WORKERS (worker processes per scenario on its one task queue, default 1),
 * BENCH_KEEP_WORKDIR=1 (keep logs and server data).
 * Writes bench/results/<scenario>.json and the generated block of docs/benchmarks.md.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { provideMongo, provideTemporal, REPO_ROOT } from '../scripts/lib/servers';
import type { BenchEnv } from './harness';
import { SCENARIOS } from './scenarios';
import { apiLoadParams, runApiLoad } from './scenarios/f-api-load';
import { handoff } from './scenarios/g-handoff';
import { readResults, resultsMarkdown, runMeta, updateDoc, writeResult } from './report';
import { summariseProfile } from './profile';
import { mergeStoreTraces, type StoreTraceRow } from './store-trace';

/**
 * 0.1 of the issue's sizes fits the 30-minute budget on the 2-core machine with FerretDB/SQLite (docs/benchmarks.md
 * explains why the store caps it); BENCH_SCALE=1 runs the issue's sizes (hours there).
 */
const DEFAULT_SCALE = 0.1;

interface Args {
  scale: number;
  only?: string[];
  profile: string[];
  resultsDir: string;
  doc: boolean;
  workers: number;
}

function parseArgs(argv: string[]): Args {
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const list = (v: string | undefined) =>
    v
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined;
  return {
    scale: Number(flag('scale') ?? process.env.BENCH_SCALE ?? DEFAULT_SCALE),
    only: list(flag('only') ?? process.env.BENCH_ONLY),
    profile: list(flag('profile') ?? process.env.BENCH_PROFILE) ?? [],
    resultsDir: path.resolve(flag('results') ?? path.join(REPO_ROOT, 'bench', 'results')),
    doc: !argv.includes('--no-doc'),
    workers: Number(flag('workers') ?? process.env.BENCH_WORKERS ?? 1),
  };
}

/** `--only a,c` matches scenario names by their letter or full name. */
const selected = (only: string[] | undefined, name: string) =>
  !only || only.some((o) => name === o || name.startsWith(`${o}-`));

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (!(args.scale > 0)) throw new Error(`--scale must be a positive number`);
  if (!Number.isInteger(args.workers) || args.workers < 1)
    throw new Error(`--workers must be a whole number ≥ 1`);
  const t0 = Date.now();
  const log = (line: string) =>
    console.log(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchwave-bench-'));
  log(
    `scale ${args.scale}${args.workers > 1 ? `, ${args.workers} workers per scenario` : ''}; logs and server data in ${workDir}`,
  );

  const [mongo, temporal] = await Promise.all([
    provideMongo({ dataDir: path.join(workDir, 'ferretdb'), logFile: path.join(workDir, 'ferretdb.log') }),
    provideTemporal({ headless: true, logFile: path.join(workDir, 'temporal.log'), logLevel: 'warn' }),
  ]);
  log(
    `Temporal ${temporal.address}${temporal.process ? ' (started)' : ''}, MongoDB protocol ${mongo.uri}${mongo.process ? ' (started)' : ''}`,
  );

  const stopAll = async () => {
    await Promise.allSettled([temporal.stop(), mongo.stop()]);
    if (process.env.BENCH_KEEP_WORKDIR !== '1') fs.rmSync(workDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

  try {
    const bundlePath = path.join(workDir, 'workflow-bundle.js');
    const { code } = await bundleWorkflowCode({
      workflowsPath: require.resolve('../workflows'),
      logger: quietLogger,
    });
    fs.writeFileSync(bundlePath, code);
    const env: BenchEnv = {
      temporalAddress: temporal.address,
      namespace: temporal.namespace,
      mongoUri: mongo.uri,
      worker: { mode: 'process', script: path.join(__dirname, 'worker-child.js'), bundlePath },
      workDir,
      serverPids: { temporal: temporal.process?.pid, mongo: mongo.process?.pid },
      temporalLogFile: temporal.process ? path.join(workDir, 'temporal.log') : undefined,
      profile: args.profile,
      workers: args.workers,
      log,
    };
    const meta = {
      ...runMeta(args.scale, 'process', REPO_ROOT),
      ...(args.workers > 1 ? { workers: args.workers } : {}),
    };

    for (const scenario of SCENARIOS) {
      if (!selected(args.only, scenario.name)) continue;
      log(`${scenario.title}`);
      const result = await scenario.run(env, scenario.params(args.scale));
      const profile = args.profile.includes(scenario.name) ? profileOf(workDir, scenario.name) : undefined;
      // Chosen sweep sizes are a result of their own (bench/results/c-sweep-10000.json), beside the default sweep.
      const sizes =
        scenario.name === 'c-sweep' ? process.env.BENCH_SWEEP_SIZES?.replace(/[^0-9]+/g, '-') : undefined;
      const file = sizes ? `${scenario.name}-${sizes}` : scenario.name;
      writeResult(args.resultsDir, file, {
        meta,
        kind: 'events',
        result: profile ? { ...result, profile } : result,
      });
      for (const t of result.targets) log(`  ${t.met ? 'MET    ' : 'NOT MET'} ${t.target}: ${t.measured}`);
    }
    if (selected(args.only, 'f-api-load')) {
      log('(f) API under load');
      const result = await runApiLoad(env, apiLoadParams(args.scale));
      writeResult(args.resultsDir, result.scenario, { meta, kind: 'api', result });
      for (const t of result.targets) log(`  ${t.met ? 'MET    ' : 'NOT MET'} ${t.target}: ${t.measured}`);
    }
    if (selected(args.only, handoff.name)) {
      log(handoff.title);
      const result = await handoff.run(env, handoff.params(args.scale));
      writeResult(args.resultsDir, result.scenario, { meta, kind: 'handoff', result });
      for (const t of result.targets) log(`  ${t.met ? 'MET    ' : 'NOT MET'} ${t.target}: ${t.measured}`);
    }
    if (args.doc) {
      updateDoc(path.join(REPO_ROOT, 'docs', 'benchmarks.md'), resultsMarkdown(readResults(args.resultsDir)));
      log('docs/benchmarks.md updated');
    }
    log(`done in ${((Date.now() - t0) / 60_000).toFixed(1)} min`);
  } finally {
    await stopAll();
  }
}

/**
 * The profile of the busiest thread (main: activities and the SDK; others: workflow threads) of each worker, and
 * the store commands the workers sent, by shape, costliest first (summed over the workers).
 */
function profileOf(workDir: string, name: string) {
  const dir = path.join(workDir, 'profiles', name);
  if (!fs.existsSync(dir)) return undefined;
  const store = mergeStoreTraces(
    fs
      .readdirSync(dir)
      .filter((f) => /^store-\d+\.json$/.test(f))
      .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as StoreTraceRow[]),
  );
  const all = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => ({ ...summariseProfile(path.join(dir, f)), file: f }))
    .sort((a, b) => b.sampled_ms - a.sampled_ms);
  return all.length
    ? {
        ...all[0],
        threads: all.map((p) => ({ file: p.file, sampled_ms: p.sampled_ms, top_areas: p.areas.slice(0, 5) })),
        ...(store.length ? { store_commands: store.slice(0, 25) } : {}),
      }
    : undefined;
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
};

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
