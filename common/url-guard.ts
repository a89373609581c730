import { BlockList, isIP } from 'node:net';
import { lookup } from 'node:dns/promises';

/**
 * SSRF guard for URLs Patchwave calls (Azure hooks, webhooks): https only, and never loopback, link-local
 * or cloud metadata addresses — unless the host is in PATCHWAVE_HTTP_ALLOWLIST (the lab, local tests).
 * Checked at save time by the API and again at call time by activities (with DNS, see the async variant).
 */
const blocked = new BlockList();
blocked.addSubnet('127.0.0.0', 8, 'ipv4'); // loopback
blocked.addSubnet('0.0.0.0', 8, 'ipv4'); // "this host"
blocked.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, incl. 169.254.169.254 metadata
blocked.addAddress('100.100.100.200', 'ipv4'); // Alibaba metadata
blocked.addAddress('::1', 'ipv6');
blocked.addAddress('::', 'ipv6');
blocked.addSubnet('fe80::', 10, 'ipv6'); // link-local
blocked.addAddress('fd00:ec2::254', 'ipv6'); // AWS metadata over IPv6

const BLOCKED_NAMES = [
  /^localhost$/,
  /\.localhost$/,
  /^metadata\.google\.internal$/,
  /^metadata$/,
  /^instance-data$/,
];

const BLOCKED_MESSAGE = 'must not point at a loopback, link-local or cloud metadata address';

function isAllowListed(u: URL, allowlist: readonly string[]): boolean {
  const host = u.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return allowlist.some((a) => a === host || a === u.host.toLowerCase());
}

/** The address an IP literal denotes, with IPv4-mapped IPv6 (`::ffff:127.0.0.1`) unwrapped. */
function addressIsBlocked(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1], 'ipv4');
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) return blocked.check(address, 'ipv6');
  return false;
}

/** Returns why `url` may not be called, or undefined when it may. Pure: no DNS. */
export function checkOutboundUrl(url: string, allowlist: readonly string[]): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'must be a valid absolute URL';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'must be an https URL';
  if (isAllowListed(u, allowlist)) return undefined;
  if (u.protocol === 'http:') return 'must use https (plain http only to hosts in PATCHWAVE_HTTP_ALLOWLIST)';
  const host = u.hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  if (BLOCKED_NAMES.some((re) => re.test(host))) return BLOCKED_MESSAGE;
  if (isIP(host) && addressIsBlocked(host)) return BLOCKED_MESSAGE;
  return undefined;
}

/**
 * Call-time variant: also resolves the host name and refuses if any address it resolves to is blocked
 * (a DNS name pointing at 169.254.169.254 passes the pure check).
 */
export async function checkOutboundUrlResolved(
  url: string,
  allowlist: readonly string[],
  resolve: (host: string) => Promise<string[]> = async (h) =>
    (await lookup(h, { all: true })).map((a) => a.address),
): Promise<string | undefined> {
  const pure = checkOutboundUrl(url, allowlist);
  if (pure) return pure;
  const u = new URL(url);
  if (isAllowListed(u, allowlist)) return undefined;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return undefined;
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch {
    return `host ${host} cannot be resolved`;
  }
  return addresses.some(addressIsBlocked) ? BLOCKED_MESSAGE : undefined;
}

const SAVE_TIME_DNS_TIMEOUT_MS = 2_000;

/**
 * Save-time variant for the API: the pure check, then DNS. A name that resolves to a blocked address is
 * refused; a name that does not resolve (yet, or not from the API's network) is accepted, because the
 * call-time check resolves again and refuses then.
 */
export async function checkOutboundUrlAtSave(
  url: string,
  allowlist: readonly string[],
  resolve: (host: string) => Promise<string[]> = async (h) =>
    (await lookup(h, { all: true })).map((a) => a.address),
): Promise<string | undefined> {
  const resolveOrNothing = async (host: string): Promise<string[]> => {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<string[]>(
      (r) => (timer = setTimeout(() => r([]), SAVE_TIME_DNS_TIMEOUT_MS)),
    );
    try {
      return await Promise.race([resolve(host).catch(() => []), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  };
  return checkOutboundUrlResolved(url, allowlist, resolveOrNothing);
}
