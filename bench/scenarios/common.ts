import { DELIVERY_S } from '../../lab/state';
import {
  createEvents,
  openStack,
  seedMachines,
  seedPlan,
  waitForEvents,
  type BenchEnv,
  type CommandBehaviour,
  type PlanShape,
  type SeededMachine,
} from '../harness';
import type { BaselineResult } from '../baseline';
import { COLLECTIONS } from '../../store/db';
import { workerSpread, type WorkerSpread } from '../worker-spread';
import { collectEventMetrics, temporalLogOffset, type EventMetrics } from '../metrics';

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
}

export interface RunResult {
  label: string;
  params: Record<string, unknown>;
  ideal_s: number;
  ratio_to_ideal: number;
  metrics: EventMetrics;
  /**
   * Scenario (a): the bare non-durable baseline (bench/baseline.ts) run in the same bench run with the same
   * machines, command and lab speed; absent in other scenarios and in result files written before it existed.
   */
  baseline?: { makespan_s: number; machines_per_s: number } & Partial<BaselineResult>;
  /** This run's machines/s divided by the baseline's. */
  ratio_to_baseline?: number;
  /** With several workers on the task queue (BenchEnv.workers): how the machine runs were spread over them. */
  worker_spread?: WorkerSpread;
}

export interface ScenarioResult {
  scenario: string;
  title: string;
  /** How the ideal makespan is computed. */
  ideal: string;
  started_at: string;
  wall_s: number;
  runs: RunResult[];
  targets: TargetCheck[];
  /** Where the worker's CPU went (node --cpu-prof), when profiled. */
  profile?: import('../profile').ProfileSummary;
}

export interface Scenario<P> {
  name: string;
  title: string;
  /** Parameters at BENCH_SCALE = `scale` (1 = the sizes issue 7 names). */
  params(scale: number): P;
  run(env: BenchEnv, params: P): Promise<ScenarioResult>;
}

/** Lab seconds one command takes: SSM delivery (the lab's fixed 1 s) plus the patch itself. */
export const commandLabSeconds = (durationS: number) => DELIVERY_S + durationS;

export interface EventRunSpec {
  /** Stack name (worker log, profile name). */
  name: string;
  label: string;
  speed: number;
  machines: number;
  command: CommandBehaviour;
  /** Splits the machines into plans; one event per plan. Default: one plan with all of them. */
  plans?: (machines: SeededMachine[]) => PlanShape[];
  lambdas?: string[];
  idealS: number;
  timeoutMs: number;
  params: Record<string, unknown>;
}

/** Seeds a fleet, opens the window of its event(s), waits for the final statuses and measures. */
export async function runEvents(env: BenchEnv, spec: EventRunSpec): Promise<RunResult> {
  const stack = await openStack(env, { name: spec.name, speed: spec.speed });
  try {
    const log = env.log ?? (() => undefined);
    log(`  ${spec.label}: seeding ${spec.machines} machines (lab speed ${spec.speed})`);
    const machines = await seedMachines(stack, spec.machines, spec.command);
    for (const name of spec.lambdas ?? [])
      stack.lab.state.putLambda(name, {
        responses: [{ delay_s: 0, status: 200, body: { code: 200, msg: 'ok', output: '' } }],
      });
    const shapes = spec.plans ? spec.plans(machines) : [{ machines }];
    const planIds: string[] = [];
    for (const shape of shapes) planIds.push(await seedPlan(stack, shape));
    const logOffset = temporalLogOffset(stack);
    const { eventIds, windowStartMs } = await createEvents(stack, planIds);
    log(`  ${spec.label}: ${eventIds.length} event(s) open at ${new Date(windowStartMs).toISOString()}`);
    await waitForEvents(stack, eventIds, { timeoutMs: spec.timeoutMs, total: spec.machines });
    const metrics = await collectEventMetrics(stack, { eventIds, windowStartMs, logOffset });
    const spread =
      stack.workers.length > 1
        ? await workerSpread(
            stack,
            await stack.db
              .collection<{ event_id: string; machine_id: string }>(COLLECTIONS.eventMachines)
              .find({ event_id: { $in: eventIds } }, { projection: { event_id: 1, machine_id: 1 } })
              .toArray(),
          )
        : undefined;
    if (spread)
      log(
        `  ${spec.label}: machines run per worker ${spread.machines_percent.map((x) => `${x} %`).join(' / ')} ` +
          `(${spread.sampled_machines} sampled; workflow tasks ${spread.workflow_tasks_percent.map((x) => `${x} %`).join(' / ')})`,
      );
    const ratio = Math.round((metrics.makespan_s / spec.idealS) * 100) / 100;
    log(
      `  ${spec.label}: makespan ${metrics.makespan_s} s (ideal ${round(spec.idealS)} s, ×${ratio}), ${metrics.machines_per_s} machines/s, ` +
        `worker ${metrics.worker.cpu_s} CPU-s / peak ${metrics.worker.peak_rss_mib} MiB, ${metrics.aws.calls_per_machine} AWS calls/machine`,
    );
    return {
      label: spec.label,
      params: spec.params,
      ideal_s: round(spec.idealS),
      ratio_to_ideal: ratio,
      metrics,
      ...(spread ? { worker_spread: spread } : {}),
    };
  } finally {
    await stack.close();
  }
}

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

export function check(target: string, measured: string, met: boolean): TargetCheck {
  return { target, measured, met };
}

export async function timed(
  name: string,
  title: string,
  ideal: string,
  body: () => Promise<{ runs: RunResult[]; targets: TargetCheck[] }>,
): Promise<ScenarioResult> {
  const t0 = Date.now();
  const startedAt = new Date(t0).toISOString();
  const { runs, targets } = await body();
  return {
    scenario: name,
    title,
    ideal,
    started_at: startedAt,
    wall_s: round((Date.now() - t0) / 1000, 1),
    runs,
    targets,
  };
}

/** Window open → first command: < 1 s on every event (p95 for many events). */
export function firstCommandTarget(r: RunResult): TargetCheck {
  const d = r.metrics.window_to_first_command_ms;
  const worst = d.n > 1 ? d.p95 : d.max;
  return check(
    'window open → first SSM command < 1 s',
    `${worst} ms${d.n > 1 ? ' (p95 over events)' : ''}`,
    worst < 1000,
  );
}
