/** Lambda Invoke through the real client, and Azure-Function-style endpoints, both answering from response queues. */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { Lab } from '../../../lab/server';
import { clientsFor, control, startLab } from './helpers';

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const text = (b?: Uint8Array) => (b ? new TextDecoder().decode(b) : '');

describe('Lambda Invoke', () => {
  let lab: Lab;
  let lambda: LambdaClient;

  beforeAll(async () => {
    lab = await startLab({ speed: 10 });
    ({ lambda } = clientsFor(lab));
  });
  afterAll(async () => {
    lambda.destroy();
    await lab.close();
  });
  beforeEach(async () => {
    await control(lab, 'POST', '/_lab/reset');
  });

  it('answers from the queue in order, the last response repeating, and records each payload', async () => {
    const put = await control(lab, 'PUT', '/_lab/lambdas/pre-hook', {
      responses: [
        { status: 200, body: { code: 200, msg: 'ok', output: 'drained' } },
        { status: 'error', body: 'kaboom' },
        { status: 500 },
        { status: 200, body: 'not json at all' },
      ],
    });
    expect(put.status).toBe(200);
    const call = (n: number) =>
      lambda.send(new InvokeCommand({ FunctionName: 'pre-hook', Payload: json({ n }) }));

    const first = await call(1);
    expect(first.StatusCode).toBe(200);
    expect(first.FunctionError).toBeUndefined();
    expect(JSON.parse(text(first.Payload))).toEqual({ code: 200, msg: 'ok', output: 'drained' });

    const second = await call(2);
    expect(second.StatusCode).toBe(200);
    expect(second.FunctionError).toBe('Unhandled');
    expect(JSON.parse(text(second.Payload))).toMatchObject({ errorMessage: 'kaboom' });

    await expect(call(3)).rejects.toMatchObject({
      name: 'ServiceException',
      $metadata: { httpStatusCode: 500 },
    });

    expect(text((await call(4)).Payload)).toBe('not json at all');
    expect(text((await call(5)).Payload)).toBe('not json at all');

    const inv = (await control(lab, 'GET', '/_lab/lambdas/pre-hook/invocations')).json;
    expect(inv.map((i: { payload: unknown }) => i.payload)).toEqual([1, 2, 3, 4, 5].map((n) => ({ n })));
    expect(typeof inv[0].received_at).toBe('string');
  });

  it('accepts a full (URL-encoded) ARN, a partial ARN and a qualified name', async () => {
    await control(lab, 'PUT', '/_lab/lambdas/arn-hook', {
      responses: [{ status: 200, body: { code: 200 } }],
    });
    for (const FunctionName of [
      'arn:aws:lambda:eu-west-1:210987654321:function:arn-hook',
      'arn:aws:lambda:eu-west-1:210987654321:function:arn-hook:prod',
      '210987654321:function:arn-hook',
      'arn-hook:3',
    ]) {
      const out = await lambda.send(new InvokeCommand({ FunctionName, Payload: json({}) }));
      expect(JSON.parse(text(out.Payload))).toEqual({ code: 200 });
    }
    expect((await control(lab, 'GET', '/_lab/lambdas/arn-hook/invocations')).json).toHaveLength(4);
  });

  it('uses the default ok answer when no response is configured', async () => {
    await control(lab, 'PUT', '/_lab/lambdas/plain', {});
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'plain' }));
    expect(JSON.parse(text(out.Payload))).toEqual({ code: 200, msg: 'ok', output: '' });
    expect((await control(lab, 'GET', '/_lab/lambdas/plain/invocations')).json[0].payload).toBeNull();
  });

  it('answers ResourceNotFoundException (404) for an unknown function', async () => {
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'nope' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    expect((await control(lab, 'GET', '/_lab/lambdas/nope/invocations')).status).toBe(404);
  });

  it('maps 429 to TooManyRequestsException', async () => {
    await control(lab, 'PUT', '/_lab/lambdas/busy', { responses: [{ status: 429 }] });
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'busy' }))).rejects.toMatchObject({
      name: 'TooManyRequestsException',
      $metadata: { httpStatusCode: 429 },
    });
  });

  it('holds an answer for delay_s lab seconds', async () => {
    await control(lab, 'PUT', '/_lab/lambdas/slow', { responses: [{ delay_s: 3, status: 200, body: {} }] });
    const t0 = Date.now();
    await lambda.send(new InvokeCommand({ FunctionName: 'slow' }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(299); // 3 lab s at speed 10
  });

  it('queues an asynchronous (Event) invocation without answering from the queue', async () => {
    await control(lab, 'PUT', '/_lab/lambdas/async', { responses: [{ status: 500 }] });
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: 'async', InvocationType: 'Event', Payload: json({ a: 1 }) }),
    );
    expect(out.StatusCode).toBe(202);
    expect((await control(lab, 'GET', '/_lab/lambdas/async/invocations')).json[0].payload).toEqual({ a: 1 });
  });

  it('validates the control input', async () => {
    const bad = await control(lab, 'PUT', '/_lab/lambdas/x', { responses: [{ status: 'maybe' }] });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/status/);
  });
});

describe('Azure function endpoints', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab({ speed: 10 });
  });
  afterAll(async () => {
    await lab.close();
  });
  beforeEach(async () => {
    await control(lab, 'POST', '/_lab/reset');
  });

  it('checks the code, answers from the queue and records method, code and payload', async () => {
    await control(lab, 'PUT', '/_lab/azure/drain', {
      code: 's3cret',
      responses: [
        { status: 200, body: { code: 200, msg: 'ok', output: 'drained' } },
        { status: 503, body: 'service down' },
      ],
    });
    expect((await fetch(`${lab.url}/_lab/azure/drain`)).status).toBe(401);
    expect((await fetch(`${lab.url}/_lab/azure/drain?code=wrong`)).status).toBe(401);

    const ok = await fetch(`${lab.url}/_lab/azure/drain?code=s3cret`, { method: 'GET' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ code: 200, msg: 'ok', output: 'drained' });

    const down = await fetch(`${lab.url}/_lab/azure/drain?code=s3cret`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_id: 'evt_1' }),
    });
    expect(down.status).toBe(503);
    expect(await down.text()).toBe('service down');
    const again = await fetch(`${lab.url}/_lab/azure/drain`, {
      method: 'POST',
      headers: { 'x-functions-key': 's3cret' },
    });
    expect(again.status).toBe(503);

    const inv = (await control(lab, 'GET', '/_lab/azure/drain/invocations')).json;
    expect(inv.map((i: Record<string, unknown>) => [i.method, i.code, i.payload])).toEqual([
      ['GET', 's3cret', null],
      ['POST', 's3cret', { event_id: 'evt_1' }],
      ['POST', 's3cret', null],
    ]);
  });

  it('needs no code when none is configured, and answers 404 for an unknown function', async () => {
    await control(lab, 'PUT', '/_lab/azure/open', { responses: [{ status: 204 }] });
    expect((await fetch(`${lab.url}/_lab/azure/open`)).status).toBe(204);
    expect((await fetch(`${lab.url}/_lab/azure/missing`)).status).toBe(404);
  });

  it('holds an answer for delay_s lab seconds', async () => {
    await control(lab, 'PUT', '/_lab/azure/slow', { responses: [{ delay_s: 2, status: 200, body: {} }] });
    const t0 = Date.now();
    await fetch(`${lab.url}/_lab/azure/slow`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(199);
  });
});
