import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ScenarioResult, TargetCheck } from './scenarios/common';
import type { ApiLoadResult } from './scenarios/f-api-load';
import type { HandoffResult } from './scenarios/g-handoff';

export interface RunMeta {
  commit: string;
  date: string;
  machine: { cpus: number; cpu_model: string; mem_gib: number; node: string; platform: string };
  scale: number;
  worker_mode: 'process' | 'inline';
  /** Worker processes per scenario on its task queue (`--workers`); absent = 1. */
  workers?: number;
}

export type ResultFile = { meta: RunMeta } & (
  | { kind: 'events'; result: ScenarioResult }
  | { kind: 'api'; result: ApiLoadResult }
  | { kind: 'handoff'; result: HandoffResult }
);

export function runMeta(scale: number, workerMode: 'process' | 'inline', repoRoot: string): RunMeta {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    // not a git checkout
  }
  const cpus = os.cpus();
  return {
    commit,
    date: new Date().toISOString(),
    machine: {
      cpus: cpus.length,
      cpu_model: cpus[0]?.model?.trim() ?? 'unknown',
      mem_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
    },
    scale,
    worker_mode: workerMode,
  };
}

export function writeResult(dir: string, name: string, file: ResultFile): string {
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, `${name}.json`);
  fs.writeFileSync(out, `${JSON.stringify(file, null, 2)}\n`);
  return out;
}

export function readResults(dir: string): ResultFile[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as ResultFile)
    .filter((r) => r && (r.kind === 'events' || r.kind === 'api' || r.kind === 'handoff'));
}

const fmt = (n: number | undefined, digits = 1) =>
  n === undefined || Number.isNaN(n) ? '–' : String(Math.round(n * 10 ** digits) / 10 ** digits);
const yes = (t: TargetCheck) => (t.met ? '✅ met' : '❌ not met');

/** The generated part of docs/benchmarks.md: tables from every result file. */
export function resultsMarkdown(results: ResultFile[]): string {
  const lines: string[] = [];
  const metas = results.map((r) => r.meta);
  const commits = [...new Set(metas.map((m) => m.commit.slice(0, 12)))];
  const m = metas[0]?.machine;
  if (m) {
    lines.push(
      `Measured on ${m.cpus} CPU(s) (${m.cpu_model}), ${m.mem_gib} GiB RAM, ${m.platform}, Node ${m.node}; ` +
        `commit ${commits.map((c) => `\`${c}\``).join(', ')}; ${[...new Set(metas.map((x) => x.date.slice(0, 10)))].join(', ')}; ` +
        `scale ${[...new Set(metas.map((x) => x.scale))].join(', ')}; worker ${[...new Set(metas.map((x) => x.worker_mode))].join(', ')}` +
        `${metas.some((x) => (x.workers ?? 1) > 1) ? `; workers per scenario ${[...new Set(metas.map((x) => x.workers ?? 1))].join(', ')}` : ''}.`,
      '',
    );
  }
  const events = results.filter((r): r is Extract<ResultFile, { kind: 'events' }> => r.kind === 'events');
  if (events.length) {
    lines.push(
      '| Scenario | Run | Makespan s (ideal s, ×) | Machines/s | Window open → 1st command ms | Command end → stored status ms p50 / p95 | Worker CPU s | Worker peak RSS MiB | Temporal history events per event / per machine (event runs) | AWS calls per machine (SSM) |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const { result } of events) {
      for (const run of result.runs) {
        const x = run.metrics;
        const first = x.window_to_first_command_ms;
        lines.push(
          `| ${result.scenario} | ${run.label} | ${fmt(x.makespan_s)} (${fmt(run.ideal_s, 2)}, ×${fmt(run.ratio_to_ideal, 2)}) | ${fmt(x.machines_per_s)} | ` +
            `${first.n > 1 ? `${first.p50} (p95 ${first.p95})` : first.max} | ${x.command_end_to_status_ms.p50} / ${x.command_end_to_status_ms.p95} | ` +
            `${fmt(x.worker.cpu_s)} | ${fmt(x.worker.peak_rss_mib, 0)} | ${x.temporal.history_events_per_event} / ${x.temporal.history_events_per_machine} (${x.temporal.event_runs}) | ` +
            `${fmt(x.aws.calls_per_machine, 2)} (${fmt(x.aws.ssm_calls_per_machine, 2)}) |`,
        );
      }
    }
    const withBaseline = events.flatMap(({ result }) =>
      result.runs.filter((run) => run.baseline).map((run) => ({ scenario: result.scenario, run })),
    );
    if (withBaseline.length) {
      lines.push(
        '',
        'Against the bare non-durable baseline, in the same run (a plain script: one SendCommand per machine, GetCommandInvocation polling; same machines, command and lab speed):',
        '',
        '| Scenario | Run | Patchwave machines/s | Bare baseline makespan s / machines/s | Ratio | Baseline SSM calls per machine | Baseline script + lab CPU s |',
        '| --- | --- | --- | --- | --- | --- | --- |',
      );
      for (const { scenario, run } of withBaseline) {
        const b = run.baseline!;
        lines.push(
          `| ${scenario} | ${run.label} | ${fmt(run.metrics.machines_per_s)} | ${fmt(b.makespan_s, 2)} / ${fmt(b.machines_per_s)} | ` +
            `${fmt(run.ratio_to_baseline, 2)} × | ${fmt(b.ssm_calls_per_machine, 2)} | ${fmt(b.script_and_lab_cpu_s)} |`,
        );
      }
      lines.push('');
      for (const { scenario, run } of withBaseline)
        lines.push(
          `${scenario.slice(0, 1) === 'a' ? '(a)' : scenario} ${fmt(run.metrics.machines_per_s)} machines/s = ${fmt(run.ratio_to_baseline, 2)} × the bare baseline (${fmt(run.baseline!.machines_per_s)} machines/s).`,
        );
    }
    const spread = events.flatMap(({ result }) =>
      result.runs.filter((run) => run.worker_spread).map((run) => ({ scenario: result.scenario, run })),
    );
    if (spread.length) {
      const pc = (xs: number[]) => (xs.length ? xs.map((x) => `${fmt(x)} %`).join(' / ') : '–');
      lines.push(
        '',
        'Several workers on one task queue (`--workers`): how the machine runs were spread over them, from sampled machine run histories (the identity that completed each workflow task and started each activity; a machine counts for the worker that completed most of its workflow tasks):',
        '',
        '| Scenario | Run | Workers | Machines run per worker (sampled) | Workflow tasks per worker | Activity tasks per worker |',
        '| --- | --- | --- | --- | --- | --- |',
      );
      for (const { scenario, run } of spread) {
        const w = run.worker_spread!;
        lines.push(
          `| ${scenario} | ${run.label} | ${w.workers}${w.identities.includes('other') ? ' (+ other)' : ''} | ${pc(w.machines_percent)} (${w.sampled_machines}) | ${pc(w.workflow_tasks_percent)} | ${pc(w.activity_tasks_percent)} |`,
        );
      }
    }
    lines.push('', '| Scenario | Target | Measured | |', '| --- | --- | --- | --- |');
    for (const { result } of events)
      for (const t of result.targets)
        lines.push(`| ${result.scenario} | ${t.target} | ${t.measured} | ${yes(t)} |`);
    lines.push(
      '',
      'Where the other CPU went during each run (seconds; Temporal and FerretDB only when the bench started them):',
      '',
    );
    lines.push(
      '| Scenario | Run | Worker | Temporal server | FerretDB | Lab + driver | Statuses |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const { result } of events) {
      for (const run of result.runs) {
        const o = run.metrics.other_cpu_s;
        lines.push(
          `| ${result.scenario} | ${run.label} | ${fmt(run.metrics.worker.cpu_s)} | ${fmt(o.temporal)} | ${fmt(o.mongo)} | ${fmt(o.lab_and_driver)} | ${Object.entries(
            run.metrics.statuses,
          )
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')} |`,
        );
      }
    }
  }
  const api = results.filter((r): r is Extract<ResultFile, { kind: 'api' }> => r.kind === 'api');
  for (const { result } of api) {
    lines.push(
      '',
      `API under load: ${result.stored_events.toLocaleString('en-US')} stored events (${result.stored_machines.toLocaleString('en-US')} event machines), ${result.rate} requests/s for ${result.duration_s} s per endpoint, autocannon on loopback.`,
      '',
      '| Endpoint | Requests | Non-2xx | p50 ms | p90 ms | p99 ms | max ms | Target | |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const e of result.endpoints) {
      const name = e.sequential_only
        ? `${e.name} (too slow for the load run: ${e.requests} requests one at a time)`
        : e.name;
      lines.push(
        `| ${name} | ${e.requests} | ${e.non2xx} | ${e.p50} | ${e.p90} | ${e.p99} | ${e.max} | p99 < 50 ms | ${e.p99 < 50 && e.non2xx === 0 ? '✅ met' : '❌ not met'} |`,
      );
    }
    const alone = result.endpoints.filter((e) => e.alone);
    if (alone.length) {
      lines.push(
        '',
        'Where one request goes, nothing else running (the first page / a detail, one request at a time):',
        '',
        '| Endpoint | Requests | Over HTTP p50 / p99 ms | Store read alone p50 / p99 ms | Rest of the API, p50 | API key look-up from the store (once per key per 2 s) p50 / p99 ms |',
        '| --- | --- | --- | --- | --- | --- |',
      );
      for (const e of alone) {
        const a = e.alone!;
        const rest = Math.max(0, Math.round((a.http.p50 - a.store.p50) * 10) / 10);
        const auth = a.auth ? `${a.auth.p50} / ${a.auth.p99}` : '–';
        lines.push(
          `| ${e.name} | ${a.n} | ${a.http.p50} / ${a.http.p99} | ${a.store.p50} / ${a.store.p99} | ${rest} ms | ${auth} |`,
        );
      }
    }
  }
  const handoffs = results.filter((r): r is Extract<ResultFile, { kind: 'handoff' }> => r.kind === 'handoff');
  for (const { result, meta } of handoffs) {
    lines.push(
      '',
      `Hand-off (${result.scenario}, commit \`${meta.commit.slice(0, 12)}\`): command end → next command sent, from the lab's times; lab at real speed, default polling settings.`,
      '',
      '| Command age s | Machines | Own next command ms p50 / max | Queued request ms p50 / max | AWS calls per machine (3 commands) |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const r of result.runs)
      lines.push(
        `| ${r.age_s} | ${r.machines} | ${r.own_ms.p50} / ${r.own_ms.max} | ${r.queued_ms.p50} / ${r.queued_ms.max} | ${fmt(r.aws_calls_per_machine, 2)} |`,
      );
    for (const t of result.targets) lines.push('', `${t.target}: ${t.measured} (${yes(t)})`);
  }
  return lines.join('\n');
}

const START = '<!-- bench:results:start (generated by npm run bench; edit outside these markers) -->';
const END = '<!-- bench:results:end -->';

/** Replaces the generated block of docs/benchmarks.md, keeping the hand-written text around it. */
export function updateDoc(docFile: string, generated: string): void {
  const block = `${START}\n${generated}\n${END}`;
  let text = fs.existsSync(docFile) ? fs.readFileSync(docFile, 'utf8') : '# Benchmarks\n\n## Results\n\n';
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a >= 0 && b > a) text = text.slice(0, a) + block + text.slice(b + END.length);
  else text = `${text.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(docFile, text);
}
