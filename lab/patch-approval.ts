import type { LabPatch } from './patch-catalog';

/**
 * Which of a node's available patches a patch baseline (one element of a BaselineOverride file) approves, as AWS
 * documents patch baselines ("Working with patch baselines", "How patch baseline rules work on Linux-based
 * systems", "Package name formats for approved and rejected patch lists"):
 *
 * - A patch is approved when an approval rule approves it or it is in `ApprovedPatches`; the rejected list
 *   overrides both (`RejectedPatches`: with either `RejectedPatchesAction` the lab installs no rejected patch, as
 *   it models no dependencies between packages).
 * - A rule approves a patch that matches every filter of its `PatchFilterGroup` (one filter matches when any of
 *   its values does; `*` is a wildcard), that also matches the `GlobalFilters`, and whose release date is at least
 *   `ApproveAfterDays` days old (or not after `ApproveUntilDate`, a UTC day).
 * - `ApprovedPatches` / `RejectedPatches` entries name a Windows patch by its KB id; a Linux patch by its name,
 *   `name.arch`, `name-version`, `name-version.arch`, its version, a CVE id it fixes, each with at most one `*`.
 *
 * - On Linux, Patch Manager counts every package that comes with an update notice as security-related (whatever
 *   its classification); a package without one (a catalog entry with `update_notice: false`) is approved by a
 *   rule only when the rule has `EnableNonSecurity: true`, and through `ApprovedPatches` only when the baseline
 *   has `ApprovedPatchesEnableNonSecurity: true` (AWS user guide, "How security patches are selected").
 *
 * Not modelled: `ComplianceLevel` (it sets the severity of compliance data, which an override run does not
 * upload), `Sources` (validated, lab/baseline-override.ts, but the lab's packages come from no repository),
 * dependencies.
 */

type J = Record<string, unknown>;

export interface PatchDecision {
  title: string;
  approved: boolean;
  /** Why: `rule N`, `ApprovedPatches`, `RejectedPatches`, `no rule matched`, `released N days ago, rule needs M`. */
  reason: string;
}

const DAY_MS = 86_400_000;

function glob(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const re = new RegExp(
    '^' +
      pattern
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*') +
      '$',
  );
  return re.test(value);
}

/** The patch's value for a filter key (fixed for the keys the lab's patches do not vary on). */
function property(p: LabPatch, key: string): string {
  switch (key) {
    case 'PRODUCT':
      return p.Product;
    case 'CLASSIFICATION':
      return p.Classification;
    case 'SEVERITY':
    case 'MSRC_SEVERITY':
    case 'PRIORITY':
      return p.Severity;
    case 'PATCH_SET':
      return 'OS';
    case 'PRODUCT_FAMILY':
      return 'Windows';
    case 'SECTION':
      return 'admin';
    default:
      return '';
  }
}

function matchesGroup(p: LabPatch, group: unknown): boolean {
  const filters = (group as { PatchFilters?: { Key: string; Values: string[] }[] } | undefined)?.PatchFilters;
  if (!Array.isArray(filters)) return true;
  return filters.every((f) => f.Values.some((v) => glob(v, property(p, f.Key))));
}

/** The names an approved/rejected list entry may use for this patch. */
function identities(p: LabPatch, windows: boolean): string[] {
  if (windows) return [p.KBId, p.Title];
  const ids = [p.Title, p.name, `${p.name}.x86_64`, ...p.CVEIds];
  if (p.version) ids.push(`${p.name}-${p.version}.x86_64`, p.version);
  return ids;
}

function listed(list: unknown, p: LabPatch, windows: boolean): boolean {
  if (!Array.isArray(list)) return false;
  const ids = identities(p, windows).map((i) => (windows ? i.toUpperCase() : i));
  return list.some((entry) => {
    const e = windows ? String(entry).toUpperCase() : String(entry);
    return ids.some((id) => glob(e, id));
  });
}

const NON_SECURITY = 'no update notice (non-security): the rule has no EnableNonSecurity';

function ruleVerdict(p: LabPatch, rule: J, now: number): true | string {
  if (!matchesGroup(p, rule.PatchFilterGroup)) return 'no rule matched';
  if (!p.security && rule.EnableNonSecurity !== true) return NON_SECURITY;
  const age = Math.floor((now - p.releasedAt) / DAY_MS);
  if (typeof rule.ApproveAfterDays === 'number' && age < rule.ApproveAfterDays)
    return `released ${age} days ago, the rule approves after ${rule.ApproveAfterDays}`;
  if (typeof rule.ApproveUntilDate === 'string') {
    const until = Date.parse(`${rule.ApproveUntilDate}T23:59:59.999Z`);
    if (p.releasedAt > until) return `released after ApproveUntilDate ${rule.ApproveUntilDate}`;
  }
  return true;
}

/** The baseline's decision for each patch, in the given order. */
export function decidePatches(
  baseline: J,
  patches: LabPatch[],
  windows: boolean,
  now: number,
): PatchDecision[] {
  const rules = ((baseline.ApprovalRules as { PatchRules?: J[] } | undefined)?.PatchRules ?? []) as J[];
  return patches.map((p) => {
    if (listed(baseline.RejectedPatches, p, windows))
      return { title: p.Title, approved: false, reason: 'RejectedPatches' };
    let why = 'no rule matched';
    if (listed(baseline.ApprovedPatches, p, windows)) {
      if (p.security || baseline.ApprovedPatchesEnableNonSecurity === true)
        return { title: p.Title, approved: true, reason: 'ApprovedPatches' };
      // Listed but not approvable that way: a rule with EnableNonSecurity may still approve it.
      why = 'in ApprovedPatches, but no update notice (non-security) and no ApprovedPatchesEnableNonSecurity';
    }
    if (!matchesGroup(p, baseline.GlobalFilters))
      return { title: p.Title, approved: false, reason: 'excluded by GlobalFilters' };
    for (const [i, rule] of rules.entries()) {
      const v = ruleVerdict(p, rule, now);
      if (v === true) return { title: p.Title, approved: true, reason: `rule ${i + 1}` };
      if (v !== 'no rule matched' && !why.startsWith('in ApprovedPatches')) why = v;
    }
    return { title: p.Title, approved: false, reason: why };
  });
}
