import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { ACCOUNT_ID, AwsError, send, sendJson, xmlEscape } from './http';
import { members, queryOk, serveQuery, type QueryExchange } from './query-protocol';

/**
 * EC2 Auto Scaling over the AWS query protocol (form-encoded `POST /` with `Action` and `Version=2011-01-01`,
 * XML answers in the `http://autoscaling.amazonaws.com/doc/2011-01-01/` namespace with an `<Op>Result>` wrapper,
 * errors as `<ErrorResponse><Error><Type/><Code/><Message/>`), as botocore's `autoscaling` model describes it.
 * Only what Patchwave's standby-while-patched calls (issue 16 item 7, seed 003): DescribeAutoScalingInstances,
 * EnterStandby (ShouldDecrementDesiredCapacity required) and ExitStandby, on instances the control API places
 * in a group. Tests script it through the control API:
 *
 *   PUT /_lab/autoscaling/instances/:id {group, lifecycle_state?: InService|Standby, transition_ms?, fail?}
 *   GET /_lab/autoscaling/instances/:id  → {instance_id, group, lifecycle_state, history: [{state, at}], calls}
 *   DELETE /_lab/autoscaling/instances/:id  (the instance leaves its group)
 *
 * `transition_ms` > 0 makes EnterStandby pass through EnteringStandby and ExitStandby through Pending for that
 * long, as AWS does while it deregisters from or registers with load balancers. `fail: {EnterStandby: n,
 * ExitStandby: n}` answers the next n calls of that action with ResourceContention (HTTP 500), the fault the
 * model lists for both; the SDK's own retries each use one up.
 */

export const AUTOSCALING_VERSION = '2011-01-01';
const NS = `http://autoscaling.amazonaws.com/doc/${AUTOSCALING_VERSION}/`;
const INSTANCE_ID = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/;

type Lifecycle = 'InService' | 'EnteringStandby' | 'Standby' | 'Pending';

export const AsgInstanceInput = z.strictObject({
  group: z.string().min(1).max(255),
  lifecycle_state: z.enum(['InService', 'Standby']).default('InService'),
  transition_ms: z.number().int().min(0).max(3_600_000).default(0),
  fail: z
    .strictObject({
      EnterStandby: z.number().int().min(0).max(1_000_000).optional(),
      ExitStandby: z.number().int().min(0).max(1_000_000).optional(),
    })
    .default({}),
});

interface AsgInstance {
  group: string;
  transitionMs: number;
  /** Every state the instance was in, with when it entered it (a pending transition is listed once due). */
  history: { state: Lifecycle; at: number }[];
  /** EnteringStandby → Standby, Pending → InService: the state it reaches and when. */
  next?: { state: Lifecycle; at: number };
  fail: { EnterStandby: number; ExitStandby: number };
  calls: { action: string; at: string; ok: boolean }[];
}

export class AutoScalingState {
  readonly instances = new Map<string, AsgInstance>();

  constructor(private readonly now: () => number) {}

  reset(): void {
    this.instances.clear();
  }

  put(id: string, input: unknown) {
    const a = AsgInstanceInput.parse(input);
    this.instances.set(id, {
      group: a.group,
      transitionMs: a.transition_ms,
      history: [{ state: a.lifecycle_state, at: this.now() }],
      fail: { EnterStandby: a.fail.EnterStandby ?? 0, ExitStandby: a.fail.ExitStandby ?? 0 },
      calls: [],
    });
    return this.view(id);
  }

  /** The instance's state now (a due transition is applied first). */
  private settle(i: AsgInstance): Lifecycle {
    if (i.next && i.next.at <= this.now()) {
      i.history.push(i.next);
      i.next = undefined;
    }
    return i.history[i.history.length - 1].state;
  }

  private move(i: AsgInstance, via: Lifecycle, to: Lifecycle): void {
    const now = this.now();
    if (i.transitionMs > 0) {
      i.history.push({ state: via, at: now });
      i.next = { state: to, at: now + i.transitionMs };
    } else i.history.push({ state: to, at: now });
  }

  view(id: string) {
    const i = this.instances.get(id);
    if (!i) return undefined;
    return {
      instance_id: id,
      group: i.group,
      lifecycle_state: this.settle(i),
      history: i.history.map((h) => ({ state: h.state, at: new Date(h.at).toISOString() })),
      calls: i.calls,
    };
  }

  handle(action: string, form: URLSearchParams): string {
    if (action === 'DescribeAutoScalingInstances') return this.describe(form);
    if (action === 'EnterStandby' || action === 'ExitStandby') return this.standby(action, form);
    throw new AwsError('InvalidAction', 400, `Could not find operation ${action} for version 2011-01-01`);
  }

  private member(id: string, i: AsgInstance): string {
    return (
      `<member><InstanceId>${id}</InstanceId><InstanceType>t3.micro</InstanceType>` +
      `<AutoScalingGroupName>${xmlEscape(i.group)}</AutoScalingGroupName><AvailabilityZone>us-east-1a</AvailabilityZone>` +
      `<LifecycleState>${this.settle(i)}</LifecycleState><HealthStatus>HEALTHY</HealthStatus>` +
      `<ProtectedFromScaleIn>false</ProtectedFromScaleIn></member>`
    );
  }

  private describe(form: URLSearchParams): string {
    const ids = members(form, 'InstanceIds');
    if (ids.length > 50)
      throw new AwsError('ValidationError', 400, 'The number of instance ids may not exceed 50.');
    // Unknown IDs are left out without an error (the model's documentation says so).
    const wanted = form.has('InstanceIds') || ids.length ? ids : [...this.instances.keys()];
    const rows = wanted
      .filter((id) => this.instances.has(id))
      .map((id) => this.member(id, this.instances.get(id)!));
    return queryOk(
      NS,
      'DescribeAutoScalingInstances',
      `<AutoScalingInstances>${rows.join('')}</AutoScalingInstances>`,
    );
  }

  private standby(action: 'EnterStandby' | 'ExitStandby', form: URLSearchParams): string {
    const group = form.get('AutoScalingGroupName');
    if (!group)
      throw new AwsError(
        'ValidationError',
        400,
        "1 validation error detected: Value null at 'autoScalingGroupName' failed to satisfy constraint: Member must not be null",
      );
    const decrement = form.get('ShouldDecrementDesiredCapacity');
    if (action === 'EnterStandby' && decrement !== 'true' && decrement !== 'false')
      throw new AwsError(
        'ValidationError',
        400,
        "1 validation error detected: Value null at 'shouldDecrementDesiredCapacity' failed to satisfy constraint: Member must not be null",
      );
    const ids = members(form, 'InstanceIds');
    if (ids.length === 0 || ids.length > 20)
      throw new AwsError('ValidationError', 400, 'Between 1 and 20 instance IDs must be given.');
    const found = ids.map((id) => {
      const i = INSTANCE_ID.test(id) ? this.instances.get(id) : undefined;
      if (!i || i.group !== group)
        throw new AwsError(
          'ValidationError',
          400,
          `The instance ${id} is not part of Auto Scaling group ${group}.`,
        );
      return [id, i] as const;
    });
    const at = new Date(this.now()).toISOString();
    for (const [, i] of found) {
      if (i.fail[action] > 0) {
        i.fail[action]--;
        i.calls.push({ action, at, ok: false });
        throw new AwsError(
          'ResourceContention',
          500,
          'You already have a pending update to an Auto Scaling resource (for example, a group, instance, or load balancer).',
        );
      }
    }
    const need: Lifecycle = action === 'EnterStandby' ? 'InService' : 'Standby';
    for (const [id, i] of found)
      if (this.settle(i) !== need)
        throw new AwsError('ValidationError', 400, `The instance ${id} is not in ${need}.`);
    const activities = found.map(([id, i]) => {
      i.calls.push({ action, at, ok: true });
      if (action === 'EnterStandby') this.move(i, 'EnteringStandby', 'Standby');
      else this.move(i, 'Pending', 'InService');
      const what =
        action === 'EnterStandby' ? 'Moving EC2 instance to Standby' : 'Moving EC2 instance out of Standby';
      const cause =
        action === 'EnterStandby'
          ? `At ${at} instance ${id} was moved to standby in response to a user request${decrement === 'true' ? ', shrinking the capacity' : ''}.`
          : `At ${at} instance ${id} was moved out of standby in response to a user request, increasing the capacity.`;
      return (
        `<member><ActivityId>${randomUUID()}</ActivityId><AutoScalingGroupName>${xmlEscape(group)}</AutoScalingGroupName>` +
        `<Description>${what}: ${id}</Description><Cause>${xmlEscape(cause)}</Cause><StartTime>${at}</StartTime>` +
        `<StatusCode>InProgress</StatusCode><Progress>50</Progress>` +
        `<Details>${xmlEscape(JSON.stringify({ 'Availability Zone': 'us-east-1a' }))}</Details>` +
        `<AutoScalingGroupARN>arn:aws:autoscaling:us-east-1:${ACCOUNT_ID}:autoScalingGroup:${randomUUID()}:autoScalingGroupName/${xmlEscape(group)}</AutoScalingGroupARN></member>`
      );
    });
    return queryOk(NS, action, `<Activities>${activities.join('')}</Activities>`);
  }
}

export function handleAutoScaling(
  asg: AutoScalingState,
  res: ServerResponse,
  body: Buffer,
  count: (op: string) => void,
  /** The contract test's record of the exchange (scripts/aws-contract/validate.py checks it as the query protocol). */
  record?: (ex: QueryExchange) => void,
): void {
  serveQuery(
    { name: 'autoscaling', ns: NS, handle: (action, form) => asg.handle(action, form) },
    res,
    body,
    count,
    record,
  );
}

/** The Auto Scaling part of the control API; answers false when the path is not one of its routes. */
export function handleAutoScalingControl(
  asg: AutoScalingState,
  req: IncomingMessage,
  res: ServerResponse,
  body: unknown,
  parts: string[],
): boolean {
  const method = req.method ?? 'GET';
  const [head, second, third] = parts;
  if (head !== 'autoscaling' || second !== 'instances' || parts.length !== 3) return false;
  const id = decodeURIComponent(third);
  if (!INSTANCE_ID.test(id)) return (sendJson(res, 400, { error: `${id} is not an EC2 instance ID` }), true);
  if (method === 'PUT') return (sendJson(res, 200, asg.put(id, body)), true);
  if (method === 'GET') {
    const v = asg.view(id);
    return (v ? sendJson(res, 200, v) : sendJson(res, 404, { error: `instance ${id} is in no group` }), true);
  }
  if (method === 'DELETE')
    return (
      asg.instances.delete(id)
        ? send(res, 204, '')
        : sendJson(res, 404, { error: `instance ${id} is in no group` }),
      true
    );
  return false;
}
