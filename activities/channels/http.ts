import { checkOutboundUrlResolved } from '../../common/url-guard';
import { DeliveryError } from './types';

export interface HttpDeps {
  fetchImpl: typeof fetch;
  timeoutMs: number;
  /** PATCHWAVE_HTTP_ALLOWLIST: hosts that may use plain http or private addresses. */
  allowlist: readonly string[];
}

const MAX_RETRY_AFTER_MS = 10_000;

/**
 * One POST to a receiver. The URL is checked by the SSRF guard (with DNS) right before the call and
 * redirects are not followed, so a receiver cannot bounce us to a metadata or internal address.
 */
export async function postToReceiver(
  deps: HttpDeps,
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<void> {
  const refused = await checkOutboundUrlResolved(url, deps.allowlist);
  if (refused)
    throw new DeliveryError(`channel URL refused: ${refused.replaceAll(hostOf(url), '<host>')}`, false);
  let res: Response;
  try {
    res = await deps.fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Patchwave-Notifier/1', ...headers },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(deps.timeoutMs),
    });
  } catch (err) {
    throw new DeliveryError(describeTransportError(err, deps.timeoutMs), true);
  }
  // The answer body is never stored: receivers may echo the request, and it is not ours to keep.
  await res.body?.cancel().catch(() => undefined);
  if (res.status >= 200 && res.status <= 299) return;
  if (res.status >= 300 && res.status <= 399)
    throw new DeliveryError(`receiver answered HTTP ${res.status} (redirects are not followed)`, false);
  if (res.status === 429)
    throw new DeliveryError(
      'receiver answered HTTP 429 (rate limited)',
      true,
      retryAfterMs(res.headers.get('retry-after')),
    );
  if (res.status >= 500) throw new DeliveryError(`receiver answered HTTP ${res.status}`, true);
  throw new DeliveryError(`receiver answered HTTP ${res.status}`, false);
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname || '\u0000';
  } catch {
    return '\u0000';
  }
}

function retryAfterMs(v: string | null): number | undefined {
  if (!v) return undefined;
  const secs = Number(v);
  const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(v) - Date.now();
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : undefined;
}

/** Names the failure by its error code only: undici's messages and causes can carry the address. */
export function describeTransportError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: string; name?: string } };
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError')
    return `no answer within ${timeoutMs} ms`;
  if (e?.name === 'AbortError') return 'request aborted';
  const code = e?.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name cannot be resolved';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
  if (code && /^[A-Z_]+$/.test(code)) return `network error ${code}`;
  return 'network error';
}
