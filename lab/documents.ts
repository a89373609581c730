import { createHash } from 'node:crypto';
import type { Invocation, InvocationView, Platform } from './invocation';

/** What the lab knows about SSM documents: plugin (step) names, default timeouts and the output they produce. */

export const PATCH_DOCUMENT = 'AWS-RunPatchBaseline';

export function isPatchDocument(name: string): boolean {
  return name === PATCH_DOCUMENT || name.endsWith(`:document/${PATCH_DOCUMENT}`);
}

/** Step name SSM reports in PluginName / CommandPlugins. */
export function pluginNameFor(documentName: string, platform: Platform): string {
  if (isPatchDocument(documentName)) return platform === 'Windows' ? 'PatchWindows' : 'PatchLinux';
  if (documentName === 'AWS-RunPowerShellScript') return 'aws:runPowerShellScript';
  if (documentName === 'AWS-RunShellScript') return 'aws:runShellScript';
  if (documentName === 'AWS-RunRemoteScript')
    return platform === 'Windows' ? 'runPowerShellScript' : 'runShellScript';
  return platform === 'Windows' ? 'aws:runPowerShellScript' : 'aws:runShellScript';
}

/** Folder SSM writes a step's stdout/stderr under, below `<prefix>/<command>/<instance>/`. */
export function outputFolder(documentName: string, platform: Platform, pluginName: string): string {
  const kind = platform === 'Windows' ? 'awsrunPowerShellScript' : 'awsrunShellScript';
  if (isPatchDocument(documentName)) return `${kind}/${pluginName}`;
  return `${kind}/0.${kind}`;
}

/**
 * Execution timeout in seconds: the `executionTimeout` parameter where the document has one, else the document's
 * own step timeout (AWS-RunPatchBaseline steps: 7200 s; script documents: 3600 s).
 */
export function executionTimeoutSeconds(documentName: string, parameters: Record<string, string[]>): number {
  const given = Number(parameters.executionTimeout?.[0]);
  if (Number.isFinite(given) && given > 0) return given;
  return isPatchDocument(documentName) ? 7200 : 3600;
}

export function patchOperation(parameters: Record<string, string[]>): 'Scan' | 'Install' {
  return parameters.Operation?.[0] === 'Install' ? 'Install' : 'Scan';
}

/** NoReboot keeps a patch run from rebooting, as the real document does. */
export function rebootAllowed(documentName: string, parameters: Record<string, string[]>): boolean {
  if (!isPatchDocument(documentName)) return true;
  return parameters.RebootOption?.[0] !== 'NoReboot' && patchOperation(parameters) === 'Install';
}

function snapshotIdOf(inv: Invocation): string {
  const h = createHash('sha1')
    .update(inv.command.id + inv.machineId)
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * AWS-RunPatchBaseline output. Whatever the platform it carries one `Installed: <package>` line per installed
 * package and one `InstalledCount: <n>` line; a Scan lists `Missing: <package>` lines instead.
 */
function patchStdout(inv: Invocation, view: InvocationView): string {
  const params = inv.command.parameters;
  const operation = patchOperation(params);
  const reboot = params.RebootOption?.[0] ?? 'RebootIfNeeded';
  const outcome = inv.entry.outcome;
  const packages = outcome === 'no_updates' ? [] : inv.entry.installed;
  const installed = operation === 'Install' ? packages : [];
  const missing = operation === 'Scan' ? packages : [];
  const failed = outcome === 'failed' ? 1 : 0;
  const rebooted = inv.rebootStart !== null;
  const start = new Date(view.startedAt ?? inv.command.requestedAt).toISOString();
  const end = new Date(view.endedAt ?? view.finishedAt ?? inv.command.requestedAt).toISOString();
  const windows = inv.platform === 'Windows';
  const header = windows
    ? [
        `Patch Summary for ${inv.computerName}`,
        'PatchGroup          :',
        'BaselineId          : pb-016fc9f2fbd2c2b50',
        `SnapshotId          : ${snapshotIdOf(inv)}`,
        'OwnerInformation    :',
        `OperationType       : ${operation}`,
        `OperationStartTime  : ${start}`,
        `OperationEndTime    : ${end}`,
        `RebootOption        : ${reboot}`,
      ]
    : [
        '/usr/bin/python3',
        '/usr/bin/dnf',
        'Using PatchBaselineOperations version 1.95 (fleet lab)',
        `Instance Id: ${inv.machineId}`,
        `Region: ${inv.command.outputRegion}`,
        `Operation type: ${operation}`,
        `Reboot option: ${reboot}`,
        `Snapshot Id: ${snapshotIdOf(inv)}`,
        'Baseline id: pb-0e95e07a76b4d4b14 (AWS-AmazonLinux2023DefaultPatchBaseline)',
        `Start ${operation === 'Install' ? 'installing updates' : 'scanning'} on instance ${inv.machineId} at ${start}`,
      ];
  const body = [
    ...installed.map((p) => `Installed: ${p}`),
    ...missing.map((p) => `Missing: ${p}`),
    ...(failed ? ['Failed: package transaction aborted (see stderr)'] : []),
  ];
  const summary = [
    `InstalledCount: ${installed.length}`,
    'InstalledOtherCount: 318',
    `InstalledPendingRebootCount: ${installed.length > 0 && !rebooted && reboot === 'NoReboot' ? installed.length : 0}`,
    'InstalledRejectedCount: 0',
    `MissingCount: ${missing.length}`,
    `FailedCount: ${failed}`,
    'NotApplicableCount: 412',
    rebooted ? `Reboot: ${reboot}, the instance was rebooted` : 'Reboot: no reboot performed',
  ];
  return [...header, ...body, ...summary].join('\n') + '\n';
}

/** Full stdout/stderr of a finished invocation (what SSM uploads to S3; GetCommandInvocation caps it). */
export function invocationOutput(inv: Invocation, view: InvocationView): { stdout: string; stderr: string } {
  if (inv.output) return inv.output;
  const e = inv.entry;
  let out: { stdout: string; stderr: string };
  if (view.startedAt === null) {
    out = { stdout: '', stderr: '' };
  } else if (view.details === 'ExecutionTimedOut') {
    out = { stdout: e.stdout ?? '', stderr: e.stderr ?? 'Command execution timed out.' };
  } else if (view.status === 'Cancelled') {
    out = { stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  } else if (isPatchDocument(inv.command.documentName)) {
    out = {
      stdout: e.stdout ?? patchStdout(inv, view),
      stderr:
        e.stderr ??
        (e.outcome === 'failed'
          ? 'Error: Transaction check error\nfailed to run commands: exit status 1\n'
          : ''),
    };
  } else {
    out = {
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? (e.outcome === 'failed' ? 'failed to run commands: exit status 1' : ''),
    };
  }
  if (view.terminal) inv.output = out;
  return out;
}
