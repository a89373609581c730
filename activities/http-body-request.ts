import http from 'node:http';
import https from 'node:https';

/**
 * An HTTP request that may carry a body whatever its method. `fetch` refuses a body on GET (WHATWG rule:
 * "Request with GET/HEAD method cannot have body"), but Azure GET hooks get the hook payload as their body
 * (docs/behaviour.md#hook-payload [ours]; the seed's functions read `req.body`), so those calls go through node:http.
 */
export function requestWithBody(
  url: string,
  opts: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const payload = Buffer.from(opts.body, 'utf8');
    const req = lib.request(
      u,
      {
        method: opts.method,
        headers: { ...opts.headers, 'content-length': String(payload.length) },
        signal: opts.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
