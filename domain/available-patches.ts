/**
 * How to ask SSM's DescribeAvailablePatches for the release dates of a node's missing patches. AWS documents
 * the call for Amazon Linux and Windows Server only, with PATCH_ID (the KB) as a Windows key and PRODUCT (required)
 * plus NAME for Linux. Other platforms get no lookup: their missing patches carry no release date.
 */

export interface NodePlatformInfo {
  /** DescribeInstanceInformation PlatformType: Windows | Linux | MacOS. */
  type?: string;
  /** PlatformName, e.g. "Amazon Linux", "Microsoft Windows Server 2022 Datacenter". */
  name?: string;
  /** PlatformVersion, e.g. "2", "2023", "10.0.20348". */
  version?: string;
}

export interface AvailablePatchesLookup {
  /** Cache scope: the same key means the same patch within it. */
  scope: string;
  /** The lookup key of a DescribeInstancePatches KBId, or undefined when it cannot be looked up. */
  keyOf(kbId: string): string | undefined;
  filters(keys: string[]): { Key: string; Values: string[] }[];
  keyOfAvailable(p: { KbNumber?: string; Name?: string }): string | undefined;
}

const ARCH = /\.(x86_64|aarch64|i686|noarch|arm64|amd64|all)$/;

/** Amazon Linux's PRODUCT value from PlatformVersion ("2" → AmazonLinux2, "2023" → AmazonLinux2023). */
export function amazonLinuxProduct(version: string | undefined): string | undefined {
  const v = (version ?? '').trim();
  if (!/^\d+(\.\d+)?$/.test(v)) return undefined;
  return `AmazonLinux${v}`;
}

export function availablePatchesLookup(p: NodePlatformInfo): AvailablePatchesLookup | undefined {
  if (p.type === 'Windows')
    return {
      scope: 'windows',
      keyOf: (kb) => (/^KB\d{6,8}$/i.test(kb) ? kb.toUpperCase() : undefined),
      filters: (keys) => [{ Key: 'PATCH_ID', Values: keys }],
      keyOfAvailable: (a) => a.KbNumber?.toUpperCase(),
    };
  if (p.type === 'Linux' && /^amazon linux/i.test(p.name ?? '')) {
    const product = amazonLinuxProduct(p.version);
    if (!product) return undefined;
    return {
      scope: product,
      // A Linux KBId is the package name with its architecture (and, for some, `:epoch:version-release`).
      keyOf: (kb) => kb.split(':')[0].replace(ARCH, '') || undefined,
      filters: (keys) => [
        { Key: 'PRODUCT', Values: [product] },
        { Key: 'NAME', Values: keys },
      ],
      keyOfAvailable: (a) => a.Name,
    };
  }
  return undefined;
}
