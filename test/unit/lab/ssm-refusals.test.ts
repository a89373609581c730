/**
 * The lab refuses what SSM refuses, with SSM's error names (issue 13 item 7): unknown documents and parameters,
 * values outside a document's allowed values, both patch overrides at once, a multi-step document's invocation
 * asked for without its step, an unknown instance ID in a DescribeInstanceInformation batch, contradictory
 * filter lists, and ListCommands' ExecutionStage filter on ListCommandInvocations.
 */
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandInvocationsCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { Lab } from '../../../lab/server';
import { clientsFor, control, M, startLab, waitFor } from './helpers';

let lab: Lab;
let ssm: SSMClient;

beforeAll(async () => {
  lab = await startLab({ speed: 100 });
  ({ ssm } = clientsFor(lab));
  await control(lab, 'POST', '/_lab/fleet', {
    machines: { [M.linux1]: {}, [M.win1]: { platform: 'Windows' } },
    documents: {
      'Acme-TwoSteps': { steps: [{ name: 'prepare' }, { name: 'patch' }], parameters: { level: {} } },
    },
  });
});
afterAll(async () => {
  ssm.destroy();
  await lab.close();
});

const send = (DocumentName: string, Parameters?: Record<string, string[]>, InstanceIds = [M.linux1]) =>
  ssm.send(new SendCommandCommand({ InstanceIds, DocumentName, Parameters }));

test.each([
  ['an unknown document', 'Acme-Nope', { commands: ['true'] }, 'InvalidDocument'],
  ['an unknown parameter', 'AWS-RunShellScript', { commands: ['true'], bogus: ['1'] }, 'InvalidParameters'],
  ['a missing required parameter', 'AWS-RunShellScript', {}, 'InvalidParameters'],
  ['Operation: Bogus', 'AWS-RunPatchBaseline', { Operation: ['Bogus'] }, 'InvalidParameters'],
  [
    'RebootOption: Always',
    'AWS-RunPatchBaseline',
    { Operation: ['Install'], RebootOption: ['Always'] },
    'InvalidParameters',
  ],
  [
    'InstallOverrideList with BaselineOverride',
    'AWS-RunPatchBaseline',
    { Operation: ['Install'], InstallOverrideList: ['s3://b/l.yaml'], BaselineOverride: ['s3://b/o.json'] },
    'InvalidParameters',
  ],
])('SendCommand with %s (document %s) is refused, nothing created', async (_label, doc, params, code) => {
  const before = lab.state.commandList.length;
  await expect(send(doc, params)).rejects.toMatchObject({ name: code, $metadata: { httpStatusCode: 400 } });
  expect(lab.state.commandList).toHaveLength(before);
});

test('a customer document is taken by name or ARN; its steps must be named when asking for its result', async () => {
  const out = await send('arn:aws:ssm:us-east-1:123456789012:document/Acme-TwoSteps', { level: ['2'] });
  const id = out.Command!.CommandId!;
  const get = (PluginName?: string) =>
    ssm.send(new GetCommandInvocationCommand({ CommandId: id, InstanceId: M.linux1, PluginName }));
  await expect(get()).rejects.toMatchObject({ name: 'InvalidPluginName' });
  await expect(get('nope')).rejects.toMatchObject({ name: 'InvalidPluginName' });
  const done = await waitFor(
    () => get('patch'),
    (i) => i.Status === 'Success',
  );
  expect(done.PluginName).toBe('patch');
});

test('AWS-RunPatchBaseline: no PluginName → InvalidPluginName; the other platforms’ steps answer as skipped', async () => {
  const out = await send('AWS-RunPatchBaseline', { Operation: ['Scan'] }, [M.linux1, M.win1]);
  const id = out.Command!.CommandId!;
  const get = (InstanceId: string, PluginName?: string) =>
    ssm.send(new GetCommandInvocationCommand({ CommandId: id, InstanceId, PluginName }));
  await expect(get(M.linux1)).rejects.toMatchObject({ name: 'InvalidPluginName' });
  const linux = await waitFor(
    () => get(M.linux1, 'PatchLinux'),
    (i) => i.Status === 'Success',
  );
  expect(linux.StandardOutputContent).not.toMatch(/skipped/);
  const windowsStepOnLinux = await get(M.linux1, 'PatchWindows');
  expect(windowsStepOnLinux).toMatchObject({ Status: 'Success', PluginName: 'PatchWindows' });
  expect(windowsStepOnLinux.StandardOutputContent).toMatch(/^Step execution skipped/);
  const win = await waitFor(
    () => get(M.win1, 'PatchWindows'),
    (i) => i.Status === 'Success',
  );
  expect(win.StandardOutputContent).not.toMatch(/skipped/);
});

test('DescribeInstanceInformation: one unknown ID fails the whole batch; both filter lists at once are refused', async () => {
  const describe = (input: object) => ssm.send(new DescribeInstanceInformationCommand(input));
  const known = await describe({ Filters: [{ Key: 'InstanceIds', Values: [M.linux1, M.win1] }] });
  expect(known.InstanceInformationList!.map((i) => i.InstanceId).sort()).toEqual([M.linux1, M.win1].sort());
  await expect(
    describe({ Filters: [{ Key: 'InstanceIds', Values: [M.linux1, 'i-0999999999999999f'] }] }),
  ).rejects.toMatchObject({ name: 'InvalidInstanceId' });
  await expect(
    describe({
      Filters: [{ Key: 'PingStatus', Values: ['Online'] }],
      InstanceInformationFilterList: [{ key: 'PlatformTypes', valueSet: ['Linux'] }],
    }),
  ).rejects.toMatchObject({ name: 'InvalidFilterKey' });
});

test('ListCommandInvocations refuses the ExecutionStage filter (ListCommands only) and takes Status', async () => {
  await expect(
    ssm.send(new ListCommandInvocationsCommand({ Filters: [{ key: 'ExecutionStage', value: 'Executing' }] })),
  ).rejects.toMatchObject({ name: 'InvalidFilterKey' });
  const r = await ssm.send(
    new ListCommandInvocationsCommand({ Filters: [{ key: 'Status', value: 'InProgress' }] }),
  );
  expect(Array.isArray(r.CommandInvocations)).toBe(true);
});
