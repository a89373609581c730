import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { Db } from 'mongodb';
import type { Config } from '../common/config';
import { createPatchwaveWorker } from '../worker/create-worker';
import { processUsage, type ChildMessage, type ParentMessage, type ProcessUsage } from './worker-usage';

/** The worker a scenario runs against; `usage()` is what the benchmark charges to orchestration. */
export interface WorkerHost {
  /** 'process': a child of its own (exact CPU and RSS); 'inline': inside this process (smoke tests). */
  mode: 'process' | 'inline';
  pid: number;
  usage(): Promise<ProcessUsage>;
  /** Stops the worker; returns its usage at the end. */
  stop(): Promise<ProcessUsage>;
}

export interface ForkOptions {
  /** Compiled worker-child.js. */
  script: string;
  env: NodeJS.ProcessEnv;
  execArgv?: string[];
  logFile?: string;
  startTimeoutMs?: number;
}

export async function forkWorker(opts: ForkOptions): Promise<WorkerHost> {
  const child: ChildProcess = fork(opts.script, [], {
    env: opts.env,
    execArgv: opts.execArgv ?? [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const log = opts.logFile ? fs.createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  const tail: string[] = [];
  for (const s of [child.stdout, child.stderr]) {
    s?.on('data', (b: Buffer) => {
      log?.write(b);
      tail.push(b.toString('utf8'));
      if (tail.length > 50) tail.shift();
    });
  }
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let nextId = 1;
  const waiting = new Map<number, (u: ProcessUsage) => void>();
  let stopped: ((u: ProcessUsage) => void) | undefined;
  let failure: string | undefined;

  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker did not start in time:\n${tail.join('')}`)),
      opts.startTimeoutMs ?? 120_000,
    );
    child.on('message', (m: ChildMessage) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        resolve();
      } else if (m.type === 'usage') {
        waiting.get(m.id)?.(m.usage);
        waiting.delete(m.id);
      } else if (m.type === 'stopped') stopped?.(m.usage);
      else if (m.type === 'error') {
        failure = m.message;
        clearTimeout(timer);
        reject(new Error(`worker failed: ${m.message}`));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code}) before it was ready:\n${tail.join('')}`));
    });
  });
  await ready;

  const ask = (msg: ParentMessage) => child.send(msg);
  return {
    mode: 'process',
    pid: child.pid!,
    usage: () =>
      new Promise<ProcessUsage>((resolve, reject) => {
        if (failure || child.exitCode !== null)
          return reject(new Error(`worker is gone: ${failure ?? tail.join('')}`));
        const id = nextId++;
        waiting.set(id, resolve);
        ask({ type: 'usage', id });
      }),
    async stop() {
      const final = new Promise<ProcessUsage>((resolve) => (stopped = resolve));
      if (child.exitCode === null) ask({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      const usage = await Promise.race([final, exited.then(() => undefined)]);
      await exited;
      clearTimeout(timer);
      log?.end();
      if (!usage) throw new Error(`worker exited without reporting its usage:\n${tail.join('')}`);
      return usage;
    },
  };
}

/** A worker inside this process (the CI smoke run): usage is this whole process's, driver included. */
export async function inlineWorker(config: Config, db: Db): Promise<WorkerHost> {
  const worker = await createPatchwaveWorker({ config, db });
  void worker.run();
  return {
    mode: 'inline',
    pid: process.pid,
    usage: async () => processUsage(),
    async stop() {
      await worker.shutdown();
      return processUsage();
    },
  };
}
