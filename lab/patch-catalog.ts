import { createHash } from 'node:crypto';
import type { MachineBehaviour } from './schemas';

/**
 * What the lab knows about one patch (a package update on Linux, a KB on Windows): the properties a patch
 * baseline's filters and DescribeInstancePatches read. A machine's `patches` catalog sets them per package;
 * anything not set there is derived from the package string and the node's OS, the same way every time.
 */
export interface LabPatch {
  /** The package string as the machine's `installed` list gives it (`openssl-3.0.15`, `KB5031364`). */
  Title: string;
  /** Linux: `name.arch`, as AWS reports Linux patches; Windows: the KB number. */
  KBId: string;
  Classification: string;
  /** SEVERITY (yum/zypper family), MSRC_SEVERITY (Windows) or PRIORITY (Ubuntu/Debian) value. */
  Severity: string;
  /** The PRODUCT filter's value for the node (`AmazonLinux2023`, `WindowsServer2022`, …). */
  Product: string;
  /** Release date, epoch ms (ApproveAfterDays / ApproveUntilDate compare with it). */
  releasedAt: number;
  CVEIds: string[];
  /** Linux: the package comes with an update notice, i.e. Patch Manager counts it as security-related. */
  security: boolean;
  /** Package name and version on Linux (the approved/rejected list formats match on them). */
  name: string;
  version: string;
}

const AL_SEVERITY = ['Critical', 'Important', 'Medium', 'Low'];
const RHEL_SEVERITY = ['Critical', 'Important', 'Moderate', 'Low'];
const DEB_PRIORITY = ['Required', 'Important', 'Standard', 'Optional'];
const LINUX_CLASS = ['Security', 'Security', 'Bugfix', 'Enhancement'];
const WINDOWS_SEVERITY = ['Critical', 'Important', 'Moderate', 'Low'];
const WINDOWS_CLASS = ['SecurityUpdates', 'CriticalUpdates', 'SecurityUpdates', 'Updates'];

/** Days before now a patch without a catalog entry was released. */
export const DEFAULT_RELEASED_DAYS_AGO = 30;
const DAY_MS = 86_400_000;

const PRODUCTS: Record<string, string> = {
  WINDOWS: 'WindowsServer2022',
  AMAZON_LINUX_2023: 'AmazonLinux2023',
  UBUNTU: 'Ubuntu22.04',
  DEBIAN: 'Debian12',
  REDHAT_ENTERPRISE_LINUX: 'RedhatEnterpriseLinux9.4',
  SUSE: 'SUSE15.5',
};

function pick<T>(list: T[], key: string): T {
  return list[createHash('sha1').update(key).digest()[0] % list.length];
}

function severities(os: string): string[] {
  if (os === 'WINDOWS') return WINDOWS_SEVERITY;
  if (os === 'UBUNTU' || os === 'DEBIAN') return DEB_PRIORITY;
  if (os === 'REDHAT_ENTERPRISE_LINUX' || os === 'SUSE') return RHEL_SEVERITY;
  return AL_SEVERITY;
}

/** The patch `pkg` on a machine of `behaviour` whose OperatingSystem is `os`, at `now`. */
export function labPatch(behaviour: MachineBehaviour, os: string, pkg: string, now: number): LabPatch {
  const set = behaviour.patches[pkg] ?? {};
  const windows = os === 'WINDOWS';
  const name = windows ? pkg : pkg.replace(/-\d.*$/, '');
  const version = windows ? '' : pkg.slice(name.length + 1);
  const kb = windows ? (/KB\d{6,8}/i.exec(pkg)?.[0]?.toUpperCase() ?? pkg) : `${name}.x86_64`;
  return {
    Title: pkg,
    KBId: set.kb_id ?? kb,
    Classification: set.classification ?? pick(windows ? WINDOWS_CLASS : LINUX_CLASS, pkg),
    Severity: set.severity ?? pick(severities(os), pkg),
    Product: set.product ?? PRODUCTS[os] ?? os,
    releasedAt: now - (set.released_days_ago ?? DEFAULT_RELEASED_DAYS_AGO) * DAY_MS,
    CVEIds: set.cve_ids ?? [],
    security: windows || set.update_notice !== false,
    name,
    version,
  };
}
