import { InvokeCommand } from '@aws-sdk/client-lambda';
import type { AwsClients } from './aws';
import { httpAllowlist, type Config } from '../common/config';
import { checkOutboundUrlResolved } from '../common/url-guard';
import type { RawHookAnswer } from '../domain/hook-result';
import { requestWithBody } from './http-body-request';

/** A Lambda or Azure function to call with a JSON body: a hook, or a health gate's `hook` probe. */
export interface RemoteFunction {
  type: 'lambda' | 'azure';
  source: string;
  method?: 'GET' | 'POST';
}

export interface HookCallDeps {
  aws: AwsClients;
  config: Pick<Config, 'PATCHWAVE_HTTP_ALLOWLIST' | 'AWS_REGION'>;
  fetchImpl?: typeof fetch;
}

const LAMBDA_ARN_REGION = /^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):/;
/** Transport retries for Azure calls; a function's own failure answer is never retried. */
const AZURE_ATTEMPTS = 3;

/**
 * How Patchwave calls a remote function (docs/behaviour.md#hook): Lambda through a synchronous Invoke in the
 * ARN's region, Azure through HTTP with the SSRF guard and no redirects. Both are bounded by `signal`; the
 * answer is returned raw for the caller to read (a hook's `{code, msg, output}`, a probe's `{healthy, reason}`).
 */
export function createHookCaller({ aws, config, fetchImpl = fetch }: HookCallDeps) {
  async function callLambda(h: RemoteFunction, body: string, signal: AbortSignal): Promise<RawHookAnswer> {
    const region = LAMBDA_ARN_REGION.exec(h.source)?.[1] ?? config.AWS_REGION;
    const r = await aws
      .lambda(region)
      .send(new InvokeCommand({ FunctionName: h.source, Payload: new TextEncoder().encode(body) }), {
        abortSignal: signal,
      });
    const text = r.Payload ? new TextDecoder().decode(r.Payload) : '';
    if (r.FunctionError)
      return { kind: 'function_error', message: `${r.FunctionError}: ${text.slice(0, 500)}` };
    return { kind: 'answer', httpStatus: r.StatusCode, body: text };
  }

  async function callAzure(
    h: RemoteFunction,
    body: string,
    signal: AbortSignal,
    extraHeaders: Record<string, string> = {},
  ): Promise<RawHookAnswer> {
    const refusal = await checkOutboundUrlResolved(h.source, httpAllowlist(config));
    if (refusal) return { kind: 'transport_error', message: `hook URL refused: ${refusal}` };
    let lastErr = '';
    for (let attempt = 1; attempt <= AZURE_ATTEMPTS; attempt++) {
      try {
        // The seed's functions read `req.body`, so the payload goes as a JSON body for GET as well;
        // fetch refuses a GET body, hence node:http for GET.
        const method = h.method ?? 'GET';
        const headers = { 'content-type': 'application/json', ...extraHeaders };
        if (method === 'GET') {
          const res = await requestWithBody(h.source, { method, headers, body, signal });
          return { kind: 'answer', httpStatus: res.status, body: res.text };
        }
        // Redirects are not followed: a hook could otherwise bounce us past the SSRF guard (e.g. to 169.254.169.254).
        const res = await fetchImpl(h.source, { method, headers, body, signal, redirect: 'manual' });
        return { kind: 'answer', httpStatus: res.status, body: await res.text() };
      } catch (err) {
        if (signal.aborted) throw err;
        lastErr = (err as Error).message;
        await new Promise((r) => setTimeout(r, 500 * 2 ** (attempt - 1)));
      }
    }
    return { kind: 'transport_error', message: `no answer after ${AZURE_ATTEMPTS} attempts: ${lastErr}` };
  }

  return {
    callLambda,
    callAzure,
    /** Calls the function with `body`; throws only when `signal` aborts or the Lambda call itself fails. */
    call(h: RemoteFunction, body: string, signal: AbortSignal): Promise<RawHookAnswer> {
      return h.type === 'lambda' ? callLambda(h, body, signal) : callAzure(h, body, signal);
    },
  };
}
