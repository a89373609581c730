/**
 * What AWS-RunPatchBaseline does with its BaselineOverride parameter, as far as the lab models it: it reads the
 * s3:// object, which must be a JSON list of patch baselines (botocore's SSM `BaselineOverride` shape), and uses
 * the one whose OperatingSystem matches the node. A missing or malformed file fails the run (the real document
 * fails when it cannot download or parse the override). Checked here, independently of the product's renderer:
 * members and enums of the shape, AWS's limits, and the filter keys AWS lists per OS for DescribePatchProperties.
 * `ComplianceLevel` / `ApprovedPatchesComplianceLevel` take botocore's `PatchComplianceLevel` enum;
 * `EnableNonSecurity`, `ApprovedPatchesEnableNonSecurity` and `Sources` are documented "Linux managed nodes only"
 * and are refused in a WINDOWS baseline; `Sources` is botocore's `PatchSourceList` (≤ 20 of {Name matching
 * `^[a-zA-Z0-9_\-.]{3,50}$`, Products 1-20 of 1-128 characters, Configuration 1-1024 characters}).
 */

import type { PatchDecision } from './patch-approval';

const OPERATING_SYSTEMS = [
  'WINDOWS',
  'AMAZON_LINUX',
  'AMAZON_LINUX_2',
  'AMAZON_LINUX_2022',
  'UBUNTU',
  'REDHAT_ENTERPRISE_LINUX',
  'SUSE',
  'CENTOS',
  'ORACLE_LINUX',
  'DEBIAN',
  'MACOS',
  'RASPBIAN',
  'ROCKY_LINUX',
  'ALMA_LINUX',
  'AMAZON_LINUX_2023',
];

/** DescribePatchProperties' "valid properties" per OS, plus PATCH_SET (Windows) and PRODUCT everywhere. */
function keysFor(os: string): string[] {
  if (os === 'WINDOWS') return ['PATCH_SET', 'PRODUCT', 'PRODUCT_FAMILY', 'CLASSIFICATION', 'MSRC_SEVERITY'];
  if (os === 'UBUNTU' || os === 'DEBIAN' || os === 'RASPBIAN') return ['PRODUCT', 'PRIORITY', 'SECTION'];
  if (os === 'MACOS') return ['PRODUCT', 'CLASSIFICATION'];
  return ['PRODUCT', 'CLASSIFICATION', 'SEVERITY'];
}

const BASELINE_MEMBERS = new Set([
  'OperatingSystem',
  'GlobalFilters',
  'ApprovalRules',
  'ApprovedPatches',
  'ApprovedPatchesComplianceLevel',
  'RejectedPatches',
  'RejectedPatchesAction',
  'ApprovedPatchesEnableNonSecurity',
  'Sources',
  'AvailableSecurityUpdatesComplianceStatus',
]);
const RULE_MEMBERS = new Set([
  'PatchFilterGroup',
  'ComplianceLevel',
  'ApproveAfterDays',
  'ApproveUntilDate',
  'EnableNonSecurity',
]);

/** botocore `PatchComplianceLevel`. */
export const COMPLIANCE_LEVELS = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNSPECIFIED'];
/** botocore `PatchSourceName`. */
const SOURCE_NAME = /^[a-zA-Z0-9_\-.]{3,50}$/;
const SOURCE_MEMBERS = new Set(['Name', 'Products', 'Configuration']);

type J = Record<string, unknown>;
const isObj = (v: unknown): v is J => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkFilters(group: unknown, os: string, where: string, out: string[]): void {
  if (!isObj(group) || !Array.isArray(group.PatchFilters)) {
    out.push(`${where}.PatchFilters: required list`);
    return;
  }
  if (group.PatchFilters.length > 4) out.push(`${where}.PatchFilters: more than 4 filters`);
  group.PatchFilters.forEach((f, i) => {
    const at = `${where}.PatchFilters[${i}]`;
    if (!isObj(f) || typeof f.Key !== 'string' || !Array.isArray(f.Values)) {
      out.push(`${at}: needs Key and Values`);
      return;
    }
    if (!keysFor(os).includes(f.Key)) out.push(`${at}.Key: ${f.Key} is not a patch property of ${os}`);
    if (f.Values.length < 1 || f.Values.length > 20) out.push(`${at}.Values: 1-20 values`);
    if (f.Values.some((v) => typeof v !== 'string' || v.length < 1 || v.length > 64))
      out.push(`${at}.Values: strings of 1-64 characters`);
  });
}

/** AWS's validation wording: `Value '…' failed to satisfy constraint: …`. */
const constraint = (where: string, v: unknown, what: string) =>
  `${where}: Value '${typeof v === 'string' ? v : JSON.stringify(v)}' failed to satisfy constraint: ${what}`;

function checkComplianceLevel(v: unknown, where: string, out: string[]): void {
  if (v !== undefined && !COMPLIANCE_LEVELS.includes(v as string))
    out.push(constraint(where, v, `Member must satisfy enum value set: [${COMPLIANCE_LEVELS.join(', ')}]`));
}

/** A Boolean member that applies to Linux managed nodes only (botocore's documentation of the member). */
function checkLinuxBoolean(v: unknown, os: string, where: string, out: string[]): void {
  if (v === undefined) return;
  if (typeof v !== 'boolean') out.push(constraint(where, v, 'Member must be a boolean'));
  else if (os === 'WINDOWS') out.push(`${where}: applies to Linux managed nodes only, not ${os}`);
}

/** botocore `PatchSourceList`: at most 20 `PatchSource` {Name, Products, Configuration}, Linux only. */
function checkSources(v: unknown, os: string, where: string, out: string[]): void {
  if (v === undefined) return;
  if (!Array.isArray(v)) return void out.push(`${where}: a list of PatchSource`);
  if (os === 'WINDOWS') out.push(`${where}: applies to Linux managed nodes only, not ${os}`);
  if (v.length > 20)
    out.push(constraint(where, `${v.length} items`, 'Member must have length less than or equal to 20'));
  v.forEach((src, i) => {
    const at = `${where}[${i}]`;
    if (!isObj(src)) return void out.push(`${at}: not an object`);
    for (const k of Object.keys(src))
      if (!SOURCE_MEMBERS.has(k)) out.push(`${at}.${k}: not a member of PatchSource`);
    for (const k of SOURCE_MEMBERS) if (src[k] === undefined) out.push(`${at}.${k}: required`);
    if (src.Name !== undefined && (typeof src.Name !== 'string' || !SOURCE_NAME.test(src.Name)))
      out.push(
        constraint(
          `${at}.Name`,
          src.Name,
          `Member must satisfy regular expression pattern: ${SOURCE_NAME.source}`,
        ),
      );
    const products = src.Products;
    if (products !== undefined) {
      if (!Array.isArray(products) || products.length < 1 || products.length > 20)
        out.push(constraint(`${at}.Products`, products, 'Member must be a list of 1-20 products'));
      else
        products.forEach((p, j) => {
          if (typeof p !== 'string' || p.length < 1 || p.length > 128)
            out.push(constraint(`${at}.Products[${j}]`, p, 'Member must be a string of 1-128 characters'));
        });
    }
    const conf = src.Configuration;
    // Sensitive in botocore's model: the value is not echoed.
    if (conf !== undefined && (typeof conf !== 'string' || conf.length < 1 || conf.length > 1024))
      out.push(
        `${at}.Configuration: failed to satisfy constraint: Member must be a string of 1-1024 characters`,
      );
  });
}

function checkPatchIds(v: unknown, where: string, out: string[]): void {
  if (v === undefined) return;
  if (!Array.isArray(v) || v.length > 50) out.push(`${where}: a list of at most 50 patch ids`);
  else if (v.some((p) => typeof p !== 'string' || p.length < 1 || p.length > 100))
    out.push(`${where}: patch ids of 1-100 characters`);
}

/** Problems of an override file (empty: valid). */
export function baselineOverrideProblems(text: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return [`not JSON: ${(e as Error).message}`];
  }
  if (!Array.isArray(doc) || doc.length === 0) return ['must be a non-empty JSON list of patch baselines'];
  const out: string[] = [];
  const seen = new Set<string>();
  doc.forEach((b, i) => {
    const at = `[${i}]`;
    if (!isObj(b)) return void out.push(`${at}: not an object`);
    for (const k of Object.keys(b))
      if (!BASELINE_MEMBERS.has(k)) out.push(`${at}.${k}: not a member of BaselineOverride`);
    const os = String(b.OperatingSystem);
    if (!OPERATING_SYSTEMS.includes(os)) out.push(`${at}.OperatingSystem: ${os} is not an OperatingSystem`);
    if (seen.has(os)) out.push(`${at}.OperatingSystem: ${os} appears twice`);
    seen.add(os);
    if (b.GlobalFilters !== undefined) checkFilters(b.GlobalFilters, os, `${at}.GlobalFilters`, out);
    if (b.ApprovalRules !== undefined) {
      const rules = isObj(b.ApprovalRules) ? b.ApprovalRules.PatchRules : undefined;
      if (!Array.isArray(rules) || rules.length > 10)
        out.push(`${at}.ApprovalRules.PatchRules: a list of at most 10`);
      else
        rules.forEach((r, j) => {
          const rat = `${at}.ApprovalRules.PatchRules[${j}]`;
          if (!isObj(r)) return void out.push(`${rat}: not an object`);
          for (const k of Object.keys(r))
            if (!RULE_MEMBERS.has(k)) out.push(`${rat}.${k}: not a member of PatchRule`);
          checkFilters(r.PatchFilterGroup, os, `${rat}.PatchFilterGroup`, out);
          const debian = os === 'UBUNTU' || os === 'DEBIAN';
          const days = r.ApproveAfterDays;
          if (
            days !== undefined &&
            (!Number.isInteger(days) || (days as number) < 0 || (days as number) > 360)
          )
            out.push(`${rat}.ApproveAfterDays: an integer 0-360`);
          if (debian && (days !== undefined || r.ApproveUntilDate !== undefined))
            out.push(`${rat}: ApproveAfterDays/ApproveUntilDate are not supported for ${os}`);
          if (!debian && days === undefined && r.ApproveUntilDate === undefined)
            out.push(`${rat}: needs ApproveAfterDays or ApproveUntilDate`);
          checkComplianceLevel(r.ComplianceLevel, `${rat}.ComplianceLevel`, out);
          checkLinuxBoolean(r.EnableNonSecurity, os, `${rat}.EnableNonSecurity`, out);
        });
    }
    checkPatchIds(b.ApprovedPatches, `${at}.ApprovedPatches`, out);
    checkPatchIds(b.RejectedPatches, `${at}.RejectedPatches`, out);
    checkComplianceLevel(b.ApprovedPatchesComplianceLevel, `${at}.ApprovedPatchesComplianceLevel`, out);
    checkLinuxBoolean(b.ApprovedPatchesEnableNonSecurity, os, `${at}.ApprovedPatchesEnableNonSecurity`, out);
    checkSources(b.Sources, os, `${at}.Sources`, out);
    if (
      b.RejectedPatchesAction !== undefined &&
      !['ALLOW_AS_DEPENDENCY', 'BLOCK'].includes(String(b.RejectedPatchesAction))
    )
      out.push(`${at}.RejectedPatchesAction: ALLOW_AS_DEPENDENCY or BLOCK`);
  });
  return out;
}

/** The OperatingSystem value of a lab machine (its platform, and platform_name for Linux). */
export function labOperatingSystem(platform: string, platformName: string | undefined): string {
  if (platform === 'Windows') return 'WINDOWS';
  const n = (platformName ?? 'Amazon Linux').toLowerCase();
  if (n.includes('ubuntu')) return 'UBUNTU';
  if (n.includes('debian')) return 'DEBIAN';
  if (n.includes('red hat')) return 'REDHAT_ENTERPRISE_LINUX';
  if (n.includes('suse') || n.includes('sles')) return 'SUSE';
  // The lab reports Amazon Linux as PlatformVersion 2023.
  return 'AMAZON_LINUX_2023';
}

export interface OverrideUse {
  url: string;
  /** Empty: the file was read and is valid. */
  problems: string[];
  /** The baseline of the file the run used (the node's OS), if any. */
  operating_system?: string;
  baseline?: unknown;
  /**
   * Set once the run applied the baseline: for each package the run had available, whether the baseline
   * approved it and why (lab/patch-approval.ts). Only approved packages were installed.
   */
  decisions?: PatchDecision[];
}

/** Reads and checks the override a patch command names, for a node of `os`. */
export function resolveBaselineOverride(
  getObject: (bucket: string, key: string) => { body: Buffer } | string,
  url: string,
  os: string,
): OverrideUse {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!m) return { url, problems: [`${url} is not an s3:// URL`] };
  const found = getObject(m[1], m[2]);
  if (typeof found === 'string') return { url, problems: [`${found}: cannot download ${url}`] };
  const text = found.body.toString('utf-8');
  const problems = baselineOverrideProblems(text);
  if (problems.length) return { url, problems };
  const baseline = (JSON.parse(text) as { OperatingSystem: string }[]).find((b) => b.OperatingSystem === os);
  return { url, problems: [], ...(baseline ? { operating_system: os, baseline } : {}) };
}
