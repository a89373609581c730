import fs from 'node:fs';

/**
 * Summary of a V8 `.cpuprofile` (node --cpu-prof): self time per function and per area (our modules by
 * directory, dependencies by package, Node internals, GC). Time spent in native threads (the Temporal core
 * in Rust, libuv) is not sampled; compare the total with the worker's CPU seconds to see that share.
 */
export interface ProfileSummary {
  file: string;
  sampled_ms: number;
  idle_ms: number;
  areas: { area: string; self_ms: number; share: number }[];
  top_functions: { fn: string; where: string; self_ms: number; share: number }[];
  /** Every thread's profile when the worker ran workflows in threads of their own. */
  threads?: {
    file: string;
    sampled_ms: number;
    top_areas: { area: string; self_ms: number; share: number }[];
  }[];
}

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: CpuNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export function areaOf(url: string, fn: string): string {
  if (fn === '(idle)') return '(idle)';
  if (fn === '(garbage collector)') return '(garbage collector)';
  if (fn === '(program)') return '(program: native, incl. Temporal core calls)';
  if (!url) return '(native / builtins)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  // The workflow bundle runs in a vm context with its own URL.
  if (/workflow-bundle|webpack/.test(url)) return 'workflow bundle (workflows + SDK workflow runtime)';
  const m = /\/(activities|workflows|store|worker|common|domain|api|lab|bench)\//.exec(url);
  return m ? `patchwave ${m[1]}/` : url.split('/').slice(-2).join('/');
}

export function summariseProfile(file: string, top = 15): ProfileSummary {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  if (p.samples && p.timeDeltas) {
    for (let i = 0; i < p.samples.length; i++)
      selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  } else {
    const per =
      (p.endTime - p.startTime) /
      Math.max(
        1,
        p.nodes.reduce((n, x) => n + (x.hitCount ?? 0), 0),
      );
    for (const n of p.nodes) selfUs.set(n.id, (n.hitCount ?? 0) * per);
  }
  const areas = new Map<string, number>();
  const fns = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const fn = functionName || '(anonymous)';
    if (fn === '(idle)') {
      idle += us;
      continue;
    }
    total += us;
    const area = areaOf(url, fn);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const where = url
      ? `${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(dist|main)\//, '')}:${lineNumber + 1}`
      : '';
    const key = `${fn}@${where}`;
    const cur = fns.get(key) ?? { fn, where, us: 0 };
    cur.us += us;
    fns.set(key, cur);
  }
  const share = (us: number) => Math.round((us / Math.max(1, total)) * 1000) / 10;
  return {
    file,
    sampled_ms: Math.round(total / 1000),
    idle_ms: Math.round(idle / 1000),
    areas: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([area, us]) => ({ area, self_ms: Math.round(us / 1000), share: share(us) })),
    top_functions: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ fn: f.fn, where: f.where, self_ms: Math.round(f.us / 1000), share: share(f.us) })),
  };
}
