import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { ACCOUNT_ID, AwsError, send, sendJson, xmlEscape } from './http';
import { members, queryOk, serveQuery, type QueryExchange } from './query-protocol';

/**
 * Elastic Load Balancing v2 over the AWS query protocol (form-encoded `POST /` with `Action` and
 * `Version=2015-12-01`, XML answers in the `http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/` namespace with
 * an `<Op>Result>` wrapper, errors as `<ErrorResponse><Error><Type/><Code/><Message/>`), as botocore's `elbv2` model
 * describes it. Only what Patchwave's target-groups-out-of-service calls (issue 16 item 7): DescribeTargetGroups
 * (by ARN or paged with Marker/PageSize), DescribeTargetGroupAttributes, DescribeTargetHealth, DeregisterTargets and
 * RegisterTargets, on target groups of target type `instance` the control API creates:
 *
 *   PUT /_lab/elbv2/target-groups/:name {port?, deregistration_delay_s?, health_check_ms?, healthy?, targets?: [{id,
 *       port?}], fail?: {RegisterTargets?: n, DeregisterTargets?: n, DescribeTargetHealth?: n}} → the group's view
 *   GET /_lab/elbv2/target-groups/:name → {arn, name, deregistration_delay_s, targets: [{id, port, state, reason?,
 *       history: [{state, at}]}], calls: [{action, at, ok}]}
 *   DELETE /_lab/elbv2/target-groups/:name
 *
 * Targets put with the group start `healthy`. DeregisterTargets moves a target to `draining`
 * (Target.DeregistrationInProgress) and, once the group's deregistration delay has passed, out of the group
 * (DescribeTargetHealth then answers `unused`, Target.NotRegistered, for it). RegisterTargets puts it in `initial`
 * (Elb.RegistrationInProgress), then after `health_check_ms` in `healthy`, or in `unhealthy`
 * (Target.FailedHealthChecks) when the group says `healthy: false`. `fail` answers the next n calls of that action
 * with ServiceUnavailable (HTTP 503, a fault common to every AWS service); the SDK's own retries each use one up.
 */

export const ELBV2_VERSION = '2015-12-01';
const NS = `http://elasticloadbalancing.amazonaws.com/doc/${ELBV2_VERSION}/`;
const REGION = 'us-east-1';
const VPC = 'vpc-0a1b2c3d4e5f60718';
const NAME = /^[A-Za-z0-9-]{1,32}$/;

type State = 'initial' | 'healthy' | 'unhealthy' | 'draining' | 'unused';
type FailAction = 'RegisterTargets' | 'DeregisterTargets' | 'DescribeTargetHealth';

export const TargetGroupInput = z.strictObject({
  port: z.number().int().min(1).max(65535).default(80),
  deregistration_delay_s: z.number().int().min(0).max(3600).default(300),
  health_check_ms: z.number().int().min(0).max(3_600_000).default(0),
  healthy: z.boolean().default(true),
  targets: z
    .array(
      z.strictObject({ id: z.string().min(1).max(255), port: z.number().int().min(1).max(65535).optional() }),
    )
    .max(1000)
    .default([]),
  fail: z
    .strictObject({
      RegisterTargets: z.number().int().min(0).max(1_000_000).optional(),
      DeregisterTargets: z.number().int().min(0).max(1_000_000).optional(),
      DescribeTargetHealth: z.number().int().min(0).max(1_000_000).optional(),
    })
    .default({}),
});

interface Target {
  id: string;
  port: number;
  history: { state: State; at: number }[];
  /** A due change: draining → gone (`unused`), initial → healthy/unhealthy. */
  next?: { state: State; at: number };
}

interface Group {
  name: string;
  arn: string;
  port: number;
  delayS: number;
  healthCheckMs: number;
  healthy: boolean;
  /** Every target ever registered, by `id:port`; a deregistered one stays with its history, state `unused`. */
  targets: Map<string, Target>;
  fail: Record<FailAction, number>;
  calls: { action: string; at: string; ok: boolean }[];
}

const arnOf = (name: string) =>
  `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT_ID}:targetgroup/${name}/${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;

export class Elbv2State {
  readonly groups = new Map<string, Group>();

  constructor(private readonly now: () => number) {}

  reset(): void {
    this.groups.clear();
  }

  put(name: string, input: unknown) {
    const a = TargetGroupInput.parse(input);
    const now = this.now();
    const g: Group = {
      name,
      arn: arnOf(name),
      port: a.port,
      delayS: a.deregistration_delay_s,
      healthCheckMs: a.health_check_ms,
      healthy: a.healthy,
      targets: new Map(),
      fail: {
        RegisterTargets: a.fail.RegisterTargets ?? 0,
        DeregisterTargets: a.fail.DeregisterTargets ?? 0,
        DescribeTargetHealth: a.fail.DescribeTargetHealth ?? 0,
      },
      calls: [],
    };
    for (const t of a.targets) {
      const port = t.port ?? a.port;
      g.targets.set(`${t.id}:${port}`, { id: t.id, port, history: [{ state: 'healthy', at: now }] });
    }
    this.groups.set(name, g);
    return this.view(name);
  }

  private settle(t: Target): State {
    if (t.next && t.next.at <= this.now()) {
      t.history.push(t.next);
      t.next = undefined;
    }
    return t.history[t.history.length - 1].state;
  }

  view(name: string) {
    const g = this.groups.get(name);
    if (!g) return undefined;
    return {
      arn: g.arn,
      name: g.name,
      port: g.port,
      deregistration_delay_s: g.delayS,
      targets: [...g.targets.values()].map((t) => {
        const state = this.settle(t);
        return {
          id: t.id,
          port: t.port,
          state,
          ...(reasonOf(state, g) ? { reason: reasonOf(state, g) } : {}),
          history: t.history.map((h) => ({ state: h.state, at: new Date(h.at).toISOString() })),
        };
      }),
      calls: g.calls,
    };
  }

  handle(action: string, form: URLSearchParams): string {
    switch (action) {
      case 'DescribeTargetGroups':
        return this.describeGroups(form);
      case 'DescribeTargetGroupAttributes':
        return this.attributes(form);
      case 'DescribeTargetHealth':
        return this.health(form);
      case 'DeregisterTargets':
      case 'RegisterTargets':
        return this.register(action, form);
      default:
        throw new AwsError(
          'InvalidAction',
          400,
          `Could not find operation ${action} for version ${ELBV2_VERSION}`,
        );
    }
  }

  private byArn(arn: string | null): Group {
    if (!arn)
      throw new AwsError(
        'ValidationError',
        400,
        "1 validation error detected: Value null at 'targetGroupArn' failed to satisfy constraint: Member must not be null",
      );
    for (const g of this.groups.values()) if (g.arn === arn) return g;
    throw new AwsError('TargetGroupNotFound', 400, `Target groups '${arn}' not found`);
  }

  private failing(g: Group, action: FailAction): void {
    const at = new Date(this.now()).toISOString();
    if (g.fail[action] > 0) {
      g.fail[action]--;
      g.calls.push({ action, at, ok: false });
      throw new AwsError('ServiceUnavailable', 503, 'Service is unavailable. Please try again later.');
    }
    g.calls.push({ action, at, ok: true });
  }

  private groupXml(g: Group): string {
    return (
      `<member><TargetGroupArn>${g.arn}</TargetGroupArn><TargetGroupName>${xmlEscape(g.name)}</TargetGroupName>` +
      `<Protocol>HTTP</Protocol><Port>${g.port}</Port><VpcId>${VPC}</VpcId><HealthCheckProtocol>HTTP</HealthCheckProtocol>` +
      `<HealthCheckPort>traffic-port</HealthCheckPort><HealthCheckEnabled>true</HealthCheckEnabled>` +
      `<HealthCheckIntervalSeconds>30</HealthCheckIntervalSeconds><HealthCheckTimeoutSeconds>5</HealthCheckTimeoutSeconds>` +
      `<HealthyThresholdCount>5</HealthyThresholdCount><UnhealthyThresholdCount>2</UnhealthyThresholdCount>` +
      `<HealthCheckPath>/</HealthCheckPath><Matcher><HttpCode>200</HttpCode></Matcher>` +
      `<LoadBalancerArns><member>arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT_ID}:loadbalancer/app/lab-alb/50dc6c495c0c9188</member></LoadBalancerArns>` +
      `<TargetType>instance</TargetType><ProtocolVersion>HTTP1</ProtocolVersion><IpAddressType>ipv4</IpAddressType></member>`
    );
  }

  private describeGroups(form: URLSearchParams): string {
    const arns = members(form, 'TargetGroupArns');
    const names = members(form, 'Names');
    if (form.get('LoadBalancerArn'))
      throw new AwsError('LoadBalancerNotFound', 400, 'One or more load balancers not found');
    if (arns.length && names.length)
      throw new AwsError(
        'ValidationError',
        400,
        'Target group names and target group ARNs cannot be specified at the same time',
      );
    const size = Number(form.get('PageSize') ?? 400);
    if (!Number.isInteger(size) || size < 1 || size > 400)
      throw new AwsError(
        'ValidationError',
        400,
        `1 validation error detected: Value '${form.get('PageSize')}' at 'pageSize' failed to satisfy constraint: Member must have value between 1 and 400`,
      );
    let groups: Group[];
    if (arns.length) groups = arns.map((a) => this.byArn(a));
    else if (names.length)
      groups = names.map((n) => {
        const g = this.groups.get(n);
        if (!g) throw new AwsError('TargetGroupNotFound', 400, `One or more target groups not found`);
        return g;
      });
    else groups = [...this.groups.values()].sort((x, y) => x.arn.localeCompare(y.arn));
    const from = Number(form.get('Marker') ?? 0) || 0;
    const page = groups.slice(from, from + size);
    const next = from + size < groups.length ? `<NextMarker>${from + size}</NextMarker>` : '';
    return queryOk(
      NS,
      'DescribeTargetGroups',
      `<TargetGroups>${page.map((g) => this.groupXml(g)).join('')}</TargetGroups>${next}`,
    );
  }

  private attributes(form: URLSearchParams): string {
    const g = this.byArn(form.get('TargetGroupArn'));
    const attrs: [string, string][] = [
      ['deregistration_delay.timeout_seconds', String(g.delayS)],
      ['stickiness.enabled', 'false'],
      ['stickiness.type', 'lb_cookie'],
      ['load_balancing.algorithm.type', 'round_robin'],
      ['slow_start.duration_seconds', '0'],
    ];
    return queryOk(
      NS,
      'DescribeTargetGroupAttributes',
      `<Attributes>${attrs.map(([k, v]) => `<member><Key>${k}</Key><Value>${v}</Value></member>`).join('')}</Attributes>`,
    );
  }

  private targetsOf(form: URLSearchParams, g: Group): { id: string; port: number }[] {
    const out: { id: string; port: number }[] = [];
    for (let i = 1; form.has(`Targets.member.${i}.Id`); i++) {
      const p = form.get(`Targets.member.${i}.Port`);
      out.push({ id: form.get(`Targets.member.${i}.Id`) as string, port: p ? Number(p) : g.port });
    }
    return out;
  }

  private health(form: URLSearchParams): string {
    const g = this.byArn(form.get('TargetGroupArn'));
    this.failing(g, 'DescribeTargetHealth');
    const asked = this.targetsOf(form, g);
    const rows = asked.length
      ? asked.map((t) => ({ ...t, state: this.stateOf(g, t.id, t.port) }))
      : [...g.targets.values()]
          .map((t) => ({ id: t.id, port: t.port, state: this.settle(t) }))
          .filter((t) => t.state !== 'unused');
    const xml = rows.map((t) => {
      const reason = reasonOf(t.state, g);
      return (
        `<member><Target><Id>${xmlEscape(t.id)}</Id><Port>${t.port}</Port></Target><HealthCheckPort>${t.port}</HealthCheckPort>` +
        `<TargetHealth><State>${t.state}</State>${reason ? `<Reason>${reason}</Reason><Description>${DESCRIPTION[reason]}</Description>` : ''}</TargetHealth></member>`
      );
    });
    return queryOk(
      NS,
      'DescribeTargetHealth',
      `<TargetHealthDescriptions>${xml.join('')}</TargetHealthDescriptions>`,
    );
  }

  private stateOf(g: Group, id: string, port: number): State {
    const t = g.targets.get(`${id}:${port}`);
    return t ? this.settle(t) : 'unused';
  }

  private register(action: 'RegisterTargets' | 'DeregisterTargets', form: URLSearchParams): string {
    const g = this.byArn(form.get('TargetGroupArn'));
    const targets = this.targetsOf(form, g);
    if (targets.length === 0)
      throw new AwsError(
        'ValidationError',
        400,
        "1 validation error detected: Value null at 'targets' failed to satisfy constraint: Member must not be null",
      );
    for (const t of targets)
      if (!/^i-([0-9a-f]{8}|[0-9a-f]{17})$/.test(t.id))
        throw new AwsError('InvalidTarget', 400, `The following targets are not valid instances: '${t.id}'`);
    this.failing(g, action);
    const now = this.now();
    for (const { id, port } of targets) {
      const k = `${id}:${port}`;
      const t = g.targets.get(k);
      const state = t ? this.settle(t) : 'unused';
      if (action === 'DeregisterTargets') {
        // Deregistering a target that is not registered (or already draining) changes nothing.
        if (!t || state === 'unused' || state === 'draining') continue;
        t.history.push({ state: 'draining', at: now });
        t.next = { state: 'unused', at: now + g.delayS * 1000 };
      } else {
        if (t && state !== 'unused' && state !== 'draining') continue; // already registered
        const after: State = g.healthy ? 'healthy' : 'unhealthy';
        const entry = t ?? { id, port, history: [] };
        if (g.healthCheckMs > 0) {
          entry.history.push({ state: 'initial', at: now });
          entry.next = { state: after, at: now + g.healthCheckMs };
        } else {
          entry.history.push({ state: after, at: now });
          entry.next = undefined;
        }
        g.targets.set(k, entry);
      }
    }
    return queryOk(NS, action, '');
  }
}

const DESCRIPTION: Record<string, string> = {
  'Target.DeregistrationInProgress': 'Target deregistration is in progress',
  'Target.NotRegistered': 'Target is not registered to the target group',
  'Elb.RegistrationInProgress': 'Target registration is in progress',
  'Target.FailedHealthChecks': 'Health checks failed',
};

function reasonOf(state: State, g: Group): string | undefined {
  if (state === 'draining') return 'Target.DeregistrationInProgress';
  if (state === 'unused') return 'Target.NotRegistered';
  if (state === 'initial') return 'Elb.RegistrationInProgress';
  if (state === 'unhealthy') return g.healthy ? undefined : 'Target.FailedHealthChecks';
  return undefined;
}

export function handleElbv2(
  elb: Elbv2State,
  res: ServerResponse,
  body: Buffer,
  count: (op: string) => void,
  /** The contract test's record of the exchange (scripts/aws-contract/validate.py checks it as the query protocol). */
  record?: (ex: QueryExchange) => void,
): void {
  serveQuery(
    { name: 'elbv2', ns: NS, handle: (action, form) => elb.handle(action, form) },
    res,
    body,
    count,
    record,
  );
}

/** The ELBv2 part of the control API; answers false when the path is not one of its routes. */
export function handleElbv2Control(
  elb: Elbv2State,
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  parts: string[],
): boolean {
  const method = req.method ?? 'GET';
  const [head, second, third] = parts;
  if (head !== 'elbv2' || second !== 'target-groups' || parts.length !== 3) return false;
  const name = decodeURIComponent(third);
  if (!NAME.test(name))
    return (
      sendJson(res, 400, { error: `${name}: a target group name is 1-32 letters, digits or hyphens` }),
      true
    );
  if (method === 'PUT') return (sendJson(res, 200, elb.put(name, body)), true);
  if (method === 'GET') {
    const v = elb.view(name);
    return (
      v ? sendJson(res, 200, v) : sendJson(res, 404, { error: `target group ${name} not found` }),
      true
    );
  }
  if (method === 'DELETE')
    return (
      elb.groups.delete(name)
        ? send(res, 204, '')
        : sendJson(res, 404, { error: `target group ${name} not found` }),
      true
    );
  return false;
}
