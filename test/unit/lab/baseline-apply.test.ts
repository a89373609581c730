/**
 * The lab applies a BaselineOverride's baseline as AWS documents patch baselines: only patches an approval rule
 * (every filter, age) or ApprovedPatches approves are installed, RejectedPatches wins over both, GlobalFilters
 * narrow the rules; what was installed is what the next uploading Scan reports in DescribeInstancePatches.
 */
import {
  DescribeInstancePatchesCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { decidePatches } from '../../../lab/patch-approval';
import { labPatch } from '../../../lab/patch-catalog';
import { MachineBehaviour } from '../../../lab/schemas';
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

const AVAILABLE = ['openssl-3.0.15', 'kernel-6.1.119', 'curl-8.11.1', 'telnet-0.17'];
const CATALOG = {
  'openssl-3.0.15': { severity: 'Critical', classification: 'Security', cve_ids: ['CVE-2024-5535'] },
  'kernel-6.1.119': { severity: 'Important', classification: 'Security', released_days_ago: 2 },
  'curl-8.11.1': { severity: 'Low', classification: 'Bugfix' },
  'telnet-0.17': { severity: 'Critical', classification: 'Security' },
};

async function run(id: string, params: Record<string, string[]>, plugin = 'PatchLinux') {
  const out = await ssm.send(
    new SendCommandCommand({ InstanceIds: [id], DocumentName: 'AWS-RunPatchBaseline', Parameters: params }),
  );
  clock.advance(60_000);
  return ssm.send(
    new GetCommandInvocationCommand({
      CommandId: out.Command!.CommandId!,
      InstanceId: id,
      PluginName: plugin,
    }),
  );
}

/** Installs with `baseline` as the override, then Scans without it; the titles DescribeInstancePatches lists. */
async function installWith(
  id: string,
  baseline: Record<string, unknown>,
  platform: 'Linux' | 'Windows' = 'Linux',
) {
  lab.state.putMachine(id, {
    platform,
    commands: [
      { duration_s: 10, installed: AVAILABLE },
      { duration_s: 5, installed: [] },
    ],
    patches: CATALOG,
  });
  const key = `o/${id}/${Math.random().toString(36).slice(2)}.json`;
  lab.state.putObject('pw-baselines', key, JSON.stringify([baseline]), 'application/json');
  const plugin = platform === 'Windows' ? 'PatchWindows' : 'PatchLinux';
  const install = await run(
    id,
    { Operation: ['Install'], BaselineOverride: [`s3://pw-baselines/${key}`] },
    plugin,
  );
  expect(install.Status).toBe('Success');
  await run(id, { Operation: ['Scan'], RebootOption: ['NoReboot'] }, plugin);
  const out = await ssm.send(new DescribeInstancePatchesCommand({ InstanceId: id }));
  const cmds = lab.state.machineCommands(id)!;
  return {
    titles: (out.Patches ?? []).map((p) => p.Title),
    patches: out.Patches ?? [],
    decisions: cmds.at(-2)!.baseline_override!.decisions!,
  };
}

const rule = (filters: { Key: string; Values: string[] }[], extra: Record<string, unknown> = {}) => ({
  PatchFilterGroup: { PatchFilters: filters },
  ApproveAfterDays: 0,
  ...extra,
});

test('a severity rule installs only the matching severities; the rest are left and say why', async () => {
  const r = await installWith(M.linux1, {
    OperatingSystem: 'AMAZON_LINUX_2023',
    ApprovalRules: { PatchRules: [rule([{ Key: 'SEVERITY', Values: ['Critical', 'Important'] }])] },
  });
  expect(r.titles).toEqual(['openssl-3.0.15', 'kernel-6.1.119', 'telnet-0.17']);
  expect(r.decisions.find((d) => d.title === 'curl-8.11.1')).toEqual({
    title: 'curl-8.11.1',
    approved: false,
    reason: 'no rule matched',
  });
  // The catalog's CVEs reach DescribeInstancePatches.
  expect(r.patches.find((p) => p.Title === 'openssl-3.0.15')?.CVEIds).toBe('CVE-2024-5535');
});

test('ApproveAfterDays holds back a patch released too recently; the rejected list wins over the rules', async () => {
  const r = await installWith(M.linux2, {
    OperatingSystem: 'AMAZON_LINUX_2023',
    ApprovalRules: {
      PatchRules: [rule([{ Key: 'CLASSIFICATION', Values: ['Security'] }], { ApproveAfterDays: 7 })],
    },
    RejectedPatches: ['telnet'],
    RejectedPatchesAction: 'BLOCK',
  });
  expect(r.titles).toEqual(['openssl-3.0.15']);
  expect(r.decisions.map((d) => [d.title, d.reason])).toEqual([
    ['openssl-3.0.15', 'rule 1'],
    ['kernel-6.1.119', 'released 2 days ago, the rule approves after 7'],
    ['curl-8.11.1', 'no rule matched'],
    ['telnet-0.17', 'RejectedPatches'],
  ]);
});

test('approved patches alone (no rule) install exactly those, by name.arch or a single-* wildcard', async () => {
  const r = await installWith(M.hybrid, {
    OperatingSystem: 'AMAZON_LINUX_2023',
    ApprovalRules: { PatchRules: [] },
    ApprovedPatches: ['curl.x86_64', 'kern*'],
  });
  expect(r.titles).toEqual(['kernel-6.1.119', 'curl-8.11.1']);
});

test('nothing approved: the run installs nothing and RebootIfNeeded does not reboot', async () => {
  lab.state.putMachine(M.linux1, {
    commands: [{ duration_s: 10, installed: ['curl-8.11.1'], reboot_s: 30 }],
    patches: CATALOG,
  });
  lab.state.putObject(
    'pw-baselines',
    'o/none.json',
    JSON.stringify([
      {
        OperatingSystem: 'AMAZON_LINUX_2023',
        ApprovalRules: { PatchRules: [rule([{ Key: 'SEVERITY', Values: ['Critical'] }])] },
      },
    ]),
    'application/json',
  );
  const out = await run(M.linux1, {
    Operation: ['Install'],
    RebootOption: ['RebootIfNeeded'],
    BaselineOverride: ['s3://pw-baselines/o/none.json'],
  });
  expect(out.Status).toBe('Success');
  expect(out.StandardOutputContent).toMatch(/Reboot: no reboot performed/);
  expect(out.StandardOutputContent).not.toMatch(/Upgrading/);
});

test('GlobalFilters narrow the rules; PRODUCT wildcards match; Windows lists use KB ids', () => {
  const now = clock.now();
  const b = MachineBehaviour.parse({ platform: 'Windows', patches: { KB5031364: { severity: 'Critical' } } });
  const win = ['KB5031364', 'KB5034129'].map((kb) => labPatch(b, 'WINDOWS', kb, now));
  const decisions = decidePatches(
    {
      OperatingSystem: 'WINDOWS',
      GlobalFilters: { PatchFilters: [{ Key: 'PRODUCT', Values: ['WindowsServer*'] }] },
      ApprovalRules: { PatchRules: [rule([{ Key: 'MSRC_SEVERITY', Values: ['Critical'] }])] },
      ApprovedPatches: ['kb5034129'],
    },
    win,
    true,
    now,
  );
  expect(decisions.map((d) => [d.title, d.approved, d.reason])).toEqual([
    ['KB5031364', true, 'rule 1'],
    ['KB5034129', true, 'ApprovedPatches'],
  ]);
  const excluded = decidePatches(
    {
      OperatingSystem: 'WINDOWS',
      GlobalFilters: { PatchFilters: [{ Key: 'PRODUCT', Values: ['WindowsServer2016'] }] },
      ApprovalRules: { PatchRules: [rule([{ Key: 'MSRC_SEVERITY', Values: ['Critical'] }])] },
    },
    win,
    true,
    now,
  );
  expect(excluded.every((d) => !d.approved && d.reason === 'excluded by GlobalFilters')).toBe(true);
});
