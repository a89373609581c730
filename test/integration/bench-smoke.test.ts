/**
 * The benchmark, tiny, so it never rots: every scenario's own code (bench/scenarios) with ~20 machines against
 * the run's real Temporal and FerretDB, the lab and a worker inside this process. It checks only that each
 * scenario completes and writes a result file; times are never asserted (they are the benchmark's business).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { BenchEnv } from '../../bench/harness';
import { orchestration } from '../../bench/scenarios/a-orchestration';
import { concurrency } from '../../bench/scenarios/b-concurrency';
import { sweep } from '../../bench/scenarios/c-sweep';
import { parallelHooks } from '../../bench/scenarios/d-parallel-hooks';
import { longPatches } from '../../bench/scenarios/e-long-patches';
import { runApiLoad } from '../../bench/scenarios/f-api-load';
import type { ScenarioResult } from '../../bench/scenarios/common';
import { readResults, resultsMarkdown, runMeta, writeResult } from '../../bench/report';
import { testEnv } from '../helpers/servers';

jest.setTimeout(10 * 60_000);

let env: BenchEnv;
let resultsDir: string;

beforeAll(() => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    /* another suite in this process installed it */
  }
  const t = testEnv();
  resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchwave-bench-smoke-'));
  env = {
    temporalAddress: t.temporalAddress,
    namespace: t.temporalNamespace,
    mongoUri: t.mongoUri,
    worker: { mode: 'inline' },
    workDir: resultsDir,
  };
});

afterAll(() => {
  fs.rmSync(resultsDir, { recursive: true, force: true });
});

function expectCompleted(result: ScenarioResult, machines: number) {
  const file = writeResult(resultsDir, result.scenario, {
    meta: runMeta(0, 'inline', process.cwd()),
    kind: 'events',
    result,
  });
  expect(fs.existsSync(file)).toBe(true);
  const total = result.runs.reduce((n, r) => n + r.metrics.machines, 0);
  expect(total).toBe(machines);
  for (const run of result.runs) {
    expect(Object.keys(run.metrics.event_statuses).every((s) => s.startsWith('DONE'))).toBe(true);
    expect(run.metrics.aws.ssm_calls).toBeGreaterThan(0);
    expect(run.metrics.temporal.event_runs).toBeGreaterThanOrEqual(1);
  }
  expect(result.targets.length).toBeGreaterThan(0);
}

test('(a) orchestration, 20 machines, beside the bare baseline', async () => {
  const result = await orchestration.run(env, { machines: 20, speed: 10 });
  expectCompleted(result, 20);
  const run = result.runs[0];
  expect(run.baseline?.machines).toBe(20);
  expect(run.baseline?.statuses).toEqual({ Success: 20 });
  expect(run.baseline!.machines_per_s).toBeGreaterThan(0);
  expect(run.ratio_to_baseline).toBeGreaterThan(0);
  expect(result.targets[0].measured).toContain('× the bare baseline');
});

test('(b) concurrency-limited, 20 machines, 5 at a time', async () => {
  expectCompleted(
    await concurrency.run(env, { machines: 20, maxConcurrency: 5, patchSeconds: 5, speed: 10 }),
    20,
  );
});

test('(c) sweep, 10 and 20 machines', async () => {
  expectCompleted(await sweep.run(env, { sizes: [10, 20], speed: 10 }), 30);
});

test('(d) parallel events with hooks, 2 × 10 machines', async () => {
  expectCompleted(await parallelHooks.run(env, { events: 2, machinesPerEvent: 10, speed: 10 }), 20);
});

test('(e) long patches, 20 machines', async () => {
  expectCompleted(await longPatches.run(env, { machines: 20, patchSeconds: 60, speed: 20 }), 20);
});

test('(f) API under load, 300 events, and the report renders every result', async () => {
  const result = await runApiLoad(env, {
    events: 300,
    machinesPerEvent: 2,
    plans: 5,
    rate: 20,
    durationS: 2,
  });
  writeResult(resultsDir, result.scenario, {
    meta: runMeta(0, 'inline', process.cwd()),
    kind: 'api',
    result,
  });
  expect(result.endpoints.map((e) => e.name)).toEqual(['GET /api/v1/events', 'GET /api/v1/events/:id']);
  for (const e of result.endpoints) expect(e.requests).toBeGreaterThan(0);
  const md = resultsMarkdown(readResults(resultsDir));
  for (const name of [
    'a-orchestration',
    'b-concurrency',
    'c-sweep',
    'd-parallel-hooks',
    'e-long-patches',
    'GET /api/v1/events/:id',
    '× the bare baseline',
  ])
    expect(md).toContain(name);
});
