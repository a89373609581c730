import type { IncomingMessage, ServerResponse } from 'node:http';
import { ACCOUNT_ID, recordedPayload, requestId, send, sendJson, sleep } from './http';
import type { HookResponse } from './schemas';
import type { LabState } from './state';

/** Lambda Invoke (REST-JSON) and Azure-Function-style endpoints, both answering from per-function response queues. */

/** Function name from what the SDK puts in the path: a name, `name:qualifier`, a partial or a full ARN. */
export function lambdaNameOf(raw: string): string {
  const decoded = decodeURIComponent(raw);
  if (decoded.startsWith('arn:')) return decoded.split(':')[6] ?? decoded;
  const partial = /^\d{12}:function:([^:]+)/.exec(decoded);
  if (partial) return partial[1];
  return decoded.split(':')[0];
}

const LAMBDA_ERRORS: Record<number, [code: string, type: string, message: string]> = {
  400: ['InvalidRequestContentException', 'User', 'Could not parse request body into json'],
  403: ['AccessDeniedException', 'User', 'Access denied'],
  404: ['ResourceNotFoundException', 'User', 'Function not found'],
  409: ['ResourceConflictException', 'User', 'The operation cannot be performed at this time.'],
  413: [
    'RequestTooLargeException',
    'User',
    'Request must be smaller than 6291456 bytes for the InvokeFunction operation',
  ],
  429: ['TooManyRequestsException', 'User', 'Rate Exceeded.'],
  500: ['ServiceException', 'Service', 'An internal error occurred.'],
  502: ['ServiceException', 'Service', 'Bad gateway.'],
  503: ['ServiceException', 'Service', 'Service unavailable.'],
};

function lambdaError(res: ServerResponse, status: number, code: string, type: string, message: string): void {
  const headers: Record<string, string> = { 'x-amzn-errortype': code, 'x-amzn-requestid': requestId() };
  const body: Record<string, unknown> = { Type: type, message };
  if (code === 'TooManyRequestsException') {
    headers['retry-after'] = '1';
    body.Reason = 'ReservedFunctionConcurrentInvocationLimitExceeded';
  }
  sendJson(res, status, body, headers);
}

function payloadOf(body: unknown): string {
  if (body === undefined) return 'null';
  return typeof body === 'string' ? body : JSON.stringify(body);
}

function messageOf(body: unknown, fallback: string): string {
  if (typeof body === 'string') return body;
  if (body && typeof body === 'object') {
    const m = (body as Record<string, unknown>).message ?? (body as Record<string, unknown>).Message;
    if (typeof m === 'string') return m;
  }
  return fallback;
}

export async function handleLambdaInvoke(
  state: LabState,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  rawName: string,
): Promise<void> {
  state.count('lambda:Invoke');
  const name = lambdaNameOf(rawName);
  const fn = state.lambdas.get(name);
  if (!fn) {
    return lambdaError(
      res,
      404,
      'ResourceNotFoundException',
      'User',
      `Function not found: arn:aws:lambda:us-east-1:${ACCOUNT_ID}:function:${name}`,
    );
  }
  if (body.length > 6 * 1024 * 1024) return lambdaError(res, 413, ...LAMBDA_ERRORS[413]);
  const invocationType = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
  if (invocationType === 'DryRun') return send(res, 204, '', { 'x-amzn-requestid': requestId() });
  fn.invocations.push({ payload: recordedPayload(body), received_at: new Date(state.now()).toISOString() });
  // An asynchronous invocation is only queued by Lambda; it never sees the function's answer.
  if (invocationType === 'Event') return send(res, 202, '', { 'x-amzn-requestid': requestId() });
  const r: HookResponse = state.takeResponse(fn);
  if (r.delay_s > 0) await sleep(state.labMs(r.delay_s));
  const headers = {
    'content-type': 'application/json',
    'x-amz-executed-version': '$LATEST',
    'x-amzn-requestid': requestId(),
  };
  if (r.status === 'error') {
    const err =
      r.body && typeof r.body === 'object' && 'errorMessage' in r.body
        ? r.body
        : { errorType: 'Error', errorMessage: messageOf(r.body, 'Unhandled error'), trace: [] };
    return send(res, 200, JSON.stringify(err), { ...headers, 'x-amz-function-error': 'Unhandled' });
  }
  if (r.status >= 200 && r.status < 300) return send(res, r.status, payloadOf(r.body), headers);
  const [code, type, message] =
    LAMBDA_ERRORS[r.status] ??
    (r.status >= 500
      ? ['ServiceException', 'Service', 'An internal error occurred.']
      : ['InvalidRequestContentException', 'User', 'Invalid request.']);
  return lambdaError(res, r.status, code, type, messageOf(r.body, message));
}

export async function handleAzureCall(
  state: LabState,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  name: string,
  query: URLSearchParams,
): Promise<void> {
  state.count('azure:Invoke');
  const fn = state.azure.get(name);
  if (!fn) return sendJson(res, 404, { error: `no azure function named ${name}` });
  const code = query.get('code') ?? (req.headers['x-functions-key'] as string | undefined) ?? null;
  // As with a function key, a refused call never reaches the function, so it is neither recorded nor answered from the queue.
  if (fn.code !== undefined && code !== fn.code) return send(res, 401, '');
  fn.invocations.push({
    method: req.method ?? 'GET',
    code,
    payload: recordedPayload(body),
    received_at: new Date(state.now()).toISOString(),
  });
  const r = state.takeResponse(fn);
  if (r.delay_s > 0) await sleep(state.labMs(r.delay_s));
  const status = r.status === 'error' ? 500 : r.status;
  if (r.body === undefined) return send(res, status, '');
  if (typeof r.body === 'string')
    return send(res, status, r.body, { 'content-type': 'text/plain; charset=utf-8' });
  return sendJson(res, status, r.body);
}
