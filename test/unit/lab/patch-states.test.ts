/**
 * The lab publishes patch compliance as AWS-RunPatchBaseline does at the end of a run: DescribeInstancePatches
 * lists what a run installed with InstalledTime inside its execution, INSTALLED after a reboot and
 * INSTALLED_PENDING_REBOOT without one; a run with a BaselineOverride uploads nothing; a Scan installs nothing;
 * DescribeInstancePatchStates counts them.
 */
import {
  DescribeInstancePatchesCommand,
  DescribeAvailablePatchesCommand,
  DescribeInstancePatchStatesCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { Lab } from '../../../lab/server';
import { clientsFor, M, manualClock, startLab } from './helpers';

let lab: Lab;
let ssm: SSMClient;
const clock = manualClock();

beforeAll(async () => {
  lab = await startLab({ now: clock.now });
  ({ ssm } = clientsFor(lab));
});
afterAll(async () => {
  ssm.destroy();
  await lab.close();
});

async function patch(id: string, params: Record<string, string[]>, platform = 'PatchLinux') {
  const out = await ssm.send(
    new SendCommandCommand({ InstanceIds: [id], DocumentName: 'AWS-RunPatchBaseline', Parameters: params }),
  );
  clock.advance(60_000);
  return ssm.send(
    new GetCommandInvocationCommand({
      CommandId: out.Command!.CommandId!,
      InstanceId: id,
      PluginName: platform,
    }),
  );
}
const patches = async (id: string) =>
  (await ssm.send(new DescribeInstancePatchesCommand({ InstanceId: id }))).Patches ?? [];

test('an Install run publishes its packages; a reboot makes them INSTALLED, NoReboot leaves them pending', async () => {
  lab.state.putMachine(M.linux1, {
    commands: [
      { duration_s: 10, installed: ['openssl-3.0.15', 'kernel-6.1.119'], stdout: 'anything at all' },
      { duration_s: 10, installed: ['curl-8.11.1'], reboot_s: 5 },
    ],
  });
  const first = await patch(M.linux1, { Operation: ['Install'], RebootOption: ['NoReboot'] });
  expect(first.Status).toBe('Success');
  const after1 = await patches(M.linux1);
  expect(after1.map((p) => [p.Title, p.KBId, p.State])).toEqual([
    ['openssl-3.0.15', 'openssl.x86_64', 'INSTALLED_PENDING_REBOOT'],
    ['kernel-6.1.119', 'kernel.x86_64', 'INSTALLED_PENDING_REBOOT'],
  ]);
  const start = Date.parse(first.ExecutionStartDateTime!);
  const end = Date.parse(first.ExecutionEndDateTime!);
  for (const p of after1) {
    expect(p.InstalledTime!.getTime()).toBeGreaterThan(start - 1);
    expect(p.InstalledTime!.getTime()).toBeLessThan(end + 1);
    expect(p.Severity).toBeTruthy();
    expect(p.Classification).toBeTruthy();
  }
  await patch(M.linux1, { Operation: ['Install'], RebootOption: ['RebootIfNeeded'] });
  const after2 = await patches(M.linux1);
  expect(after2.map((p) => [p.Title, p.State])).toEqual([
    ['openssl-3.0.15', 'INSTALLED'],
    ['kernel-6.1.119', 'INSTALLED'],
    ['curl-8.11.1', 'INSTALLED'],
  ]);
  const pending = await ssm.send(
    new DescribeInstancePatchesCommand({
      InstanceId: M.linux1,
      Filters: [{ Key: 'State', Values: ['InstalledPendingReboot'] }],
    }),
  );
  expect(pending.Patches).toEqual([]);
  const states = await ssm.send(new DescribeInstancePatchStatesCommand({ InstanceIds: [M.linux1] }));
  expect(states.InstancePatchStates![0]).toMatchObject({
    InstanceId: M.linux1,
    Operation: 'Install',
    InstalledCount: 3,
    InstalledPendingRebootCount: 0,
    RebootOption: 'RebootIfNeeded',
  });
});

test('a Scan installs nothing (it reports the package missing) and a BaselineOverride run uploads no compliance', async () => {
  lab.state.putMachine(M.linux2, { commands: [{ duration_s: 10, installed: ['vim-9.1'] }] });
  await patch(M.linux2, { Operation: ['Scan'] });
  const seen = () => patches(M.linux2).then((ps) => ps.map((p) => [p.KBId, p.State]));
  expect(await seen()).toEqual([['vim.x86_64', 'MISSING']]);
  await patch(M.linux2, { Operation: ['Install'], BaselineOverride: ['s3://b/override.json'] });
  expect(await seen()).toEqual([['vim.x86_64', 'MISSING']]);
});

test('missing patches: listed by State Missing with MissingCount, dated by DescribeAvailablePatches, gone once installed', async () => {
  lab.state.putMachine(M.linux2, {
    commands: [
      { duration_s: 10, installed: [] },
      { duration_s: 10, installed: ['openssl-3.0.15'], reboot_s: 1 },
    ],
    missing: [
      { title: 'openssl-3.0.15', severity: 'Critical', release_date: '2026-09-14', cve_ids: ['CVE-1'] },
      { title: 'zlib-1.3.1', kb_id: 'zlib.x86_64', release_date: '2026-03-01' },
    ],
  });
  await patch(M.linux2, { Operation: ['Scan'] });
  const missing = await ssm.send(
    new DescribeInstancePatchesCommand({
      InstanceId: M.linux2,
      Filters: [{ Key: 'State', Values: ['Missing'] }],
    }),
  );
  expect(missing.Patches!.map((p) => [p.KBId, p.State, p.Severity, p.CVEIds])).toEqual([
    ['openssl.x86_64', 'MISSING', 'Critical', 'CVE-1'],
    ['zlib.x86_64', 'MISSING', expect.any(String), undefined],
  ]);
  const states = await ssm.send(new DescribeInstancePatchStatesCommand({ InstanceIds: [M.linux2] }));
  expect(states.InstancePatchStates![0]).toMatchObject({ Operation: 'Scan', MissingCount: 2 });
  const dated = await ssm.send(
    new DescribeAvailablePatchesCommand({
      Filters: [
        { Key: 'PRODUCT', Values: ['AmazonLinux2023'] },
        { Key: 'NAME', Values: ['zlib', 'openssl'] },
      ],
    }),
  );
  expect(dated.Patches!.map((p) => [p.Name, p.ReleaseDate?.toISOString().slice(0, 10)])).toEqual([
    ['openssl', '2026-09-14'],
    ['zlib', '2026-03-01'],
  ]);
  // Linux needs a PRODUCT, as AWS documents.
  await expect(
    ssm.send(new DescribeAvailablePatchesCommand({ Filters: [{ Key: 'NAME', Values: ['zlib'] }] })),
  ).rejects.toMatchObject({ name: 'ValidationException' });
  await patch(M.linux2, { Operation: ['Install'], RebootOption: ['RebootIfNeeded'] });
  const after = await ssm.send(new DescribeInstancePatchStatesCommand({ InstanceIds: [M.linux2] }));
  expect(after.InstancePatchStates![0]).toMatchObject({ Operation: 'Install', MissingCount: 1 });
});

test('an override run reads its file from S3: valid → installs, reported by the next Scan; bad → Failed', async () => {
  const baseline = [
    {
      OperatingSystem: 'AMAZON_LINUX_2023',
      ApprovalRules: {
        PatchRules: [
          {
            PatchFilterGroup: { PatchFilters: [{ Key: 'SEVERITY', Values: ['Critical'] }] },
            ApproveAfterDays: 7,
          },
        ],
      },
    },
  ];
  lab.state.putObject('pw-baselines', 'm/ok.json', JSON.stringify(baseline), 'application/json');
  lab.state.putMachine(M.hybrid, {
    commands: [
      { duration_s: 10, installed: ['curl-8.5.0'] },
      { duration_s: 5, installed: [] },
    ],
    patches: { 'curl-8.5.0': { severity: 'Critical' } },
  });
  const run = await patch(M.hybrid, {
    Operation: ['Install'],
    BaselineOverride: ['s3://pw-baselines/m/ok.json'],
  });
  expect(run.Status).toBe('Success');
  expect(lab.state.machineCommands(M.hybrid)![0].baseline_override).toEqual({
    url: 's3://pw-baselines/m/ok.json',
    problems: [],
    operating_system: 'AMAZON_LINUX_2023',
    baseline: baseline[0],
    decisions: [{ title: 'curl-8.5.0', approved: true, reason: 'rule 1' }],
  });
  expect(await patches(M.hybrid)).toEqual([]);
  await patch(M.hybrid, { Operation: ['Scan'], RebootOption: ['NoReboot'] });
  const after = await patches(M.hybrid);
  expect(after.map((p) => p.Title)).toEqual(['curl-8.5.0']);
  const t = after[0].InstalledTime!.getTime();
  expect(t).toBeGreaterThanOrEqual(Date.parse(run.ExecutionStartDateTime!) - 1000);
  expect(t).toBeLessThanOrEqual(Date.parse(run.ExecutionEndDateTime!) + 1000);

  lab.state.putObject(
    'pw-baselines',
    'm/bad.json',
    JSON.stringify([
      {
        OperatingSystem: 'UBUNTU',
        ApprovalRules: {
          PatchRules: [
            {
              PatchFilterGroup: { PatchFilters: [{ Key: 'MSRC_SEVERITY', Values: ['Critical'] }] },
              ApproveAfterDays: 3,
            },
          ],
        },
      },
    ]),
    'application/json',
  );
  for (const [url, why] of [
    [
      's3://pw-baselines/m/bad.json',
      /MSRC_SEVERITY is not a patch property of UBUNTU.*not supported for UBUNTU/,
    ],
    ['s3://pw-baselines/m/missing.json', /NoSuchKey/],
  ] as const) {
    const failed = await patch(M.hybrid, { Operation: ['Install'], BaselineOverride: [url] });
    expect(failed.Status).toBe('Failed');
    expect(failed.StandardErrorContent).toMatch(why);
  }
});

test('Windows patches carry their KB number', async () => {
  lab.state.putMachine(M.win1, {
    platform: 'Windows',
    commands: [
      { duration_s: 10, installed: ['2024-01 Cumulative Update for Windows Server 2022 (KB5034129)'] },
    ],
  });
  await patch(M.win1, { Operation: ['Install'] }, 'PatchWindows');
  expect((await patches(M.win1)).map((p) => p.KBId)).toEqual(['KB5034129']);
});
