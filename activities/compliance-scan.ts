/**
 * What a BaselineOverride run installed (docs/aws-fields.md, "BaselineOverride runs"). With an override,
 * AWS-RunPatchBaseline uploads no patch compliance (outside patch policies), so DescribeInstancePatches does not
 * show that run. Right after such an install ends, Patchwave runs AWS-RunPatchBaseline `Operation=Scan` without
 * override on the same node: a Scan installs nothing and never reboots, and it uploads compliance, which then
 * lists the packages the install put on the node with their InstalledTime inside the install's execution. It
 * costs one more (short) command per machine, inside the window; the alternative, parsing the override run's
 * stdout, was rejected: with an override the document prints only NON_COMPLIANT packages, so a package that
 * installed fine appears nowhere in it.
 */
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { SsmCall } from './command-tracker';
import { findSent, getInvocation, sendCommand } from './ssm-calls';
import { isInvocationUnknownError } from '../domain/ssm-status';

const TERMINAL = new Set(['Success', 'Failed', 'Cancelled', 'TimedOut']);

export interface ScanOptions {
  /** A retry of the activity may have sent the scan already: look for it by its Comment first. */
  retry: boolean;
  pollMinMs: number;
  pollMaxMs: number;
  /** Stop waiting (the scan keeps running in SSM) at this instant. */
  giveUpAtMs: number;
  heartbeat: () => void;
  signal: AbortSignal;
}

export type ScanResult =
  { ok: true; commandId: string; status: 'Success' } | { ok: false; commandId?: string; reason: string };

const wait = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });

/** Sends (or finds) the compliance Scan and follows it to its end. */
export async function complianceScan(
  ssm: SSMClient,
  call: SsmCall,
  instanceId: string,
  pluginName: string | undefined,
  comment: string,
  opts: ScanOptions,
): Promise<ScanResult> {
  let commandId = opts.retry ? await findSent(ssm, call, instanceId, comment) : undefined;
  commandId ??= await sendCommand(
    ssm,
    call,
    {
      kind: 'baseline',
      documentName: 'AWS-RunPatchBaseline',
      parameters: { Operation: ['Scan'], RebootOption: ['NoReboot'] },
    },
    instanceId,
    comment,
  );
  let interval = opts.pollMinMs;
  for (;;) {
    if (Date.now() >= opts.giveUpAtMs)
      return { ok: false, commandId, reason: `the compliance scan ${commandId} had not ended in time` };
    await wait(Math.min(interval, Math.max(0, opts.giveUpAtMs - Date.now())), opts.signal);
    interval = Math.min(opts.pollMaxMs, Math.round(interval * 1.5));
    opts.heartbeat();
    try {
      const inv = await getInvocation(ssm, call, commandId, instanceId, pluginName);
      if (inv.Status && TERMINAL.has(inv.Status)) {
        return inv.Status === 'Success'
          ? { ok: true, commandId, status: 'Success' }
          : { ok: false, commandId, reason: `the compliance scan ${commandId} ended ${inv.Status}` };
      }
    } catch (err) {
      // Right after SendCommand SSM may not know the invocation yet.
      if (!isInvocationUnknownError((err as Error).name)) throw err;
    }
  }
}
