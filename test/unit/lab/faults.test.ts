/** Chaos knobs: throttling, 5xx, connection resets, delays and not-yet-visible commands. */
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Lab } from '../../../lab/server';
import { clientsFor, control, LAB_CREDENTIALS, M, manualClock, startLab } from './helpers';

describe('fault injection', () => {
  let lab: Lab;
  let clients: ReturnType<typeof clientsFor>;

  beforeAll(async () => {
    lab = await startLab({ speed: 100 });
    clients = clientsFor(lab);
  });
  afterAll(async () => {
    Object.values(clients).forEach((c) => c.destroy());
    await lab.close();
  });
  beforeEach(async () => {
    await control(lab, 'POST', '/_lab/reset');
    await control(lab, 'PUT', `/_lab/machines/${M.linux1}`, {});
  });

  const describeAll = () => clients.ssm.send(new DescribeInstanceInformationCommand({}));

  it('throttle_rate answers ThrottlingException (400) and the SDK retries it as a throttle', async () => {
    expect((await control(lab, 'PUT', '/_lab/faults', { ssm: { throttle_rate: 1 } })).status).toBe(200);
    await expect(describeAll()).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    const retrying = new SSMClient({
      endpoint: lab.url,
      region: 'us-east-1',
      credentials: LAB_CREDENTIALS,
      maxAttempts: 2,
    });
    try {
      const err = await retrying.send(new DescribeInstanceInformationCommand({})).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'ThrottlingException', $metadata: { attempts: 2 } });
    } finally {
      retrying.destroy();
    }
    const stats = (await control(lab, 'GET', '/_lab/stats')).json;
    expect(stats.calls['ssm:DescribeInstanceInformation']).toBe(3);
    expect(stats.faults_injected.throttle).toBe(3);
  });

  it('a throttled SendCommand creates no command', async () => {
    await control(lab, 'PUT', '/_lab/faults', { ssm: { throttle_rate: 1 } });
    await expect(
      clients.ssm.send(
        new SendCommandCommand({
          InstanceIds: [M.linux1],
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['true'] },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect((await control(lab, 'GET', `/_lab/machines/${M.linux1}/commands`)).json).toEqual([]);
  });

  it('error_5xx_rate answers InternalServerError (500)', async () => {
    await control(lab, 'PUT', '/_lab/faults', { ssm: { error_5xx_rate: 1 } });
    await expect(describeAll()).rejects.toMatchObject({
      name: 'InternalServerError',
      $fault: 'server',
      $metadata: { httpStatusCode: 500 },
    });
  });

  it('reset_rate drops the connection', async () => {
    await control(lab, 'PUT', '/_lab/faults', { ssm: { reset_rate: 1 } });
    const err = await describeAll().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBeUndefined();
    expect((await control(lab, 'GET', '/_lab/stats')).json.faults_injected.reset).toBe(1);
  });

  it('delay_ms holds each SSM answer at least that long', async () => {
    await control(lab, 'PUT', '/_lab/faults', { ssm: { delay_ms: 150 } });
    const t0 = Date.now();
    await describeAll();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(149);
  });

  it('faults touch SSM only', async () => {
    await control(lab, 'PUT', '/_lab/faults', { ssm: { throttle_rate: 1, error_5xx_rate: 1 } });
    await clients.s3.send(new PutObjectCommand({ Bucket: 'b-faults', Key: 'k', Body: 'v' }));
    const obj = await clients.s3.send(new GetObjectCommand({ Bucket: 'b-faults', Key: 'k' }));
    expect(await obj.Body!.transformToString()).toBe('v');
  });

  it('clearing the faults restores normal answers, and bad fault settings are refused', async () => {
    await control(lab, 'PUT', '/_lab/faults', { ssm: { throttle_rate: 1 } });
    await control(lab, 'PUT', '/_lab/faults', {});
    await expect(describeAll()).resolves.toBeDefined();
    const bad = await control(lab, 'PUT', '/_lab/faults', { ssm: { throttle_rate: 2 } });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/throttle_rate/);
    const unknown = await control(lab, 'PUT', '/_lab/faults', { s3: { throttle_rate: 1 } });
    expect(unknown.status).toBe(400);
  });
});

describe('unknown_after_send_s', () => {
  it('keeps a just-sent command unknown to GetCommandInvocation and list calls for that many lab seconds', async () => {
    const clock = manualClock();
    const lab = await startLab({ now: clock.now, speed: 2 });
    const { ssm } = clientsFor(lab);
    try {
      lab.state.putMachine(M.linux1, {});
      await control(lab, 'PUT', '/_lab/faults', { unknown_after_send_s: 10 });
      const out = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [M.linux1],
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['true'] },
        }),
      );
      const id = out.Command!.CommandId!;
      const get = () => ssm.send(new GetCommandInvocationCommand({ CommandId: id, InstanceId: M.linux1 }));
      await expect(get()).rejects.toMatchObject({ name: 'InvocationDoesNotExist' });
      expect(
        (await ssm.send(new ListCommandInvocationsCommand({ CommandId: id }))).CommandInvocations,
      ).toEqual([]);
      clock.advance(5000 - 1); // 10 lab seconds at speed 2
      await expect(get()).rejects.toMatchObject({ name: 'InvocationDoesNotExist' });
      clock.advance(1);
      expect((await get()).CommandId).toBe(id);
    } finally {
      ssm.destroy();
      await lab.close();
    }
  });
});
