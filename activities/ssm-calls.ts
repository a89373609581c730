/**
 * The SSM calls that send and follow one command, as plain functions of an SSM client (activities/ssm.ts runs
 * them inside activities; the moto and contract tests run them against other SSM implementations).
 */
import {
  DescribeInstancePatchesCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { PatchCommandSpec } from '../domain/patch-command';
import type { SsmCall } from './command-tracker';

/** SendCommand for one machine; returns the CommandId. */
export async function sendCommand(
  ssm: SSMClient,
  call: SsmCall,
  spec: PatchCommandSpec,
  instanceId: string,
  comment: string,
): Promise<string> {
  const sent = await call('SendCommand', () =>
    ssm.send(
      new SendCommandCommand({
        InstanceIds: [instanceId],
        DocumentName: spec.documentName,
        Parameters: spec.parameters as Record<string, string[]>,
        Comment: comment,
      }),
    ),
  );
  const commandId = sent.Command?.CommandId;
  if (!commandId) throw new Error('SendCommand returned no CommandId');
  return commandId;
}

/** GetCommandInvocation, naming the document step when it has several (documentStepName). */
export async function getInvocation(
  ssm: SSMClient,
  call: SsmCall,
  commandId: string,
  instanceId: string,
  pluginName: string | undefined,
) {
  return call('GetCommandInvocation', () =>
    ssm.send(
      new GetCommandInvocationCommand({
        CommandId: commandId,
        InstanceId: instanceId,
        ...(pluginName ? { PluginName: pluginName } : {}),
      }),
    ),
  );
}

/**
 * The step of a multi-step document that did the work: the last plugin that started and was not skipped by
 * its platform precondition (SSM lists skipped steps too, as Success with a "skipped" output).
 */
export async function stepThatRan(
  ssm: SSMClient,
  call: SsmCall,
  commandId: string,
  instanceId: string,
): Promise<string | undefined> {
  const r = await call('ListCommandInvocations', () =>
    ssm.send(
      new ListCommandInvocationsCommand({ CommandId: commandId, InstanceId: instanceId, Details: true }),
    ),
  );
  const plugins = r.CommandInvocations?.[0]?.CommandPlugins ?? [];
  const ran = plugins.filter((p) => p.Name && !/skipped/i.test(p.Output ?? ''));
  return (ran.length ? ran : plugins).at(-1)?.Name;
}

/** The command we sent with this Comment, if SSM has it (a retry after a lost SendCommand reply). */
export async function findSent(
  ssm: SSMClient,
  call: SsmCall,
  instanceId: string,
  comment: string,
): Promise<string | undefined> {
  let token: string | undefined;
  do {
    const r = await call('ListCommands', () =>
      ssm.send(new ListCommandsCommand({ InstanceId: instanceId, MaxResults: 50, NextToken: token })),
    );
    const hit = r.Commands?.find((c) => c.Comment === comment);
    if (hit?.CommandId) return hit.CommandId;
    token = r.NextToken;
  } while (token);
  return undefined;
}

/** One patch this run installed, as DescribeInstancePatches reports it. */
export interface InstalledPatch {
  title: string;
  kb_id: string;
  classification: string;
  severity: string;
  state: string;
  installed_time: string;
  cve_ids?: string[];
}

/**
 * What a patch run installed, from SSM's compliance data (the document uploads it at the end of the run):
 * DescribeInstancePatches filtered to the installed states, paged through, keeping the patches whose
 * InstalledTime falls inside the command's execution. `rebootRequired`: one of them is still
 * INSTALLED_PENDING_REBOOT. `rebooted` is derived, not reported by SSM: with RebootIfNeeded the document
 * reboots when it installed anything, after which the patches are INSTALLED, so "installed something and
 * nothing is pending a reboot" means it rebooted.
 */
export async function patchesInstalledBetween(
  ssm: SSMClient,
  call: SsmCall,
  instanceId: string,
  fromMs: number,
  toMs: number,
  // After a scan without the run's override, packages the default baseline does not approve are InstalledOther.
  states: string[] = ['Installed', 'InstalledPendingReboot'],
): Promise<{ patches: InstalledPatch[]; rebootRequired: boolean; rebooted: boolean }> {
  const patches: InstalledPatch[] = [];
  let token: string | undefined;
  do {
    const r = await call('DescribeInstancePatches', () =>
      ssm.send(
        new DescribeInstancePatchesCommand({
          InstanceId: instanceId,
          Filters: [{ Key: 'State', Values: states }],
          MaxResults: 100,
          NextToken: token,
        }),
      ),
    );
    for (const p of r.Patches ?? []) {
      const at = p.InstalledTime?.getTime();
      // SSM's times have second precision at best: a second of slack on both ends.
      if (at === undefined || at < fromMs - 1000 || at > toMs + 1000) continue;
      patches.push({
        title: p.Title ?? p.KBId ?? '',
        kb_id: p.KBId ?? '',
        classification: p.Classification ?? '',
        severity: p.Severity ?? '',
        state: p.State ?? '',
        installed_time: new Date(at).toISOString(),
        ...(p.CVEIds
          ? {
              cve_ids: p.CVEIds.split(',')
                .map((c) => c.trim())
                .filter(Boolean),
            }
          : {}),
      });
    }
    token = r.NextToken || undefined;
  } while (token);
  patches.sort((a, b) => a.installed_time.localeCompare(b.installed_time));
  const rebootRequired = patches.some((p) => p.state === 'INSTALLED_PENDING_REBOOT');
  return { patches, rebootRequired, rebooted: patches.length > 0 && !rebootRequired };
}

/** One step (plugin) of a multi-step document's invocation, as ListCommandInvocations (Details) reports it. */
export interface InvocationStep {
  name: string;
  status: string;
  statusDetails: string;
  responseCode?: number;
  startedAt?: string;
  endedAt?: string;
  output: string;
  skipped: boolean;
}

/**
 * A multi-step document followed as a whole (AWS-RunPatchBaselineWithHooks): ListCommandInvocations with
 * Details gives the invocation's own status (GetCommandInvocation gives one step's, and for this document the
 * last step reports its own result even when an earlier hook failed) and every step's output, in order. Shaped
 * like GetCommandInvocation's answer, with the steps' outputs one after another as the stdout (SSM caps each at
 * 2,500 characters here; the full output is at StandardOutputUrl when output goes to S3). Throws
 * InvocationDoesNotExist while SSM does not list the invocation yet (right after SendCommand).
 */
export async function invocationFromSteps(
  ssm: SSMClient,
  call: SsmCall,
  commandId: string,
  instanceId: string,
) {
  const r = await call('ListCommandInvocations', () =>
    ssm.send(
      new ListCommandInvocationsCommand({ CommandId: commandId, InstanceId: instanceId, Details: true }),
    ),
  );
  const inv = r.CommandInvocations?.[0];
  if (!inv) {
    const err = new Error(`SSM does not list command ${commandId} on ${instanceId} yet`);
    err.name = 'InvocationDoesNotExist';
    throw err;
  }
  const steps: InvocationStep[] = (inv.CommandPlugins ?? []).map((p) => ({
    name: p.Name ?? '',
    status: p.Status ?? '',
    statusDetails: p.StatusDetails ?? '',
    ...(p.ResponseCode !== undefined ? { responseCode: p.ResponseCode } : {}),
    ...(p.ResponseStartDateTime ? { startedAt: p.ResponseStartDateTime.toISOString() } : {}),
    ...(p.ResponseFinishDateTime ? { endedAt: p.ResponseFinishDateTime.toISOString() } : {}),
    output: p.Output ?? '',
    skipped: /skipped/i.test(p.Output ?? ''),
  }));
  const ran = steps.filter((s) => !s.skipped && s.startedAt);
  const failed = ran.find((s) => /failed|timedout/i.test(s.status));
  const starts = ran.map((s) => Date.parse(s.startedAt!)).filter(Number.isFinite);
  const ends = ran.map((s) => Date.parse(s.endedAt ?? '')).filter(Number.isFinite);
  const stdout = steps
    .map(
      (s) => `----- step ${s.name}: ${s.status}${s.skipped ? ' (skipped)' : ''} -----\n${s.output.trimEnd()}`,
    )
    .join('\n');
  return {
    Status: inv.Status,
    StatusDetails: inv.StatusDetails,
    ResponseCode: (failed ?? ran.at(-1))?.responseCode,
    StandardOutputContent: stdout ? `${stdout}\n` : '',
    StandardErrorContent: '',
    StandardOutputUrl: inv.StandardOutputUrl || undefined,
    ExecutionStartDateTime: starts.length ? new Date(Math.min(...starts)).toISOString() : undefined,
    ExecutionEndDateTime:
      ends.length && inv.Status !== 'InProgress' && inv.Status !== 'Pending'
        ? new Date(Math.max(...ends)).toISOString()
        : undefined,
    steps,
  };
}
