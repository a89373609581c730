import { checkOutboundUrlResolved } from './url-guard';
import { ICS_MAX_CHARS } from '../domain/ics';

const ATTEMPTS = 3;
const TIMEOUT_MS = 15_000;

/**
 * GETs a freeze calendar's URL: the SSRF guard resolves the host first (as for hooks), no redirects (one
 * could lead past the guard), a timeout per try, a few tries on network errors and 5xx/429, and a size cap.
 * Throws with a message fit for the calendar's `fetch.error`.
 */
export async function fetchIcs(
  url: string,
  allowlist: readonly string[],
  fetchImpl: typeof fetch = fetch,
): Promise<string> {
  const blocked = await checkOutboundUrlResolved(url, allowlist);
  if (blocked) throw new Error(`url ${blocked}`);
  let last = '';
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      const res = await fetchImpl(url, {
        method: 'GET',
        headers: { accept: 'text/calendar, text/plain;q=0.5' },
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const text = await res.text();
      if (res.status === 429 || res.status >= 500) {
        last = `GET ${url} answered ${res.status}`;
      } else if (res.status !== 200) {
        throw new Error(`GET ${url} answered ${res.status}`);
      } else if (text.length > ICS_MAX_CHARS) {
        throw new Error(`GET ${url} answered more than ${ICS_MAX_CHARS} characters`);
      } else return text;
    } catch (e) {
      const err = e as Error;
      if (err.message.startsWith('GET ')) throw err;
      last = `GET ${url} failed: ${err.name === 'TimeoutError' ? `no answer in ${TIMEOUT_MS / 1000} s` : err.message}`;
    }
    if (attempt < ATTEMPTS) await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
  }
  throw new Error(last);
}
