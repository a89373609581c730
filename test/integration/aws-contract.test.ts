/**
 * Contract test (issue 13 item 7): every SSM request Patchwave sends in a run, and every answer the lab gives
 * it, checked against botocore's SSM service model — shapes AWS's SDKs are generated from, which we did not
 * write. The run covers what a real fleet has: Linux and Windows patches (AWS-RunPatchBaseline, whose step
 * must be named), a script host hook, a customer document with two steps (the step that ran is asked of SSM
 * after InvalidPluginName), an offline agent, and a machine SSM does not know (its DescribeInstanceInformation
 * batch is refused with InvalidInstanceId and bisected). Beyond SSM, the same run's other AWS traffic is checked
 * against botocore's models of its protocol: S3 over REST-XML (PutObject of a machine's BaselineOverride file,
 * GetObject of a script hook), EC2's query protocol (CreateTags of the plan's patch-date tag on an EC2
 * instance; AddTagsToResource for a managed node is SSM), CloudWatch DescribeAlarms (AWS JSON 1.0) of a
 * health gate, and the query protocol of Auto Scaling (DescribeAutoScalingInstances, EnterStandby, ExitStandby)
 * and Elastic Load Balancing v2 (DescribeTargetGroups, DescribeTargetHealth, DeregisterTargets, RegisterTargets)
 * for an instance kept out of service while patched.
 */
import { validateAgainstModels } from '../helpers/aws-model';
import { fleet, machineOf, type FleetMachine } from '../helpers/e2e-fleet';
import { newSsmId, startStack, waitFor, type Stack } from '../helpers/stack';
import { AwsClients } from '../../activities/aws';
import { CommandEventQueue } from '../../activities/command-events';
import { CreateQueueCommand, GetQueueUrlCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { SendCommandCommand } from '@aws-sdk/client-ssm';

jest.setTimeout(240_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('aws_contract');
});
afterAll(async () => {
  await stack?.close();
});

test('a run’s SSM traffic fits botocore’s model, and the run ends as SSM says', async () => {
  const f = fleet(stack);
  stack.lab.state.traffic = [];
  await stack.lab_('PUT', '/_lab/documents/Acme-TwoSteps', {
    steps: [{ name: 'prepare' }, { name: 'patch' }],
  });
  await stack.lab_('PUT', '/_lab/cloudwatch/alarms/api-5xx', { state: 'OK' });
  const linux = await f.machine({
    commands: [{ duration_s: 1, outcome: 'success', installed: ['curl-8.5.0'] }],
  });
  // Patch filters: a BaselineOverride file is put in S3, and a Scan without it follows the install.
  const filtered = await f.machine({
    commands: [
      { duration_s: 1, outcome: 'success', installed: ['openssl-3.0.15'] },
      { duration_s: 1, outcome: 'success', installed: [] },
    ],
    patches: { 'openssl-3.0.15': { severity: 'Critical' } },
    fields: { update_severity: ['Critical'] },
  });
  const nodeId = `mi-${newSsmId().slice(2)}`;
  await stack.lab_('PUT', `/_lab/machines/${nodeId}`, {
    commands: [{ duration_s: 1, outcome: 'success', installed: ['vim-9.1'] }],
  });
  const nodeRow = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
    name: 'hybrid-node',
    access: { ssm_machine_id: nodeId, region: 'us-east-1' },
    reboot_policy: 'NEVER',
  });
  expect(nodeRow.status).toBe(201);
  const windows = await f.machine({ platform: 'Windows', commands: [{ duration_s: 1, outcome: 'failed' }] });
  const offline = await f.machine({ online: false });
  const custom = await f.machine({ fields: { custom_document_arn: 'Acme-TwoSteps' } });
  const unknownSsmId = newSsmId();
  const r = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
    name: 'not-in-ssm',
    access: { ssm_machine_id: unknownSsmId, region: 'us-east-1' },
    reboot_policy: 'NEVER',
  });
  expect(r.status).toBe(201);
  const unknown: FleetMachine = { id: r.body.id, ssmId: unknownSsmId, name: 'not-in-ssm' };
  const preScript = await f.script('#!/bin/sh\necho ready\n');
  // An instance of an Auto Scaling group: standby while patched (the query protocol's traffic).
  const scaled = await f.machine({
    commands: [{ duration_s: 1, outcome: 'success', installed: ['bash-5.2'] }],
  });
  await stack.lab_('PUT', `/_lab/autoscaling/instances/${scaled.ssmId}`, { group: 'web-asg' });
  // …and behind a load balancer's target group: deregistered (drained) while patched, registered after.
  await stack.lab_('PUT', '/_lab/elbv2/target-groups/web-tg', {
    deregistration_delay_s: 1,
    health_check_ms: 200,
    targets: [{ id: scaled.ssmId }],
  });

  const planId = await f.plan({
    machines: [
      { machine_id: linux.id, pre_host_hooks: [{ type: 'script', source: preScript }] },
      { machine_id: windows.id },
      { machine_id: offline.id },
      { machine_id: custom.id },
      { machine_id: unknown.id },
      { machine_id: filtered.id },
      { machine_id: nodeRow.body.id },
      { machine_id: scaled.id },
    ],
    out_of_service: { auto_scaling: 'standby', target_groups: 'deregister' },
    patch_date_tag: { key: 'ACTUAL_PATCH_DATE' },
    health_gates: { probes: [{ type: 'cloudwatch_alarm', alarm_names: ['api-5xx'] }] },
  });
  const ev = await f.finished(await f.execute(planId));

  expect(machineOf(ev, linux.id).status).toBe('SUCCESS');
  expect(machineOf(ev, windows.id).status).toBe('FAILED');
  expect(machineOf(ev, offline.id).status).toBe('NOT_AVAILABLE');
  expect(machineOf(ev, custom.id).status).toBe('SUCCESS');
  expect(machineOf(ev, unknown.id).status).toBe('NOT_AVAILABLE');
  expect(machineOf(ev, filtered.id).status).toBe('SUCCESS');
  expect(machineOf(ev, nodeRow.body.id).status).toBe('SUCCESS');
  expect(machineOf(ev, scaled.id).status).toBe('SUCCESS');

  const traffic = stack.lab.state.traffic;
  stack.lab.state.traffic = null;
  const report = validateAgainstModels(traffic);
  expect(report.problems).toEqual([]);
  for (const op of [
    'SendCommand',
    'GetCommandInvocation',
    'ListCommandInvocations',
    'DescribeInstanceInformation',
    'DescribeInstancePatches',
    'AddTagsToResource',
    'PutObject',
    'GetObject',
    'CreateTags',
    'DescribeAlarms',
    'DescribeAutoScalingInstances',
    'EnterStandby',
    'ExitStandby',
    'DescribeTargetGroups',
    'DescribeTargetHealth',
    'DeregisterTargets',
    'RegisterTargets',
  ])
    expect([op, report.operations[op] ?? 0]).toEqual([op, expect.any(Number)]);
  expect(Object.values(report.operations).every((n) => n > 0)).toBe(true);
  expect(new Set(traffic.map((t) => t.service ?? 'ssm'))).toEqual(
    new Set(['ssm', 's3', 'ec2', 'cloudwatch', 'autoscaling', 'elbv2']),
  );
  // What AWS would have refused, the product never asked: no refusal but the expected ones.
  const refusals = traffic
    .filter((t) => (t.service ?? 'ssm') === 'ssm' && t.status !== 200)
    .map((t) => (t.response as { __type: string }).__type);
  expect(new Set(refusals)).toEqual(new Set(['InvalidInstanceId', 'InvalidPluginName']));
  // The patch document's result was always asked for by its step.
  const patchGets = traffic.filter(
    (t) =>
      t.operation === 'GetCommandInvocation' &&
      (t.response as { DocumentName?: string }).DocumentName === 'AWS-RunPatchBaseline',
  );
  expect(patchGets.length).toBeGreaterThan(0);
  expect(
    patchGets.every((t) =>
      ['PatchLinux', 'PatchWindows'].includes((t.request as { PluginName: string }).PluginName),
    ),
  ).toBe(true);
});

test('the command events queue’s SQS traffic (lab/sqs.ts) fits botocore’s model', async () => {
  stack.lab.state.traffic = [];
  const aws = new AwsClients({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: stack.lab.url });
  try {
    const sqs = aws.sqs('us-east-1');
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'pw-contract-events' }));
    await expect(
      sqs.send(new GetQueueUrlCommand({ QueueName: 'pw-contract-missing' })),
    ).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });
    // The rule's own event for a command that ends, and a message that is not one.
    stack.lab.state.sqs.setRule({ queue: 'pw-contract-events', statuses: ['Success'], region: 'us-east-1' });
    const m = await fleet(stack).machine();
    await aws.ssm('us-east-1').then((ssm) =>
      ssm.send(
        new SendCommandCommand({
          InstanceIds: [m.ssmId],
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['true'] },
        }),
      ),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'not an event' }));
    const loop = new CommandEventQueue({ sqs, queueUrl: QueueUrl!, waitSeconds: 1, onEnded: () => false });
    loop.start();
    await waitFor('two messages read', async () => (loop.stats.messages >= 2 ? true : undefined), 30_000);
    const receives = loop.stats.receives;
    await waitFor(
      'the receive after the delete',
      async () => (loop.stats.receives > receives ? true : undefined),
      30_000,
    );
    await loop.stop();
    expect(loop.stats).toMatchObject({ unknown: 1, malformed: 1, errors: 0 });
  } finally {
    stack.lab.state.sqs.setRule(null);
    aws.destroy();
  }
  const traffic = stack.lab.state.traffic ?? [];
  stack.lab.state.traffic = null;
  const report = validateAgainstModels(traffic.filter((t) => t.service === 'sqs'));
  expect(report.problems).toEqual([]);
  for (const op of ['CreateQueue', 'GetQueueUrl', 'SendMessage', 'ReceiveMessage', 'DeleteMessageBatch'])
    expect([op, report.operations[op] ?? 0]).toEqual([op, expect.any(Number)]);
  expect(Object.values(report.operations).every((n) => n > 0)).toBe(true);
});
