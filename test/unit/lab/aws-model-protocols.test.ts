/**
 * The contract check beyond AWS JSON SSM (scripts/aws-contract/validate.py): S3 over REST-XML (PutObject,
 * GetObject, HeadObject as the product and the SDK send them), EC2's query protocol (CreateTags), CloudWatch
 * DescribeAlarms (AWS JSON 1.0, what the installed @aws-sdk/client-cloudwatch speaks) and Auto Scaling over the
 * AWS query protocol (DescribeAutoScalingInstances, EnterStandby, ExitStandby), each request made with
 * the real SDK client and answered by the lab, checked against botocore's models; then known-bad exchanges of
 * each protocol, so a clean report means something.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  AutoScalingClient,
  DescribeAutoScalingInstancesCommand,
  EnterStandbyCommand,
  ExitStandbyCommand,
} from '@aws-sdk/client-auto-scaling';
import type { Lab } from '../../../lab/server';
import type { SsmExchange } from '../../../lab/state';
import { validateAgainstModels } from '../../helpers/aws-model';
import { clientsFor, LAB_CREDENTIALS, M, startLab } from './helpers';

jest.setTimeout(60_000);

let lab: Lab;
let s3: S3Client;
let ec2: EC2Client;
let cw: CloudWatchClient;
let asg: AutoScalingClient;
let traffic: SsmExchange[];

beforeAll(async () => {
  lab = await startLab();
  ({ s3 } = clientsFor(lab));
  const common = { endpoint: lab.url, region: 'us-east-1', credentials: LAB_CREDENTIALS, maxAttempts: 1 };
  ec2 = new EC2Client(common);
  cw = new CloudWatchClient(common);
  asg = new AutoScalingClient(common);
  lab.state.autoscaling.put(M.linux1, { group: 'web-asg' });
  lab.state.putMachine(M.linux1, {});
  lab.state.monitoring.putAlarm('api-5xx', { state: 'ALARM', reason: 'Threshold crossed' });
  lab.state.traffic = [];
  const ignore = () => undefined;
  await s3.send(
    new PutObjectCommand({
      Bucket: 'pw-baselines',
      Key: 'patchwave/baseline-overrides/m/x.json',
      Body: '[]',
      ContentType: 'application/json',
    }),
  );
  await (
    await s3.send(
      new GetObjectCommand({ Bucket: 'pw-baselines', Key: 'patchwave/baseline-overrides/m/x.json' }),
    )
  ).Body?.transformToString();
  await s3.send(
    new HeadObjectCommand({ Bucket: 'pw-baselines', Key: 'patchwave/baseline-overrides/m/x.json' }),
  );
  await s3.send(new GetObjectCommand({ Bucket: 'pw-baselines', Key: 'missing.sh' })).catch(ignore);
  await s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'a.sh' })).catch(ignore);
  await ec2.send(
    new CreateTagsCommand({
      Resources: [M.linux1],
      Tags: [{ Key: 'ACTUAL_PATCH_DATE', Value: '2026-12-01T05:30:12Z' }],
    }),
  );
  await ec2
    .send(new CreateTagsCommand({ Resources: ['i-0000000000000beef'], Tags: [{ Key: 'k', Value: 'v' }] }))
    .catch(ignore);
  await cw.send(
    new DescribeAlarmsCommand({
      AlarmNames: ['api-5xx', 'unknown'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
    }),
  );
  await asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [M.linux1] }));
  await asg.send(
    new EnterStandbyCommand({
      AutoScalingGroupName: 'web-asg',
      InstanceIds: [M.linux1],
      ShouldDecrementDesiredCapacity: true,
    }),
  );
  await asg.send(new ExitStandbyCommand({ AutoScalingGroupName: 'web-asg', InstanceIds: [M.linux1] }));
  // Out of standby twice: refused.
  await asg
    .send(new ExitStandbyCommand({ AutoScalingGroupName: 'web-asg', InstanceIds: [M.linux1] }))
    .catch(ignore);
  traffic = lab.state.traffic;
  lab.state.traffic = null;
});
afterAll(async () => {
  s3.destroy();
  ec2.destroy();
  cw.destroy();
  asg.destroy();
  await lab.close();
});

test('S3, EC2, CloudWatch and Auto Scaling exchanges made by the SDK clients and answered by the lab fit botocore’s models', () => {
  const report = validateAgainstModels(traffic);
  expect(report.problems).toEqual([]);
  expect(report.operations).toMatchObject({
    PutObject: 1,
    GetObject: 3,
    HeadObject: 1,
    CreateTags: 2,
    DescribeAlarms: 1,
    DescribeAutoScalingInstances: 1,
    EnterStandby: 1,
    ExitStandby: 2,
  });
  expect(traffic.filter((t) => t.service === 'autoscaling' && t.status !== 200)).toHaveLength(1);
});

test('known-bad exchanges of each protocol are flagged', () => {
  const of = (op: string) => traffic.find((t) => t.operation === op && t.status === 200)!;
  const put = of('PutObject') as SsmExchange & { request: { headers: Record<string, string> } };
  const get = of('GetObject') as SsmExchange & { response: { headers: Record<string, string> } };
  const tags = of('CreateTags') as SsmExchange & { request: Record<string, string>; response: string };
  const alarms = of('DescribeAlarms') as SsmExchange & { response: { MetricAlarms: object[] } };
  const standby = of('EnterStandby') as SsmExchange & { request: Record<string, string>; response: string };
  const bad: SsmExchange[] = [
    // An x-amz header S3's PutObject does not define.
    { ...put, request: { ...put.request, headers: { ...put.request.headers, 'x-amz-patch-date': 'x' } } },
    // An answer header GetObject's output does not define.
    { ...get, response: { ...get.response, headers: { ...get.response.headers, 'x-amz-lab-extra': '1' } } },
    // A path that is not /{Bucket}/{Key+}.
    { ...put, request: { ...put.request, path: '/only-a-bucket' } },
    // A form field CreateTags does not have, and an answer element it does not have.
    { ...tags, request: { ...tags.request, 'Tag.1.Colour': 'red' } },
    {
      ...tags,
      response: tags.response.replace('<return>true</return>', '<return>true</return><patched>1</patched>'),
    },
    // An EC2 error code EC2 does not have, and an undeclared CloudWatch member.
    {
      ...tags,
      status: 400,
      response:
        '<Response><Errors><Error><Code>NoSuchThing</Code><Message>x</Message></Error></Errors></Response>',
    },
    { ...alarms, response: { ...alarms.response, MetricAlarms: [{ AlarmName: 'a', Colour: 'red' }] } },
    // Auto Scaling (query protocol): a field EnterStandby lacks, an EC2-style list, an answer element outside
    // its result, and an error code no query API has.
    { ...standby, request: { ...standby.request, Reason: 'patching' } },
    {
      ...standby,
      request: Object.fromEntries(
        Object.entries(standby.request).map(([k, v]) => [k.replace('.member.', '.'), v]),
      ),
    },
    {
      ...standby,
      response: standby.response.replace('</EnterStandbyResult>', '</EnterStandbyResult><Extra/>'),
    },
    {
      ...standby,
      status: 400,
      response:
        '<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>Sender</Type><Code>NoSuchThing</Code><Message>x</Message></Error><RequestId>r</RequestId></ErrorResponse>',
    },
  ];
  const report = validateAgainstModels(bad);
  const expected = [
    /#0 s3:PutObject request header x-amz-patch-date: not in PutObject's model/,
    /#1 s3:GetObject response header x-amz-lab-extra: not in GetObject's output/,
    /#2 s3:PutObject request: path \/only-a-bucket does not fit/,
    /#3 ec2:CreateTags request.Tag.1.Colour: not a field of CreateTags/,
    /#4 ec2:CreateTags response.patched: not a member/,
    /#5 ec2:CreateTags error 'NoSuchThing' is not an EC2 error code/,
    /#6 cloudwatch:DescribeAlarms response.MetricAlarms\[0\].Colour: not a member of MetricAlarm/,
    /#7 autoscaling:EnterStandby request.Reason: not a field of EnterStandby/,
    /#8 autoscaling:EnterStandby request.InstanceIds.1: not a field of EnterStandby/,
    /#9 autoscaling:EnterStandby response.Extra: not part of EnterStandby's answer/,
    /#10 autoscaling:EnterStandby error 'NoSuchThing' is neither declared/,
  ];
  for (const re of expected) expect(report.problems).toContainEqual(expect.stringMatching(re));
});
