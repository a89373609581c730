/** Every SSM operation the lab speaks, through the real SSM client against the real clock at a high speed. */
import {
  type DescribeInstanceInformationCommandInput,
  CancelCommandCommand,
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  SendCommandCommand,
  paginateDescribeInstanceInformation,
  waitUntilCommandExecuted,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { Lab } from '../../../lab/server';
import { generatedIds } from '../../../lab/schemas';
import { clientsFor, control, M, startLab, stepOf, waitFor } from './helpers';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('SSM operations', () => {
  let lab: Lab;
  let ssm: SSMClient;

  beforeAll(async () => {
    lab = await startLab({ speed: 100 });
    ({ ssm } = clientsFor(lab));
  });
  afterAll(async () => {
    ssm.destroy();
    await lab.close();
  });
  beforeEach(async () => {
    expect((await control(lab, 'POST', '/_lab/reset')).status).toBe(200);
    await control(lab, 'POST', '/_lab/fleet', {
      machines: {
        [M.linux1]: { tags: { Env: 'prod', Role: 'web' }, name: 'web-1' },
        [M.linux2]: { tags: { Env: 'dev', Role: 'db' } },
        [M.win1]: { platform: 'Windows', tags: { Env: 'prod', Role: 'db' } },
        [M.offline]: { online: false, tags: { Env: 'staging' } },
        [M.hybrid]: { tags: { Owner: 'ops' } },
      },
    });
  });

  const invocation = (CommandId: string, InstanceId: string) =>
    ssm.send(
      new GetCommandInvocationCommand({
        CommandId,
        InstanceId,
        PluginName: stepOf(lab, CommandId, InstanceId),
      }),
    );
  const untilDone = (CommandId: string, InstanceId: string) =>
    waitFor(
      () => invocation(CommandId, InstanceId),
      (i) => !['Pending', 'InProgress', 'Delayed', 'Cancelling'].includes(i.Status!),
    );

  describe('SendCommand', () => {
    it('returns the Command as SSM does', async () => {
      const before = Date.now();
      const out = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [M.linux1, M.linux2],
          DocumentName: 'AWS-RunPatchBaseline',
          Parameters: { Operation: ['Install'] },
          Comment: 'evt_1 patch',
          TimeoutSeconds: 600,
          OutputS3BucketName: 'out-bucket',
          OutputS3KeyPrefix: 'pw',
        }),
      );
      const c = out.Command!;
      expect(c.CommandId).toMatch(UUID);
      expect(c).toMatchObject({
        DocumentName: 'AWS-RunPatchBaseline',
        Comment: 'evt_1 patch',
        Status: 'Pending',
        StatusDetails: 'Pending',
        InstanceIds: [M.linux1, M.linux2],
        Parameters: { Operation: ['Install'] },
        TimeoutSeconds: 600,
        OutputS3BucketName: 'out-bucket',
        OutputS3KeyPrefix: 'pw',
        TargetCount: 2,
        CompletedCount: 0,
        ErrorCount: 0,
      });
      // Epoch-seconds timestamps arrive as Dates.
      expect(c.RequestedDateTime).toBeInstanceOf(Date);
      expect(c.RequestedDateTime!.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(c.ExpiresAfter!.getTime()).toBeGreaterThan(c.RequestedDateTime!.getTime());
    });

    it('refuses unknown instances with InvalidInstanceId and creates nothing', async () => {
      const err = await ssm
        .send(
          new SendCommandCommand({
            InstanceIds: [M.linux1, 'i-0999999999999999f'],
            DocumentName: 'AWS-RunShellScript',
            Parameters: { commands: ['true'] },
          }),
        )
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'InvalidInstanceId', $metadata: { httpStatusCode: 400 } });
      expect((err as Error).message).toContain('i-0999999999999999f');
      expect(lab.state.commandList).toHaveLength(0);
    });

    it('validates the request like SSM', async () => {
      await expect(
        ssm.send(
          new SendCommandCommand({
            InstanceIds: [M.linux1],
            DocumentName: 'AWS-RunShellScript',
            Parameters: { commands: ['true'] },
            TimeoutSeconds: 5,
          }),
        ),
      ).rejects.toMatchObject({ name: 'ValidationException' });
      const many = Array.from({ length: 51 }, (_, i) => `i-${i.toString(16).padStart(17, '0')}`);
      await expect(
        ssm.send(
          new SendCommandCommand({
            InstanceIds: many,
            DocumentName: 'AWS-RunShellScript',
            Parameters: { commands: ['true'] },
          }),
        ),
      ).rejects.toMatchObject({ name: 'ValidationException' });
    });

    it('resolves Targets by tag', async () => {
      const out = await ssm.send(
        new SendCommandCommand({
          Targets: [{ Key: 'tag:Env', Values: ['prod'] }],
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['true'] },
        }),
      );
      const inv = await ssm.send(new ListCommandInvocationsCommand({ CommandId: out.Command!.CommandId }));
      expect(inv.CommandInvocations!.map((i) => i.InstanceId).sort()).toEqual([M.linux1, M.win1].sort());
    });
  });

  describe('GetCommandInvocation', () => {
    it('follows a command to Success', async () => {
      const out = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [M.linux1],
          DocumentName: 'AWS-RunPatchBaseline',
          Parameters: { Operation: ['Install'] },
        }),
      );
      const inv = await untilDone(out.Command!.CommandId!, M.linux1);
      expect(inv).toMatchObject({
        Status: 'Success',
        StatusDetails: 'Success',
        ResponseCode: 0,
        InstanceId: M.linux1,
      });
      expect(new Date(inv.ExecutionStartDateTime!).getTime()).toBeLessThanOrEqual(
        new Date(inv.ExecutionEndDateTime!).getTime(),
      );
      expect(inv.StandardOutputContent).toMatch(/^InstalledCount: 2$/m);
    });

    it('works with the SDK waiter', async () => {
      const out = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [M.linux2],
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['id'] },
        }),
      );
      const r = await waitUntilCommandExecuted(
        { client: ssm, maxWaitTime: 20, minDelay: 1, maxDelay: 1 },
        { CommandId: out.Command!.CommandId, InstanceId: M.linux2 },
      );
      expect(r.state).toBe('SUCCESS');
    });

    it('answers InvocationDoesNotExist for an unknown command or a machine it was not sent to', async () => {
      await expect(invocation('00000000-0000-0000-0000-000000000000', M.linux1)).rejects.toMatchObject({
        name: 'InvocationDoesNotExist',
        $metadata: { httpStatusCode: 400 },
      });
      const out = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [M.linux1],
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['true'] },
        }),
      );
      await expect(invocation(out.Command!.CommandId!, M.linux2)).rejects.toMatchObject({
        name: 'InvocationDoesNotExist',
      });
      await expect(invocation('not-a-uuid', M.linux1)).rejects.toMatchObject({ name: 'ValidationException' });
    });

    it('reports an offline machine as Undeliverable', async () => {
      const out = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [M.offline],
          DocumentName: 'AWS-RunPatchBaseline',
          Parameters: { Operation: ['Install'] },
        }),
      );
      expect(await untilDone(out.Command!.CommandId!, M.offline)).toMatchObject({
        Status: 'Failed',
        StatusDetails: 'Undeliverable',
        ResponseCode: -1,
      });
    });
  });

  describe('ListCommandInvocations', () => {
    it('lists by command and by instance, with plugin details on request', async () => {
      const a = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [M.linux1, M.win1],
          DocumentName: 'AWS-RunPatchBaseline',
          Parameters: { Operation: ['Install'] },
        }),
      );
      const id = a.Command!.CommandId!;
      await untilDone(id, M.linux1);
      await untilDone(id, M.win1);
      const byCommand = await ssm.send(new ListCommandInvocationsCommand({ CommandId: id, Details: true }));
      expect(byCommand.CommandInvocations!.map((i) => [i.InstanceId, i.Status])).toEqual([
        [M.linux1, 'Success'],
        [M.win1, 'Success'],
      ]);
      const linux = byCommand.CommandInvocations![0];
      expect(linux.InstanceName).toBe('web-1');
      expect(linux.RequestedDateTime).toBeInstanceOf(Date);
      // Every step of the document is listed; the ones for other platforms are skipped by their precondition.
      expect(linux.CommandPlugins!.map((p) => p.Name)).toEqual(['PatchWindows', 'PatchLinux', 'PatchMacOS']);
      expect(linux.CommandPlugins![0].Output).toMatch(/^Step execution skipped/);
      const ran = linux.CommandPlugins![1];
      expect(ran).toMatchObject({ Name: 'PatchLinux', Status: 'Success', ResponseCode: 0 });
      expect(ran.Output).toMatch(/^InstalledCount: 2$/m);
      expect(ran.ResponseFinishDateTime).toBeInstanceOf(Date);
      const win = byCommand.CommandInvocations![1].CommandPlugins!;
      expect(win[0].Output).not.toMatch(/skipped/);
      expect(win[1].Output).toMatch(/^Step execution skipped/);

      const noDetails = await ssm.send(new ListCommandInvocationsCommand({ CommandId: id }));
      expect(noDetails.CommandInvocations![0].CommandPlugins).toEqual([]);

      const b = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [M.linux1],
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['true'] },
        }),
      );
      const byInstance = await ssm.send(new ListCommandInvocationsCommand({ InstanceId: M.linux1 }));
      expect(byInstance.CommandInvocations!.map((i) => i.CommandId)).toEqual([b.Command!.CommandId, id]);
      const both = await ssm.send(new ListCommandInvocationsCommand({ CommandId: id, InstanceId: M.win1 }));
      expect(both.CommandInvocations!.map((i) => i.InstanceId)).toEqual([M.win1]);
    });

    it('filters by Status and DocumentName and rejects unknown filter keys', async () => {
      await control(lab, 'PUT', `/_lab/machines/${M.linux2}`, { commands: [{ outcome: 'hang' }] });
      const ok = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [M.linux1],
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['true'] },
        }),
      );
      const hung = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [M.linux2],
          DocumentName: 'AWS-RunPatchBaseline',
          Parameters: { Operation: ['Install'] },
        }),
      );
      await untilDone(ok.Command!.CommandId!, M.linux1);
      const success = await ssm.send(
        new ListCommandInvocationsCommand({ Filters: [{ key: 'Status', value: 'Success' }] }),
      );
      expect(success.CommandInvocations!.map((i) => i.CommandId)).toEqual([ok.Command!.CommandId]);
      const patch = await ssm.send(
        new ListCommandInvocationsCommand({
          Filters: [{ key: 'DocumentName', value: 'AWS-RunPatchBaseline' }],
        }),
      );
      expect(patch.CommandInvocations!.map((i) => i.CommandId)).toEqual([hung.Command!.CommandId]);
      await expect(
        ssm.send(new ListCommandInvocationsCommand({ Filters: [{ key: 'Colour' as 'Status', value: 'x' }] })),
      ).rejects.toMatchObject({ name: 'InvalidFilterKey' });
    });

    it('pages with MaxResults (at most 50) and NextToken', async () => {
      const ids = generatedIds({ count: 60, prefix: 'i-0aa' });
      await control(lab, 'POST', '/_lab/fleet', { generate: { count: 60, prefix: 'i-0aa' } });
      await ssm.send(
        new SendCommandCommand({
          InstanceIds: ids.slice(0, 50),
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['true'] },
        }),
      );
      await ssm.send(
        new SendCommandCommand({
          InstanceIds: ids.slice(50),
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['true'] },
        }),
      );
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await ssm.send(new ListCommandInvocationsCommand({ MaxResults: 25, NextToken: token }));
        seen.push(...page.CommandInvocations!.map((i) => `${i.CommandId}/${i.InstanceId}`));
        token = page.NextToken;
        pages++;
      } while (token);
      expect(pages).toBe(3);
      expect(new Set(seen).size).toBe(60);
      await expect(ssm.send(new ListCommandInvocationsCommand({ MaxResults: 51 }))).rejects.toMatchObject({
        name: 'ValidationException',
      });
      await expect(
        ssm.send(new ListCommandInvocationsCommand({ NextToken: 'garbage' })),
      ).rejects.toMatchObject({
        name: 'InvalidNextToken',
      });
    });
  });

  describe('ListCommands', () => {
    it('returns commands with their Comment, newest first, by id or instance, filtered and paged', async () => {
      const first = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [M.linux1],
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['true'] },
          Comment: 'first',
        }),
      );
      const second = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [M.linux2],
          DocumentName: 'AWS-RunPatchBaseline',
          Parameters: { Operation: ['Install'] },
          Comment: 'second',
        }),
      );
      const all = await ssm.send(new ListCommandsCommand({}));
      expect(all.Commands!.map((c) => c.Comment)).toEqual(['second', 'first']);

      const one = await ssm.send(new ListCommandsCommand({ CommandId: first.Command!.CommandId }));
      expect(one.Commands).toHaveLength(1);
      expect(one.Commands![0]).toMatchObject({
        Comment: 'first',
        DocumentName: 'AWS-RunShellScript',
        Parameters: { commands: ['true'] },
        TargetCount: 1,
      });

      const byInstance = await ssm.send(new ListCommandsCommand({ InstanceId: M.linux2 }));
      expect(byInstance.Commands!.map((c) => c.CommandId)).toEqual([second.Command!.CommandId]);

      const byDoc = await ssm.send(
        new ListCommandsCommand({ Filters: [{ key: 'DocumentName', value: 'AWS-RunPatchBaseline' }] }),
      );
      expect(byDoc.Commands!.map((c) => c.Comment)).toEqual(['second']);

      const future = new Date(Date.now() + 3600_000).toISOString();
      const past = new Date(Date.now() - 3600_000).toISOString();
      const after = await ssm.send(
        new ListCommandsCommand({ Filters: [{ key: 'InvokedAfter', value: future }] }),
      );
      expect(after.Commands).toEqual([]);
      const before = await ssm.send(
        new ListCommandsCommand({
          Filters: [
            { key: 'InvokedAfter', value: past },
            { key: 'InvokedBefore', value: future },
          ],
        }),
      );
      expect(before.Commands).toHaveLength(2);

      await untilDone(first.Command!.CommandId!, M.linux1);
      await untilDone(second.Command!.CommandId!, M.linux2);
      const success = await ssm.send(
        new ListCommandsCommand({ Filters: [{ key: 'Status', value: 'Success' }] }),
      );
      expect(success.Commands).toHaveLength(2);
      expect(success.Commands![0]).toMatchObject({ Status: 'Success', CompletedCount: 1 });

      const page1 = await ssm.send(new ListCommandsCommand({ MaxResults: 1 }));
      const page2 = await ssm.send(new ListCommandsCommand({ MaxResults: 1, NextToken: page1.NextToken }));
      expect([page1.Commands![0].Comment, page2.Commands![0].Comment]).toEqual(['second', 'first']);
      expect(page2.NextToken).toBeUndefined();
    });

    it('answers InvalidCommandId for an unknown command', async () => {
      await expect(
        ssm.send(new ListCommandsCommand({ CommandId: '00000000-0000-0000-0000-000000000000' })),
      ).rejects.toMatchObject({ name: 'InvalidCommandId' });
    });

    it('aggregates the status of a command on several machines', async () => {
      await control(lab, 'PUT', `/_lab/machines/${M.linux2}`, {
        commands: [{ duration_s: 1, outcome: 'failed' }],
      });
      const out = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [M.linux1, M.linux2],
          DocumentName: 'AWS-RunShellScript',
          Parameters: { commands: ['true'] },
        }),
      );
      const id = out.Command!.CommandId!;
      await untilDone(id, M.linux1);
      await untilDone(id, M.linux2);
      const [c] = (await ssm.send(new ListCommandsCommand({ CommandId: id }))).Commands!;
      expect(c).toMatchObject({
        Status: 'Failed',
        StatusDetails: 'Failed',
        CompletedCount: 2,
        ErrorCount: 1,
      });
    });
  });

  describe('CancelCommand', () => {
    it('cancels a hanging command and rejects an unknown one', async () => {
      await control(lab, 'PUT', `/_lab/machines/${M.linux1}`, { commands: [{ outcome: 'hang' }] });
      const out = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [M.linux1],
          DocumentName: 'AWS-RunPatchBaseline',
          Parameters: { Operation: ['Install'] },
        }),
      );
      const id = out.Command!.CommandId!;
      await waitFor(
        () => invocation(id, M.linux1),
        (i) => i.Status === 'InProgress',
      );
      await ssm.send(new CancelCommandCommand({ CommandId: id, InstanceIds: [M.linux1] }));
      expect(await untilDone(id, M.linux1)).toMatchObject({
        Status: 'Cancelled',
        StatusDetails: 'Cancelled',
      });
      await expect(
        ssm.send(new CancelCommandCommand({ CommandId: '00000000-0000-0000-0000-000000000000' })),
      ).rejects.toMatchObject({ name: 'InvalidCommandId' });
    });
  });

  describe('DescribeInstanceInformation', () => {
    const describe_ = (input: DescribeInstanceInformationCommandInput) =>
      ssm.send(new DescribeInstanceInformationCommand(input));

    it('describes each machine like SSM does', async () => {
      const out = await describe_({ MaxResults: 50 });
      expect(out.InstanceInformationList!.map((i) => i.InstanceId)).toEqual([
        M.linux1,
        M.linux2,
        M.win1,
        M.offline,
        M.hybrid,
      ]);
      const [linux, , win, offline, hybrid] = out.InstanceInformationList!;
      expect(linux).toMatchObject({
        PingStatus: 'Online',
        PlatformType: 'Linux',
        PlatformName: 'Amazon Linux',
        ComputerName: 'web-1',
        ResourceType: 'EC2Instance',
      });
      expect(linux.LastPingDateTime).toBeInstanceOf(Date);
      expect(win).toMatchObject({
        PlatformType: 'Windows',
        PlatformName: expect.stringContaining('Windows'),
      });
      expect(offline.PingStatus).toBe('ConnectionLost');
      expect(hybrid.ResourceType).toBe('ManagedInstance');
      expect(out.NextToken).toBeUndefined();
    });

    it('filters by tag:<key>, tag-key, PingStatus and InstanceIds, and by the legacy filter list', async () => {
      const ids = async (input: DescribeInstanceInformationCommandInput) =>
        (await describe_(input)).InstanceInformationList!.map((i) => i.InstanceId);
      expect(await ids({ Filters: [{ Key: 'tag:Env', Values: ['prod'] }] })).toEqual([M.linux1, M.win1]);
      expect(
        await ids({
          Filters: [
            { Key: 'tag:Env', Values: ['prod', 'dev'] },
            { Key: 'tag:Role', Values: ['db'] },
          ],
        }),
      ).toEqual([M.linux2, M.win1]);
      expect(await ids({ Filters: [{ Key: 'tag-key', Values: ['Owner'] }] })).toEqual([M.hybrid]);
      expect(await ids({ Filters: [{ Key: 'PingStatus', Values: ['ConnectionLost'] }] })).toEqual([
        M.offline,
      ]);
      expect(await ids({ Filters: [{ Key: 'InstanceIds', Values: [M.win1, M.linux2] }] })).toEqual([
        M.linux2,
        M.win1,
      ]);
      expect(await ids({ Filters: [{ Key: 'PlatformTypes', Values: ['Windows'] }] })).toEqual([M.win1]);
      expect(
        await ids({
          InstanceInformationFilterList: [
            { key: 'PingStatus', valueSet: ['Online'] },
            { key: 'InstanceIds', valueSet: [M.offline, M.linux1] },
          ],
        }),
      ).toEqual([M.linux1]);
      await expect(describe_({ Filters: [{ Key: 'Colour', Values: ['x'] }] })).rejects.toMatchObject({
        name: 'InvalidFilterKey',
      });
      await expect(describe_({ Filters: [{ Key: 'PingStatus', Values: ['Sleepy'] }] })).rejects.toMatchObject(
        {
          name: 'InvalidInstanceInformationFilterValue',
        },
      );
    });

    it('pages with MaxResults (5 to 50) and NextToken, also through the SDK paginator', async () => {
      await control(lab, 'POST', '/_lab/fleet', {
        generate: [
          { count: 120, prefix: 'i-0b', behaviour: { tags: { Env: 'bench' } } },
          { count: 30, prefix: 'i-0c', behaviour: { tags: { Env: 'other' } } },
        ],
      });
      const page = await describe_({ MaxResults: 5 });
      expect(page.InstanceInformationList).toHaveLength(5);
      expect(page.NextToken).toBeDefined();
      const next = await describe_({ MaxResults: 5, NextToken: page.NextToken });
      expect(next.InstanceInformationList![0].InstanceId).not.toBe(
        page.InstanceInformationList![0].InstanceId,
      );

      const found: string[] = [];
      for await (const p of paginateDescribeInstanceInformation(
        { client: ssm, pageSize: 50 },
        { Filters: [{ Key: 'tag:Env', Values: ['bench'] }] },
      )) {
        found.push(...p.InstanceInformationList!.map((i) => i.InstanceId!));
      }
      expect(found).toEqual(generatedIds({ count: 120, prefix: 'i-0b' }));
      await expect(describe_({ MaxResults: 51 })).rejects.toMatchObject({ name: 'ValidationException' });
      await expect(describe_({ MaxResults: 4 })).rejects.toMatchObject({ name: 'ValidationException' });
    });

    it('shows a rebooting machine as ConnectionLost until it is back', async () => {
      await control(lab, 'PUT', `/_lab/machines/${M.linux1}`, {
        commands: [{ duration_s: 5, reboot_s: 100 }],
      });
      const out = await ssm.send(
        new SendCommandCommand({
          InstanceIds: [M.linux1],
          DocumentName: 'AWS-RunPatchBaseline',
          Parameters: { Operation: ['Install'] },
        }),
      );
      const status = async () =>
        (await describe_({ Filters: [{ Key: 'InstanceIds', Values: [M.linux1] }] }))
          .InstanceInformationList![0].PingStatus;
      await waitFor(status, (s) => s === 'ConnectionLost');
      expect((await invocation(out.Command!.CommandId!, M.linux1)).Status).toBe('InProgress');
      await waitFor(status, (s) => s === 'Online');
      expect((await untilDone(out.Command!.CommandId!, M.linux1)).Status).toBe('Success');
    });
  });

  it('answers an operation it does not implement in the AWS error shape', async () => {
    const res = await fetch(lab.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonSSM.DescribeDocument' },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    expect(await res.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });
});
