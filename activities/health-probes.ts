import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { EventRecords } from '../store/event-records';
import type { AwsClients } from './aws';
import { httpAllowlist, type Config } from '../common/config';
import { checkOutboundUrlResolved } from '../common/url-guard';
import { probeLabel, type GateReading, type HealthGates, type HealthProbe } from '../domain/health-gates';
import type { RawHookAnswer } from '../domain/hook-result';
import { createHookCaller } from './hook-calls';
import { hookPayloadFor } from './hook-payloads';

export interface HealthProbeDeps {
  records: Pick<EventRecords, 'getEvent' | 'getMachine' | 'listMachines' | 'previousHookRuns'>;
  aws: AwsClients;
  config: Pick<Config, 'PATCHWAVE_HTTP_ALLOWLIST' | 'AWS_REGION'>;
  fetchImpl?: typeof fetch;
}

/** One probe's answer: `readable` false when it could not be read at all (timeout, error, unknown alarm). */
export interface ProbeAnswer {
  healthy: boolean;
  readable: boolean;
  answer: string;
}

/** Attempts per probe reading: a transient error is tried again once before the probe counts as unreadable. */
const PROBE_ATTEMPTS = 2;
const ANSWER_CAP = 500;

class Unreadable extends Error {}

/** Outside an event (unit tests of single probes) a hook probe gets an empty payload. */
const emptyPayload = async () => '{}';

const cap = (s: string) => (s.length > ANSWER_CAP ? `${s.slice(0, ANSWER_CAP)}…` : s);

/** `a.b.c` in a parsed JSON document. */
function fieldAt(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** A JSON text, or undefined. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * What a `hook` probe's function answered → its verdict. The answer is `{healthy, reason}`, also accepted
 * as a JSON string (a Lambda returning JSON.stringify) or inside an API-Gateway-style `{statusCode, body}`,
 * as hook answers are. Anything else is unreadable: the function broke, which is not the same as "unhealthy".
 */
export function hookProbeVerdict(raw: RawHookAnswer): { healthy: boolean; answer: string } {
  if (raw.kind === 'function_error') throw new Unreadable(`function error: ${raw.message}`);
  if (raw.kind === 'transport_error') throw new Unreadable(raw.message);
  if (raw.kind === 'timeout') throw new Unreadable('no answer in time');
  if (raw.httpStatus !== undefined && (raw.httpStatus < 200 || raw.httpStatus > 299))
    throw new Unreadable(`the function answered HTTP ${raw.httpStatus}`);
  let v = parseJson(raw.body);
  if (typeof v === 'string') v = parseJson(v);
  const obj = (x: unknown): x is Record<string, unknown> =>
    typeof x === 'object' && x !== null && !Array.isArray(x);
  if (obj(v) && !('healthy' in v) && 'body' in v) v = typeof v.body === 'string' ? parseJson(v.body) : v.body;
  if (!obj(v) || typeof v.healthy !== 'boolean')
    throw new Unreadable(
      `the answer has no boolean "healthy": ${raw.body.replace(/\s+/g, ' ').slice(0, 200)}`,
    );
  const reason = typeof v.reason === 'string' && v.reason.trim() ? `: ${v.reason.trim()}` : '';
  return { healthy: v.healthy, answer: cap(`${v.healthy ? 'healthy' : 'unhealthy'}${reason}`) };
}

/** Builds the probe's request body when a `hook` probe first needs it (the usual hook payload). */
type PayloadSource = () => Promise<string>;

export function createHealthProbeActivities({ records, aws, config, fetchImpl = fetch }: HealthProbeDeps) {
  const allowlist = httpAllowlist(config);
  const caller = createHookCaller({ aws, config, fetchImpl });

  /** GET with the SSRF guard, the probe's timeout and no redirects (a redirect could lead past the guard). */
  async function get(url: string, timeoutMs: number): Promise<{ status: number; text: string }> {
    const blocked = await checkOutboundUrlResolved(url, allowlist);
    if (blocked) throw new Unreadable(`url ${blocked}`);
    const res = await fetchImpl(url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.status, text: await res.text() };
  }

  async function readCloudWatch(p: Extract<HealthProbe, { type: 'cloudwatch_alarm' }>): Promise<ProbeAnswer> {
    const client = aws.cloudwatch(p.region ?? config.AWS_REGION);
    const out = await client.send(
      new DescribeAlarmsCommand({ AlarmNames: p.alarm_names, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] }),
      { abortSignal: AbortSignal.timeout(p.timeout_s * 1000) },
    );
    const alarms = [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])];
    const states = new Map(alarms.map((a) => [a.AlarmName, a]));
    const missing = p.alarm_names.filter((n) => !states.has(n));
    const firing = p.alarm_names.filter((n) => states.get(n)?.StateValue === 'ALARM');
    if (firing.length) {
      const first = states.get(firing[0]);
      return {
        healthy: false,
        readable: true,
        answer: cap(
          `alarm ${firing.join(', ')} in ALARM${first?.StateReason ? `: ${first.StateReason}` : ''}`,
        ),
      };
    }
    if (missing.length) throw new Unreadable(`no such alarm: ${missing.join(', ')}`);
    const unknown = p.alarm_names.filter((n) => states.get(n)?.StateValue === 'INSUFFICIENT_DATA');
    if (unknown.length) throw new Unreadable(`alarm ${unknown.join(', ')} has INSUFFICIENT_DATA`);
    return { healthy: true, readable: true, answer: `alarms OK: ${p.alarm_names.join(', ')}` };
  }

  async function readHttp(p: Extract<HealthProbe, { type: 'http' }>): Promise<ProbeAnswer> {
    const r = await get(p.url, p.timeout_s * 1000);
    if (r.status !== p.expected_status)
      return {
        healthy: false,
        readable: true,
        answer: cap(`HTTP ${r.status} (expected ${p.expected_status})`),
      };
    if (p.json_field === undefined) return { healthy: true, readable: true, answer: `HTTP ${r.status}` };
    let doc: unknown;
    try {
      doc = JSON.parse(r.text);
    } catch {
      throw new Unreadable(`HTTP ${r.status} but the answer is not JSON`);
    }
    const value = fieldAt(doc, p.json_field);
    if (p.json_value !== undefined && value !== p.json_value)
      return {
        healthy: false,
        readable: true,
        answer: cap(`${p.json_field} is ${JSON.stringify(value)} (expected ${JSON.stringify(p.json_value)})`),
      };
    if (value === undefined) throw new Unreadable(`the answer has no field ${p.json_field}`);
    return { healthy: true, readable: true, answer: cap(`${p.json_field} is ${JSON.stringify(value)}`) };
  }

  async function readPrometheus(p: Extract<HealthProbe, { type: 'prometheus' }>): Promise<ProbeAnswer> {
    const base = p.url.replace(/\/+$/, '');
    const matches = (labels: Record<string, string> | undefined) =>
      Object.entries(p.matchers).every(([k, v]) => labels?.[k] === v);
    let firing: Record<string, string>[];
    if (p.api === 'alertmanager') {
      // Alertmanager API v2: active alerts, not silenced or inhibited, filtered by equality matchers.
      const q = new URLSearchParams({ active: 'true', silenced: 'false', inhibited: 'false' });
      for (const [k, v] of Object.entries(p.matchers)) q.append('filter', `${k}=${JSON.stringify(v)}`);
      const r = await get(`${base}/api/v2/alerts?${q.toString()}`, p.timeout_s * 1000);
      if (r.status !== 200) throw new Unreadable(`Alertmanager answered HTTP ${r.status}`);
      const alerts = JSON.parse(r.text) as { labels?: Record<string, string>; status?: { state?: string } }[];
      if (!Array.isArray(alerts)) throw new Unreadable('Alertmanager answer is not a list of alerts');
      firing = alerts.filter((a) => a.status?.state === 'active' && matches(a.labels)).map((a) => a.labels!);
    } else {
      // Prometheus HTTP API: /api/v1/alerts lists pending and firing alerts; only firing ones count.
      const r = await get(`${base}/api/v1/alerts`, p.timeout_s * 1000);
      if (r.status !== 200) throw new Unreadable(`Prometheus answered HTTP ${r.status}`);
      const doc = JSON.parse(r.text) as {
        status?: string;
        data?: { alerts?: { labels?: Record<string, string>; state?: string }[] };
      };
      if (doc.status !== 'success' || !Array.isArray(doc.data?.alerts))
        throw new Unreadable('Prometheus answer has no data.alerts');
      firing = doc.data.alerts.filter((a) => a.state === 'firing' && matches(a.labels)).map((a) => a.labels!);
    }
    if (firing.length)
      return {
        healthy: false,
        readable: true,
        answer: cap(
          `${firing.length} firing alert(s): ${firing.map((l) => l.alertname ?? JSON.stringify(l)).join(', ')}`,
        ),
      };
    return { healthy: true, readable: true, answer: 'no firing alert matches' };
  }

  async function readHook(
    p: Extract<HealthProbe, { type: 'hook' }>,
    payload: PayloadSource,
  ): Promise<ProbeAnswer> {
    const body = await payload();
    const raw = await caller.call(p.hook, body, AbortSignal.timeout(p.timeout_s * 1000));
    return { readable: true, ...hookProbeVerdict(raw) };
  }

  /** One probe, with bounded retries; whatever cannot be read is an answer too (readable: false). */
  async function readProbe(p: HealthProbe, payload: PayloadSource = emptyPayload): Promise<ProbeAnswer> {
    let last = '';
    for (let attempt = 1; attempt <= PROBE_ATTEMPTS; attempt++) {
      try {
        if (p.type === 'cloudwatch_alarm') return await readCloudWatch(p);
        if (p.type === 'http') return await readHttp(p);
        if (p.type === 'hook') return await readHook(p, payload);
        return await readPrometheus(p);
      } catch (err) {
        const e = err as { name?: string; message?: string };
        last =
          e.name === 'TimeoutError' || e.name === 'AbortError'
            ? `no answer within ${p.timeout_s} s`
            : (e.message ?? String(err));
        if (err instanceof Unreadable) break; // a definite answer: asking again would not change it
      }
    }
    return { healthy: false, readable: false, answer: cap(`cannot be read: ${last}`) };
  }

  /** Reads every probe; the first unhealthy one (in plan order) is the reading's answer. */
  async function readGates(gates: HealthGates, payload: PayloadSource = emptyPayload): Promise<GateReading> {
    // One payload per reading, built once however many hook probes ask for it.
    let body: Promise<string> | undefined;
    const once: PayloadSource = () => (body ??= payload());
    const answers = await Promise.all(gates.probes.map((p) => readProbe(p, once)));
    for (const [i, a] of answers.entries()) {
      const unhealthy = a.readable ? !a.healthy : gates.on_unreadable === 'unhealthy';
      if (unhealthy) return { healthy: false, probe: probeLabel(gates.probes[i], i), answer: a.answer };
    }
    return { healthy: true };
  }

  return {
    readProbe,
    readGates,
    /** The event workflow's reading of its plan's health gates (from the run's plan snapshot). */
    async readHealthGates(a: { eventId: string; runNo: number }): Promise<GateReading> {
      const e = await records.getEvent(a.eventId);
      const gates = e?.plan_snapshot?.health_gates;
      if (!gates) return { healthy: true };
      return readGates(gates, async () => JSON.stringify(await hookPayloadFor(records, e)));
    },
  };
}
