import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeAwsChunked, requestId, send, xmlEscape } from './http';
import type { LabState } from './state';

/** S3 REST, path-style only (`/bucket/key`), enough for GetObject / PutObject / HeadObject. */

function s3Error(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra: Record<string, string>,
  withBody: boolean,
): void {
  const rid = requestId();
  const fields = Object.entries(extra)
    .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
    .join('');
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message>${fields}<RequestId>${rid}</RequestId><HostId>fleet-lab</HostId></Error>`;
  const headers = { 'content-type': 'application/xml', 'x-amz-request-id': rid };
  // HEAD answers carry no body; the SDK then names the error after the status (NotFound).
  if (withBody) send(res, status, xml, headers);
  else send(res, status, '', headers);
}

export function isAwsChunked(req: IncomingMessage): boolean {
  const enc = String(req.headers['content-encoding'] ?? '');
  const sha = String(req.headers['x-amz-content-sha256'] ?? '');
  return enc.split(',').some((e) => e.trim() === 'aws-chunked') || sha.startsWith('STREAMING-');
}

export function handleS3(
  state: LabState,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  path: string,
): void {
  const slash = path.indexOf('/', 1);
  const bucket = decodeURIComponent(slash < 0 ? path.slice(1) : path.slice(1, slash));
  const key = slash < 0 ? '' : decodeURIComponent(path.slice(slash + 1));
  const method = req.method ?? 'GET';
  if (!bucket) {
    state.count('s3:ListBuckets');
    return s3Error(res, 501, 'NotImplemented', 'The fleet lab does not list buckets.', {}, method !== 'HEAD');
  }
  if (!key) {
    if (method === 'PUT') {
      state.count('s3:CreateBucket');
      state.bucket(bucket);
      return send(res, 200, '', { location: `/${bucket}`, 'x-amz-request-id': requestId() });
    }
    if (method === 'HEAD') {
      state.count('s3:HeadBucket');
      if (state.buckets.has(bucket)) return send(res, 200, '', { 'x-amz-request-id': requestId() });
      return s3Error(
        res,
        404,
        'NoSuchBucket',
        'The specified bucket does not exist',
        { BucketName: bucket },
        false,
      );
    }
    state.count(`s3:${method}Bucket`);
    return s3Error(
      res,
      501,
      'NotImplemented',
      `The fleet lab does not implement ${method} on a bucket.`,
      {},
      true,
    );
  }
  switch (method) {
    case 'PUT': {
      state.count('s3:PutObject');
      const data = isAwsChunked(req) ? decodeAwsChunked(body) : body;
      const obj = state.putObject(
        bucket,
        key,
        data,
        String(req.headers['content-type'] ?? 'binary/octet-stream'),
      );
      const echo: Record<string, string> = {};
      for (const [h, v] of Object.entries(req.headers)) {
        if (h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-algorithm' && typeof v === 'string')
          echo[h] = v;
      }
      return send(res, 200, '', { etag: obj.etag, 'x-amz-request-id': requestId(), ...echo });
    }
    case 'GET':
    case 'HEAD': {
      state.count(method === 'GET' ? 's3:GetObject' : 's3:HeadObject');
      const found = state.getObject(bucket, key);
      if (found === 'NoSuchBucket') {
        return s3Error(
          res,
          404,
          'NoSuchBucket',
          'The specified bucket does not exist',
          { BucketName: bucket },
          method === 'GET',
        );
      }
      if (found === 'NoSuchKey') {
        return s3Error(
          res,
          404,
          'NoSuchKey',
          'The specified key does not exist.',
          { Key: key },
          method === 'GET',
        );
      }
      const headers = {
        'content-type': found.contentType,
        etag: found.etag,
        'last-modified': found.lastModified.toUTCString(),
        'accept-ranges': 'bytes',
        'x-amz-request-id': requestId(),
      };
      if (method === 'HEAD') {
        if (!res.headersSent) res.writeHead(200, { ...headers, 'content-length': found.body.length });
        res.end();
        return;
      }
      return send(res, 200, found.body, headers);
    }
    case 'DELETE':
      state.count('s3:DeleteObject');
      state.buckets.get(bucket)?.delete(key);
      return send(res, 204, '', { 'x-amz-request-id': requestId() });
    default:
      return s3Error(res, 405, 'MethodNotAllowed', `${method} is not allowed on an object`, {}, true);
  }
}
