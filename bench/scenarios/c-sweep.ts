import type { BenchEnv } from '../harness';
import { check, commandLabSeconds, round, runEvents, timed, type RunResult, type Scenario } from './common';

export interface SweepParams {
  sizes: number[];
  speed: number;
}

/** (c) The same event at growing sizes: cost per machine must stay flat, histories within limits. */
export const sweep: Scenario<SweepParams> = {
  name: 'c-sweep',
  title: '(c) scale sweep: 100 / 1,000 / 5,000 / 10,000 machines in one event (zero-length patches)',
  params: (scale) => ({
    // BENCH_SWEEP_SIZES=10000 runs chosen sizes as they are (e.g. the full-size point alone, without --scale 1).
    sizes: process.env.BENCH_SWEEP_SIZES
      ? process.env.BENCH_SWEEP_SIZES.split(',')
          .map((n) => Number(n.trim()))
          .filter((n) => n > 0)
      : [...new Set([100, 1000, 5000, 10_000].map((n) => Math.max(5, Math.round(n * scale))))],
    speed: 10,
  }),
  run: (env: BenchEnv, p) =>
    timed(sweep.name, sweep.title, 'as (a): one command time / speed', async () => {
      const runs: RunResult[] = [];
      for (const n of p.sizes) {
        runs.push(
          await runEvents(env, {
            name: `${sweep.name}-${n}`,
            label: `${n} machines`,
            speed: p.speed,
            machines: n,
            command: { duration_s: 0 },
            idealS: commandLabSeconds(0) / p.speed,
            timeoutMs: Math.max(25 * 60_000, n * 300), // 10,000 machines: 50 min
            params: { machines: n, speed: p.speed },
          }),
        );
      }
      const largest = runs[runs.length - 1];
      // Flat = per-machine costs of the runs of at least a tenth of the largest size stay within 1.5× of each
      // other (below that, fixed costs per event dominate).
      const flatBase = runs.filter((r) => r.metrics.machines * 10 >= largest.metrics.machines);
      const cpuPer = (r: RunResult) => (r.metrics.worker.cpu_s * 1000) / r.metrics.machines;
      const histPer = (r: RunResult) => r.metrics.temporal.history_events_per_machine;
      const cpuSpread = Math.max(...flatBase.map(cpuPer)) / Math.min(...flatBase.map(cpuPer));
      const histSpread = Math.max(...flatBase.map(histPer)) / Math.min(...flatBase.map(histPer));
      const warnings = runs.reduce((n, r) => n + r.metrics.temporal.history_limit_warnings, 0);
      return {
        runs,
        targets: [
          check(
            `${largest.metrics.machines} machines complete, worker RSS < 1 GiB`,
            `${largest.metrics.machines} done in ${largest.metrics.makespan_s} s, peak RSS ${largest.metrics.worker.peak_rss_mib} MiB`,
            largest.metrics.worker.peak_rss_mib < 1024 && largest.metrics.event_statuses.DONE === 1,
          ),
          check(
            `cost per machine flat (≤ 1.5× spread over runs of ≥ ${Math.min(...flatBase.map((r) => r.metrics.machines))} machines)`,
            `worker CPU ${flatBase.map((r) => round(cpuPer(r), 1)).join(' / ')} ms per machine (×${round(cpuSpread)}); history ${flatBase.map(histPer).join(' / ')} events per machine (×${round(histSpread)})`,
            cpuSpread <= 1.5 && histSpread <= 1.5,
          ),
          check(
            'no history-limit warning',
            `${warnings} warning(s); longest run ${Math.max(...runs.map((r) => r.metrics.temporal.max_run_history_length))} events`,
            warnings === 0,
          ),
        ],
      };
    }),
};
