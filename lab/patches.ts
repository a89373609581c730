import { labOperatingSystem } from './baseline-override';
import { isPatchDocument, patchOperation } from './documents';
import { viewInvocation, type Invocation } from './invocation';
import { labPatch } from './patch-catalog';
import type { MissingPatch } from './schemas';
import type { MachineState } from './state';

/**
 * Patch compliance as AWS-RunPatchBaseline uploads it at the end of a run (what DescribeInstancePatches and
 * DescribeInstancePatchStates return). Computed from the machine's finished patch invocations, so it costs
 * nothing until asked. A run with a BaselineOverride uploads nothing (AWS: with an override, compliance data is
 * not reported outside patch policies), so it leaves the reported state as it was; what it installed is on the
 * node all the same and shows in the next run that uploads (a Scan without override).
 *
 * Each configured package becomes one patch: Title is the package string as the fleet file gives it, KBId the
 * package name with its architecture on Linux (`openssl.x86_64`, as AWS reports Linux patches) or the KB number
 * on Windows; Classification, Severity and CVEIds come from the machine's `patches` catalog or are derived from
 * the name (lab/patch-catalog.ts). InstalledTime falls
 * inside the run's execution. A run that did not reboot (NoReboot, or a behaviour without reboot_s) leaves its
 * patches INSTALLED_PENDING_REBOOT until a later run reboots.
 */
export interface PatchRecord {
  Title: string;
  KBId: string;
  Classification: string;
  Severity: string;
  State: 'INSTALLED' | 'INSTALLED_PENDING_REBOOT';
  InstalledTime: number;
  /** Comma-separated, as PatchComplianceData carries them; absent when the patch fixes no known CVE. */
  CVEIds?: string;
}

export interface PatchRun {
  inv: Invocation;
  operation: 'Scan' | 'Install';
  startedAt: number;
  endedAt: number;
}

/** The machine's successful patch runs by `now`, in order (`withOverride`: also those with a BaselineOverride). */
function successfulPatchRuns(m: MachineState, now: number, withOverride: boolean): PatchRun[] {
  const out: PatchRun[] = [];
  for (const inv of m.invocations) {
    const cmd = inv.command;
    if (!isPatchDocument(cmd.documentName)) continue;
    if (!withOverride && cmd.parameters.BaselineOverride?.[0]) continue;
    const v = viewInvocation(inv, now);
    if (!v.terminal || v.status !== 'Success' || v.startedAt === null || v.endedAt === null) continue;
    out.push({ inv, operation: patchOperation(cmd.parameters), startedAt: v.startedAt, endedAt: v.endedAt });
  }
  return out;
}

/** The machine's patch runs that uploaded compliance by `now` (ended Success, no BaselineOverride), in order. */
export function finishedPatchRuns(m: MachineState, now: number): PatchRun[] {
  return successfulPatchRuns(m, now, false);
}

/** Every patch installed on the machine by `now`, newest state per KBId. */
export function installedPatches(m: MachineState, now: number): PatchRecord[] {
  const byKb = new Map<string, PatchRecord>();
  const os = labOperatingSystem(m.behaviour.platform, m.behaviour.platform_name);
  // What compliance shows is the node as the last uploading run saw it: packages an override run installed
  // (which uploads nothing) appear once a later run without override (a Scan) has uploaded.
  const uploadedAt = finishedPatchRuns(m, now).at(-1)?.endedAt ?? -Infinity;
  for (const run of successfulPatchRuns(m, now, true)) {
    if (run.endedAt > uploadedAt) continue;
    const rebooted = run.inv.rebootStart !== null;
    if (rebooted) for (const p of byKb.values()) p.State = 'INSTALLED';
    if (run.operation !== 'Install' || run.inv.entry.outcome === 'no_updates') continue;
    const pkgs = run.inv.entry.installed;
    // Installed during the work phase (before any reboot), spread evenly across it.
    const workEnd = run.inv.rebootStart ?? run.endedAt;
    pkgs.forEach((pkg, i) => {
      const p = labPatch(m.behaviour, os, pkg, now);
      byKb.set(p.KBId, {
        Title: p.Title,
        KBId: p.KBId,
        Classification: p.Classification,
        Severity: p.Severity,
        ...(p.CVEIds.length ? { CVEIds: p.CVEIds.join(',') } : {}),
        // Rebooted by this run (reboot_s under RebootIfNeeded): INSTALLED; otherwise the reboot is still due.
        State: rebooted ? 'INSTALLED' : 'INSTALLED_PENDING_REBOOT',
        InstalledTime: (run.startedAt + ((workEnd - run.startedAt) * (i + 1)) / (pkgs.length + 1)) / 1000,
      });
    });
  }
  return [...byKb.values()];
}

/** A patch the node lacks, as DescribeInstancePatches reports it (State MISSING), with its release date. */
export interface MissingRecord {
  Title: string;
  KBId: string;
  Classification: string;
  Severity: string;
  State: 'MISSING';
  /** SSM's PatchComplianceData requires InstalledTime; for a missing patch it is the epoch. */
  InstalledTime: 0;
  CVEIds?: string;
  /** Not part of PatchComplianceData: what DescribeAvailablePatches answers (ReleaseDate, epoch seconds; Product). */
  releaseDate: number;
  product: string;
  name: string;
}

/**
 * What the last run that uploaded compliance (by `now`) found missing: the machine's `missing` patches, or,
 * without them, a Scan run's command-entry packages (what an Install would put on the node; properties from the
 * machine's patch catalog, lab/patch-catalog.ts). A patch whose KB id an Install run has since installed is no
 * longer missing. Empty before any uploading run.
 */
export function missingPatches(m: MachineState, now: number): MissingRecord[] {
  const last = finishedPatchRuns(m, now).at(-1);
  if (!last) return [];
  const os = labOperatingSystem(m.behaviour.platform, m.behaviour.platform_name);
  const installed = new Set(installedPatches(m, now).map((p) => p.KBId));
  const record = (pkg: string, set: Partial<MissingPatch> = {}): MissingRecord => {
    const p = labPatch(m.behaviour, os, pkg, now);
    const cves = set.cve_ids ?? p.CVEIds;
    return {
      Title: pkg,
      KBId: set.kb_id ?? p.KBId,
      Classification: set.classification ?? p.Classification,
      Severity: set.severity ?? p.Severity,
      State: 'MISSING',
      InstalledTime: 0,
      ...(cves.length ? { CVEIds: cves.join(',') } : {}),
      releaseDate: (set.release_date ? Date.parse(set.release_date) : p.releasedAt) / 1000,
      product: p.Product,
      name: p.name,
    };
  };
  const listed = m.behaviour.missing;
  const candidates = listed
    ? listed.map((p) => record(p.title, p))
    : last.operation === 'Scan' && last.inv.entry.outcome !== 'no_updates'
      ? last.inv.entry.installed.map((pkg) => record(pkg))
      : [];
  return candidates.filter((p) => !installed.has(p.KBId));
}
