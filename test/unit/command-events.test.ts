/**
 * Event-driven completion (activities/command-events.ts): reading EventBridge's SSM invocation events, the
 * tracker's wake-up, and the long-poll loop against the fleet lab's SQS and EventBridge-like rule through the
 * real @aws-sdk/client-sqs (AWS JSON 1.0).
 */
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { SendCommandCommand, SSMClient, type SSMClient as Ssm } from '@aws-sdk/client-ssm';
import { createLab, type Lab } from '../../lab/server';
import { waitFor as labWaitFor } from './lab/helpers';
import {
  CommandEventQueue,
  isTerminalStatus,
  queueRegion,
  readCommandEvent,
} from '../../activities/command-events';
import { CommandTracker, SsmSharedLookups, type SsmCall } from '../../activities/command-tracker';

jest.setTimeout(30_000);

/** AWS's documented example (Systems Manager User Guide, EventBridge event examples). */
const AWS_EXAMPLE = {
  version: '0',
  id: '4780e1b8-f56b-4de5-95f2-95db273d1602',
  'detail-type': 'EC2 Command Invocation Status-change Notification',
  source: 'aws.ssm',
  account: '123456789012',
  time: '2016-07-10T21:51:32Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
  detail: {
    'command-id': 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b',
    'document-name': 'AWS-RunPowerShellScript',
    'instance-id': 'i-9bb89e2b',
    'requested-date-time': '2016-07-10T21:51:30.049Z',
    status: 'Success',
  },
};
const withDetail = (detail: Record<string, unknown>) =>
  JSON.stringify({ ...AWS_EXAMPLE, detail: { ...AWS_EXAMPLE.detail, ...detail } });

describe('readCommandEvent', () => {
  test("AWS's example is an ended invocation", () => {
    expect(readCommandEvent(JSON.stringify(AWS_EXAMPLE))).toEqual({
      kind: 'ended',
      commandId: 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b',
      instanceId: 'i-9bb89e2b',
      status: 'Success',
    });
  });

  test.each(['Failed', 'TimedOut', 'Cancelled', 'Delivery Timed Out', 'Undeliverable', 'Terminated'])(
    'terminal status %s wakes',
    (status) => expect(readCommandEvent(withDetail({ status })).kind).toBe('ended'),
  );

  test.each(['Pending', 'InProgress', 'Delayed', 'Cancelling'])('status %s is ignored', (status) =>
    expect(readCommandEvent(withDetail({ status }))).toEqual({
      kind: 'ignored',
      reason: `status ${status} is not terminal`,
    }),
  );

  test('other events are ignored, broken ones are malformed', () => {
    expect(
      readCommandEvent(
        JSON.stringify({ ...AWS_EXAMPLE, 'detail-type': 'EC2 Command Status-change Notification' }),
      ).kind,
    ).toBe('ignored');
    expect(readCommandEvent(JSON.stringify({ ...AWS_EXAMPLE, source: 'aws.ec2' })).kind).toBe('ignored');
    expect(readCommandEvent('not json').kind).toBe('malformed');
    expect(readCommandEvent(undefined).kind).toBe('malformed');
    expect(readCommandEvent('[1]').kind).toBe('malformed');
    expect(readCommandEvent(withDetail({ 'command-id': 'abc' }))).toEqual({
      kind: 'malformed',
      reason: 'detail.command-id is missing or not a command ID',
    });
    expect(readCommandEvent(withDetail({ 'instance-id': undefined })).kind).toBe('malformed');
    expect(readCommandEvent(withDetail({ status: 7 })).kind).toBe('malformed');
  });

  test('an SNS notification wrapping the event is unwrapped', () => {
    const sns = JSON.stringify({
      Type: 'Notification',
      MessageId: 'x',
      Message: JSON.stringify(AWS_EXAMPLE),
    });
    expect(readCommandEvent(sns).kind).toBe('ended');
    expect(readCommandEvent(JSON.stringify({ Type: 'Notification', Message: '{' })).kind).toBe('malformed');
  });

  test('terminal statuses and queue regions', () => {
    expect(isTerminalStatus('Execution Timed Out')).toBe(true);
    expect(isTerminalStatus('InProgress')).toBe(false);
    expect(queueRegion('https://sqs.eu-west-1.amazonaws.com/123456789012/q', 'us-east-1')).toBe('eu-west-1');
    expect(queueRegion('https://ap-southeast-2.queue.amazonaws.com/123456789012/q', 'x')).toBe(
      'ap-southeast-2',
    );
    expect(queueRegion('http://127.0.0.1:4566/123456789012/q', 'us-east-1')).toBe('us-east-1');
  });
});

describe('tracker wake-up', () => {
  // A sweep that always lists the command as running: only an end notice can end the wait early.
  const running = (commandId: string, instanceId: string) =>
    (async () => ({
      send: async () => ({ CommandInvocations: [{ CommandId: commandId, InstanceId: instanceId }] }),
    })) as unknown as () => Promise<Ssm>;
  const call: SsmCall = (_op, fn) => fn();
  const cmd = '11111111-2222-3333-4444-555555555555';
  const inst = 'i-0123456789abcdef0';

  test('an end notice answers a waiting follower at once; one that came earlier answers the next wait', async () => {
    const tracker = new CommandTracker(running(cmd, inst), call, 60_000, 60_000);
    const w = tracker.watch(cmd, inst, Date.now());
    const t0 = Date.now();
    const seen = w.next(Date.now() + 60_000);
    expect(tracker.commandEnded(cmd, inst)).toBe(true);
    await expect(seen).resolves.toBe('ended');
    expect(Date.now() - t0).toBeLessThan(1_000);
    // Nobody waiting: kept for the next wait or pause, consumed once.
    tracker.commandEnded(cmd, inst);
    await expect(w.pause(60_000)).resolves.toBe(true);
    await expect(w.pause(10)).resolves.toBe(false);
    expect(tracker.commandEnded('99999999-2222-3333-4444-555555555555', inst)).toBe(false);
    const paused = w.pause(60_000);
    tracker.commandEnded(cmd, inst);
    await expect(paused).resolves.toBe(true);
    w.close();
  });

  test('a pause still rejects on cancellation, and an end notice before the follower registers is kept', async () => {
    const tracker = new CommandTracker(running(cmd, inst), call, 60_000, 60_000);
    const w = tracker.watch(cmd, inst, Date.now());
    const abort = new AbortController();
    const p = w.pause(60_000, abort.signal);
    abort.abort(new Error('cancelled'));
    await expect(p).rejects.toThrow('cancelled');
    w.close();

    const shared = new SsmSharedLookups(async () => ({}) as Ssm, call, { min: 60_000, max: 60_000 });
    expect(shared.commandEnded(cmd, inst)).toBe(false);
    const late = shared.tracker('us-east-1').watch(cmd, inst, Date.now());
    await expect(late.next(Date.now() + 60_000)).resolves.toBe('ended');
    late.close();
  });
});

describe('the queue loop against the lab', () => {
  let lab: Lab;
  let sqs: SQSClient;
  let ssm: SSMClient;
  const machine = 'i-0e0000000000000001';

  beforeAll(async () => {
    lab = await createLab({ speed: 20 });
    lab.state.putMachine(machine, { commands: [{ duration_s: 10, outcome: 'success' }] });
    const opts = {
      region: 'us-east-1',
      endpoint: lab.url,
      credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' },
    };
    sqs = new SQSClient(opts);
    ssm = new SSMClient(opts);
  });
  afterAll(async () => {
    sqs.destroy();
    ssm.destroy();
    await lab.close();
  });

  test('the lab SQS speaks the SDK: create, long poll, delete, errors by name', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'plain' }));
    expect(QueueUrl).toMatch(/\/123456789012\/plain$/);
    expect((await sqs.send(new GetQueueUrlCommand({ QueueName: 'plain' }))).QueueUrl).toBe(QueueUrl);
    await expect(sqs.send(new GetQueueUrlCommand({ QueueName: 'nope' }))).rejects.toMatchObject({
      name: 'QueueDoesNotExist',
    });
    const t0 = Date.now();
    const empty = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
    expect(empty.Messages).toBeUndefined();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    // A long poll returns as soon as a message arrives.
    const waiting = sqs.send(
      new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 10, MaxNumberOfMessages: 10 }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'hello' }));
    const got = await waiting;
    expect(got.Messages?.map((m) => m.Body)).toEqual(['hello']);
    const del = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: 'a', ReceiptHandle: got.Messages![0].ReceiptHandle },
          { Id: 'b', ReceiptHandle: 'garbage' },
        ],
      }),
    );
    expect(del.Successful).toEqual([{ Id: 'a' }]);
    expect(del.Failed?.[0]).toMatchObject({ Id: 'b', Code: 'ReceiptHandleIsInvalid', SenderFault: true });
    await expect(
      sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 11 })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    expect(lab.state.sqs.queues.get('plain')!.messages).toHaveLength(0);
  });

  test("the rule's event wakes the follower; unknown and foreign messages are deleted; an away queue backs off", async () => {
    lab.state.sqs.createQueue('events');
    lab.state.sqs.setRule({ queue: 'events', statuses: ['InProgress', 'Success'], region: 'us-east-1' });
    const queueUrl = `${lab.url}/123456789012/events`;
    const ended: string[] = [];
    let follows = '';
    const loop = new CommandEventQueue({
      sqs,
      queueUrl,
      waitSeconds: 1,
      backoff: { minMs: 20, maxMs: 100 },
      onEnded: (commandId, instanceId) => {
        ended.push(`${commandId}|${instanceId}`);
        return commandId === follows;
      },
    });
    loop.start();
    try {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'not an event' }));
      const r = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [machine],
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['true'] },
        }),
      );
      follows = r.Command!.CommandId!;
      await until(() => loop.stats.wakeups === 1);
      expect(ended).toEqual([`${follows}|${machine}`]);
      // The InProgress event was read and ignored; the junk message counted malformed; all deleted.
      expect(loop.stats).toMatchObject({ ignored: 1, malformed: 1, wakeups: 1 });
      await until(() => lab.state.sqs.queues.get('events')!.messages.length === 0);
      expect(lab.state.sqs.eventsSent).toBe(2);

      // A command nobody follows: read, deleted, counted unknown.
      follows = '';
      await ssm.send(
        new SendCommandCommand({
          InstanceIds: [machine],
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['true'] },
        }),
      );
      await until(() => loop.stats.unknown === 1);

      // The queue goes away: calls fail and back off; it comes back and the loop reads again.
      lab.state.sqs.available = false;
      await until(() => loop.stats.errors >= 2);
      lab.state.sqs.available = true;
      const before = loop.stats.receives;
      await until(() => loop.stats.receives > before);
    } finally {
      const t0 = Date.now();
      await loop.stop();
      // stop() cuts the long poll short.
      expect(Date.now() - t0).toBeLessThan(2_000);
      lab.state.sqs.setRule(null);
    }
  });
});

/** A condition on in-process state, awaited with the lab tests' shared poll (test/unit/lab/helpers.ts). */
const until = (cond: () => boolean) =>
  labWaitFor(
    async () => cond(),
    (ok) => ok,
    { timeoutMs: 15_000, everyMs: 20 },
  );
