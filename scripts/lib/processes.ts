import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

/**
 * Child-process plumbing shared by the dev stack, the test harness and the benchmarks:
 * spawn a long-running program, keep its recent output for error messages, stop it cleanly,
 * and make sure it never outlives the Node process that started it.
 */

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Short name used in messages ("temporal", "api"). */
  name: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with every complete output line (stdout and stderr). */
  onLine?: (line: string) => void;
  /** All raw output is appended here as well. */
  logFile?: string;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile?: string;
  /** Resolves once the program has exited; never rejects. */
  readonly exited: Promise<ExitInfo>;
  hasExited(): boolean;
  /** The last `lines` lines of output, for error messages. */
  recentOutput(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. Safe to call twice. */
  stop(graceMs?: number): Promise<ExitInfo>;
}

const RECENT_LINES_KEPT = 200;
const live = new Set<ManagedProcess & { kill(signal: NodeJS.Signals): void }>();
let exitHookInstalled = false;

/*
 * The program runs under a tiny sh wrapper in its own process group. The wrapper reads our end of a pipe on
 * stdin: when this Node process dies for any reason (even SIGKILL, which runs no exit handlers), the pipe
 * closes and the wrapper sends SIGTERM to the program. Signalling the group reaches the program directly.
 */
const WATCHDOG = [
  'exec 3<&0',
  '"$@" </dev/null 3<&- &',
  'child=$!',
  `trap 'kill -TERM "$child" 2>/dev/null' TERM INT HUP`,
  // The watcher must not hold our stdout/stderr pipes, or 'close' would wait for it.
  '( cat <&3; kill -TERM "$child" ) >/dev/null 2>&1 &',
  'rc=0',
  'while :; do wait "$child"; rc=$?; kill -0 "$child" 2>/dev/null || break; done',
  'exit "$rc"',
].join('\n');

function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort for normal exits and uncaught errors; the watchdog covers the rest.
  process.on('exit', () => {
    for (const p of live) p.kill('SIGTERM');
  });
}

export function spawnManaged(opts: SpawnOptions): ManagedProcess {
  installExitHook();
  const child = spawn('sh', ['-c', WATCHDOG, opts.name, opts.command, ...opts.args], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  if (child.pid === undefined) throw new Error(`could not spawn ${opts.command}`);
  const pid = child.pid;

  const recent: string[] = [];
  const log = opts.logFile ? fs.createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  const collect = (stream: NodeJS.ReadableStream) => {
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      log?.write(chunk);
      const lines = (partial + chunk.toString('utf8')).split(/\r?\n/);
      partial = lines.pop() ?? '';
      for (const line of lines) emit(line);
    });
    stream.on('end', () => {
      if (partial) emit(partial);
      partial = '';
    });
  };
  const emit = (line: string) => {
    recent.push(line);
    if (recent.length > RECENT_LINES_KEPT) recent.shift();
    opts.onLine?.(line);
  };
  collect(child.stdout);
  collect(child.stderr);

  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.on('close', (code, signal) => {
      exitInfo = { code, signal };
      live.delete(handle);
      child.stdin.destroy();
      log?.end();
      resolve(exitInfo);
    });
  });
  // Writes to a closed stdin would otherwise crash the parent with EPIPE.
  child.stdin.on('error', () => undefined);

  const kill = (signal: NodeJS.Signals) => {
    if (exitInfo) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };

  let stopping: Promise<ExitInfo> | undefined;
  const handle = {
    name: opts.name,
    pid,
    logFile: opts.logFile,
    exited,
    hasExited: () => exitInfo !== undefined,
    recentOutput: (lines = 30) => recent.slice(-lines).join('\n'),
    kill,
    stop(graceMs = 10_000): Promise<ExitInfo> {
      stopping ??= (async () => {
        if (exitInfo) return exitInfo;
        kill('SIGTERM');
        const timer = setTimeout(() => kill('SIGKILL'), graceMs);
        const info = await exited;
        clearTimeout(timer);
        // The program is gone; also take down anything it left in its group.
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // group already empty
        }
        return info;
      })();
      return stopping;
    },
  };
  live.add(handle);
  return handle;
}

/** Signals every process started here that is still running (e.g. SIGKILL on a second Ctrl-C). */
export function killAllManaged(signal: NodeJS.Signals): void {
  for (const p of live) p.kill(signal);
}

export function describeExit(info: ExitInfo): string {
  return info.signal ? `killed by ${info.signal}` : `exit code ${info.code}`;
}

/** A TCP port nobody listens on right now (the OS picks it; another process could still take it). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export interface WaitOptions {
  /** What we are waiting for, for the timeout message ("Temporal at 127.0.0.1:7233"). */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Fail at once, with its output, if this process exits while we wait. */
  process?: ManagedProcess;
}

/**
 * Polls `probe` until it returns true. Errors thrown by the probe count as "not yet" and the last one is
 * reported on timeout, together with the last lines of the process's output.
 */
export async function waitUntil(probe: () => Promise<boolean>, opts: WaitOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 250;
  let lastError: unknown;
  for (;;) {
    if (opts.process?.hasExited()) {
      const info = await opts.process.exited;
      throw new Error(
        `${opts.what}: ${opts.process.name} exited (${describeExit(info)}) before it was ready.` +
          outputTail(opts.process),
      );
    }
    try {
      if (await probe()) return;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError ? ` Last error: ${(lastError as Error).message ?? lastError}.` : '';
      throw new Error(
        `${opts.what} was not ready within ${Math.round(opts.timeoutMs / 1000)} s.${why}` +
          (opts.process ? outputTail(opts.process) : ''),
      );
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

function outputTail(p: ManagedProcess): string {
  const tail = p.recentOutput(30);
  const where = p.logFile ? ` (full log: ${p.logFile})` : '';
  return tail ? `\nLast output of ${p.name}${where}:\n${tail}` : `\n${p.name} printed nothing${where}.`;
}
