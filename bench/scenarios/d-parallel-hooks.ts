import type { BenchEnv } from '../harness';
import { commandLabSeconds, firstCommandTarget, runEvents, timed, type Scenario } from './common';

export interface ParallelHooksParams {
  events: number;
  machinesPerEvent: number;
  speed: number;
}

const HOOK = 'bench-hook';

/** (d) Many small events at once, each with global and host hooks (lab Lambda, answering at once). */
export const parallelHooks: Scenario<ParallelHooksParams> = {
  name: 'd-parallel-hooks',
  title: '(d) 50 events in parallel, 20 machines each, global + host pre/post Lambda hooks',
  params: (scale) => ({ events: Math.max(2, Math.round(50 * scale)), machinesPerEvent: 20, speed: 10 }),
  run: (env: BenchEnv, p) =>
    timed(
      parallelHooks.name,
      parallelHooks.title,
      'hooks answer at once: one command time / speed',
      async () => {
        const total = p.events * p.machinesPerEvent;
        const r = await runEvents(env, {
          name: parallelHooks.name,
          label: `${p.events} events × ${p.machinesPerEvent} machines`,
          speed: p.speed,
          machines: total,
          command: { duration_s: 0 },
          lambdas: [HOOK],
          plans: (machines) =>
            Array.from({ length: p.events }, (_, i) => ({
              machines: machines.slice(i * p.machinesPerEvent, (i + 1) * p.machinesPerEvent),
              globalHooks: { pre: [HOOK], post: [HOOK] },
              hostHooks: { pre: [HOOK], post: [HOOK] },
            })),
          idealS: commandLabSeconds(0) / p.speed,
          timeoutMs: 20 * 60_000,
          params: { ...p, hooks_per_machine: 2, hooks_per_event: 2 },
        });
        return { runs: [r], targets: [firstCommandTarget(r)] };
      },
    ),
};
