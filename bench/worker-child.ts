/**
 * One Patchwave worker in its own process, so a benchmark can charge it exactly the CPU seconds and peak RSS
 * it used. Configured by the environment (common/config.ts) plus:
 *   BENCH_WORKFLOW_BUNDLE   a pre-built workflow bundle (bundling in every worker would dominate its peak RSS)
 *   BENCH_WORKER_OVERRIDES  JSON WorkerOptions overrides (tuning experiments)
 *   BENCH_WORKER_IDENTITY   the identity it reports to Temporal (several workers on one task queue)
 *   BENCH_STORE_TRACE       a file: every store command, grouped by shape with counts and times (bench/store-trace.ts)
 * Talks to its parent over IPC: 'ready', then answers 'usage' and 'stop'.
 */
import { DefaultLogger, Runtime, type WorkerOptions } from '@temporalio/worker';
import { loadConfig } from '../common/config';
import { connectMongo } from '../store/db';
import { createPatchwaveWorker } from '../worker/create-worker';
import { traceStore, writeStoreTrace } from './store-trace';
import { processUsage, sampleHeap, type ParentMessage, type ChildMessage } from './worker-usage';

function send(msg: ChildMessage): void {
  process.send?.(msg);
}

async function main(): Promise<void> {
  sampleHeap();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const config = loadConfig();
  const traceFile = process.env.BENCH_STORE_TRACE;
  const mongo = await connectMongo(
    config.MONGODB_URI,
    config.MONGODB_DB,
    traceFile ? { monitorCommands: true } : {},
  );
  const trace = traceFile ? traceStore(mongo.client) : undefined;
  const overrides = JSON.parse(process.env.BENCH_WORKER_OVERRIDES || '{}') as Partial<WorkerOptions>;
  const bundle = process.env.BENCH_WORKFLOW_BUNDLE;
  const worker = await createPatchwaveWorker({
    config,
    db: mongo.db,
    overrides: {
      ...(bundle ? { workflowBundle: { codePath: bundle }, workflowsPath: undefined } : {}),
      ...(process.env.BENCH_WORKER_IDENTITY ? { identity: process.env.BENCH_WORKER_IDENTITY } : {}),
      ...overrides,
    },
  });
  const running = worker.run();
  running.catch((err: unknown) => {
    send({ type: 'error', message: String((err as Error)?.stack ?? err) });
    process.exit(1);
  });

  let stopping = false;
  process.on('message', (m: ParentMessage) => {
    if (m.type === 'usage') send({ type: 'usage', id: m.id, usage: processUsage() });
    if (m.type === 'stop' && !stopping) {
      stopping = true;
      void (async () => {
        await worker.shutdown();
        await mongo.client.close().catch(() => undefined);
        if (traceFile && trace) writeStoreTrace(traceFile, trace());
        send({ type: 'stopped', usage: processUsage() });
        // --cpu-prof writes its profile on a normal exit only.
        process.exit(0);
      })();
    }
  });
  // The parent is gone: never outlive it.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', pid: process.pid });
}

main().catch((err: unknown) => {
  send({ type: 'error', message: String((err as Error)?.stack ?? err) });
  process.exit(1);
});
