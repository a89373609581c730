/**
 * The chaos run's fleet and what the contract says must come of it (docs/behaviour.md#final-status, #event-run). Every event gets its
 * own lab functions (one per hook step, so a function's invocation count is the step's call count) and its
 * own machines, except a few shared machines that several events patch at once (the machine command queue
 * must serialise them). Outcomes are scripted per machine, so the expected statuses are exact.
 */
import { randomBytes } from 'node:crypto';
import type { ChaosStack } from '../helpers/chaos';

export interface ExpectedEvent {
  planId: string;
  kind: string;
  status: string;
  machines: Record<string, string>;
  /** Global hook runs expected on the event: name → code class (2xx or 500). */
  hooks: Record<string, 'ok' | 'fail'>;
  /**
   * A `halted` event: its health gate's CloudWatch alarm is in ALARM from the start, so it halts before its
   * first machine; the run lets a worker kill pass while it is HALTED, then sets the alarm OK and resumes it.
   */
  haltedAlarm?: string;
  /** A `halted` event's machines in the lab: none may receive a command while the event is HALTED. */
  haltedSsmIds?: string[];
  eventId?: string;
}

export interface Scenario {
  events: ExpectedEvent[];
  /** ssm machine id → how many SSM commands (patch + script hooks) it must receive over the whole run. */
  commandsPerMachine: Map<string, number>;
  /** Each function stands for one hook step: how often it must be called (0 or 1). */
  hookFunctions: { kind: 'lambdas' | 'azure'; name: string; expectedCalls: number }[];
}

type Rnd = () => number;

interface Cmd {
  duration_s: number;
  outcome: 'success' | 'no_updates' | 'failed';
  installed?: string[];
  reboot_s?: number;
  stdout?: string;
}

/** The event kinds, in the order the full run cycles through them (`halted` is every tenth event). */
export const EVENT_KINDS = [
  'all-good',
  'one-failed',
  'pre-hook-fails',
  'offline',
  'host-hook-fails',
  'halted',
];

/** `only`: every event is of that kind (`npm run chaos -- --only halted`); otherwise the full mix. */
export async function buildScenario(
  stack: ChaosStack,
  rnd: Rnd,
  eventCount = 20,
  only?: string,
): Promise<Scenario> {
  const ACCOUNT = '123456789012';
  const between = (lo: number, hi: number) => Math.round(lo + rnd() * (hi - lo));
  const tag = () => randomBytes(3).toString('hex');
  const commandsPerMachine = new Map<string, number>();
  const hookFunctions: Scenario['hookFunctions'] = [];

  async function machine(commands: Cmd[] | 'offline', fields: Record<string, unknown> = {}) {
    const ssmId = `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
    await stack.lab_('PUT', `/_lab/machines/${ssmId}`, {
      platform: 'Linux',
      online: commands !== 'offline',
      commands: commands === 'offline' ? [{ duration_s: 1, outcome: 'success' }] : commands,
    });
    const r = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
      name: `chaos-${tag()}`,
      access: { ssm_machine_id: ssmId, region: 'us-east-1' },
      reboot_policy: 'NEVER',
      ...fields,
    });
    if (r.status !== 201) throw new Error(`machine: ${r.status} ${JSON.stringify(r.body)}`);
    commandsPerMachine.set(ssmId, 0);
    return { id: r.body.id, ssmId };
  }
  const expectCommands = (ssmId: string, n: number) =>
    commandsPerMachine.set(ssmId, (commandsPerMachine.get(ssmId) ?? 0) + n);

  async function lambda(code: number, calls: number) {
    const name = `chaos-fn-${tag()}`;
    await stack.lab_('PUT', `/_lab/lambdas/${name}`, {
      responses: [
        {
          delay_s: between(1, 3),
          status: 200,
          body: { code, msg: code === 200 ? 'ok' : 'refused by hook', output: `out-${name}` },
        },
      ],
    });
    hookFunctions.push({ kind: 'lambdas', name, expectedCalls: calls });
    return { type: 'lambda', source: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}` };
  }
  async function azure(code: number, calls: number, method: 'GET' | 'POST' = 'POST') {
    const name = `chaos-az-${tag()}`;
    const key = `k${tag()}`;
    await stack.lab_('PUT', `/_lab/azure/${name}`, {
      code: key,
      responses: [
        {
          delay_s: between(1, 2),
          status: 200,
          body: { code, msg: code === 200 ? 'ok' : 'refused by hook', output: '' },
        },
      ],
    });
    hookFunctions.push({ kind: 'azure', name, expectedCalls: calls });
    return { type: 'azure', source: `${stack.lab.url}/_lab/azure/${name}?code=${key}`, method };
  }

  const script = `s3://chaos-scripts/${tag()}/check.sh`;
  await stack.lab_('PUT', `/_lab/s3/${script.slice('s3://'.length)}`, '#!/bin/sh\necho ok\n');

  // Long enough that every event is still running while most of the chaos happens.
  const ok = (): Cmd => ({
    duration_s: between(90, 180),
    outcome: 'success',
    installed: ['openssl-3.0.13', 'curl-8.5.0'],
  });

  // Machines several events patch at the same time: always success, so the order they are served in does not matter.
  const shared = await Promise.all(
    [0, 1, 2, 3].map(() => machine([{ ...ok(), duration_s: between(40, 80) }])),
  );

  const events: ExpectedEvent[] = [];
  for (let i = 0; i < eventCount; i++) {
    // Every tenth event halts on a health gate and waits, HALTED, across worker kills (issue 16).
    const kind = only ?? (i % 10 === 9 ? 'halted' : EVENT_KINDS[i % 5]);
    let haltedAlarm: string | undefined;
    let haltedSsmIds: string[] | undefined;
    let healthGates: unknown;
    const machines: Record<string, unknown>[] = [];
    const expected: Record<string, string> = {};
    const hooks: ExpectedEvent['hooks'] = {};
    let status: string;
    const pre: unknown[] =
      kind === 'pre-hook-fails' ? [await lambda(500, 1), await lambda(200, 1)] : [await lambda(200, 1)];
    const post: unknown[] = [await azure(200, kind === 'pre-hook-fails' ? 0 : 1)];
    hooks.pre_0 = kind === 'pre-hook-fails' ? 'fail' : 'ok';
    if (kind === 'pre-hook-fails') hooks.pre_1 = 'ok';
    else hooks.post_0 = 'ok';

    switch (kind) {
      case 'all-good': {
        const a = await machine([ok()]);
        const b = await machine([{ ...ok(), outcome: 'no_updates', installed: [] }]);
        const c = await machine(
          [
            { ...ok(), reboot_s: between(15, 30) },
            { duration_s: 3, outcome: 'success', stdout: 'ok' },
          ],
          { reboot_policy: 'IF_NEEDED' },
        );
        const s = shared[i % shared.length];
        machines.push(
          { machine_id: a.id, order: 0, pre_host_hooks: [await lambda(200, 1)] },
          { machine_id: b.id, order: 1, post_host_hooks: [await azure(200, 1, 'GET')] },
          { machine_id: c.id, order: 2, post_host_hooks: [{ type: 'script', source: script }] },
          { machine_id: s.id, order: 2 },
        );
        Object.assign(expected, {
          [a.id]: 'SUCCESS',
          [b.id]: 'SUCCESS_NO_UPDATES',
          [c.id]: 'SUCCESS',
          [s.id]: 'SUCCESS',
        });
        expectCommands(a.ssmId, 1);
        expectCommands(b.ssmId, 1);
        expectCommands(c.ssmId, 2);
        expectCommands(s.ssmId, 1);
        status = 'DONE';
        break;
      }
      case 'one-failed': {
        const a = await machine([ok()]);
        const b = await machine([{ ...ok(), outcome: 'failed', installed: [] }]);
        const c = await machine([ok()]);
        const s = shared[(i + 1) % shared.length];
        machines.push(
          { machine_id: a.id, order: 0 },
          { machine_id: b.id, order: 0, post_host_hooks: [await lambda(200, 1)] },
          { machine_id: c.id, order: 1 },
          { machine_id: s.id, order: 2 },
        );
        Object.assign(expected, {
          [a.id]: 'SUCCESS',
          [b.id]: 'FAILED',
          [c.id]: 'SUCCESS',
          [s.id]: 'SUCCESS',
        });
        for (const m of [a, b, c, s]) expectCommands(m.ssmId, 1);
        status = 'DONE_PARTIAL';
        break;
      }
      case 'pre-hook-fails': {
        const a = await machine([ok()]);
        const b = await machine([ok()]);
        machines.push(
          { machine_id: a.id, order: 0, pre_host_hooks: [await lambda(200, 0)] },
          { machine_id: b.id, order: 1 },
        );
        Object.assign(expected, { [a.id]: 'OMITTED', [b.id]: 'OMITTED' });
        status = 'DONE_ERROR';
        break;
      }
      case 'offline': {
        const a = await machine([ok()]);
        const b = await machine('offline');
        const c = await machine([ok()]);
        machines.push(
          { machine_id: a.id, order: 0 },
          { machine_id: b.id, order: 0 },
          { machine_id: c.id, order: 1, pre_host_hooks: [await lambda(200, 1)] },
        );
        Object.assign(expected, { [a.id]: 'SUCCESS', [b.id]: 'NOT_AVAILABLE', [c.id]: 'SUCCESS' });
        expectCommands(a.ssmId, 1);
        expectCommands(c.ssmId, 1);
        status = 'DONE_PARTIAL';
        break;
      }
      case 'halted': {
        // Halts at the gate reading before its first group; nothing may start until the run resumes it.
        haltedAlarm = `chaos-alarm-${tag()}`;
        await stack.lab_('PUT', `/_lab/cloudwatch/alarms/${haltedAlarm}`, {
          state: 'ALARM',
          reason: 'chaos: service degraded',
        });
        healthGates = {
          probes: [{ type: 'cloudwatch_alarm', name: 'chaos alarm', alarm_names: [haltedAlarm] }],
          interval_s: 5,
        };
        const a = await machine([ok()]);
        const b = await machine([ok()]);
        machines.push({ machine_id: a.id, order: 0 }, { machine_id: b.id, order: 1 });
        Object.assign(expected, { [a.id]: 'SUCCESS', [b.id]: 'SUCCESS' });
        haltedSsmIds = [a.ssmId, b.ssmId];
        expectCommands(a.ssmId, 1);
        expectCommands(b.ssmId, 1);
        status = 'DONE';
        break;
      }
      default: {
        // A failed pre host hook: that machine is OMITTED and no further machine starts; post hooks still run.
        const a = await machine([ok()]);
        const b = await machine([ok()]);
        machines.push(
          { machine_id: a.id, order: 0, pre_host_hooks: [await azure(500, 1)] },
          { machine_id: b.id, order: 1 },
        );
        Object.assign(expected, { [a.id]: 'OMITTED', [b.id]: 'OMITTED' });
        status = 'DONE_ERROR';
      }
    }
    const r = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
      name: `chaos-${i}-${kind}`,
      cron: '0 3 1 1 *',
      window_hours: 2,
      enabled: false,
      pre_hooks: pre,
      post_hooks: post,
      machines,
      ...(healthGates ? { health_gates: healthGates } : {}),
    });
    if (r.status !== 201) throw new Error(`plan: ${r.status} ${JSON.stringify(r.body)}`);
    events.push({
      planId: r.body.id,
      kind,
      status,
      machines: expected,
      hooks,
      ...(haltedAlarm ? { haltedAlarm, haltedSsmIds } : {}),
    });
  }
  return { events, commandsPerMachine, hookFunctions };
}
