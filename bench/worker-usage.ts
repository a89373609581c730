import fs from 'node:fs';

/** CPU and memory of one process, as the benchmark reports them. */
export interface ProcessUsage {
  cpu_user_s: number;
  cpu_system_s: number;
  cpu_s: number;
  /** Peak resident set (VmHWM) since the process started. */
  peak_rss_mib: number;
  rss_mib: number;
  /** Largest V8 heap in use seen by a 1 s sampler (worker child only): tells heap growth from native memory. */
  peak_heap_used_mib?: number;
}

let peakHeap = 0;
/** Samples the V8 heap once a second for `processUsage().peak_heap_used_mib`. */
export function sampleHeap(): void {
  const t = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 1000);
  t.unref();
}

export type ParentMessage = { type: 'usage'; id: number } | { type: 'stop' };
export type ChildMessage =
  | { type: 'ready'; pid: number }
  | { type: 'usage'; id: number; usage: ProcessUsage }
  | { type: 'stopped'; usage: ProcessUsage }
  | { type: 'error'; message: string };

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** This process, including the threads of the Temporal core (Rust) that share it. */
export function processUsage(): ProcessUsage {
  const r = process.resourceUsage();
  return {
    cpu_user_s: round(r.userCPUTime / 1e6),
    cpu_system_s: round(r.systemCPUTime / 1e6),
    cpu_s: round((r.userCPUTime + r.systemCPUTime) / 1e6),
    peak_rss_mib: round(r.maxRSS / 1024, 1),
    rss_mib: round(process.memoryUsage().rss / 2 ** 20, 1),
    ...(peakHeap ? { peak_heap_used_mib: round(peakHeap / 2 ** 20, 1) } : {}),
  };
}

const CLK_TCK = 100; // USER_HZ on Linux

/**
 * Another process's CPU seconds (utime + stime, from /proc/<pid>/stat) and peak RSS (VmHWM), summed over the
 * process and its descendants: servers started under a watchdog shell run one level down. Undefined when
 * /proc is not there (not Linux) or the process is gone.
 */
export function procTreeUsage(pid: number): ProcessUsage | undefined {
  const pids = [pid, ...descendants(pid)];
  let ticks = 0;
  let sys = 0;
  let hwm = 0;
  let rss = 0;
  let seen = false;
  for (const p of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
      sys += Number(fields[12]);
      const status = fs.readFileSync(`/proc/${p}/status`, 'utf8');
      hwm += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      seen = true;
    } catch {
      // gone, or no /proc
    }
  }
  if (!seen) return undefined;
  return {
    cpu_user_s: round((ticks - sys) / CLK_TCK),
    cpu_system_s: round(sys / CLK_TCK),
    cpu_s: round(ticks / CLK_TCK),
    peak_rss_mib: round(hwm / 1024, 1),
    rss_mib: round(rss / 1024, 1),
  };
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    let children = '';
    try {
      children = fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const c of children.split(' ').filter(Boolean).map(Number)) out.push(c, ...descendants(c));
  }
  return out;
}

/** `after − before` for CPU; peak and current memory are taken from `after`. */
export function usageDelta(
  before: ProcessUsage | undefined,
  after: ProcessUsage | undefined,
): ProcessUsage | undefined {
  if (!after) return undefined;
  if (!before) return after;
  return {
    cpu_user_s: round(after.cpu_user_s - before.cpu_user_s),
    cpu_system_s: round(after.cpu_system_s - before.cpu_system_s),
    cpu_s: round(after.cpu_s - before.cpu_s),
    peak_rss_mib: after.peak_rss_mib,
    rss_mib: after.rss_mib,
    ...(after.peak_heap_used_mib !== undefined ? { peak_heap_used_mib: after.peak_heap_used_mib } : {}),
  };
}
