/**
 * How an invocation's status evolves, stepped exactly with a manual clock (the lab computes every status from
 * timestamps), through the real SSM client.
 */
import {
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Lab } from '../../../lab/server';
import { clientsFor, control, M, manualClock, startLab, stepOf } from './helpers';

describe('SSM invocation lifecycle (manual clock)', () => {
  const clock = manualClock();
  let lab: Lab;
  let ssm: SSMClient;
  let s3: S3Client;

  beforeAll(async () => {
    lab = await startLab({ now: clock.now });
    ({ ssm, s3 } = clientsFor(lab));
  });
  afterAll(async () => {
    ssm.destroy();
    s3.destroy();
    await lab.close();
  });
  beforeEach(() => {
    lab.state.reset();
    clock.set(clock.start);
  });

  const put = (id: string, behaviour: object) => control(lab, 'PUT', `/_lab/machines/${id}`, behaviour);

  async function send(instanceId: string, extra: Record<string, unknown> = {}): Promise<string> {
    const out = await ssm.send(
      new SendCommandCommand({
        InstanceIds: [instanceId],
        DocumentName: 'AWS-RunPatchBaseline',
        Parameters: { Operation: ['Install'], RebootOption: ['RebootIfNeeded'] },
        ...extra,
      }),
    );
    return out.Command!.CommandId!;
  }

  const get = (commandId: string, instanceId: string) =>
    ssm.send(
      new GetCommandInvocationCommand({
        CommandId: commandId,
        InstanceId: instanceId,
        PluginName: stepOf(lab, commandId, instanceId),
      }),
    );

  async function ping(id: string): Promise<string | undefined> {
    const out = await ssm.send(
      new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [id] }] }),
    );
    return out.InstanceInformationList?.[0]?.PingStatus;
  }

  it('goes Pending → InProgress → Success with the default behaviour and reports the installed packages', async () => {
    await put(M.linux1, {});
    const id = await send(M.linux1);

    let inv = await get(id, M.linux1);
    expect(inv).toMatchObject({ Status: 'Pending', StatusDetails: 'Pending', ResponseCode: -1 });
    expect(inv.ExecutionStartDateTime).toBe('');
    expect(inv.StandardOutputContent).toBe('');

    clock.advance(1000); // the agent picks the command up after one lab second
    inv = await get(id, M.linux1);
    expect(inv).toMatchObject({ Status: 'InProgress', StatusDetails: 'InProgress', ResponseCode: -1 });
    expect(inv.ExecutionStartDateTime).toBe(new Date(clock.start + 1000).toISOString());
    expect(inv.ExecutionEndDateTime).toBe('');

    clock.advance(4999);
    expect((await get(id, M.linux1)).Status).toBe('InProgress');

    clock.advance(1);
    inv = await get(id, M.linux1);
    expect(inv).toMatchObject({
      Status: 'Success',
      StatusDetails: 'Success',
      ResponseCode: 0,
      PluginName: 'PatchLinux',
    });
    expect(inv.ExecutionEndDateTime).toBe(new Date(clock.start + 6000).toISOString());
    expect(inv.ExecutionElapsedTime).toBe('PT5.000S');
    const lines = inv.StandardOutputContent!.split('\n');
    // dnf's transaction lines and the document's summary; no line format of our own.
    expect(lines).toEqual(
      expect.arrayContaining([
        '  Upgrading        : openssl-3.0.13    1/2',
        '  Upgrading        : curl-8.5.0    2/2',
        'InstalledCount: 2',
      ]),
    );
    expect(lines.filter((l) => l.startsWith('Installed: '))).toEqual([]);
    expect(lines.filter((l) => l.startsWith('InstalledCount:'))).toHaveLength(1);
    expect(inv.StandardErrorContent).toBe('');
  });

  it('scales durations by speed', async () => {
    const fast = await startLab({ now: clock.now, speed: 60 });
    const { ssm: fastSsm } = clientsFor(fast);
    try {
      fast.state.putMachine(M.linux1, { commands: [{ duration_s: 600 }] });
      const out = await fastSsm.send(
        new SendCommandCommand({
          InstanceIds: [M.linux1],
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['true'] },
        }),
      );
      const id = out.Command!.CommandId!;
      const status = async () =>
        (await fastSsm.send(new GetCommandInvocationCommand({ CommandId: id, InstanceId: M.linux1 }))).Status;
      clock.advance(1000 / 60 + 10_000 - 1); // ten real seconds for ten lab minutes
      expect(await status()).toBe('InProgress');
      clock.advance(1);
      expect(await status()).toBe('Success');
    } finally {
      fastSsm.destroy();
      await fast.close();
    }
  });

  it('no_updates reports InstalledCount: 0 and no Installed lines', async () => {
    await put(M.linux1, { commands: [{ duration_s: 3, outcome: 'no_updates' }] });
    const id = await send(M.linux1);
    clock.advance(4000);
    const inv = await get(id, M.linux1);
    expect(inv.Status).toBe('Success');
    expect(inv.StandardOutputContent).toMatch(/^InstalledCount: 0$/m);
    expect(inv.StandardOutputContent).not.toMatch(/^Installed: /m);
  });

  it('a Scan lists Missing packages and installs nothing', async () => {
    await put(M.linux1, {});
    const id = await send(M.linux1, { Parameters: { Operation: ['Scan'] } });
    clock.advance(6000);
    const inv = await get(id, M.linux1);
    expect(inv.StandardOutputContent).toMatch(/^2 package\(s\) needed for security$/m);
    expect(inv.StandardOutputContent).toMatch(/^MissingCount: 2$/m);
    expect(inv.StandardOutputContent).toMatch(/^InstalledCount: 0$/m);
  });

  it('failed ends Failed with ResponseCode 1 and some stderr', async () => {
    await put(M.linux1, { commands: [{ duration_s: 2, outcome: 'failed', installed: ['curl-8.5.0'] }] });
    const id = await send(M.linux1);
    clock.advance(3000);
    const inv = await get(id, M.linux1);
    expect(inv).toMatchObject({ Status: 'Failed', StatusDetails: 'Failed', ResponseCode: 1 });
    expect(inv.StandardErrorContent).not.toBe('');
    expect(inv.StandardOutputContent).toMatch(/^FailedCount: 1$/m);
  });

  it('a Windows patch run prints Windows Update lines and the Patch Summary', async () => {
    await put(M.win1, { platform: 'Windows', commands: [{ duration_s: 1, installed: ['KB5034439'] }] });
    const id = await send(M.win1);
    clock.advance(2000);
    const inv = await get(id, M.win1);
    expect(inv.PluginName).toBe('PatchWindows');
    expect(inv.StandardOutputContent).toMatch(/^Update KB5034439 installed successfully$/m);
    expect(inv.StandardOutputContent).toMatch(/^InstalledCount: 1$/m);
  });

  it('hang stays InProgress until the execution timeout (7200 s for AWS-RunPatchBaseline)', async () => {
    await put(M.linux1, { commands: [{ outcome: 'hang' }] });
    const id = await send(M.linux1);
    clock.advance(1000 + 7200_000 - 1);
    expect((await get(id, M.linux1)).Status).toBe('InProgress');
    clock.advance(1);
    expect(await get(id, M.linux1)).toMatchObject({
      Status: 'TimedOut',
      StatusDetails: 'ExecutionTimedOut',
      ResponseCode: -1,
    });
  });

  it('hang on a script times out at its executionTimeout parameter', async () => {
    await put(M.linux1, { commands: [{ outcome: 'hang' }] });
    const id = await send(M.linux1, {
      DocumentName: 'AWS-RunShellScript',
      Parameters: { commands: ['sleep infinity'], executionTimeout: ['60'] },
    });
    clock.advance(1000 + 59_999);
    expect((await get(id, M.linux1)).Status).toBe('InProgress');
    clock.advance(1);
    expect((await get(id, M.linux1)).StatusDetails).toBe('ExecutionTimedOut');
  });

  it('CancelCommand on a running command: Cancelling, then Cancelled', async () => {
    await put(M.linux1, { commands: [{ outcome: 'hang' }] });
    const id = await send(M.linux1);
    clock.advance(5000);
    await ssm.send(new CancelCommandCommand({ CommandId: id }));
    expect(await get(id, M.linux1)).toMatchObject({ Status: 'Cancelling', StatusDetails: 'InProgress' });
    clock.advance(1000);
    const inv = await get(id, M.linux1);
    expect(inv).toMatchObject({ Status: 'Cancelled', StatusDetails: 'Cancelled' });
    expect(inv.ExecutionEndDateTime).toBe(new Date(clock.start + 6000).toISOString());
    // A later timeout no longer applies.
    clock.advance(10_000_000);
    expect((await get(id, M.linux1)).Status).toBe('Cancelled');
  });

  it('CancelCommand before delivery cancels at once; on a finished command it changes nothing', async () => {
    await put(M.linux1, {});
    const early = await send(M.linux1);
    await ssm.send(new CancelCommandCommand({ CommandId: early }));
    expect(await get(early, M.linux1)).toMatchObject({ Status: 'Cancelled', StatusDetails: 'Cancelled' });

    const done = await send(M.linux1);
    clock.advance(10_000);
    await ssm.send(new CancelCommandCommand({ CommandId: done }));
    expect((await get(done, M.linux1)).Status).toBe('Success');
  });

  it('reboot: ConnectionLost for reboot_s while the command stays InProgress, then Success and Online', async () => {
    await put(M.linux1, { commands: [{ duration_s: 10, reboot_s: 30 }] });
    const id = await send(M.linux1);
    clock.advance(1000 + 10_000 - 1);
    expect(await ping(M.linux1)).toBe('Online');
    clock.advance(1);
    expect(await ping(M.linux1)).toBe('ConnectionLost');
    expect((await get(id, M.linux1)).Status).toBe('InProgress');
    clock.advance(30_000 - 1);
    expect(await ping(M.linux1)).toBe('ConnectionLost');
    expect((await get(id, M.linux1)).Status).toBe('InProgress');
    clock.advance(1);
    expect(await ping(M.linux1)).toBe('Online');
    const inv = await get(id, M.linux1);
    expect(inv.Status).toBe('Success');
    expect(inv.StandardOutputContent).toMatch(/rebooted/);
  });

  it('RebootOption NoReboot skips the reboot', async () => {
    await put(M.linux1, { commands: [{ duration_s: 10, reboot_s: 30 }] });
    const id = await send(M.linux1, { Parameters: { Operation: ['Install'], RebootOption: ['NoReboot'] } });
    clock.advance(1000 + 10_000);
    expect(await ping(M.linux1)).toBe('Online');
    expect((await get(id, M.linux1)).Status).toBe('Success');
  });

  it('a script exiting 194 reboots the node (default reboot time), then ends Success', async () => {
    await put(M.linux1, { commands: [{ duration_s: 2 }] });
    const id = await send(M.linux1, {
      DocumentName: 'AWS-RunShellScript',
      Parameters: { commands: ['if [ -f /var/tmp/m ]; then exit 0; fi', 'touch /var/tmp/m', 'exit 194'] },
    });
    clock.advance(1000 + 2000);
    expect(await ping(M.linux1)).toBe('ConnectionLost');
    expect((await get(id, M.linux1)).Status).toBe('InProgress');
    clock.advance(20_000);
    expect(await ping(M.linux1)).toBe('Online');
    expect((await get(id, M.linux1)).Status).toBe('Success');
  });

  it('a script that only prints "exit 194" does not reboot', async () => {
    await put(M.linux1, { commands: [{ duration_s: 2 }] });
    await send(M.linux1, { DocumentName: 'AWS-RunShellScript', Parameters: { commands: ['echo exit 194'] } });
    clock.advance(1000 + 2000);
    expect(await ping(M.linux1)).toBe('Online');
  });

  it('a command sent during a reboot starts when the machine is back, so the two never overlap', async () => {
    await put(M.linux1, { commands: [{ duration_s: 10, reboot_s: 30 }, { duration_s: 5 }] });
    const first = await send(M.linux1);
    clock.advance(1000 + 15_000); // inside the reboot
    const second = await send(M.linux1);
    clock.advance(1000);
    expect((await get(second, M.linux1)).Status).toBe('Pending');
    clock.advance(25_000); // reboot over at start + 41 s
    const inv = await get(second, M.linux1);
    expect(inv.Status).toBe('InProgress');
    expect(inv.ExecutionStartDateTime).toBe(new Date(clock.start + 41_000).toISOString());
    expect((await get(first, M.linux1)).Status).toBe('Success');
    expect((await control(lab, 'GET', '/_lab/overlaps')).json).toEqual([]);
  });

  it('an offline machine: Pending, then Failed/Undeliverable, never started', async () => {
    await put(M.offline, { online: false });
    expect(await ping(M.offline)).toBe('ConnectionLost');
    const id = await send(M.offline);
    expect((await get(id, M.offline)).Status).toBe('Pending');
    clock.advance(1000);
    const inv = await get(id, M.offline);
    expect(inv).toMatchObject({ Status: 'Failed', StatusDetails: 'Undeliverable', ResponseCode: -1 });
    expect(inv.ExecutionStartDateTime).toBe('');
    const [rec] = (await control(lab, 'GET', `/_lab/machines/${M.offline}/commands`)).json;
    expect(rec).toMatchObject({
      command_id: id,
      started_at: null,
      ended_at: null,
      status: 'Failed',
      status_details: 'Undeliverable',
    });
  });

  it('offline_result DeliveryTimedOut: Pending until TimeoutSeconds, then TimedOut/DeliveryTimedOut', async () => {
    await put(M.offline, { online: false, offline_result: 'DeliveryTimedOut' });
    const id = await send(M.offline, { TimeoutSeconds: 600 });
    clock.advance(600_000 - 1);
    expect((await get(id, M.offline)).Status).toBe('Pending');
    clock.advance(1);
    expect(await get(id, M.offline)).toMatchObject({ Status: 'TimedOut', StatusDetails: 'DeliveryTimedOut' });
  });

  it('each command takes the next behaviour entry, the last one repeating', async () => {
    await put(M.linux1, {
      commands: [
        { duration_s: 1, outcome: 'success', stdout: 'hook ok' },
        { duration_s: 1, outcome: 'failed', stdout: 'boom' },
      ],
    });
    const script = { DocumentName: 'AWS-RunShellScript', Parameters: { commands: ['./check.sh'] } };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await send(M.linux1, script));
      clock.advance(3000);
    }
    const results = await Promise.all(ids.map((id) => get(id, M.linux1)));
    expect(results.map((r) => [r.Status, r.ResponseCode, r.StandardOutputContent])).toEqual([
      ['Success', 0, 'hook ok'],
      ['Failed', 1, 'boom'],
      ['Failed', 1, 'boom'],
    ]);
    expect(results[0].PluginName).toBe('aws:runShellScript');
    // Re-configuring a machine starts again from its first entry.
    await put(M.linux1, { commands: [{ duration_s: 1, stdout: 'again' }] });
    const next = await send(M.linux1, script);
    clock.advance(3000);
    expect((await get(next, M.linux1)).StandardOutputContent).toBe('again');
  });

  it('caps StandardOutputContent at 24000 characters and uploads the full output to S3', async () => {
    const big = 'x'.repeat(30_000);
    await put(M.linux1, { commands: [{ duration_s: 1, stdout: big }] });
    const id = await send(M.linux1, {
      DocumentName: 'AWS-RunShellScript',
      Parameters: { commands: ['cat big'] },
      OutputS3BucketName: 'ssm-output',
      OutputS3KeyPrefix: 'runs/',
    });
    const key = `runs/${id}/${M.linux1}/awsrunShellScript/0.awsrunShellScript/stdout`;
    const pending = await get(id, M.linux1);
    expect(pending.StandardOutputUrl).toBe(`https://s3.us-east-1.amazonaws.com/ssm-output/${key}`);
    // Not uploaded before the command ends.
    await expect(s3.send(new GetObjectCommand({ Bucket: 'ssm-output', Key: key }))).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
    clock.advance(2000);
    const inv = await get(id, M.linux1);
    expect(inv.StandardOutputContent).toHaveLength(24_000);
    const obj = await s3.send(new GetObjectCommand({ Bucket: 'ssm-output', Key: key }));
    expect(await obj.Body!.transformToString()).toBe(big);
    // No stderr, so none is uploaded.
    await expect(
      s3.send(new GetObjectCommand({ Bucket: 'ssm-output', Key: key.replace(/stdout$/, 'stderr') })),
    ).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  it('patch output goes under the PatchLinux step folder', async () => {
    await put(M.linux1, {});
    const id = await send(M.linux1, { OutputS3BucketName: 'ssm-output' });
    clock.advance(6000);
    const obj = await s3.send(
      new GetObjectCommand({
        Bucket: 'ssm-output',
        Key: `${id}/${M.linux1}/awsrunShellScript/PatchLinux/stdout`,
      }),
    );
    expect(await obj.Body!.transformToString()).toMatch(/^InstalledCount: 2$/m);
  });

  it('records every command a machine received, with its times and status', async () => {
    await put(M.linux1, { commands: [{ duration_s: 2 }] });
    const id = await send(M.linux1, { Comment: 'evt_1 / pre_host_0' });
    clock.advance(3000);
    const res = await control(lab, 'GET', `/_lab/machines/${M.linux1}/commands`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual([
      {
        command_id: id,
        document_name: 'AWS-RunPatchBaseline',
        parameters: { Operation: ['Install'], RebootOption: ['RebootIfNeeded'] },
        comment: 'evt_1 / pre_host_0',
        requested_at: new Date(clock.start).toISOString(),
        started_at: new Date(clock.start + 1000).toISOString(),
        ended_at: new Date(clock.start + 3000).toISOString(),
        status: 'Success',
        status_details: 'Success',
        response_code: 0,
        plugin_name: 'PatchLinux',
      },
    ]);
  });

  it('/_lab/overlaps lists two commands that ran on one machine at the same time', async () => {
    await put(M.linux1, { commands: [{ duration_s: 10 }] });
    await put(M.linux2, { commands: [{ duration_s: 10 }] });
    const a = await send(M.linux1);
    clock.advance(2000);
    const b = await send(M.linux1);
    await send(M.linux2);
    clock.advance(20_000);
    const c = await send(M.linux2); // sequential on linux2: no overlap
    clock.advance(20_000);
    expect(c).toBeDefined();
    const res = await control(lab, 'GET', '/_lab/overlaps');
    expect(res.json).toEqual([
      {
        machine_id: M.linux1,
        first: {
          command_id: a,
          started_at: new Date(clock.start + 1000).toISOString(),
          ended_at: new Date(clock.start + 11_000).toISOString(),
        },
        second: {
          command_id: b,
          started_at: new Date(clock.start + 3000).toISOString(),
          ended_at: new Date(clock.start + 13_000).toISOString(),
        },
      },
    ]);
  });

  it('a still-running command overlaps anything started after it', async () => {
    await put(M.linux1, { commands: [{ outcome: 'hang' }, { duration_s: 1 }] });
    await send(M.linux1);
    clock.advance(60_000);
    await send(M.linux1);
    clock.advance(5000);
    const [o] = (await control(lab, 'GET', '/_lab/overlaps')).json;
    expect(o.first.ended_at).toBeNull();
  });
});

describe('patch output summary', () => {
  it('counts cumulatively over the node’s life, as the real document does', async () => {
    const clock = manualClock();
    const lab = await startLab({ now: clock.now });
    const { ssm } = clientsFor(lab);
    try {
      lab.state.putMachine(M.linux1, {
        commands: [
          { duration_s: 1, installed: ['openssl-3.0.15'] },
          { duration_s: 1, installed: ['curl-8.11.1', 'vim-9.1'] },
        ],
      });
      const counts: string[] = [];
      for (let i = 0; i < 2; i++) {
        const out = await ssm.send(
          new SendCommandCommand({
            InstanceIds: [M.linux1],
            DocumentName: 'AWS-RunPatchBaseline',
            Parameters: { Operation: ['Install'] },
          }),
        );
        clock.advance(3000);
        const inv = await ssm.send(
          new GetCommandInvocationCommand({
            CommandId: out.Command!.CommandId!,
            InstanceId: M.linux1,
            PluginName: 'PatchLinux',
          }),
        );
        counts.push(/^InstalledCount: (\d+)$/m.exec(inv.StandardOutputContent!)![1]);
      }
      expect(counts).toEqual(['1', '3']);
    } finally {
      ssm.destroy();
      await lab.close();
    }
  });
});
