import {
  DeregisterTargetsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Lab } from '../../../lab/server';
import { LAB_CREDENTIALS, manualClock, startLab } from './helpers';
import { validateAgainstModels } from '../../helpers/aws-model';

/** The lab's ELBv2 stand-in, spoken to by the real @aws-sdk/client-elastic-load-balancing-v2 (query protocol). */
describe('lab: ELBv2 (target groups, target health, deregister with draining, register with health checks)', () => {
  const clock = manualClock();
  let lab: Lab;
  let elb: ElasticLoadBalancingV2Client;
  const I1 = 'i-0aaaaaaaaaaaaaaa1';
  const I2 = 'i-0bbbbbbbbbbbbbbb2';
  const control = (method: string, name: string, body?: unknown) =>
    fetch(`${lab.url}/_lab/elbv2/target-groups/${name}`, {
      method,
      ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
  const put = async (name: string, body: unknown) => {
    const r = await control('PUT', name, body);
    expect(r.status).toBe(200);
    return ((await r.json()) as { arn: string }).arn;
  };
  const stateOf = async (arn: string, id: string, port = 80) =>
    (
      await elb.send(
        new DescribeTargetHealthCommand({ TargetGroupArn: arn, Targets: [{ Id: id, Port: port }] }),
      )
    ).TargetHealthDescriptions?.[0]?.TargetHealth;

  beforeAll(async () => {
    lab = await startLab({ now: clock.now });
    elb = new ElasticLoadBalancingV2Client({
      endpoint: lab.url,
      region: 'us-east-1',
      credentials: LAB_CREDENTIALS,
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    elb.destroy();
    await lab.close();
  });
  beforeEach(() => lab.state.reset());

  it('describes groups (by ARN and paged), their attributes and their targets', async () => {
    const web = await put('web', {
      deregistration_delay_s: 7,
      targets: [{ id: I1 }, { id: I1, port: 8080 }],
    });
    await put('api', { targets: [{ id: I2 }] });
    expect(web).toMatch(
      /^arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup\/web\/[0-9a-f]{16}$/,
    );
    const byArn = await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [web] }));
    expect(byArn.TargetGroups).toEqual([
      expect.objectContaining({
        TargetGroupArn: web,
        TargetGroupName: 'web',
        TargetType: 'instance',
        Port: 80,
      }),
    ]);
    const page1 = await elb.send(new DescribeTargetGroupsCommand({ PageSize: 1 }));
    expect(page1.TargetGroups).toHaveLength(1);
    expect(page1.NextMarker).toBeDefined();
    const page2 = await elb.send(new DescribeTargetGroupsCommand({ PageSize: 1, Marker: page1.NextMarker }));
    expect(page2.NextMarker).toBeUndefined();
    expect(new Set([page1, page2].map((p) => p.TargetGroups?.[0]?.TargetGroupName))).toEqual(
      new Set(['web', 'api']),
    );

    const attrs = await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: web }));
    expect(attrs.Attributes).toContainEqual({ Key: 'deregistration_delay.timeout_seconds', Value: '7' });

    const all = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: web }));
    expect(
      all.TargetHealthDescriptions?.map((d) => [d.Target?.Id, d.Target?.Port, d.TargetHealth?.State]),
    ).toEqual([
      [I1, 80, 'healthy'],
      [I1, 8080, 'healthy'],
    ]);
    expect(await stateOf(web, I2)).toEqual({
      State: 'unused',
      Reason: 'Target.NotRegistered',
      Description: 'Target is not registered to the target group',
    });
  });

  it('drains a deregistered target for the deregistration delay, then registers it: initial → healthy', async () => {
    const web = await put('web', { deregistration_delay_s: 5, health_check_ms: 3000, targets: [{ id: I1 }] });
    await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: web, Targets: [{ Id: I1, Port: 80 }] }));
    expect(await stateOf(web, I1)).toMatchObject({
      State: 'draining',
      Reason: 'Target.DeregistrationInProgress',
    });
    clock.advance(4999);
    expect((await stateOf(web, I1))?.State).toBe('draining');
    clock.advance(1);
    expect(await stateOf(web, I1)).toMatchObject({ State: 'unused', Reason: 'Target.NotRegistered' });
    expect(
      (await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: web }))).TargetHealthDescriptions,
    ).toEqual([]);

    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: web, Targets: [{ Id: I1, Port: 80 }] }));
    expect(await stateOf(web, I1)).toMatchObject({ State: 'initial', Reason: 'Elb.RegistrationInProgress' });
    clock.advance(3000);
    expect(await stateOf(web, I1)).toEqual({ State: 'healthy' });
    const v = (await (await control('GET', 'web')).json()) as {
      targets: { history: { state: string }[] }[];
      calls: { action: string; ok: boolean }[];
    };
    expect(v.targets[0].history.map((h) => h.state)).toEqual([
      'healthy',
      'draining',
      'unused',
      'initial',
      'healthy',
    ]);
    expect(v.calls.map((c) => c.action)).toContain('RegisterTargets');
  });

  it('answers AWS errors: unknown group, bad target, injected ServiceUnavailable; a group with failing health checks', async () => {
    await expect(
      elb.send(
        new DescribeTargetHealthCommand({
          TargetGroupArn:
            'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/nope/0123456789abcdef',
        }),
      ),
    ).rejects.toMatchObject({ name: 'TargetGroupNotFoundException', $metadata: { httpStatusCode: 400 } });
    const web = await put('web', { healthy: false, fail: { RegisterTargets: 1 } });
    await expect(
      elb.send(new RegisterTargetsCommand({ TargetGroupArn: web, Targets: [{ Id: '10.0.0.1' }] })),
    ).rejects.toMatchObject({ name: 'InvalidTargetException' });
    await expect(
      elb.send(new RegisterTargetsCommand({ TargetGroupArn: web, Targets: [{ Id: I1 }] })),
    ).rejects.toMatchObject({ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } });
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: web, Targets: [{ Id: I1 }] }));
    expect(await stateOf(web, I1)).toMatchObject({ State: 'unhealthy', Reason: 'Target.FailedHealthChecks' });
    expect((await control('PUT', 'bad_name!', {})).status).toBe(400);
    expect((await control('PUT', 'web', { deregistration_delay_s: -1 })).status).toBe(400);
    expect((await control('GET', 'nope')).status).toBe(404);
  });
});

test('every ELBv2 exchange the SDK client makes and the lab answers fits botocore’s elbv2 model (query protocol)', async () => {
  const lab = await startLab();
  const elb = new ElasticLoadBalancingV2Client({
    endpoint: lab.url,
    region: 'us-east-1',
    credentials: LAB_CREDENTIALS,
    maxAttempts: 1,
  });
  try {
    const I = 'i-0ccccccccccccccc3';
    const r = await fetch(`${lab.url}/_lab/elbv2/target-groups/web`, {
      method: 'PUT',
      body: JSON.stringify({ deregistration_delay_s: 0, health_check_ms: 0, targets: [{ id: I }] }),
      headers: { 'content-type': 'application/json' },
    });
    const arn = ((await r.json()) as { arn: string }).arn;
    lab.state.traffic = [];
    await elb.send(new DescribeTargetGroupsCommand({ PageSize: 10 }));
    await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }));
    await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn, Targets: [{ Id: I, Port: 80 }] }));
    await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: I, Port: 80 }] }));
    await elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: I, Port: 80 }] }));
    await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn })).catch(() => undefined);
    // A group that does not exist: an error code the model declares.
    await elb
      .send(new DescribeTargetHealthCommand({ TargetGroupArn: `${arn.slice(0, -16)}0000000000000000` }))
      .catch(() => undefined);
    const traffic = lab.state.traffic;
    lab.state.traffic = null;
    const report = validateAgainstModels(traffic);
    expect(report.problems).toEqual([]);
    expect(report.operations).toMatchObject({
      DescribeTargetGroups: 1,
      DescribeTargetGroupAttributes: 1,
      DescribeTargetHealth: 3,
      DeregisterTargets: 1,
      RegisterTargets: 1,
    });
    expect(traffic.filter((t) => t.status !== 200)).toHaveLength(1);
  } finally {
    elb.destroy();
    await lab.close();
  }
});
