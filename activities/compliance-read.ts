/**
 * A node's patch compliance as SSM holds it after a scan (docs/aws-fields.md, "Scan-only runs"):
 * - DescribeInstancePatchStates: the counts (MissingCount, FailedCount, Installed…), OperationEndTime, BaselineId.
 * - DescribeInstancePatches, State filter Missing and Failed, paged: which patches (Title, KBId, Classification,
 *   Severity, CVEIds). Its PatchComplianceData has no release date.
 * - DescribeAvailablePatches: the release date (Patch.ReleaseDate), by PATCH_ID (the KB) on Windows and by PRODUCT
 *   and NAME on Amazon Linux. AWS answers it for Amazon Linux and Windows Server only; elsewhere, or when the call
 *   fails, the date is left out (the scan's result does not depend on it). Dates are cached per worker.
 */
import {
  DescribeAvailablePatchesCommand,
  DescribeInstancePatchesCommand,
  DescribeInstancePatchStatesCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { SsmCall } from './command-tracker';
import {
  MAX_KEPT_PATCHES,
  oldestMissing,
  tally,
  type ComplianceCounts,
  type NonCompliantPatch,
} from '../domain/compliance';
import { availablePatchesLookup, type NodePlatformInfo } from '../domain/available-patches';

export interface ComplianceReading {
  scannedAt: string;
  operation: string;
  baselineId?: string;
  snapshotId?: string;
  counts: ComplianceCounts;
  patches: NonCompliantPatch[];
  truncated: boolean;
  missingBySeverity: Record<string, number>;
  missingByClassification: Record<string, number>;
  oldestMissing?: { kb_id: string; title: string; release_date: string };
}

/** Release dates by `<product|windows>/<key>`; patches do not change their release date. */
const releaseDates = new Map<string, string | null>();
const RELEASE_CACHE_MAX = 50_000;

function remember(key: string, date: string | null) {
  if (releaseDates.size >= RELEASE_CACHE_MAX) releaseDates.delete(releaseDates.keys().next().value!);
  releaseDates.set(key, date);
}

/** DescribeAvailablePatches for the patches whose date we do not know yet; failures leave dates unknown. */
async function fillReleaseDates(
  ssm: SSMClient,
  call: SsmCall,
  platform: NodePlatformInfo,
  patches: NonCompliantPatch[],
): Promise<void> {
  const lookup = availablePatchesLookup(platform);
  if (!lookup) return;
  const want = [...new Set(patches.map((p) => lookup.keyOf(p.kb_id)).filter((k): k is string => !!k))];
  const unknown = want.filter((k) => !releaseDates.has(`${lookup.scope}/${k}`));
  for (let i = 0; i < unknown.length; i += 20) {
    const chunk = unknown.slice(i, i + 20);
    let token: string | undefined;
    try {
      do {
        const r = await call('DescribeAvailablePatches', () =>
          ssm.send(
            new DescribeAvailablePatchesCommand({
              Filters: lookup.filters(chunk),
              MaxResults: 100,
              NextToken: token,
            }),
          ),
        );
        for (const p of r.Patches ?? []) {
          const key = lookup.keyOfAvailable(p);
          if (key && p.ReleaseDate) {
            const prev = releaseDates.get(`${lookup.scope}/${key}`);
            const at = p.ReleaseDate.toISOString();
            // Several versions of one package: the oldest release of it is how long it has been missing at most.
            if (!prev || at < prev) remember(`${lookup.scope}/${key}`, at);
          }
        }
        token = r.NextToken || undefined;
      } while (token);
      for (const k of chunk)
        if (!releaseDates.has(`${lookup.scope}/${k}`)) remember(`${lookup.scope}/${k}`, null);
    } catch {
      // Unsupported OS or product, or SSM refused: the dates stay unknown; the counts and list do not need them.
      return;
    }
  }
  for (const p of patches) {
    const k = lookup.keyOf(p.kb_id);
    const d = k ? releaseDates.get(`${lookup.scope}/${k}`) : undefined;
    if (d) p.release_date = d;
  }
}

export async function readCompliance(
  ssm: SSMClient,
  call: SsmCall,
  instanceId: string,
  platform: NodePlatformInfo,
): Promise<ComplianceReading | undefined> {
  const states = await call('DescribeInstancePatchStates', () =>
    ssm.send(new DescribeInstancePatchStatesCommand({ InstanceIds: [instanceId] })),
  );
  const st = states.InstancePatchStates?.find((s) => s.InstanceId === instanceId);
  if (!st) return undefined;
  const patches: NonCompliantPatch[] = [];
  let truncated = false;
  let token: string | undefined;
  do {
    const r = await call('DescribeInstancePatches', () =>
      ssm.send(
        new DescribeInstancePatchesCommand({
          InstanceId: instanceId,
          Filters: [{ Key: 'State', Values: ['Missing', 'Failed'] }],
          MaxResults: 100,
          NextToken: token,
        }),
      ),
    );
    for (const p of r.Patches ?? []) {
      if (patches.length >= MAX_KEPT_PATCHES) {
        truncated = true;
        break;
      }
      patches.push({
        title: p.Title ?? p.KBId ?? '',
        kb_id: p.KBId ?? '',
        classification: p.Classification ?? '',
        severity: p.Severity ?? '',
        state: (p.State ?? '').toUpperCase(),
        ...(p.CVEIds
          ? {
              cve_ids: p.CVEIds.split(',')
                .map((c) => c.trim())
                .filter(Boolean),
            }
          : {}),
      });
    }
    token = truncated ? undefined : r.NextToken || undefined;
  } while (token);
  await fillReleaseDates(ssm, call, platform, patches);
  const missing = patches.filter((p) => p.state === 'MISSING');
  const oldest = oldestMissing(patches);
  return {
    scannedAt: (st.OperationEndTime ?? new Date()).toISOString(),
    operation: st.Operation ?? 'Scan',
    ...(st.BaselineId ? { baselineId: st.BaselineId } : {}),
    ...(st.SnapshotId ? { snapshotId: st.SnapshotId } : {}),
    counts: {
      missing: st.MissingCount ?? 0,
      failed: st.FailedCount ?? 0,
      installed: st.InstalledCount ?? 0,
      installed_other: st.InstalledOtherCount ?? 0,
      installed_pending_reboot: st.InstalledPendingRebootCount ?? 0,
      installed_rejected: st.InstalledRejectedCount ?? 0,
      not_applicable: st.NotApplicableCount ?? 0,
    },
    patches,
    truncated,
    missingBySeverity: tally(missing.map((p) => p.severity)),
    missingByClassification: tally(missing.map((p) => p.classification)),
    ...(oldest ? { oldestMissing: oldest } : {}),
  };
}
