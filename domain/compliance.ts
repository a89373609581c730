import { z } from 'zod';

/**
 * Patch compliance of a machine as its last scan left it (docs/behaviour.md#scan-only-plans-and-compliance):
 * SSM's DescribeInstancePatchStates counts and the DescribeInstancePatches entries in the Missing and Failed
 * states, with each patch's release date where DescribeAvailablePatches knows it. Pure: shapes, the per-plan
 * summary and the CSV an auditor takes.
 */

export const NonCompliantPatch = z.object({
  title: z.string(),
  kb_id: z.string(),
  classification: z.string(),
  severity: z.string(),
  /** SSM's compliance state: MISSING or FAILED. */
  state: z.string(),
  /** When the vendor released it (DescribeAvailablePatches ReleaseDate); absent where AWS does not say. */
  release_date: z.string().optional(),
  cve_ids: z.array(z.string()).optional(),
});
export type NonCompliantPatch = z.infer<typeof NonCompliantPatch>;

export const ComplianceCounts = z.object({
  missing: z.number().int(),
  failed: z.number().int(),
  installed: z.number().int(),
  installed_other: z.number().int(),
  installed_pending_reboot: z.number().int(),
  installed_rejected: z.number().int(),
  not_applicable: z.number().int(),
});
export type ComplianceCounts = z.infer<typeof ComplianceCounts>;

export const OldestMissing = z.object({
  kb_id: z.string(),
  title: z.string(),
  release_date: z.string(),
});

/** What one scan found on one machine. */
export const MachineCompliance = z.object({
  machine_id: z.string(),
  name: z.string(),
  ssm_machine_id: z.string(),
  status: z.enum(['COMPLIANT', 'NON_COMPLIANT']),
  /** SSM's OperationEndTime of the run that uploaded this data (the scan). */
  scanned_at: z.string(),
  /** Scan, or Install when the data came from an install run. */
  operation: z.string(),
  baseline_id: z.string().optional(),
  snapshot_id: z.string().optional(),
  /** The event and command whose scan this is. */
  event_id: z.string(),
  plan_id: z.string(),
  command_id: z.string(),
  counts: ComplianceCounts,
  /** Missing patches per severity / classification (as SSM names them: Critical, SecurityUpdates…). */
  missing_by_severity: z.record(z.string(), z.number().int()),
  missing_by_classification: z.record(z.string(), z.number().int()),
  /** The missing patch released longest ago (of those whose release date is known). */
  oldest_missing: OldestMissing.optional(),
  patches: z.array(NonCompliantPatch),
  /** More missing/failed patches than we keep (MAX_KEPT_PATCHES): `patches` is the first part. */
  patches_truncated: z.boolean().optional(),
});
export type MachineCompliance = z.infer<typeof MachineCompliance>;

/** A machine's compliance without its patch list (plan views list many machines). */
export const MachineComplianceSummary = MachineCompliance.omit({ patches: true, patches_truncated: true });
export type MachineComplianceSummary = z.infer<typeof MachineComplianceSummary>;

export const PlanCompliance = z.object({
  plan_id: z.string(),
  machines: z.array(
    z.union([
      MachineComplianceSummary,
      z.object({
        machine_id: z.string(),
        name: z.string(),
        ssm_machine_id: z.string(),
        status: z.literal('NOT_SCANNED'),
      }),
    ]),
  ),
  totals: z.object({
    machines: z.number().int(),
    compliant: z.number().int(),
    non_compliant: z.number().int(),
    not_scanned: z.number().int(),
    missing: z.number().int(),
    failed: z.number().int(),
    missing_by_severity: z.record(z.string(), z.number().int()),
    missing_by_classification: z.record(z.string(), z.number().int()),
  }),
  /** The latest scan among the plan's machines. */
  last_scan_at: z.string().optional(),
  oldest_missing: OldestMissing.extend({ machine_id: z.string() }).optional(),
});
export type PlanCompliance = z.infer<typeof PlanCompliance>;

/** Patches kept per machine record; SSM's counts stay exact beyond it. */
export const MAX_KEPT_PATCHES = 2_000;

export function tally(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v || 'Unspecified'] = (out[v || 'Unspecified'] ?? 0) + 1;
  return out;
}

export function oldestMissing(patches: NonCompliantPatch[]): z.infer<typeof OldestMissing> | undefined {
  let best: z.infer<typeof OldestMissing> | undefined;
  for (const p of patches)
    if (p.state === 'MISSING' && p.release_date && (!best || p.release_date < best.release_date))
      best = { kb_id: p.kb_id, title: p.title, release_date: p.release_date };
  return best;
}

function addInto(into: Record<string, number>, from: Record<string, number>) {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** The plan view: each listed machine's last scan (or NOT_SCANNED), totals, the oldest missing patch. */
export function summarisePlan(
  planId: string,
  machines: { machine_id: string; name: string; ssm_machine_id: string }[],
  records: MachineComplianceSummary[],
): PlanCompliance {
  const byId = new Map(records.map((r) => [r.machine_id, r]));
  const totals: PlanCompliance['totals'] = {
    machines: machines.length,
    compliant: 0,
    non_compliant: 0,
    not_scanned: 0,
    missing: 0,
    failed: 0,
    missing_by_severity: {},
    missing_by_classification: {},
  };
  let last: string | undefined;
  let oldest: PlanCompliance['oldest_missing'];
  const rows: PlanCompliance['machines'] = machines.map((m) => {
    const r = byId.get(m.machine_id);
    if (!r) {
      totals.not_scanned++;
      return { ...m, status: 'NOT_SCANNED' as const };
    }
    if (r.status === 'COMPLIANT') totals.compliant++;
    else totals.non_compliant++;
    totals.missing += r.counts.missing;
    totals.failed += r.counts.failed;
    addInto(totals.missing_by_severity, r.missing_by_severity);
    addInto(totals.missing_by_classification, r.missing_by_classification);
    if (!last || r.scanned_at > last) last = r.scanned_at;
    if (r.oldest_missing && (!oldest || r.oldest_missing.release_date < oldest.release_date))
      oldest = { ...r.oldest_missing, machine_id: r.machine_id };
    return r;
  });
  return {
    plan_id: planId,
    machines: rows,
    totals,
    ...(last ? { last_scan_at: last } : {}),
    ...(oldest ? { oldest_missing: oldest } : {}),
  };
}

export const CSV_COLUMNS = [
  'machine_id',
  'machine_name',
  'ssm_machine_id',
  'machine_status',
  'scanned_at',
  'baseline_id',
  'patch_state',
  'kb_id',
  'title',
  'classification',
  'severity',
  'release_date',
  'cve_ids',
] as const;

/**
 * RFC 4180 field: quoted when it holds a comma, quote or line break. A cell that a spreadsheet would read as a
 * formula (= + - @, tab, CR first) is prefixed with ' (OWASP "CSV injection"): patch titles come from vendors.
 */
export function csvField(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * The auditor's export: one row per missing or failed patch per machine; a machine with none (or never
 * scanned) gets one row with empty patch columns, so every machine of the plan appears.
 */
export function complianceCsv(
  machines: { machine_id: string; name: string; ssm_machine_id: string }[],
  records: MachineCompliance[],
): string {
  const byId = new Map(records.map((r) => [r.machine_id, r]));
  const lines = [CSV_COLUMNS.join(',')];
  for (const m of machines) {
    const r = byId.get(m.machine_id);
    const head = [
      m.machine_id,
      m.name,
      m.ssm_machine_id,
      r?.status ?? 'NOT_SCANNED',
      r?.scanned_at ?? '',
      r?.baseline_id ?? '',
    ];
    const patches = r?.patches ?? [];
    if (patches.length === 0) lines.push([...head, '', '', '', '', '', '', ''].map(csvField).join(','));
    for (const p of patches)
      lines.push(
        [
          ...head,
          p.state,
          p.kb_id,
          p.title,
          p.classification,
          p.severity,
          p.release_date ?? '',
          (p.cve_ids ?? []).join(' '),
        ]
          .map(csvField)
          .join(','),
      );
  }
  return `${lines.join('\r\n')}\r\n`;
}
