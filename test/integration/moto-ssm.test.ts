/**
 * The product's SSM calls (activities/ssm-calls.ts: SendCommand, ListCommands to find a sent command by its
 * Comment, GetCommandInvocation by step) run against moto's SSM server — an implementation we did not write —
 * and against the lab, with the same outcomes asserted for both. moto implements only part of the calls
 * Patchwave makes (no DescribeInstanceInformation, ListCommandInvocations or patch-state APIs), so only these
 * are compared here; the others are checked against botocore's model (aws-contract.test.ts).
 *
 * One known disagreement, where moto (not the lab) departs from AWS: moto gives every invocation the single
 * step `aws:runShellScript`, whatever the document, so AWS-RunPatchBaseline's `PatchLinux` step is unknown to
 * it (InvocationDoesNotExist). AWS's document has PatchWindows / PatchLinux / PatchMacOS steps and requires
 * the step for a multi-step document, which the lab follows. The test pins moto's answer so a moto release
 * that fixes it is noticed.
 *
 * The patch-date tag calls (seed 003) are compared too: EC2 CreateTags on an instance moto launched, and SSM
 * AddTagsToResource on a managed node, which moto does not implement (it answers InvalidResourceId for every
 * ManagedInstance; pinned likewise). So are the S3 calls of a BaselineOverride file (the product's PutObject,
 * read back with GetObject as scripts are) and the DescribeAlarms a CloudWatch health gate sends, and the SQS
 * calls of the command events queue (activities/command-events.ts: ReceiveMessage long poll,
 * DeleteMessageBatch) on an EventBridge-shaped message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createLab, type Lab } from '../../lab/server';
import { findSent, getInvocation, sendCommand } from '../../activities/ssm-calls';
import type { SsmCall } from '../../activities/command-tracker';
import { baselineCommand, documentStepName, scriptCommand } from '../../domain/patch-command';
import { interpretInvocation } from '../../domain/ssm-status';
import { commandComment } from '../../activities/ssm';
import { AwsClients } from '../../activities/aws';
import { writePatchDateTag } from '../../activities/patch-date-tag';
import { CreateTagsCommand, DescribeTagsCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import {
  DescribeAlarmsCommand,
  PutMetricAlarmCommand,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { withBaselineOverride } from '../../activities/baseline-override';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { CommandEventQueue } from '../../activities/command-events';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '../..');
const MOTO = join(ROOT, '.tools/py/bin/moto_server');
const INSTANCE = 'i-0123456789abcdef0';
const call: SsmCall = (_op, fn) => fn();

let moto: ChildProcess;
let motoUrl: string;
/** AwsClients the tests made, closed at the end so their keep-alive sockets do not outlive the file. */
const made: AwsClients[] = [];
let motoSsm: SSMClient;
let lab: Lab;
let labSsm: SSMClient;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function client(endpoint: string): SSMClient {
  return new SSMClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
  });
}

beforeAll(async () => {
  const port = await freePort();
  moto = spawn(MOTO, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  // Wait for the server to answer (a condition, not a fixed sleep).
  const deadline = Date.now() + 90_000;
  for (;;) {
    const up = await fetch(`${url}/moto-api/`).then(
      (r) => r.status < 500,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline || moto.exitCode !== null) throw new Error('moto_server did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  motoSsm = client(url);
  motoUrl = url;
  lab = await createLab({ speed: 100 });
  lab.state.putMachine(INSTANCE, { commands: [{ duration_s: 1, outcome: 'success' }] });
  labSsm = client(lab.url);
});
afterAll(async () => {
  for (const c of made) c.destroy();
  motoSsm?.destroy();
  labSsm?.destroy();
  moto?.kill();
  await lab?.close();
});

/** Sends a command the way startCommand does, finds it again by Comment, and follows it to its end. */
async function run(ssm: SSMClient, spec: Parameters<typeof sendCommand>[2], pluginName?: string) {
  const comment = commandComment(`moto-${spec.documentName}-${Math.random()}`);
  const commandId = await sendCommand(ssm, call, spec, INSTANCE, comment);
  const found = await findSent(ssm, call, INSTANCE, comment);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const inv = await getInvocation(ssm, call, commandId, INSTANCE, pluginName);
    const outcome = interpretInvocation(inv, { isPatch: spec.kind === 'baseline' });
    if (outcome.kind === 'done')
      return {
        foundBySameComment: found === commandId,
        status: inv.Status,
        machineStatus: outcome.machineStatus,
      };
    if (Date.now() > deadline) throw new Error(`command ${commandId} still ${inv.Status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a script command: sent, found again by its Comment, followed to Success — same on moto and the lab', async () => {
  const spec = scriptCommand('Linux', '#!/bin/sh\necho ready\n', 's3://bucket/pre.sh');
  const expected = { foundBySameComment: true, status: 'Success', machineStatus: 'SUCCESS' };
  expect(await run(labSsm, spec)).toEqual(expected);
  expect(await run(motoSsm, spec)).toEqual(expected);
});

test('a patch command: both accept the parameters the product sends and find it by Comment; moto lacks the step', async () => {
  const spec = baselineCommand({ reboot_policy: 'IF_NEEDED' });
  const step = documentStepName(spec.documentName, 'Linux');
  expect(step).toBe('PatchLinux');
  const onLab = await run(labSsm, spec, step);
  expect(onLab.foundBySameComment).toBe(true);
  expect(onLab.status).toBe('Success');

  const comment = commandComment(`moto-patch-${Math.random()}`);
  const commandId = await sendCommand(motoSsm, call, spec, INSTANCE, comment);
  expect(await findSent(motoSsm, call, INSTANCE, comment)).toBe(commandId);
  await expect(getInvocation(motoSsm, call, commandId, INSTANCE, step)).rejects.toMatchObject({
    name: 'InvocationDoesNotExist',
  });
});

describe('the patch-date tag calls (activities/patch-date-tag.ts) on moto and on the lab', () => {
  process.env.AWS_ACCESS_KEY_ID ??= 'testing';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
  const clients = (endpoint: string) => {
    const c = new AwsClients({
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: endpoint,
      AWS_S3_FORCE_PATH_STYLE: 'true',
    });
    made.push(c);
    return c;
  };

  test('EC2 CreateTags: tagged on both; over 50 tags is TagLimitExceeded on both', async () => {
    const onMoto = clients(motoUrl);
    const ec2 = await onMoto.ec2('us-east-1');
    const run = await ec2.send(
      new RunInstancesCommand({ ImageId: 'ami-12c6146b', MinCount: 1, MaxCount: 1 }),
    );
    const id = run.Instances![0].InstanceId!;
    lab.state.putMachine(id, {});
    const onLab = clients(lab.url);
    const target = { ssm_machine_id: id, region: 'us-east-1' };
    for (const aws of [onMoto, onLab])
      await writePatchDateTag(aws, target, 'ACTUAL_PATCH_DATE', '2026-12-01T05:30:12Z');
    const described = await ec2.send(
      new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [id] }] }),
    );
    expect(described.Tags?.map((t) => [t.Key, t.Value])).toEqual([
      ['ACTUAL_PATCH_DATE', '2026-12-01T05:30:12Z'],
    ]);
    expect(lab.state.machines.get(id)!.behaviour.tags).toEqual({ ACTUAL_PATCH_DATE: '2026-12-01T05:30:12Z' });

    const fifty = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    for (const aws of [onMoto, onLab]) {
      const c = await aws.ec2('us-east-1');
      await expect(c.send(new CreateTagsCommand({ Resources: [id], Tags: fifty }))).rejects.toMatchObject({
        name: 'TagLimitExceeded',
      });
    }
  });

  test('SSM AddTagsToResource on a managed node: the lab tags it; moto does not implement ManagedInstance tags', async () => {
    const node = 'mi-0123456789abcdef9';
    lab.state.putMachine(node, {});
    const target = { ssm_machine_id: node, region: 'us-east-1' };
    await writePatchDateTag(clients(lab.url), target, 'ACTUAL_PATCH_DATE', '2026-12-01T05:30:12Z');
    expect(lab.state.machines.get(node)!.behaviour.tags).toEqual({
      ACTUAL_PATCH_DATE: '2026-12-01T05:30:12Z',
    });
    // moto answers InvalidResourceId for every ManagedInstance (AWS tags registered nodes): pinned so that a
    // moto release that adds it is noticed. Both refuse an unknown node the same way.
    await expect(writePatchDateTag(clients(motoUrl), target, 'ACTUAL_PATCH_DATE', 'x')).rejects.toMatchObject(
      { name: 'InvalidResourceId' },
    );
    await expect(
      writePatchDateTag(clients(lab.url), { ...target, ssm_machine_id: 'mi-00000000000000000' }, 'k', 'v'),
    ).rejects.toMatchObject({ name: 'InvalidResourceId' });
  });
});

describe('S3 and CloudWatch calls the product makes, on moto and on the lab', () => {
  const clients = (endpoint: string) => {
    const c = new AwsClients({
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL: endpoint,
      AWS_S3_FORCE_PATH_STYLE: 'true',
    });
    made.push(c);
    return c;
  };

  test('a BaselineOverride file: the same PutObject lands on both and reads back the same; a missing key is NoSuchKey', async () => {
    const machine = { id: 'mch_moto', update_severity: ['Critical'] };
    const node = { PlatformType: 'Linux', PlatformName: 'Amazon Linux', PlatformVersion: '2023' };
    const urls: string[] = [];
    const bodies: string[] = [];
    for (const aws of [clients(motoUrl), clients(lab.url)]) {
      const s3 = aws.s3('us-east-1');
      // moto, like AWS, needs the bucket first (the lab creates it on first put).
      await s3.send(new CreateBucketCommand({ Bucket: 'pw-moto-baselines' }));
      const spec = await withBaselineOverride(baselineCommand({ reboot_policy: 'NEVER' }), machine, node, {
        s3: () => s3,
        bucket: 'pw-moto-baselines',
      });
      const url = (spec.parameters as Record<string, string[]>).BaselineOverride[0];
      urls.push(url);
      const key = url.replace('s3://pw-moto-baselines/', '');
      // Read back the way readScript reads a script: GetObject, body as text.
      const got = await s3.send(new GetObjectCommand({ Bucket: 'pw-moto-baselines', Key: key }));
      bodies.push((await got.Body?.transformToString('utf-8')) ?? '');
      await expect(
        s3.send(new GetObjectCommand({ Bucket: 'pw-moto-baselines', Key: `${key}.missing` })),
      ).rejects.toMatchObject({ name: 'NoSuchKey' });
    }
    expect(urls[0]).toBe(urls[1]);
    expect(bodies[0]).toBe(bodies[1]);
    expect(JSON.parse(bodies[0])[0]).toHaveProperty('OperatingSystem');
  });

  test('DescribeAlarms as a health gate sends it: the same states, unknown alarms left out on both', async () => {
    const motoCw = clients(motoUrl).cloudwatch('us-east-1');
    for (const name of ['api-5xx', 'queue-depth'])
      await motoCw.send(
        new PutMetricAlarmCommand({
          AlarmName: name,
          MetricName: 'Errors',
          Namespace: 'App',
          Statistic: 'Sum',
          Period: 60,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanThreshold',
        }),
      );
    await motoCw.send(
      new SetAlarmStateCommand({ AlarmName: 'api-5xx', StateValue: 'ALARM', StateReason: 'x' }),
    );
    await motoCw.send(
      new SetAlarmStateCommand({ AlarmName: 'queue-depth', StateValue: 'OK', StateReason: 'x' }),
    );
    lab.state.monitoring.putAlarm('api-5xx', { state: 'ALARM', reason: 'x' });
    lab.state.monitoring.putAlarm('queue-depth', { state: 'OK', reason: 'x' });
    const states: string[][][] = [];
    for (const cw of [motoCw, clients(lab.url).cloudwatch('us-east-1')]) {
      const out = await cw.send(
        new DescribeAlarmsCommand({
          AlarmNames: ['api-5xx', 'queue-depth', 'no-such-alarm'],
          AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        }),
      );
      states.push(
        [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]
          .map((a) => [a.AlarmName!, a.StateValue!])
          .sort(),
      );
    }
    expect(states[0]).toEqual([
      ['api-5xx', 'ALARM'],
      ['queue-depth', 'OK'],
    ]);
    expect(states[1]).toEqual(states[0]);
  });
});

describe('the command events queue (SQS) on moto and on the lab', () => {
  const event = (status: string) =>
    JSON.stringify({
      version: '0',
      id: '4780e1b8-f56b-4de5-95f2-95db273d1602',
      'detail-type': 'EC2 Command Invocation Status-change Notification',
      source: 'aws.ssm',
      account: '123456789012',
      time: '2016-07-10T21:51:32Z',
      region: 'us-east-1',
      resources: [`arn:aws:ec2:us-east-1:123456789012:instance/${INSTANCE}`],
      detail: {
        'command-id': 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b',
        'document-name': 'AWS-RunShellScript',
        'instance-id': INSTANCE,
        'requested-date-time': '2016-07-10T21:51:30.049Z',
        status,
      },
    });

  test('ReceiveMessage and DeleteMessageBatch as the worker sends them: the same wake-ups, the queue emptied on both', async () => {
    const seen: Record<string, unknown>[] = [];
    for (const endpoint of [motoUrl, lab.url]) {
      const aws = new AwsClients({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: endpoint });
      made.push(aws);
      const sqs = aws.sqs('us-east-1');
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'pw-command-events' }));
      await expect(sqs.send(new GetQueueUrlCommand({ QueueName: 'pw-missing' }))).rejects.toMatchObject({
        name: 'QueueDoesNotExist',
      });
      for (const body of [event('InProgress'), event('Success'), 'not json'])
        await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
      const ended: string[] = [];
      const loop = new CommandEventQueue({
        sqs,
        queueUrl: QueueUrl!,
        waitSeconds: 1,
        onEnded: (commandId, instanceId) => (ended.push(`${commandId}|${instanceId}`), true),
      });
      loop.start();
      const deadline = Date.now() + 30_000;
      while (loop.stats.messages < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      // One more receive after the batch: its delete has gone out.
      const receives = loop.stats.receives;
      while (loop.stats.receives === receives && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      await loop.stop();
      const attrs = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      seen.push({ ended, stats: { ...loop.stats, receives: undefined }, attributes: attrs.Attributes });
    }
    expect(seen[0]).toEqual({
      ended: [`e8d3c0e4-71f7-4491-898f-c9b35bee5f3b|${INSTANCE}`],
      stats: {
        receives: undefined,
        messages: 3,
        wakeups: 1,
        unknown: 0,
        ignored: 1,
        malformed: 1,
        errors: 0,
      },
      attributes: { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' },
    });
    expect(seen[1]).toEqual(seen[0]);
  });
});
