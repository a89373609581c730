import type { Machine } from './machine';

/**
 * A machine's patch filters rendered as an AWS-RunPatchBaseline `BaselineOverride` file: a JSON list of patch
 * baselines (botocore's SSM `BaselineOverride` shape), of which the document uses the one whose
 * `OperatingSystem` matches the node (AWS user guide, "Using the BaselineOverride parameter").
 *
 * The file holds one baseline for every operating system family whose patch properties can express the
 * filters, so it depends on the settings only. Filter keys per OS are the ones AWS lists for
 * DescribePatchProperties (WINDOWS: CLASSIFICATION, MSRC_SEVERITY; Amazon Linux / RHEL family / SUSE:
 * CLASSIFICATION, SEVERITY; Ubuntu / Debian: PRIORITY, no classification); the values are the ones AWS's patch
 * baselines accept for them. Ubuntu and Debian do not support ApproveAfterDays (botocore's PatchRule docs).
 * macOS and Raspberry Pi OS get no baseline: their properties take no severity.
 */

export type BaselineFilters = Pick<
  Machine,
  | 'published_days_old'
  | 'update_severity'
  | 'update_category'
  | 'include_kbs'
  | 'exclude_kbs'
  | 'enable_non_security'
> & {
  /**
   * A pipeline step's `publish_date_cutoff` promotion (docs/behaviour.md#promotion): approve only patches
   * released on or before this day (YYYY-MM-DD), as the rule's ApproveUntilDate. Replaces published_days_old
   * (a rule takes one or the other; the caller folds the age into the date).
   */
  approve_until_date?: string;
};

interface OsRules {
  /** Shown in messages. */
  label: string;
  severityKey: 'MSRC_SEVERITY' | 'SEVERITY' | 'PRIORITY';
  severities: string[];
  /** undefined: the OS's baselines have no CLASSIFICATION property. */
  classifications?: string[];
  approveAfterDays: boolean;
  linux: boolean;
}

const YUM_CLASSES = ['Security', 'Bugfix', 'Enhancement', 'Recommended', 'Newpackage'];
const AMZN_SEVERITY = ['Critical', 'Important', 'Medium', 'Low'];
const RHEL_SEVERITY = ['Critical', 'Important', 'Moderate', 'Low'];
const DEB_PRIORITY = ['Required', 'Important', 'Standard', 'Optional', 'Extra'];

const rhelLike = (label: string): OsRules => ({
  label,
  severityKey: 'SEVERITY',
  severities: RHEL_SEVERITY,
  classifications: YUM_CLASSES,
  approveAfterDays: true,
  linux: true,
});

/** botocore's OperatingSystem enum values Patchwave renders a baseline for, in file order. */
export const OS_RULES = {
  WINDOWS: {
    label: 'Windows',
    severityKey: 'MSRC_SEVERITY',
    severities: ['Critical', 'Important', 'Moderate', 'Low', 'Unspecified'],
    classifications: [
      'CriticalUpdates',
      'DefinitionUpdates',
      'Drivers',
      'FeaturePacks',
      'SecurityUpdates',
      'ServicePacks',
      'Tools',
      'UpdateRollups',
      'Updates',
      'Upgrades',
    ],
    approveAfterDays: true,
    linux: false,
  },
  AMAZON_LINUX: {
    label: 'Amazon Linux',
    severityKey: 'SEVERITY',
    severities: AMZN_SEVERITY,
    classifications: YUM_CLASSES,
    approveAfterDays: true,
    linux: true,
  },
  AMAZON_LINUX_2: {
    label: 'Amazon Linux 2',
    severityKey: 'SEVERITY',
    severities: AMZN_SEVERITY,
    classifications: YUM_CLASSES,
    approveAfterDays: true,
    linux: true,
  },
  AMAZON_LINUX_2023: {
    label: 'Amazon Linux 2023',
    severityKey: 'SEVERITY',
    severities: [...AMZN_SEVERITY, 'None'],
    classifications: YUM_CLASSES,
    approveAfterDays: true,
    linux: true,
  },
  REDHAT_ENTERPRISE_LINUX: rhelLike('Red Hat Enterprise Linux'),
  CENTOS: rhelLike('CentOS'),
  ORACLE_LINUX: rhelLike('Oracle Linux'),
  ROCKY_LINUX: rhelLike('Rocky Linux'),
  ALMA_LINUX: rhelLike('AlmaLinux'),
  SUSE: {
    label: 'SUSE',
    severityKey: 'SEVERITY',
    severities: RHEL_SEVERITY,
    classifications: ['Security', 'Recommended', 'Optional', 'Feature', 'Document', 'Yast'],
    approveAfterDays: true,
    linux: true,
  },
  UBUNTU: {
    label: 'Ubuntu',
    severityKey: 'PRIORITY',
    severities: DEB_PRIORITY,
    approveAfterDays: false,
    linux: true,
  },
  DEBIAN: {
    label: 'Debian',
    severityKey: 'PRIORITY',
    severities: DEB_PRIORITY,
    approveAfterDays: false,
    linux: true,
  },
} satisfies Record<string, OsRules>;

export type PatchOs = keyof typeof OS_RULES;
const ALL_OS = Object.keys(OS_RULES) as PatchOs[];
const rules = (os: PatchOs): OsRules => OS_RULES[os];

/** AWS limits (botocore SSM model): ApproveAfterDays 0-360, PatchIdList ≤ 50, PatchFilterValueList ≤ 20. */
export const MAX_APPROVE_AFTER_DAYS = 360;
export const MAX_PATCH_IDS = 50;

export interface PatchFilter {
  Key: string;
  Values: string[];
}
export interface PatchRule {
  PatchFilterGroup: { PatchFilters: PatchFilter[] };
  ApproveAfterDays?: number;
  /** YYYY-MM-DD (botocore PatchStringDateTime). */
  ApproveUntilDate?: string;
  EnableNonSecurity?: boolean;
}
/** One element of the override file (botocore SSM shape `BaselineOverride`). */
export interface BaselineOverrideDoc {
  OperatingSystem: PatchOs;
  ApprovalRules: { PatchRules: PatchRule[] };
  ApprovedPatches?: string[];
  ApprovedPatchesEnableNonSecurity?: boolean;
  RejectedPatches?: string[];
  RejectedPatchesAction?: 'ALLOW_AS_DEPENDENCY' | 'BLOCK';
}

const nonEmpty = (v: string[] | undefined): v is string[] => Array.isArray(v) && v.length > 0;

/** Whether the machine sets any filter (none: nothing extra is sent, the node's own baseline applies). */
export function hasPatchFilters(f: Partial<BaselineFilters>): boolean {
  return (
    f.published_days_old !== undefined ||
    f.approve_until_date !== undefined ||
    nonEmpty(f.update_severity) ||
    nonEmpty(f.update_category) ||
    nonEmpty(f.include_kbs) ||
    nonEmpty(f.exclude_kbs) ||
    f.enable_non_security !== undefined
  );
}

/** The OS's spelling of `value` (AWS's values are case-sensitive; operators' are not), or undefined. */
function canonical(list: string[] | undefined, value: string): string | undefined {
  return list?.find((v) => v.toLowerCase() === value.trim().toLowerCase());
}

/** The operating systems whose baselines accept every value of one field. */
function osAccepting(field: 'update_severity' | 'update_category', values: string[]): PatchOs[] {
  return ALL_OS.filter((os) => {
    const list = field === 'update_severity' ? rules(os).severities : rules(os).classifications;
    return values.every((v) => canonical(list, v) !== undefined);
  });
}

function labels(oses: PatchOs[]): string {
  return oses.map((o) => rules(o).label).join(', ');
}

function vocabulary(field: 'update_severity' | 'update_category'): string {
  const seen = new Map<string, string[]>();
  for (const os of ALL_OS) {
    const r = rules(os);
    const list = field === 'update_severity' ? r.severities : r.classifications;
    if (!list) continue;
    const key = `${field === 'update_severity' ? r.severityKey : 'CLASSIFICATION'}: ${list.join(', ')}`;
    seen.set(key, [...(seen.get(key) ?? []), r.label]);
  }
  return [...seen].map(([vals, oses]) => `${oses.join('/')} ${vals}`).join('; ');
}

export interface FilterIssue {
  path: string;
  message: string;
}

/**
 * Why SSM cannot express these filters (checked when a machine is saved): AWS's limits, a KB both approved and
 * rejected, a value no baseline knows, or a combination no single operating system's baseline accepts.
 * Empty when they can be rendered for at least one operating system.
 */
export function patchFilterIssues(f: Partial<BaselineFilters>): FilterIssue[] {
  const out: FilterIssue[] = [];
  if (f.published_days_old !== undefined && f.published_days_old > MAX_APPROVE_AFTER_DAYS)
    out.push({
      path: 'published_days_old',
      message: `SSM approves patches at most ${MAX_APPROVE_AFTER_DAYS} days after release (ApproveAfterDays 0-${MAX_APPROVE_AFTER_DAYS})`,
    });
  for (const [field, target] of [
    ['include_kbs', 'ApprovedPatches'],
    ['exclude_kbs', 'RejectedPatches'],
  ] as const)
    if ((f[field]?.length ?? 0) > MAX_PATCH_IDS)
      out.push({
        path: field,
        message: `a BaselineOverride holds at most ${MAX_PATCH_IDS} ${target}; ${f[field]!.length} given`,
      });
  const included = new Set((f.include_kbs ?? []).map((k) => k.toLowerCase()));
  (f.exclude_kbs ?? []).forEach((kb, i) => {
    if (included.has(kb.toLowerCase()))
      out.push({
        path: `exclude_kbs.${i}`,
        message: `${kb} is also in include_kbs: a patch cannot be both approved and rejected`,
      });
  });
  let fits: PatchOs[] = ALL_OS;
  const why: string[] = [];
  for (const field of ['update_severity', 'update_category'] as const) {
    const values = f[field];
    if (!nonEmpty(values)) continue;
    const unknown = values.findIndex((v) => osAccepting(field, [v]).length === 0);
    if (unknown >= 0) {
      out.push({
        path: `${field}.${unknown}`,
        message: `'${values[unknown]}' is not a value any SSM patch baseline accepts (${vocabulary(field)})`,
      });
      return out;
    }
    const own = osAccepting(field, values);
    if (own.length === 0) {
      out.push({
        path: field,
        message: `no operating system's patch baseline accepts all of ${values.join(', ')} together (${vocabulary(field)})`,
      });
      return out;
    }
    const both = fits.filter((o) => own.includes(o));
    if (both.length === 0) {
      out.push({
        path: field,
        message: `${values.join(', ')} fits only ${labels(own)} baselines, but ${why.join(' and ')} fits only ${labels(fits)}`,
      });
      return out;
    }
    fits = both;
    why.push(`${field} ${values.join(', ')}`);
  }
  if (f.published_days_old !== undefined && !fits.some((o) => rules(o).approveAfterDays))
    out.push({
      path: 'published_days_old',
      message: `${labels(fits)} baselines do not support ApproveAfterDays, and ${why.join(' and ')} fits only them`,
    });
  if (f.enable_non_security !== undefined && !fits.some((o) => rules(o).linux))
    out.push({
      path: 'enable_non_security',
      message: `EnableNonSecurity applies to Linux patch baselines only, and ${why.join(' and ')} fits only ${labels(fits)}`,
    });
  return out;
}

/** The operating systems a file rendered from these filters has a baseline for. */
export function expressibleOses(f: Partial<BaselineFilters>): PatchOs[] {
  return ALL_OS.filter((os) => {
    const r = rules(os);
    // Ubuntu and Debian rules take neither ApproveAfterDays nor ApproveUntilDate.
    if ((f.published_days_old !== undefined || f.approve_until_date !== undefined) && !r.approveAfterDays)
      return false;
    if (nonEmpty(f.update_severity) && !osAccepting('update_severity', f.update_severity).includes(os))
      return false;
    if (nonEmpty(f.update_category) && !osAccepting('update_category', f.update_category).includes(os))
      return false;
    // EnableNonSecurity is a Linux-only member (botocore's PatchRule docs; the lab refuses it for WINDOWS).
    if (f.enable_non_security !== undefined && !r.linux) return false;
    return true;
  });
}

function baselineFor(os: PatchOs, f: Partial<BaselineFilters>): BaselineOverrideDoc {
  const r = rules(os);
  const filters: PatchFilter[] = [];
  if (nonEmpty(f.update_category))
    filters.push({
      Key: 'CLASSIFICATION',
      Values: f.update_category.map((v) => canonical(r.classifications, v)!),
    });
  if (nonEmpty(f.update_severity))
    filters.push({ Key: r.severityKey, Values: f.update_severity.map((v) => canonical(r.severities, v)!) });
  const ruled =
    filters.length > 0 ||
    f.published_days_old !== undefined ||
    f.approve_until_date !== undefined ||
    nonEmpty(f.exclude_kbs) ||
    (f.enable_non_security !== undefined && !nonEmpty(f.include_kbs));
  // Only KBs to install (with or without enable_non_security): the baseline approves exactly those (no rule).
  // Otherwise one rule; a rule without severity or classification approves every product (PRODUCT *), narrowed
  // by age and the rejected list.
  const patchRules: PatchRule[] = [];
  if (ruled) {
    const nonSecurity = r.linux && (f.update_category ?? []).some((c) => c.toLowerCase() !== 'security');
    patchRules.push({
      PatchFilterGroup: { PatchFilters: filters.length ? filters : [{ Key: 'PRODUCT', Values: ['*'] }] },
      // AWS requires ApproveAfterDays or ApproveUntilDate on a rule, except on Ubuntu/Debian, which take neither.
      ...(!r.approveAfterDays
        ? {}
        : f.approve_until_date !== undefined
          ? { ApproveUntilDate: f.approve_until_date }
          : { ApproveAfterDays: f.published_days_old ?? 0 }),
      // The operator's enable_non_security when set; otherwise on when a non-security class is asked for or
      // nothing narrows the rule.
      ...(!r.linux
        ? {}
        : f.enable_non_security !== undefined
          ? { EnableNonSecurity: f.enable_non_security }
          : nonSecurity || filters.length === 0
            ? { EnableNonSecurity: true }
            : {}),
    });
  }
  return {
    OperatingSystem: os,
    ApprovalRules: { PatchRules: patchRules },
    ...(nonEmpty(f.include_kbs)
      ? {
          ApprovedPatches: [...new Set(f.include_kbs)],
          // Named by the operator: approved even without a security notice, unless enable_non_security is false.
          ...(r.linux ? { ApprovedPatchesEnableNonSecurity: f.enable_non_security ?? true } : {}),
        }
      : {}),
    // The operator excluded them: not even as another package's dependency.
    ...(nonEmpty(f.exclude_kbs)
      ? { RejectedPatches: [...new Set(f.exclude_kbs)], RejectedPatchesAction: 'BLOCK' as const }
      : {}),
  };
}

/**
 * The override file for these filters (one baseline per operating system that can express them), or
 * undefined when the machine sets no filter. Throws when no operating system can (patchFilterIssues refuses
 * such a machine at save; a machine stored before that check is made OMITTED with this reason).
 */
export function renderBaselineOverride(f: Partial<BaselineFilters>): BaselineOverrideDoc[] | undefined {
  if (!hasPatchFilters(f)) return undefined;
  const issues = patchFilterIssues(f);
  if (issues.length) throw new Error(`${issues[0].path}: ${issues[0].message}`);
  return expressibleOses(f).map((os) => baselineFor(os, f));
}

/**
 * botocore's OperatingSystem value for a node, from DescribeInstanceInformation's PlatformType, PlatformName
 * and PlatformVersion; undefined when the name is not one Patchwave knows.
 */
export function nodeOperatingSystem(
  platformType: string | undefined,
  platformName: string | undefined,
  platformVersion: string | undefined,
): string | undefined {
  if (platformType === 'Windows') return 'WINDOWS';
  if (platformType === 'MacOS') return 'MACOS';
  const name = (platformName ?? '').toLowerCase();
  const version = (platformVersion ?? '').trim();
  if (name.includes('amazon linux')) {
    if (version.startsWith('2023')) return 'AMAZON_LINUX_2023';
    if (version.startsWith('2022')) return 'AMAZON_LINUX_2022';
    if (version === '2' || version.startsWith('2.')) return 'AMAZON_LINUX_2';
    return 'AMAZON_LINUX';
  }
  const table: [RegExp, string][] = [
    [/red hat/, 'REDHAT_ENTERPRISE_LINUX'],
    [/centos/, 'CENTOS'],
    [/oracle/, 'ORACLE_LINUX'],
    [/rocky/, 'ROCKY_LINUX'],
    [/alma/, 'ALMA_LINUX'],
    [/suse|sles/, 'SUSE'],
    [/ubuntu/, 'UBUNTU'],
    [/raspbian|raspberry/, 'RASPBIAN'],
    [/debian/, 'DEBIAN'],
  ];
  return table.find(([re]) => re.test(name))?.[1];
}
