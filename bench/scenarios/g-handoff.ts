import { ACTOR, openStack, seedMachines, waitForEvents, type BenchEnv, type BenchStack } from '../harness';
import { COLLECTIONS } from '../../store/db';
import { PlanInput } from '../../domain/plan';
import { PlanStore } from '../../store/plans';
import { newId } from '../../common/ids';
import { check, round, type TargetCheck } from './common';
import { TERMINAL_EVENT_STATUSES } from '../../lab/sqs';

/**
 * (g) Hand-off (issue 13): how long a machine stays idle between the end of one SSM command and the sending of
 * the next one waiting for it, at a short and a long command age. Two hand-offs per machine:
 *
 * - own: event A patches the machine (AGE s), then runs its post host script hook (AGE s): the requester's
 *   next command on the machine;
 * - queued: event B's window opens while A's hook runs, so B's patch request queues behind the hook.
 *
 * The lab runs at real speed and the worker with `npm run dev`'s default polling (SSM_POLL_MIN_MS 2 s,
 * SSM_POLL_MAX_MS 60 s, SSM_WAIT_POLL_MS 1 s): the sweep alone notices an end up to ~10 % of the command's
 * age late, which is what the hand-off must not depend on. Measured from the lab's own times: the next
 * command's `requested_at` minus the previous command's `ended_at`.
 *
 * BENCH_COMMAND_EVENTS=1 runs it with event-driven completion on: the lab's EventBridge-like rule puts each
 * terminal invocation event on a lab SQS queue the worker long-polls (PATCHWAVE_COMMAND_EVENTS_QUEUE_URL);
 * BENCH_SSM_WAIT_POLL_MS overrides the close watch's pace (to see what the events allow it to save).
 */
export interface HandoffParams {
  machines: number;
  agesS: number[];
  commandEvents: boolean;
  waitPollMs?: number;
}

export interface HandoffRun {
  age_s: number;
  machines: number;
  /** Event-driven completion on (lab SQS queue + EventBridge-like rule). */
  command_events: boolean;
  ssm_wait_poll_ms: number;
  /** Requester's own next command (patch → post host script hook), ms. */
  own_ms: Dist;
  /** A request queued behind the running command (hook → next event's patch), ms. */
  queued_ms: Dist;
  aws_calls_per_machine: number;
  aws_calls: Record<string, number>;
}

export interface HandoffResult {
  scenario: string;
  title: string;
  started_at: string;
  wall_s: number;
  runs: HandoffRun[];
  targets: TargetCheck[];
}

interface Dist {
  n: number;
  p50: number;
  max: number;
}

const dist = (xs: number[]): Dist => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: s[Math.floor((s.length - 1) / 2)] ?? NaN, max: s.at(-1) ?? NaN };
};

/** `npm run dev`'s defaults (common/config.ts), whatever the lab speed. */
const DEFAULT_POLLING = {
  SSM_POLL_MIN_MS: '2000',
  SSM_POLL_MAX_MS: '60000',
  SSM_WAIT_POLL_MS: '1000',
  SSM_UNKNOWN_GRACE_MS: '300000',
};
const BUCKET = 'bench-handoff';
const SCRIPT = 'post-check.sh';
const TARGET_MS = 2_000;

export const handoff = {
  name: 'g-handoff',
  title: '(g) hand-off: command end → next command sent, short and long commands',
  params: (scale: number): HandoffParams => ({
    machines: Math.max(3, Math.round(50 * scale)),
    agesS: [10, 60],
    commandEvents: process.env.BENCH_COMMAND_EVENTS === '1',
    ...(process.env.BENCH_SSM_WAIT_POLL_MS ? { waitPollMs: Number(process.env.BENCH_SSM_WAIT_POLL_MS) } : {}),
  }),
  async run(env: BenchEnv, p: HandoffParams): Promise<HandoffResult> {
    const t0 = Date.now();
    const runs: HandoffRun[] = [];
    for (const age of p.agesS) runs.push(await runAge(env, p, age));
    const all = runs.flatMap((r) => [r.own_ms, r.queued_ms]);
    const worstP50 = Math.max(...all.map((d) => d.p50));
    return {
      scenario: handoff.name,
      title: handoff.title,
      started_at: new Date(t0).toISOString(),
      wall_s: round((Date.now() - t0) / 1000, 1),
      runs,
      targets: [
        check(
          `command end → next command sent ≈ ${TARGET_MS / 1000} s at any command age (p50)`,
          runs.map((r) => `${r.age_s} s: own ${r.own_ms.p50} / queued ${r.queued_ms.p50} ms`).join('; '),
          worstP50 <= TARGET_MS,
        ),
      ],
    };
  },
};

async function runAge(env: BenchEnv, p: HandoffParams, ageS: number): Promise<HandoffRun> {
  const log = env.log ?? (() => undefined);
  const machines = p.machines;
  const polling = {
    ...DEFAULT_POLLING,
    ...(p.waitPollMs ? { SSM_WAIT_POLL_MS: String(p.waitPollMs) } : {}),
  };
  const stack = await openStack(env, {
    name: `g-handoff-${ageS}s`,
    speed: 1,
    workerEnv: polling,
    labSetup: p.commandEvents
      ? (lab) => {
          // The operator's EventBridge rule and queue, as docs/operations.md#command-events sets them up.
          lab.state.sqs.createQueue('patchwave-command-events');
          lab.state.sqs.setRule({
            queue: 'patchwave-command-events',
            statuses: TERMINAL_EVENT_STATUSES,
            region: 'us-east-1',
          });
          return { PATCHWAVE_COMMAND_EVENTS_QUEUE_URL: `${lab.url}/123456789012/patchwave-command-events` };
        }
      : undefined,
  });
  try {
    // A's patch and A's hook last AGE s; B's patch is instant.
    const fleet = await seedMachines(stack, machines, [
      { duration_s: ageS },
      { duration_s: ageS },
      { duration_s: 0 },
    ]);
    stack.lab.state.putObject(BUCKET, SCRIPT, '#!/bin/sh\necho post-check ok\n', 'text/plain');
    const planA = await plan(stack, fleet, `s3://${BUCKET}/${SCRIPT}`);
    const planB = await plan(stack, fleet);
    // A opens in 3 s; B while A's hooks run (half-way through them).
    const startA = Math.ceil((Date.now() + 3_000) / 1000) * 1000;
    const startB = startA + Math.round(ageS * 1500) + 1000;
    const endOf = (start: number) => new Date(start + 6 * 3600_000).toISOString();
    const a = await stack.orchestrator.createEvent(
      planA,
      new Date(startA).toISOString(),
      endOf(startA),
      ACTOR,
    );
    const b = await stack.orchestrator.createEvent(
      planB,
      new Date(startB).toISOString(),
      endOf(startB),
      ACTOR,
    );
    log(`  ${machines} machines, ${ageS} s commands: events open at ${new Date(startA).toISOString()}`);
    await waitForEvents(stack, [a.id, b.id], { timeoutMs: (3 * ageS + 120) * 1000, total: 2 * machines });

    const own: number[] = [];
    const queued: number[] = [];
    for (const m of fleet) {
      const cmds = [...(stack.lab.state.machineCommands(m.ssmId) ?? [])].sort(
        (x, y) => Date.parse(x.requested_at) - Date.parse(y.requested_at),
      );
      if (cmds.length !== 3 || cmds.some((c) => !c.ended_at))
        throw new Error(`${m.ssmId}: expected 3 ended commands, got ${JSON.stringify(cmds)}`);
      const gap = (i: number) => Date.parse(cmds[i].requested_at) - Date.parse(cmds[i - 1].ended_at!);
      own.push(gap(1));
      queued.push(gap(2));
    }
    const { calls, total_calls: total } = stack.lab.state.stats() as {
      calls: Record<string, number>;
      total_calls: number;
    };
    const run: HandoffRun = {
      age_s: ageS,
      machines,
      command_events: p.commandEvents,
      ssm_wait_poll_ms: Number(polling.SSM_WAIT_POLL_MS),
      own_ms: dist(own),
      queued_ms: dist(queued),
      aws_calls_per_machine: round(total / machines),
      aws_calls: calls,
    };
    log(
      `  ${ageS} s commands${p.commandEvents ? ' (command events on)' : ''}: own next command p50 ${run.own_ms.p50} ms (max ${run.own_ms.max}), ` +
        `queued request p50 ${run.queued_ms.p50} ms (max ${run.queued_ms.max}), ${run.aws_calls_per_machine} AWS calls/machine`,
    );
    return run;
  } finally {
    await stack.close();
  }
}

/** A plan of the whole fleet, with a post host script hook when `script` is given (stored as the API would). */
async function plan(stack: BenchStack, fleet: { id: string }[], script?: string): Promise<string> {
  const id = newId('pln');
  const input = PlanInput.parse({
    name: `bench-handoff-${id.slice(4)}`,
    cron: '0 3 * * 0',
    window_hours: 6,
    machines: fleet.map((m) => ({
      machine_id: m.id,
      ...(script ? { post_host_hooks: [{ type: 'script', source: script }] } : {}),
    })),
    enabled: false,
  });
  const now = new Date().toISOString();
  await stack.db.collection<Record<string, unknown> & { _id: string }>(COLLECTIONS.plans).insertOne({
    ...PlanStore.withDerived(input),
    _id: id,
    customer_id: ACTOR.customer_id,
    created_at: now,
    updated_at: now,
  });
  return id;
}
