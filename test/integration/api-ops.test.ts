/**
 * Operational behaviour of the API: health, readiness, metrics, request ids, logs, body limits and rate
 * limits (see api-harness.ts: real store, recording fake of the orchestrator port).
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { machineBody, startApi, type ApiHarness } from './api-harness';

describe('operational endpoints', () => {
  let h: ApiHarness;
  const lines: string[] = [];
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    h = await startApi('ops', {
      logger: pino({ level: 'info' }, sink),
      env: { API_BODY_LIMIT_BYTES: '4096' },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('answers /healthz without a key and /readyz from the store and the orchestrator', async () => {
    expect((await h.request('GET', '/healthz', { key: null })).body).toEqual({ status: 'ok' });
    const ready = await h.request('GET', '/readyz', { key: null });
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ store: 'ok', temporal: 'ok' });
    h.orchestrator.failNext.set('ping', new Error('connection refused'));
    const notReady = await h.request('GET', '/readyz', { key: null });
    expect(notReady.status).toBe(503);
    expect(notReady.body.error.details.temporal).toMatch(/connection refused/);
  });

  it('serves Prometheus metrics with request counts and status gauges', async () => {
    await h.request('GET', '/api/v1/machines');
    const m = await h.request('GET', '/metrics', { key: null });
    expect(m.status).toBe(200);
    expect(m.text).toMatch(
      /patchwave_http_requests_total\{method="GET",route="\/api\/v1\/machines",status="200"\} \d+/,
    );
    expect(m.text).toContain('patchwave_http_request_duration_seconds_bucket');
    expect(m.text).toMatch(/patchwave_events\{status="DONE"\} \d+/);
    expect(m.text).toMatch(/patchwave_event_machines\{status="SUCCESS"\} \d+/);
    expect(m.text).toContain('patchwave_hook_calls_total');
    expect(m.text).toContain('patchwave_ssm_call_duration_seconds');
  });

  it('echoes a given request id, makes one otherwise, and logs requests without secrets', async () => {
    const given = await h.request('GET', '/api/v1/machines', { headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    const made = await h.request('GET', '/api/v1/machines');
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const created = await h.request('POST', '/api/v1/api-keys', { body: { name: 'log-check' } });
    await h.request('GET', '/api/v1/machines', { key: created.body.secret });
    await h.request('GET', '/api/v1/machines', {
      key: null,
      headers: { 'x-api-key': 'pw_key_nothere.whatever-secret-value' },
    });
    const log = lines.join('');
    const entry = lines.map((l) => JSON.parse(l)).find((l) => l.req_id === 'abc-123');
    expect(entry).toMatchObject({
      method: 'GET',
      route: '/api/v1/machines',
      status: 200,
      api_key_id: expect.any(String),
    });
    expect(log).not.toContain(h.adminKey);
    expect(log).not.toContain(created.body.secret);
    expect(log).not.toContain('whatever-secret-value');
  });

  it('answers 413 for a body over the limit and 400 for invalid JSON, in the error shape, writing nothing', async () => {
    const big = await h.request('POST', '/api/v1/machines', {
      body: machineBody(1, { description: 'x'.repeat(5000) }),
    });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('payload_too_large');
    const broken = await h.request('POST', '/api/v1/machines', { raw: '{"name": ' });
    expect(broken.status).toBe(400);
    expect(broken.body.error.details).toEqual([{ in: 'body', path: '', message: 'is not valid JSON' }]);
    const noType = await h.request('POST', '/api/v1/machines', {
      raw: 'name=x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(noType.status).toBe(400);
    expect((await h.request('GET', '/api/v1/machines')).body.items).toEqual([]);
  });

  it('answers 401 without a key, and 404 in the error shape for unknown routes', async () => {
    const none = await h.request('GET', '/api/v1/machines', { key: null });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthorized');
    const unknown = await h.request('GET', '/api/v1/nothing');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
  });
});

describe('rate limits', () => {
  it('limits each key to its bucket and answers 429 with Retry-After', async () => {
    const h = await startApi('ratelimit', {
      rateLimit: { perSec: 0.001, burst: 3, failedAuthPerSec: 0.001, failedAuthBurst: 2 },
    });
    try {
      const codes = [];
      for (let i = 0; i < 5; i++) codes.push((await h.request('GET', '/api/v1/machines')).status);
      expect(codes).toEqual([200, 200, 200, 429, 429]);
      const limited = await h.request('GET', '/api/v1/machines');
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(limited.body.error.code).toBe('rate_limited');
      // Another key has its own bucket.
      const other = await h.keyWithRules('default', [{ resources: ['machine'], actions: ['list'] }]);
      expect((await h.request('GET', '/api/v1/machines', { key: other })).status).toBe(200);
      // Guessing keys is limited per client address.
      const guesses = [];
      for (let i = 0; i < 4; i++)
        guesses.push(
          (await h.request('GET', '/api/v1/machines', { key: `pw_key_guess.${'x'.repeat(40)}` })).status,
        );
      expect(guesses).toEqual([401, 401, 429, 429]);
    } finally {
      await h.close();
    }
  });
});
