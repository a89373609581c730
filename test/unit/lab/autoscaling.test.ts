import {
  AutoScalingClient,
  DescribeAutoScalingInstancesCommand,
  EnterStandbyCommand,
  ExitStandbyCommand,
} from '@aws-sdk/client-auto-scaling';
import type { Lab } from '../../../lab/server';
import { LAB_CREDENTIALS, manualClock, startLab } from './helpers';

/** The lab's Auto Scaling stand-in, spoken to by the real @aws-sdk/client-auto-scaling (query protocol). */
describe('lab: Auto Scaling (DescribeAutoScalingInstances, EnterStandby, ExitStandby)', () => {
  const clock = manualClock();
  let lab: Lab;
  let asg: AutoScalingClient;
  const control = (method: string, path: string, body?: unknown) =>
    fetch(`${lab.url}/_lab/autoscaling/instances/${path}`, {
      method,
      ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });

  beforeAll(async () => {
    lab = await startLab({ now: clock.now });
    asg = new AutoScalingClient({
      endpoint: lab.url,
      region: 'us-east-1',
      credentials: LAB_CREDENTIALS,
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    asg.destroy();
    await lab.close();
  });
  beforeEach(() => lab.state.reset());

  it('describes only instances in a group, and moves one InService → Standby → InService', async () => {
    expect((await control('PUT', 'i-0aaaaaaaaaaaaaaa1', { group: 'web' })).status).toBe(200);
    const d = await asg.send(
      new DescribeAutoScalingInstancesCommand({
        InstanceIds: ['i-0aaaaaaaaaaaaaaa1', 'i-0bbbbbbbbbbbbbbb2'],
      }),
    );
    expect(d.AutoScalingInstances).toEqual([
      expect.objectContaining({
        InstanceId: 'i-0aaaaaaaaaaaaaaa1',
        AutoScalingGroupName: 'web',
        LifecycleState: 'InService',
        ProtectedFromScaleIn: false,
      }),
    ]);

    const enter = await asg.send(
      new EnterStandbyCommand({
        AutoScalingGroupName: 'web',
        InstanceIds: ['i-0aaaaaaaaaaaaaaa1'],
        ShouldDecrementDesiredCapacity: true,
      }),
    );
    expect(enter.Activities?.[0]).toEqual(
      expect.objectContaining({ AutoScalingGroupName: 'web', StatusCode: 'InProgress' }),
    );
    expect(enter.Activities?.[0].StartTime).toBeInstanceOf(Date);
    clock.advance(1000);
    await asg.send(
      new ExitStandbyCommand({ AutoScalingGroupName: 'web', InstanceIds: ['i-0aaaaaaaaaaaaaaa1'] }),
    );
    const v = (await (await control('GET', 'i-0aaaaaaaaaaaaaaa1')).json()) as {
      lifecycle_state: string;
      history: { state: string }[];
    };
    expect(v.lifecycle_state).toBe('InService');
    expect(v.history.map((h) => h.state)).toEqual(['InService', 'Standby', 'InService']);
  });

  it('answers AWS errors: wrong group, wrong state, missing ShouldDecrementDesiredCapacity, injected contention', async () => {
    await control('PUT', 'i-0aaaaaaaaaaaaaaa1', { group: 'web', fail: { ExitStandby: 1 } });
    const enter = (group: string) =>
      asg.send(
        new EnterStandbyCommand({
          AutoScalingGroupName: group,
          InstanceIds: ['i-0aaaaaaaaaaaaaaa1'],
          ShouldDecrementDesiredCapacity: true,
        }),
      );
    await expect(enter('other')).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining('not part of Auto Scaling group other'),
    });
    await expect(
      asg.send(new ExitStandbyCommand({ AutoScalingGroupName: 'web', InstanceIds: ['i-0aaaaaaaaaaaaaaa1'] })),
    ).rejects.toMatchObject({ name: 'ResourceContentionFault' });
    await expect(
      asg.send(new ExitStandbyCommand({ AutoScalingGroupName: 'web', InstanceIds: ['i-0aaaaaaaaaaaaaaa1'] })),
    ).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringContaining('not in Standby') });
    await expect(
      asg.send(
        // The SDK's types require it; the wire check is the lab's.
        new EnterStandbyCommand({
          AutoScalingGroupName: 'web',
          InstanceIds: ['i-0aaaaaaaaaaaaaaa1'],
        } as never),
      ),
    ).rejects.toMatchObject({ name: 'ValidationError' });
    await enter('web');
    await expect(enter('web')).rejects.toMatchObject({
      message: expect.stringContaining('not in InService'),
    });
  });

  it('passes through EnteringStandby and Pending when the group takes time', async () => {
    await control('PUT', 'i-0aaaaaaaaaaaaaaa1', { group: 'web', transition_ms: 5000 });
    const state = async () =>
      (await asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: ['i-0aaaaaaaaaaaaaaa1'] })))
        .AutoScalingInstances?.[0].LifecycleState;
    await asg.send(
      new EnterStandbyCommand({
        AutoScalingGroupName: 'web',
        InstanceIds: ['i-0aaaaaaaaaaaaaaa1'],
        ShouldDecrementDesiredCapacity: true,
      }),
    );
    expect(await state()).toBe('EnteringStandby');
    clock.advance(5000);
    expect(await state()).toBe('Standby');
    await asg.send(
      new ExitStandbyCommand({ AutoScalingGroupName: 'web', InstanceIds: ['i-0aaaaaaaaaaaaaaa1'] }),
    );
    expect(await state()).toBe('Pending');
    clock.advance(5000);
    expect(await state()).toBe('InService');
  });
});
