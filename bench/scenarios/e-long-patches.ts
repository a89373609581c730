import type { BenchEnv } from '../harness';
import { check, commandLabSeconds, runEvents, timed, type Scenario } from './common';

export interface LongPatchParams {
  machines: number;
  patchSeconds: number;
  speed: number;
}

/** (e) Long patches: what following a command costs in AWS API calls. */
export const longPatches: Scenario<LongPatchParams> = {
  name: 'e-long-patches',
  title: '(e) 200 machines, 10-minute patches (lab clock)',
  // 200 machines down to BENCH_SCALE 0.1: calls per machine need a fleet big enough for batching to matter.
  params: (scale) => ({
    machines: Math.max(5, Math.round(200 * Math.min(1, scale * 10))),
    patchSeconds: 600,
    speed: 20,
  }),
  run: (env: BenchEnv, p) =>
    timed(
      longPatches.name,
      longPatches.title,
      'every machine at once: (1 lab-s delivery + 600 s) / speed',
      async () => {
        const r = await runEvents(env, {
          name: longPatches.name,
          label: `${p.machines} machines × ${p.patchSeconds} lab-s`,
          speed: p.speed,
          machines: p.machines,
          command: { duration_s: p.patchSeconds },
          idealS: commandLabSeconds(p.patchSeconds) / p.speed,
          timeoutMs: 20 * 60_000,
          params: { ...p },
        });
        const perMachine = r.metrics.aws.calls_per_machine;
        return {
          runs: [r],
          targets: [
            check(
              '≤ 3 AWS API calls per machine',
              `${perMachine} (${JSON.stringify(r.metrics.aws.calls)})`,
              perMachine <= 3,
            ),
          ],
        };
      },
    ),
};
