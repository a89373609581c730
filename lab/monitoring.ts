import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { ACCOUNT_ID, AwsError, requestId, send, sendJson } from './http';

/**
 * What health-gate probes read (issue 16): CloudWatch alarms (DescribeAlarms over the AWS JSON 1.0 protocol
 * the real @aws-sdk/client-cloudwatch speaks, shapes from botocore's `cloudwatch` model), an Alertmanager
 * API v2 `/api/v2/alerts`, and plain HTTP health endpoints. Tests set their states through the control API:
 *
 *   PUT /_lab/cloudwatch/alarms/:name {state: OK|ALARM|INSUFFICIENT_DATA, reason?}; GET /_lab/cloudwatch/alarms
 *   PUT /_lab/alertmanager/alerts {alerts: [{labels, state?: active|suppressed}]}  (replaces the list)
 *   GET /_lab/alertmanager/api/v2/alerts?filter=k="v"&active=true&silenced=false  (the probe's URL)
 *   PUT /_lab/health/:name {status, body}; GET /_lab/health/:name answers it (an http probe's target)
 */
export const AlarmStateInput = z.strictObject({
  state: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
  reason: z.string().max(1023).optional(),
});
export const AlertsInput = z.strictObject({
  alerts: z
    .array(
      z.strictObject({
        labels: z.record(z.string().min(1), z.string()),
        annotations: z.record(z.string(), z.string()).optional(),
        state: z.enum(['active', 'suppressed']).default('active'),
      }),
    )
    .max(1000),
});
export const HealthInput = z.strictObject({
  status: z.number().int().min(100).max(599).default(200),
  body: z.unknown().optional(),
});

interface Alarm {
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  reason: string;
  updatedMs: number;
}

export class MonitoringState {
  alarms = new Map<string, Alarm>();
  alerts: z.infer<typeof AlertsInput>['alerts'] = [];
  health = new Map<string, z.infer<typeof HealthInput>>();

  constructor(private readonly now: () => number) {}

  reset(): void {
    this.alarms.clear();
    this.alerts = [];
    this.health.clear();
  }

  putAlarm(name: string, input: unknown) {
    const a = AlarmStateInput.parse(input);
    this.alarms.set(name, {
      state: a.state,
      reason: a.reason ?? `Lab: state set to ${a.state}`,
      updatedMs: this.now(),
    });
    return { name, ...this.alarms.get(name)! };
  }

  /** DescribeAlarms: the named alarms that exist (unknown names are left out, as AWS does). */
  describeAlarms(input: Record<string, unknown>): Record<string, unknown> {
    const names = input.AlarmNames;
    if (names !== undefined && (!Array.isArray(names) || names.some((n) => typeof n !== 'string')))
      throw new AwsError('InvalidParameterValue', 400, 'AlarmNames must be a list of strings');
    if (Array.isArray(names) && names.length > 100)
      throw new AwsError('InvalidParameterValue', 400, 'AlarmNames has more than 100 members');
    const types = Array.isArray(input.AlarmTypes) ? input.AlarmTypes : ['MetricAlarm'];
    const wanted = Array.isArray(names) ? (names as string[]) : [...this.alarms.keys()];
    const stateFilter = typeof input.StateValue === 'string' ? input.StateValue : undefined;
    const metric = wanted
      .filter((n) => this.alarms.has(n))
      .filter((n) => !stateFilter || this.alarms.get(n)!.state === stateFilter)
      .map((n) => {
        const a = this.alarms.get(n)!;
        return {
          AlarmName: n,
          AlarmArn: `arn:aws:cloudwatch:us-east-1:${ACCOUNT_ID}:alarm:${n}`,
          ActionsEnabled: true,
          StateValue: a.state,
          StateReason: a.reason,
          // AWS JSON protocols carry timestamps as epoch seconds.
          StateUpdatedTimestamp: a.updatedMs / 1000,
          AlarmConfigurationUpdatedTimestamp: a.updatedMs / 1000,
          MetricName: 'Lab',
          Namespace: 'Patchwave/Lab',
          Statistic: 'Average',
          Period: 60,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        };
      });
    return { MetricAlarms: types.includes('MetricAlarm') ? metric : [], CompositeAlarms: [] };
  }

  /** Alertmanager API v2 GET /api/v2/alerts with `filter` equality matchers and the active/silenced flags. */
  listAlerts(query: URLSearchParams): unknown[] {
    const matchers: [string, string][] = [];
    for (const f of query.getAll('filter')) {
      const m = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*$/.exec(f);
      if (!m) throw new AwsError('BadRequest', 400, `bad matcher format: ${f}`);
      matchers.push([m[1], JSON.parse(`"${m[2]}"`) as string]);
    }
    const active = query.get('active') !== 'false';
    const silenced = query.get('silenced') !== 'false';
    const iso = new Date(this.now()).toISOString();
    return this.alerts
      .filter((a) => matchers.every(([k, v]) => a.labels[k] === v))
      .filter((a) => (a.state === 'active' ? active : silenced))
      .map((a, i) => ({
        labels: a.labels,
        annotations: a.annotations ?? {},
        startsAt: iso,
        endsAt: iso,
        updatedAt: iso,
        fingerprint: `lab${i}`,
        receivers: [{ name: 'lab' }],
        status: {
          state: a.state,
          silencedBy: a.state === 'suppressed' ? ['lab'] : [],
          inhibitedBy: [],
        },
      }));
  }
}

/** CloudWatch over AWS JSON 1.0 (`X-Amz-Target: GraniteServiceVersion20100801.<Operation>`). */
export function serveCloudWatch(
  mon: MonitoringState,
  res: ServerResponse,
  body: Buffer,
  op: string,
  count: (op: string) => void,
): void {
  count(`cloudwatch:${op}`);
  const headers = { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId() };
  try {
    let input: Record<string, unknown>;
    try {
      input = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      throw new AwsError('SerializationException', 400, 'Request body is not a JSON object');
    }
    if (op !== 'DescribeAlarms')
      throw new AwsError('UnknownOperationException', 400, `${op} is not in the lab`);
    sendJson(res, 200, mon.describeAlarms(input), headers);
  } catch (e) {
    if (!(e instanceof AwsError)) throw e;
    // awsQueryCompatible: the query-protocol error code travels in x-amzn-query-error.
    sendJson(
      res,
      e.status,
      { __type: `com.amazonaws.cloudwatch#${e.code}`, message: e.message },
      { ...headers, 'x-amzn-query-error': `${e.code};Sender` },
    );
  }
}

/** The monitoring part of the control API; answers false when the path is not one of its routes. */
export function handleMonitoringControl(
  mon: MonitoringState,
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  parts: string[],
  query: URLSearchParams,
): boolean {
  const method = req.method ?? 'GET';
  const [head, second, third, fourth] = parts;
  const ok = (v: unknown) => sendJson(res, 200, v);
  if (head === 'cloudwatch' && second === 'alarms') {
    if (parts.length === 2 && method === 'GET')
      return (ok([...mon.alarms.entries()].map(([name, a]) => ({ name, ...a }))), true);
    if (parts.length === 3 && method === 'PUT')
      return (ok(mon.putAlarm(decodeURIComponent(third), body)), true);
  }
  if (head === 'alertmanager') {
    if (parts.length === 2 && second === 'alerts' && method === 'PUT') {
      mon.alerts = AlertsInput.parse(body).alerts;
      return (ok({ alerts: mon.alerts.length }), true);
    }
    if (parts.length === 4 && second === 'api' && third === 'v2' && fourth === 'alerts' && method === 'GET') {
      try {
        return (ok(mon.listAlerts(query)), true);
      } catch (e) {
        if (e instanceof AwsError) return (send(res, 400, JSON.stringify(e.message), {}), true);
        throw e;
      }
    }
  }
  if (head === 'health' && parts.length === 2) {
    const name = decodeURIComponent(second);
    if (method === 'PUT') {
      const h = HealthInput.parse(body);
      mon.health.set(name, h);
      return (ok({ name, ...h }), true);
    }
    if (method === 'GET') {
      const h = mon.health.get(name);
      if (!h) return (sendJson(res, 404, { error: `health endpoint ${name} not set` }), true);
      return (sendJson(res, h.status, h.body ?? {}), true);
    }
  }
  return false;
}
