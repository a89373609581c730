import { z } from 'zod';

/**
 * A patch manifest (issue 17 item 1): what an event's run put on the machines that ended SUCCESS or
 * SUCCESS_MANUAL, per operating system, as SSM's structured API reported it (DescribeInstancePatches:
 * Title, KBId, Classification, Severity, CVEIds; each machine keeps them in `patches`), with the SnapshotId the
 * patch commands were sent with. A later pipeline step with promotion `exact_previous_step` installs exactly
 * this set (docs/behaviour.md#promotion). Pure: computed from the event's machine records.
 */

export const ManifestPatch = z
  .object({
    kb_id: z.string().describe("SSM's KBId: the KB on Windows, package name and architecture on Linux"),
    title: z.string().describe("SSM's Title: on Linux the package with its version"),
    classification: z.string(),
    severity: z.string(),
    cve_ids: z.array(z.string()).optional(),
    machines: z.number().int().describe('How many of the successful machines installed it'),
  })
  .meta({ id: 'ManifestPatch' });
export type ManifestPatch = z.infer<typeof ManifestPatch>;

export const ManifestOs = z
  .object({
    operating_system: z
      .string()
      .describe("botocore's OperatingSystem of the nodes (DescribeInstanceInformation), or UNKNOWN"),
    machines: z.array(z.string()).describe('The successful machines of this operating system'),
    snapshot_ids: z.array(z.string()).describe('The SnapshotId(s) their AWS-RunPatchBaseline commands used'),
    patches: z.array(ManifestPatch),
  })
  .meta({ id: 'ManifestOs' });
export type ManifestOs = z.infer<typeof ManifestOs>;

export const PatchManifest = z
  .object({
    recorded_at: z.string(),
    run_no: z.number().int().describe('The latest run of the event when the manifest was recorded'),
    operating_systems: z.array(ManifestOs),
  })
  .meta({ id: 'PatchManifest' });
export type PatchManifest = z.infer<typeof PatchManifest>;

/** Machine statuses whose patches make the manifest (issue 17: machines that ended SUCCESS / SUCCESS_MANUAL). */
const MANIFEST_STATUSES = new Set(['SUCCESS', 'SUCCESS_MANUAL']);

/** The fields of an event machine record (domain/event.ts) a manifest is made of. */
export interface ManifestInput {
  machine_id: string;
  status: string;
  operating_system?: string;
  snapshot_id?: string;
  patches?: { kb_id: string; title: string; classification: string; severity: string; cve_ids?: string[] }[];
}

/** The manifest of an event from its machine records. */
export function buildManifest(machines: ManifestInput[], runNo: number, recordedAt: string): PatchManifest {
  const byOs = new Map<
    string,
    { machines: string[]; snaps: Set<string>; patches: Map<string, ManifestPatch> }
  >();
  for (const m of machines) {
    if (!MANIFEST_STATUSES.has(m.status)) continue;
    const os = m.operating_system ?? 'UNKNOWN';
    let g = byOs.get(os);
    if (!g) byOs.set(os, (g = { machines: [], snaps: new Set(), patches: new Map() }));
    g.machines.push(m.machine_id);
    if (m.snapshot_id) g.snaps.add(m.snapshot_id);
    for (const p of m.patches ?? []) {
      const key = `${p.kb_id}\n${p.title}`;
      const seen = g.patches.get(key);
      if (seen) {
        seen.machines++;
        continue;
      }
      g.patches.set(key, {
        kb_id: p.kb_id,
        title: p.title,
        classification: p.classification,
        severity: p.severity,
        ...(p.cve_ids?.length ? { cve_ids: p.cve_ids } : {}),
        machines: 1,
      });
    }
  }
  return {
    recorded_at: recordedAt,
    run_no: runNo,
    operating_systems: [...byOs]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([os, g]) => ({
        operating_system: os,
        machines: g.machines.sort(),
        snapshot_ids: [...g.snaps].sort(),
        patches: [...g.patches.values()].sort(
          (a, b) => a.kb_id.localeCompare(b.kb_id) || a.title.localeCompare(b.title),
        ),
      })),
  };
}
