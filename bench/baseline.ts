/**
 * The bare, non-durable baseline of scenario (a) (issue 18 item 4): what a plain script gets from the same lab
 * with the same machines and the same command, the way seed 004's SSM document patches (send
 * AWS-RunPatchBaseline, wait for it) — no Temporal, no store, nothing survives a crash. One SendCommand per
 * machine with the real @aws-sdk/client-ssm, then GetCommandInvocation polling until the invocation ends;
 * at most BASELINE_CONCURRENCY calls to the lab in flight. (a)'s machines/s is quoted as a ratio to it.
 */
import { randomUUID } from 'node:crypto';
import {
  GetCommandInvocationCommand,
  SendCommandCommand,
  SSMClient,
  type GetCommandInvocationCommandOutput,
} from '@aws-sdk/client-ssm';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createLab } from '../lab/server';
import { baselineCommand, documentStepName } from '../domain/patch-command';
import { loadLabFleet, scaledSsmEnv, selfUsage, type CommandBehaviour } from './harness';
import { usageDelta } from './worker-usage';

/** Calls to the lab in flight at once: a sensible, bounded fan-out for a script (and the lab's one process). */
export const BASELINE_CONCURRENCY = 64;

export interface BaselineResult {
  machines: number;
  /** First SendCommand sent → last invocation seen ended, seconds. */
  makespan_s: number;
  machines_per_s: number;
  /** Final SSM invocation statuses seen. */
  statuses: Record<string, number>;
  concurrency: number;
  /** Interval between GetCommandInvocation calls for one command, real ms (Patchwave's minimum, scaled). */
  poll_ms: number;
  ssm_calls_per_machine: number;
  /** CPU of this process (the script and the lab together), seconds. */
  script_and_lab_cpu_s: number;
}

const ENDED = new Set([
  'Success',
  'Failed',
  'Cancelled',
  'TimedOut',
  'DeliveryTimedOut',
  'ExecutionTimedOut',
  'Undeliverable',
  'Terminated',
  'InvalidPlatform',
  'AccessDenied',
]);

/** A counting semaphore: at most `n` of the wrapped calls run at once. */
function limiter(n: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((resolve) => queue.push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runBaseline(opts: {
  machines: number;
  speed: number;
  command: CommandBehaviour;
  timeoutMs: number;
  concurrency?: number;
  log?: (line: string) => void;
}): Promise<BaselineResult> {
  const concurrency = opts.concurrency ?? BASELINE_CONCURRENCY;
  const pollMs = Number(scaledSsmEnv(opts.speed).SSM_POLL_MIN_MS);
  const lab = await createLab({ speed: opts.speed });
  const ssm = new SSMClient({
    region: 'us-east-1',
    endpoint: lab.url,
    credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' },
    // As Patchwave's clients (activities/aws.ts): timeouts and the SDK's bounded retries.
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
  });
  try {
    const ids = loadLabFleet(lab, opts.machines, opts.command);
    // The command Patchwave sends for a scenario (a) machine (reboot_policy NEVER, no patch filters).
    const spec = baselineCommand({ reboot_policy: 'NEVER' });
    const parameters = { ...spec.parameters, SnapshotId: [randomUUID()] };
    const pluginName = documentStepName(spec.documentName, 'Linux');
    const limit = limiter(concurrency);
    const deadline = Date.now() + opts.timeoutMs;
    const self0 = selfUsage();
    const calls0 =
      (lab.state.stats() as { calls_by_service: Record<string, number> }).calls_by_service.ssm ?? 0;
    opts.log?.(`  bare baseline: ${ids.length} machines, ${concurrency} calls in flight, poll ${pollMs} ms`);

    const t0 = Date.now();
    const finals = await Promise.all(
      ids.map(async (instanceId) => {
        const sent = await limit(() =>
          ssm.send(
            new SendCommandCommand({
              InstanceIds: [instanceId],
              DocumentName: spec.documentName,
              Parameters: parameters,
              Comment: 'patchwave-bench-baseline',
            }),
          ),
        );
        const commandId = sent.Command?.CommandId;
        if (!commandId) throw new Error(`SendCommand to ${instanceId} returned no CommandId`);
        for (;;) {
          await sleep(pollMs);
          let inv: GetCommandInvocationCommandOutput | undefined;
          try {
            inv = await limit(() =>
              ssm.send(
                new GetCommandInvocationCommand({
                  CommandId: commandId,
                  InstanceId: instanceId,
                  ...(pluginName ? { PluginName: pluginName } : {}),
                }),
              ),
            );
          } catch (err) {
            // Just after SendCommand the invocation may not be visible yet (SSM is eventually consistent).
            if ((err as Error).name !== 'InvocationDoesNotExist') throw err;
          }
          if (inv?.Status && ENDED.has(inv.Status)) return { status: inv.Status, at: Date.now() };
          if (Date.now() > deadline)
            throw new Error(`bare baseline: ${instanceId} not finished after ${opts.timeoutMs} ms`);
        }
      }),
    );
    const makespanS = (Math.max(...finals.map((f) => f.at)) - t0) / 1000;
    const statuses: Record<string, number> = {};
    for (const f of finals) statuses[f.status] = (statuses[f.status] ?? 0) + 1;
    const calls =
      ((lab.state.stats() as { calls_by_service: Record<string, number> }).calls_by_service.ssm ?? 0) -
      calls0;
    const result: BaselineResult = {
      machines: ids.length,
      makespan_s: round(makespanS),
      machines_per_s: round(ids.length / makespanS, 1),
      statuses,
      concurrency,
      poll_ms: pollMs,
      ssm_calls_per_machine: round(calls / Math.max(1, ids.length)),
      script_and_lab_cpu_s: round(usageDelta(self0, selfUsage())!.cpu_s),
    };
    opts.log?.(
      `  bare baseline: makespan ${result.makespan_s} s, ${result.machines_per_s} machines/s, ` +
        `${result.ssm_calls_per_machine} SSM calls/machine, ${result.script_and_lab_cpu_s} CPU-s (script + lab)`,
    );
    return result;
  } finally {
    ssm.destroy();
    await lab.close();
  }
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
