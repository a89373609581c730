/**
 * What a finished invocation printed: the output the lab renders for each document, shaped like the real
 * documents' output (kept apart from documents.ts so the document definitions do not depend on invocations).
 */
import { createHash } from 'node:crypto';
import { scriptPrints } from './script-runner';
import { isPatchDocument, patchOperation } from './documents';
import type { Invocation, InvocationView } from './invocation';

function snapshotIdOf(inv: Invocation): string {
  const h = createHash('sha1')
    .update(inv.command.id + inv.machineId)
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * AWS-RunPatchBaseline output, shaped like the real document's: a header, the package manager's own lines for
 * each package (dnf's "Upgrading"/"Installed" transaction lines on Linux, Windows Update's "Installing"/
 * "Installed" lines on Windows), and the Patch Summary. As on AWS, the summary counts cover the node's whole
 * life (patches installed by earlier runs included), not this run: what one run installed is read from
 * DescribeInstancePatches, never from here.
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
  // Packages earlier runs installed on this node (cumulative, like the real summary).
  const earlier = inv.command.seq;
  const before = earlierInstalls(inv, earlier);
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
  const body = windows
    ? [
        ...installed.flatMap((p, i) => [
          `Installing update ${i + 1} of ${installed.length}: ${p}`,
          `Update ${p} installed successfully`,
        ]),
        ...(missing.length ? [`Found ${missing.length} missing update(s)`] : []),
      ]
    : [
        ...(installed.length ? ['Dependencies resolved.', 'Running transaction'] : []),
        ...installed.map((p, i) => `  Upgrading        : ${p}    ${i + 1}/${installed.length}`),
        ...(installed.length ? ['Complete!'] : []),
        ...(missing.length ? [`${missing.length} package(s) needed for security`] : []),
      ];
  const summary = [
    `InstalledCount: ${before + installed.length}`,
    'InstalledOtherCount: 318',
    `InstalledPendingRebootCount: ${installed.length > 0 && !rebooted ? installed.length : 0}`,
    'InstalledRejectedCount: 0',
    `MissingCount: ${missing.length}`,
    `FailedCount: ${failed}`,
    'NotApplicableCount: 412',
    rebooted ? `Reboot: ${reboot}, the instance was rebooted` : 'Reboot: no reboot performed',
    ...(failed ? ['Failed: package transaction aborted (see stderr)'] : []),
  ];
  return [...header, ...body, ...summary].join('\n') + '\n';
}

/** Packages successful Install runs of the same document installed on this node before `inv`. */
function earlierInstalls(inv: Invocation, beforeSeq: number): number {
  let n = 0;
  for (const other of inv.siblings ?? []) {
    if (other.command.seq >= beforeSeq || !isPatchDocument(other.command.documentName)) continue;
    if (patchOperation(other.command.parameters) !== 'Install') continue;
    if (other.final?.status !== 'Success' || other.entry.outcome === 'no_updates') continue;
    n += other.entry.installed.length;
  }
  return n;
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
    // A script prints the files it wrote before its scripted output (lab/script-runner.ts).
    const printed = scriptPrints(inv.command.documentName, inv.command.parameters.commands ?? []);
    out = {
      stdout: printed + (e.stdout ?? ''),
      stderr: e.stderr ?? (e.outcome === 'failed' ? 'failed to run commands: exit status 1' : ''),
    };
  }
  if (view.terminal) inv.output = out;
  return out;
}
