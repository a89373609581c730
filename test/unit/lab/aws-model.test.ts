/**
 * The lab's SSM answers and the requests made of it, checked against botocore's SSM service model (shapes,
 * required members, enums, lengths, patterns, declared errors): every operation the lab implements, in the
 * states a patch run goes through, and the refusals. The validator itself is checked on known-bad exchanges,
 * so a green run means something.
 */
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  ListCommandsCommand,
  DescribeInstancePatchesCommand,
  DescribeInstancePatchStatesCommand,
  SendCommandCommand,
  CancelCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { Lab } from '../../../lab/server';
import { validateAgainstModels } from '../../helpers/aws-model';
import { renderBaselineOverride } from '../../../domain/baseline-override';
import { clientsFor, control, M, startLab, waitFor } from './helpers';

jest.setTimeout(60_000);

let lab: Lab;
let ssm: SSMClient;

beforeAll(async () => {
  lab = await startLab({ speed: 100 });
  ({ ssm } = clientsFor(lab));
  await control(lab, 'POST', '/_lab/fleet', {
    machines: {
      [M.linux1]: { commands: [{ duration_s: 2, reboot_s: 1 }] },
      [M.win1]: { platform: 'Windows', commands: [{ duration_s: 2, outcome: 'failed' }] },
      [M.offline]: { online: false },
      [M.hybrid]: { name: 'onprem-1', commands: [{ duration_s: 2, outcome: 'hang' }] },
    },
  });
});
afterAll(async () => {
  ssm.destroy();
  await lab.close();
});

test('every SSM answer of the lab and every request made of it fit botocore’s model', async () => {
  lab.state.traffic = [];
  const ignore = () => undefined;
  await ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 50 }));
  await ssm.send(
    new DescribeInstanceInformationCommand({
      Filters: [{ Key: 'InstanceIds', Values: [M.linux1, M.hybrid] }],
    }),
  );
  await ssm
    .send(
      new DescribeInstanceInformationCommand({
        Filters: [{ Key: 'InstanceIds', Values: ['i-0999999999999999f'] }],
      }),
    )
    .catch(ignore);
  const patch = await ssm.send(
    new SendCommandCommand({
      InstanceIds: [M.linux1, M.win1, M.offline],
      DocumentName: 'AWS-RunPatchBaseline',
      Parameters: { Operation: ['Install'], RebootOption: ['RebootIfNeeded'] },
      Comment: 'patchwave:contract',
      OutputS3BucketName: 'pw-out',
      OutputS3KeyPrefix: 'runs',
    }),
  );
  const script = await ssm.send(
    new SendCommandCommand({
      InstanceIds: [M.hybrid],
      DocumentName: 'AWS-RunShellScript',
      Parameters: { commands: ['uptime'] },
    }),
  );
  const id = patch.Command!.CommandId!;
  await ssm.send(
    new ListCommandInvocationsCommand({ Filters: [{ key: 'Status', value: 'InProgress' }], MaxResults: 50 }),
  );
  for (const [inst, step] of [
    [M.linux1, 'PatchLinux'],
    [M.win1, 'PatchWindows'],
    [M.offline, 'PatchLinux'],
  ])
    await waitFor(
      () => ssm.send(new GetCommandInvocationCommand({ CommandId: id, InstanceId: inst, PluginName: step })),
      (i) => !['Pending', 'InProgress', 'Delayed'].includes(i.Status!),
    );
  await ssm.send(new GetCommandInvocationCommand({ CommandId: id, InstanceId: M.linux1 })).catch(ignore);
  await ssm.send(new ListCommandInvocationsCommand({ CommandId: id, Details: true }));
  await ssm.send(new ListCommandsCommand({ InstanceId: M.linux1, MaxResults: 50 }));
  await ssm.send(new ListCommandsCommand({ CommandId: id }));
  const patched = await ssm.send(
    new DescribeInstancePatchesCommand({
      InstanceId: M.linux1,
      Filters: [{ Key: 'State', Values: ['Installed', 'InstalledPendingReboot'] }],
      MaxResults: 100,
    }),
  );
  expect(patched.Patches!.length).toBeGreaterThan(0);
  await ssm.send(new DescribeInstancePatchStatesCommand({ InstanceIds: [M.linux1, M.win1] }));
  await ssm.send(new DescribeInstancePatchesCommand({ InstanceId: 'i-0999999999999999f' })).catch(ignore);
  await ssm.send(new CancelCommandCommand({ CommandId: script.Command!.CommandId! }));
  await ssm
    .send(
      new SendCommandCommand({
        InstanceIds: [M.linux1],
        DocumentName: 'AWS-RunPatchBaseline',
        Parameters: { Operation: ['Bogus'] },
      }),
    )
    .catch(ignore);

  const report = validateAgainstModels(lab.state.traffic);
  lab.state.traffic = null;
  expect(report.problems).toEqual([]);
  expect(Object.keys(report.operations).sort()).toEqual(
    [
      'CancelCommand',
      'DescribeInstanceInformation',
      'DescribeInstancePatches',
      'DescribeInstancePatchStates',
      'GetCommandInvocation',
      'ListCommandInvocations',
      'ListCommands',
      'SendCommand',
    ].sort(),
  );
});

test('the validator finds what AWS would refuse or not send', () => {
  const report = validateAgainstModels([
    // GetCommandInvocation without its required InstanceId
    {
      operation: 'GetCommandInvocation',
      request: { CommandId: 'x'.repeat(36) },
      status: 400,
      response: { __type: 'InvocationDoesNotExist' },
    },
    // a status outside the model's enum, a member the shape lacks
    {
      operation: 'GetCommandInvocation',
      request: { CommandId: 'x'.repeat(36), InstanceId: M.linux1 },
      status: 200,
      response: { Status: 'Finished', Bogus: 1 },
    },
    // an error code the operation does not declare
    { operation: 'ListCommands', request: {}, status: 400, response: { __type: 'InvalidPluginName' } },
    // MaxResults above the model's range, and a timestamp sent as text
    {
      operation: 'DescribeInstanceInformation',
      request: { MaxResults: 51 },
      status: 200,
      response: { InstanceInformationList: [{ InstanceId: M.linux1, LastPingDateTime: '2025-01-01' }] },
    },
  ]);
  expect(report.problems).toEqual([
    expect.stringMatching(/^#0 .*request\.InstanceId: required/),
    expect.stringMatching(/^#1 .*response\.Status: 'Finished' is not one of/),
    expect.stringMatching(/^#1 .*response\.Bogus: not a member/),
    expect.stringMatching(/^#2 .*error 'InvalidPluginName' is not declared for ListCommands/),
    expect.stringMatching(/^#3 .*request\.MaxResults: 51 > max 50/),
    expect.stringMatching(/^#3 .*LastPingDateTime: expected epoch seconds/),
  ]);
});

test('every baseline of a rendered BaselineOverride file fits botocore’s BaselineOverride shape', () => {
  const files = [
    { update_severity: ['Critical', 'Important'], update_category: ['Security'], published_days_old: 7 },
    { update_severity: ['Important'], exclude_kbs: ['KB5030211'] },
    { include_kbs: ['KB5030211', 'openssl'] },
    { published_days_old: 360 },
    { update_severity: ['Critical'], enable_non_security: true },
    { include_kbs: ['openssl'], enable_non_security: false },
  ].map((f) => renderBaselineOverride(f)!);
  const shapes = files.flat().map((value) => ({ shape: 'BaselineOverride', value }));
  const bad = { shape: 'BaselineOverride', value: { ...files[0][0], ApproveAfterDays: 1 } };
  const report = validateAgainstModels([...shapes, bad] as never);
  expect(report.operations.BaselineOverride).toBe(shapes.length + 1);
  // Only the known-bad one (ApproveAfterDays is a PatchRule member, not a baseline's) is flagged.
  expect(report.problems).toEqual([
    expect.stringMatching(/ApproveAfterDays: not a member of BaselineOverride/),
  ]);
});
