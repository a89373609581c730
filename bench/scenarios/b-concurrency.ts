import type { BenchEnv } from '../harness';
import { check, commandLabSeconds, firstCommandTarget, runEvents, timed, type Scenario } from './common';

export interface ConcurrencyParams {
  machines: number;
  maxConcurrency: number;
  patchSeconds: number;
  speed: number;
}

/** (b) A concurrency-limited event: the makespan should be the waves of patches and little else. */
export const concurrency: Scenario<ConcurrencyParams> = {
  name: 'b-concurrency',
  title: '(b) 1,000 machines, 60 s patches, max_concurrency 100',
  params: (scale) => ({
    machines: Math.max(10, Math.round(1000 * scale)),
    maxConcurrency: Math.max(1, Math.round(100 * scale)),
    patchSeconds: 60,
    speed: 10,
  }),
  run: (env: BenchEnv, p) =>
    timed(
      concurrency.name,
      concurrency.title,
      "ceil(machines / max_concurrency) waves × (1 lab-s SSM delivery + patch) / speed; the issue's 10 × 60 s plus the lab's delivery second",
      async () => {
        const waves = Math.ceil(p.machines / p.maxConcurrency);
        const r = await runEvents(env, {
          name: concurrency.name,
          label: `${p.machines} machines, max_concurrency ${p.maxConcurrency}`,
          speed: p.speed,
          machines: p.machines,
          command: { duration_s: p.patchSeconds },
          plans: (machines) => [{ machines, maxConcurrency: p.maxConcurrency }],
          idealS: (waves * commandLabSeconds(p.patchSeconds)) / p.speed,
          timeoutMs: 30 * 60_000,
          params: { ...p, waves },
        });
        return {
          runs: [r],
          targets: [
            check('makespan ≤ 1.1 × ideal', `× ${r.ratio_to_ideal}`, r.ratio_to_ideal <= 1.1),
            firstCommandTarget(r),
          ],
        };
      },
    ),
};
