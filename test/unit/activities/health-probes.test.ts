/**
 * Health-gate probes (activities/health-probes.ts) against the fleet lab through the real clients: CloudWatch
 * DescribeAlarms with the real @aws-sdk/client-cloudwatch, the lab's Alertmanager API v2, plain HTTP health
 * endpoints; what cannot be read (unknown alarm, closed port, a URL the SSRF guard refuses) and the plan's
 * `on_unreadable` choice. The store is not involved: `readGates` takes the gates as the snapshot holds them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsClients } from '../../../activities/aws';
import { createHealthProbeActivities } from '../../../activities/health-probes';
import { HealthGates, HealthProbe } from '../../../domain/health-gates';
import type { Lab } from '../../../lab/server';
import { control, startLab } from '../lab/helpers';

let lab: Lab;
let probes: ReturnType<typeof createHealthProbeActivities>;
let closedPort: number;

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID ??= 'lab';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'lab';
  lab = await startLab();
  const config = {
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: lab.url,
    PATCHWAVE_HTTP_ALLOWLIST: '127.0.0.1',
  };
  probes = createHealthProbeActivities({
    records: {
      getEvent: async () => null,
      getMachine: async () => null,
      listMachines: async () => [],
      previousHookRuns: async () => [],
    },
    aws: new AwsClients(config),
    config,
  });
  // A port nobody listens on: bind, note it, close.
  const s: Server = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  closedPort = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
});
afterAll(async () => lab.close());

const probe = (p: unknown) => probes.readProbe(HealthProbe.parse(p));

describe('cloudwatch_alarm', () => {
  test('OK is healthy; ALARM is unhealthy with its reason; INSUFFICIENT_DATA and unknown alarms cannot be read', async () => {
    await control(lab, 'PUT', '/_lab/cloudwatch/alarms/api-5xx', { state: 'OK' });
    await control(lab, 'PUT', '/_lab/cloudwatch/alarms/api-latency', { state: 'OK' });
    const both = { type: 'cloudwatch_alarm', alarm_names: ['api-5xx', 'api-latency'] };
    expect(await probe(both)).toEqual({
      healthy: true,
      readable: true,
      answer: 'alarms OK: api-5xx, api-latency',
    });

    await control(lab, 'PUT', '/_lab/cloudwatch/alarms/api-latency', { state: 'ALARM', reason: 'p99 > 2 s' });
    expect(await probe(both)).toEqual({
      healthy: false,
      readable: true,
      answer: 'alarm api-latency in ALARM: p99 > 2 s',
    });

    await control(lab, 'PUT', '/_lab/cloudwatch/alarms/api-latency', { state: 'INSUFFICIENT_DATA' });
    expect(await probe(both)).toMatchObject({
      readable: false,
      answer: expect.stringContaining('INSUFFICIENT_DATA'),
    });
    expect(await probe({ type: 'cloudwatch_alarm', alarm_names: ['nope'] })).toEqual({
      healthy: false,
      readable: false,
      answer: 'cannot be read: no such alarm: nope',
    });
  });
});

describe('prometheus (Alertmanager API v2)', () => {
  test('an active alert matching every label is unhealthy; silenced or other labels are not', async () => {
    const p = {
      type: 'prometheus',
      url: `${lab.url}/_lab/alertmanager`,
      matchers: { service: 'api', env: 'prod' },
    };
    await control(lab, 'PUT', '/_lab/alertmanager/alerts', {
      alerts: [
        { labels: { alertname: 'HighErrorRate', service: 'api', env: 'staging' } },
        { labels: { alertname: 'Silenced', service: 'api', env: 'prod' }, state: 'suppressed' },
      ],
    });
    expect(await probe(p)).toEqual({ healthy: true, readable: true, answer: 'no firing alert matches' });
    await control(lab, 'PUT', '/_lab/alertmanager/alerts', {
      alerts: [{ labels: { alertname: 'HighErrorRate', service: 'api', env: 'prod' } }],
    });
    expect(await probe(p)).toEqual({
      healthy: false,
      readable: true,
      answer: '1 firing alert(s): HighErrorRate',
    });
  });
});

describe('http', () => {
  test('status and JSON field decide', async () => {
    await control(lab, 'PUT', '/_lab/health/api', {
      status: 200,
      body: { status: 'ok', checks: { db: 'up' } },
    });
    const url = `${lab.url}/_lab/health/api`;
    expect(await probe({ type: 'http', url })).toMatchObject({ healthy: true });
    expect(await probe({ type: 'http', url, json_field: 'checks.db', json_value: 'up' })).toMatchObject({
      healthy: true,
    });
    expect(await probe({ type: 'http', url, json_field: 'status', json_value: 'degraded' })).toEqual({
      healthy: false,
      readable: true,
      answer: 'status is "ok" (expected "degraded")',
    });
    await control(lab, 'PUT', '/_lab/health/api', { status: 503, body: {} });
    expect(await probe({ type: 'http', url })).toEqual({
      healthy: false,
      readable: true,
      answer: 'HTTP 503 (expected 200)',
    });
  });

  test('no answer and refused URLs cannot be read', async () => {
    const closed = await probe({ type: 'http', url: `http://127.0.0.1:${closedPort}/health`, timeout_s: 2 });
    expect(closed).toMatchObject({ healthy: false, readable: false });
    const metadata = await probe({ type: 'http', url: 'https://169.254.169.254/latest/meta-data/' });
    expect(metadata).toEqual({
      healthy: false,
      readable: false,
      answer: 'cannot be read: url must not point at a loopback, link-local or cloud metadata address',
    });
  });
});

describe('hook (a Lambda or Azure function answering {healthy, reason})', () => {
  const ARN = 'arn:aws:lambda:us-east-1:123456789012:function:gate-check';

  test('a Lambda answers healthy or unhealthy with its reason, and receives the hook payload', async () => {
    await control(lab, 'PUT', '/_lab/lambdas/gate-check', {
      responses: [
        { body: { healthy: true, reason: 'error budget 92 % left' } },
        // A Lambda that returns JSON.stringify(...) and one behind an API-Gateway-style wrapper.
        { body: JSON.stringify({ healthy: false, reason: 'checkout p99 3.1 s' }) },
        { body: { statusCode: 200, body: JSON.stringify({ healthy: false }) } },
      ],
    });
    const p = { type: 'hook', hook: { type: 'lambda', source: ARN } };
    expect(await probe(p)).toEqual({
      healthy: true,
      readable: true,
      answer: 'healthy: error budget 92 % left',
    });
    expect(await probe(p)).toEqual({
      healthy: false,
      readable: true,
      answer: 'unhealthy: checkout p99 3.1 s',
    });
    expect(await probe(p)).toEqual({ healthy: false, readable: true, answer: 'unhealthy' });

    const payload = { event_id: 'ev1', customer_id: 'c1', machines: [], hook_outputs: [] };
    await control(lab, 'PUT', '/_lab/lambdas/gate-check', { responses: [{ body: { healthy: true } }] });
    const gates = HealthGates.parse({ probes: [p, p] });
    expect(await probes.readGates(gates, async () => JSON.stringify(payload))).toEqual({ healthy: true });
    const calls = (await control(lab, 'GET', '/_lab/lambdas/gate-check/invocations')).json as {
      payload: unknown;
    }[];
    expect(calls.slice(-2).map((c) => c.payload)).toEqual([payload, payload]);
  });

  test('an Azure function is called through the SSRF guard; a broken answer cannot be read', async () => {
    await control(lab, 'PUT', '/_lab/azure/gate', {
      code: 'k3y',
      responses: [
        { body: { healthy: false, reason: 'queue depth 12000' } },
        { status: 500, body: { error: 'boom' } },
        { body: { ok: true } },
      ],
    });
    const p = {
      type: 'hook',
      hook: { type: 'azure', method: 'POST', source: `${lab.url}/_lab/azure/gate?code=k3y` },
    };
    expect(await probe(p)).toEqual({
      healthy: false,
      readable: true,
      answer: 'unhealthy: queue depth 12000',
    });
    expect(await probe(p)).toEqual({
      healthy: false,
      readable: false,
      answer: 'cannot be read: the function answered HTTP 500',
    });
    expect(await probe(p)).toEqual({
      healthy: false,
      readable: false,
      answer: 'cannot be read: the answer has no boolean "healthy": {"ok":true}',
    });

    const metadata = await probe({
      type: 'hook',
      hook: { type: 'azure', source: 'https://169.254.169.254/latest/meta-data/' },
    });
    expect(metadata).toMatchObject({ readable: false, answer: expect.stringContaining('hook URL refused') });
  });

  test('a Lambda function error or a missing function cannot be read', async () => {
    await control(lab, 'PUT', '/_lab/lambdas/gate-broken', { responses: [{ status: 'error' }] });
    const broken = await probe({
      type: 'hook',
      hook: { type: 'lambda', source: 'arn:aws:lambda:us-east-1:123456789012:function:gate-broken' },
    });
    expect(broken).toMatchObject({
      readable: false,
      answer: expect.stringContaining('function error: Unhandled'),
    });
    const missing = await probe({
      type: 'hook',
      hook: { type: 'lambda', source: 'arn:aws:lambda:us-east-1:123456789012:function:no-such' },
    });
    expect(missing).toMatchObject({ healthy: false, readable: false });
  });
});

describe('a reading of all gates', () => {
  test('fail-closed by default: an unreadable probe halts; `on_unreadable: healthy` lets it pass', async () => {
    await control(lab, 'PUT', '/_lab/cloudwatch/alarms/api-5xx', { state: 'OK' });
    const probesList = [
      { type: 'cloudwatch_alarm', alarm_names: ['api-5xx'] },
      { type: 'http', name: 'status page', url: `http://127.0.0.1:${closedPort}/`, timeout_s: 1 },
    ];
    const closedGates = HealthGates.parse({ probes: probesList });
    expect(await probes.readGates(closedGates)).toMatchObject({ healthy: false, probe: 'status page' });
    const openGates = HealthGates.parse({ probes: probesList, on_unreadable: 'healthy' });
    expect(await probes.readGates(openGates)).toEqual({ healthy: true });
  });

  test('the first unhealthy probe in plan order is named, by its position when it has no name', async () => {
    await control(lab, 'PUT', '/_lab/cloudwatch/alarms/api-5xx', { state: 'ALARM', reason: 'errors' });
    const gates = HealthGates.parse({ probes: [{ type: 'cloudwatch_alarm', alarm_names: ['api-5xx'] }] });
    expect(await probes.readGates(gates)).toEqual({
      healthy: false,
      probe: 'cloudwatch_alarm_0',
      answer: 'alarm api-5xx in ALARM: errors',
    });
  });
});
