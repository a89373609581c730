import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleControl } from './control';
import { handleAzureCall, handleLambdaInvoke } from './hooks';
import { AwsError, BodyTooLarge, captureResponse, readBody, requestId, send, sendJson, sleep } from './http';
import { EC2_VERSION, handleEc2 } from './ec2';
import { AUTOSCALING_VERSION, handleAutoScaling } from './autoscaling';
import { ELBV2_VERSION, handleElbv2 } from './elbv2';
import { handleS3 } from './s3';
import { serveCloudWatch } from './monitoring';
import type { LabFleet } from './schemas';
import { SsmService } from './ssm';
import { LabState } from './state';
import { handleSts, stsError } from './sts';
import { handleSqs } from './sqs';

export type { LabFleet } from './schemas';
export { LabState } from './state';

export interface LabOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Lab seconds per real second (default 1). */
  speed?: number;
  fleet?: LabFleet;
  /** Clock in epoch ms (default Date.now); tests pass a manual one to step through a command's life exactly. */
  now?: () => number;
}

export interface Lab {
  url: string;
  port: number;
  state: LabState;
  close(): Promise<void>;
}

const BODY_LIMIT = 64 * 1024 * 1024;
const CLOUDWATCH_TARGET = 'GraniteServiceVersion20100801.';
const SQS_TARGET = 'AmazonSQS.';
const LAMBDA_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations\/?$/;
const AZURE_PATH = /^\/_lab\/azure\/([^/]+)\/?$/;

function ssmError(res: ServerResponse, err: AwsError, state?: LabState, op?: string, body?: Buffer): void {
  const out = { __type: err.code, message: err.message };
  if (state?.traffic && op)
    state.traffic.push({ operation: op, request: parsedOrNull(body), status: err.status, response: out });
  sendJson(res, err.status, out, {
    'content-type': 'application/x-amz-json-1.1',
    'x-amzn-errortype': err.code,
    'x-amzn-requestid': requestId(),
  });
}

async function serveSsm(
  state: LabState,
  ssm: SsmService,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  target: string,
): Promise<void> {
  const op = target.startsWith('AmazonSSM.') ? target.slice('AmazonSSM.'.length) : target;
  state.count(`ssm:${op}`);
  try {
    const f = state.faults.ssm;
    if (f.delay_ms > 0) await sleep(f.delay_ms);
    if (f.reset_rate > 0 && Math.random() < f.reset_rate) {
      state.faultCounts.reset++;
      req.socket.destroy();
      return;
    }
    if (f.throttle_rate > 0 && Math.random() < f.throttle_rate) {
      state.faultCounts.throttle++;
      throw new AwsError('ThrottlingException', 400, 'Rate exceeded');
    }
    if (f.error_5xx_rate > 0 && Math.random() < f.error_5xx_rate) {
      state.faultCounts.error_5xx++;
      throw new AwsError(
        'InternalServerError',
        500,
        'An internal error occurred (injected by the fleet lab).',
      );
    }
    let input: Record<string, unknown>;
    try {
      const parsed: unknown = body.length ? JSON.parse(body.toString('utf8')) : {};
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      input = parsed as Record<string, unknown>;
    } catch {
      throw new AwsError('SerializationException', 400, 'Request body is not a JSON object');
    }
    const out = ssm.handle(op, input);
    state.traffic?.push({ operation: op, request: input, status: 200, response: out });
    sendJson(res, 200, out, {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': requestId(),
    });
  } catch (e) {
    if (e instanceof AwsError) return ssmError(res, e, state, op, body);
    throw e;
  }
}

/** Records an AWS JSON exchange of a service other than SSM (SSM records its own, with the parsed input). */
function recordJson(state: LabState, res: ServerResponse, body: Buffer, service: string, op: string): void {
  captureResponse(res, (status, _headers, out) => {
    state.traffic?.push({
      service,
      operation: op,
      request: parsedOrNull(body),
      status,
      response: parsedOrNull(out),
    });
  });
}

/** S3's operation for a path-style request, as the lab serves it. */
function s3Operation(method: string, path: string): string {
  const hasKey = path.indexOf('/', 1) > 0 && path.indexOf('/', 1) < path.length - 1;
  if (!hasKey) return { PUT: 'CreateBucket', HEAD: 'HeadBucket' }[method] ?? `${method}Bucket`;
  return { PUT: 'PutObject', GET: 'GetObject', HEAD: 'HeadObject', DELETE: 'DeleteObject' }[method] ?? method;
}

/** Records an S3 (REST-XML) exchange at the wire: method, path, query, headers and body both ways. */
function recordS3(
  state: LabState,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  path: string,
  query: string,
): void {
  const method = req.method ?? 'GET';
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
  captureResponse(res, (status, outHeaders, out) => {
    state.traffic?.push({
      service: 's3',
      protocol: 'rest-xml',
      operation: s3Operation(method, path),
      request: { method, path, query, headers, body: body.toString('base64') },
      status,
      response: { headers: outHeaders, body: out.toString('base64') },
    });
  });
}

function parsedOrNull(body: Buffer | undefined): unknown {
  try {
    return body?.length ? JSON.parse(body.toString('utf8')) : {};
  } catch {
    return null;
  }
}

export async function createLab(opts: LabOptions = {}): Promise<Lab> {
  const state = new LabState({ speed: opts.speed, fleet: opts.fleet, now: opts.now });
  const ssm = new SsmService(state);

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const method = req.method ?? 'GET';
    let body: Buffer;
    try {
      body = await readBody(req, BODY_LIMIT);
    } catch (e) {
      if (e instanceof BodyTooLarge) return sendJson(res, 413, { error: e.message });
      throw e;
    }
    const azure = AZURE_PATH.exec(path);
    if (azure && (method === 'GET' || method === 'POST')) {
      return handleAzureCall(
        state,
        req,
        res,
        body,
        decodeURIComponent(azure[1]),
        new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1)),
      );
    }
    if (path === '/_lab' || path.startsWith('/_lab/')) return handleControl(state, req, res, body, path);
    if (method === 'POST' && (path === '/' || path === '')) {
      const target = req.headers['x-amz-target'];
      if (typeof target === 'string' && target.startsWith(CLOUDWATCH_TARGET)) {
        const op = target.slice(CLOUDWATCH_TARGET.length);
        if (state.traffic) recordJson(state, res, body, 'cloudwatch', op);
        return serveCloudWatch(state.monitoring, res, body, op, (o) => state.count(o));
      }
      if (typeof target === 'string' && target.startsWith(SQS_TARGET)) {
        const op = target.slice(SQS_TARGET.length);
        state.count(`sqs:${op}`);
        if (state.traffic) recordJson(state, res, body, 'sqs', op);
        return handleSqs(state.sqs, req, res, body, op);
      }
      if (typeof target === 'string') return serveSsm(state, ssm, req, res, body, target);
      // Query protocol: EC2, Auto Scaling, ELBv2 and STS share the endpoint; the API version tells them apart.
      const version = new URLSearchParams(body.toString('utf8')).get('Version');
      if (version === EC2_VERSION) return handleEc2(state, res, body);
      if (version === AUTOSCALING_VERSION)
        return handleAutoScaling(
          state.autoscaling,
          res,
          body,
          (o) => state.count(o),
          (ex) => state.traffic?.push(ex),
        );
      if (version === ELBV2_VERSION)
        return handleElbv2(
          state.elbv2,
          res,
          body,
          (o) => state.count(o),
          (ex) => state.traffic?.push(ex),
        );
      return handleSts(state, res, body);
    }
    const lambda = LAMBDA_PATH.exec(path);
    if (lambda && method === 'POST') return handleLambdaInvoke(state, req, res, body, lambda[1]);
    if (state.traffic) recordS3(state, req, res, body, path, q < 0 ? '' : rawUrl.slice(q + 1));
    return handleS3(state, req, res, body, path);
  }

  const server = createServer((req, res) => {
    dispatch(req, res).catch((e: unknown) => {
      // A bug in the lab must show up in the caller's test, not kill the lab.
      console.error('fleet lab: unhandled error', e);
      if (!res.headersSent) {
        if (req.headers['x-amz-target']) ssmError(res, new AwsError('InternalServerError', 500, String(e)));
        else if (req.method === 'POST' && (req.url === '/' || req.url === ''))
          stsError(res, new AwsError('InternalFailure', 500, String(e)));
        else send(res, 500, JSON.stringify({ error: String(e) }), { 'content-type': 'application/json' });
      } else res.destroy();
    });
  });
  // The SDK keeps connections alive; outliving its idle sockets avoids resets on reuse.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    state,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
