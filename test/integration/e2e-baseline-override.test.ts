/**
 * Patch filters reach SSM as a BaselineOverride (issue 13 items 1-2), through the front door: machines are
 * saved and runs started through the REST API, and what reached "AWS" is read from the lab.
 */
import { createHash } from 'node:crypto';
import { DescribeInstancePatchesCommand, SSMClient } from '@aws-sdk/client-ssm';
import { fleet, machineOf } from '../helpers/e2e-fleet';
import { newSsmId, startStack, type Stack } from '../helpers/stack';

jest.setTimeout(180_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('baseline_override');
});
afterAll(async () => {
  await stack?.close();
});

interface ApiErrorBody {
  error: { code: string; message: string; details: { path: string; message: string }[] };
}

describe('filters SSM cannot express are refused when the machine is saved', () => {
  const body = (fields: Record<string, unknown>) => ({
    name: 'filters',
    access: { ssm_machine_id: newSsmId(), region: 'us-east-1' },
    ...fields,
  });

  test.each([
    [{ update_severity: ['Medium', 'Moderate'] }, 'update_severity', /no operating system's patch baseline/],
    [
      { update_severity: ['Medium'], update_category: ['SecurityUpdates'] },
      'update_category',
      /fits only Windows baselines/,
    ],
    [{ update_severity: ['Required'], published_days_old: 3 }, 'published_days_old', /ApproveAfterDays/],
    [{ update_category: ['Hotfix'] }, 'update_category.0', /not a value any SSM patch baseline accepts/],
    [
      { include_kbs: ['KB5030211'], exclude_kbs: ['KB5030211'] },
      'exclude_kbs.0',
      /both approved and rejected/,
    ],
    [{ published_days_old: 400 }, 'published_days_old', /ApproveAfterDays 0-360/],
    // EnableNonSecurity is Linux only, and SecurityUpdates is a Windows classification.
    [
      { update_category: ['SecurityUpdates'], enable_non_security: true },
      'enable_non_security',
      /EnableNonSecurity applies to Linux patch baselines only/,
    ],
  ])('%j → 400 on %s, nothing written', async (fields, path, why) => {
    const before = await stack.api<{ items: unknown[] }>('GET', '/api/v1/machines?limit=500');
    const r = await stack.api<ApiErrorBody>('POST', '/api/v1/machines', body(fields));
    expect(r.status).toBe(400);
    const issue = r.body.error.details.find((d) => d.path === path);
    expect(issue?.message).toMatch(why);
    const after = await stack.api<{ items: unknown[] }>('GET', '/api/v1/machines?limit=500');
    expect(after.body.items.length).toBe(before.body.items.length);
  });

  test('a PATCH that makes the combination impossible is refused too; the machine keeps its settings', async () => {
    const created = await stack.api<{ id: string }>(
      'POST',
      '/api/v1/machines',
      body({ update_severity: ['Medium'] }),
    );
    expect(created.status).toBe(201);
    const r = await stack.api<ApiErrorBody>('PATCH', `/api/v1/machines/${created.body.id}`, {
      update_category: ['CriticalUpdates'],
    });
    // Valid alone, impossible with the stored update_severity: a conflict with the stored machine.
    expect([r.status, r.body.error.code]).toEqual([409, 'conflicts_with_stored']);
    expect(r.body.error.details.map((d) => d.path)).toEqual(['update_category']);
    const now = await stack.api<Record<string, unknown>>('GET', `/api/v1/machines/${created.body.id}`);
    expect(now.body.update_category).toBeUndefined();
    expect(now.body.update_severity).toEqual(['Medium']);
  });
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface ManifestView {
  operating_systems: {
    operating_system: string;
    machines: string[];
    snapshot_ids: string[];
    patches: unknown[];
  }[];
}

interface LabCommandView {
  document_name: string;
  parameters: Record<string, string[]>;
  status: string;
  baseline_override?: {
    url: string;
    problems: string[];
    operating_system?: string;
    baseline?: unknown;
    decisions?: { title: string; approved: boolean; reason: string }[];
  };
}

describe('a run sends the filters as a BaselineOverride and still reports what was installed', () => {
  test('filters: the override file is in S3, valid for the node; a Scan without it tells what was installed', async () => {
    const f = fleet(stack);
    const m = await f.machine({
      // The install, then the compliance scan (which installs nothing). stdout says nothing useful on purpose.
      commands: [
        {
          duration_s: 1,
          outcome: 'success',
          installed: ['openssl-3.0.15', 'kernel-6.1.119'],
          stdout: 'ok\n',
        },
        { duration_s: 1, outcome: 'success', installed: [] },
      ],
      fields: { update_severity: ['critical', 'Important'], exclude_kbs: ['telnet'], published_days_old: 7 },
      patches: {
        'openssl-3.0.15': { severity: 'Critical' },
        'kernel-6.1.119': { severity: 'Important' },
      },
    });
    const ev = await f.finished(await f.execute(await f.plan({ machines: [{ machine_id: m.id }] })));
    const row = machineOf(ev, m.id);
    expect(row.status).toBe('SUCCESS');
    expect(row.installed).toEqual(['openssl-3.0.15', 'kernel-6.1.119']);
    expect((row as { patches?: { title: string }[] }).patches?.map((p) => p.title)).toEqual(row.installed);

    const cmds = await stack.lab_<LabCommandView[]>('GET', `/_lab/machines/${m.ssmId}/commands`);
    expect(cmds.map((c) => c.parameters.Operation?.[0])).toEqual(['Install', 'Scan']);
    const [install, scan] = cmds;
    const url = install.parameters.BaselineOverride?.[0] ?? '';
    expect(url).toMatch(
      new RegExp(`^s3://patchwave-baselines/patchwave/baseline-overrides/${m.id}/[0-9a-f]{32}\\.json$`),
    );
    // The lab read it as the document would: valid, and a baseline for the node's OS with the operator's rules.
    expect(install.baseline_override).toMatchObject({
      url,
      problems: [],
      operating_system: 'AMAZON_LINUX_2023',
    });
    expect(install.baseline_override?.baseline).toEqual({
      OperatingSystem: 'AMAZON_LINUX_2023',
      ApprovalRules: {
        PatchRules: [
          {
            PatchFilterGroup: { PatchFilters: [{ Key: 'SEVERITY', Values: ['Critical', 'Important'] }] },
            ApproveAfterDays: 7,
          },
        ],
      },
      RejectedPatches: ['telnet'],
      RejectedPatchesAction: 'BLOCK',
    });
    // The key is derived from the machine and the file's hash: the same settings give the same object.
    const key = url.replace('s3://patchwave-baselines/', '');
    const res = await fetch(`${stack.lab.url}/_lab/s3/patchwave-baselines/${key}`);
    const body = await res.text();
    expect(key).toContain(createHash('sha256').update(body).digest('hex').slice(0, 32));
    expect(scan.parameters).toEqual({ Operation: ['Scan'], RebootOption: ['NoReboot'] });
    expect(scan.baseline_override).toBeUndefined();
    const doc = await f.commandDoc(row.command_id!);
    expect(doc?.baseline_override).toBe(url);
    expect(doc?.compliance_scan_command_id).toBeDefined();
  });

  test('no filters: nothing extra is sent, no scan, patches from the run’s own compliance upload', async () => {
    const f = fleet(stack);
    const m = await f.machine({
      commands: [{ duration_s: 1, outcome: 'success', installed: ['curl-8.5.0'], stdout: 'ok\n' }],
    });
    const ev = await f.finished(await f.execute(await f.plan({ machines: [{ machine_id: m.id }] })));
    expect(machineOf(ev, m.id).status).toBe('SUCCESS');
    expect(machineOf(ev, m.id).installed).toEqual(['curl-8.5.0']);
    const cmds = await stack.lab_<LabCommandView[]>('GET', `/_lab/machines/${m.ssmId}/commands`);
    // The run's SnapshotId (one per event run, domain/manifest.ts) and nothing else beyond the defaults.
    expect(cmds.map((c) => c.parameters)).toEqual([
      { Operation: ['Install'], RebootOption: ['NoReboot'], SnapshotId: [expect.stringMatching(UUID)] },
    ]);
    // The manifest: what the run installed on its successful machine, per OS, with the SnapshotId it used.
    const manifest = (ev as unknown as { manifest: ManifestView }).manifest;
    expect(manifest.operating_systems).toEqual([
      {
        operating_system: 'AMAZON_LINUX_2023',
        machines: [m.id],
        snapshot_ids: cmds[0].parameters.SnapshotId,
        patches: [expect.objectContaining({ kb_id: 'curl.x86_64', title: 'curl-8.5.0', machines: 1 })],
      },
    ]);
  });

  test('filters that fit no baseline of the node’s OS: OMITTED with the reason, nothing sent', async () => {
    const f = fleet(stack);
    // Medium is an Amazon Linux severity; the node is Windows.
    const m = await f.machine({ platform: 'Windows', fields: { update_severity: ['Medium'] } });
    const ev = await f.finished(await f.execute(await f.plan({ machines: [{ machine_id: m.id }] })));
    expect(machineOf(ev, m.id).status).toBe('OMITTED');
    expect(machineOf(ev, m.id).reason).toMatch(/cannot be expressed for its operating system WINDOWS/);
    expect(await stack.lab_<LabCommandView[]>('GET', `/_lab/machines/${m.ssmId}/commands`)).toEqual([]);
  });
});

describe('the lab installs only what the override approves', () => {
  test('different filters on the same available patches install different sets, read back from DescribeInstancePatches', async () => {
    const f = fleet(stack);
    const available = ['openssl-3.0.15', 'kernel-6.1.119', 'curl-8.11.1', 'telnet-0.17'];
    const patches = {
      'openssl-3.0.15': { severity: 'Critical', classification: 'Security', cve_ids: ['CVE-2024-5535'] },
      'kernel-6.1.119': { severity: 'Important', classification: 'Security', released_days_ago: 2 },
      'curl-8.11.1': { severity: 'Low', classification: 'Bugfix' },
      'telnet-0.17': { severity: 'Critical', classification: 'Security' },
    };
    const commands = [
      { duration_s: 1, outcome: 'success' as const, installed: available, stdout: 'ok\n' },
      { duration_s: 1, outcome: 'success' as const, installed: [] },
    ];
    const critical = await f.machine({
      commands,
      patches,
      fields: { update_severity: ['Critical'], exclude_kbs: ['telnet'] },
    });
    const bugfix = await f.machine({ commands, patches, fields: { update_category: ['Bugfix'] } });
    const aged = await f.machine({
      commands,
      patches,
      fields: { update_category: ['Security'], published_days_old: 7, include_kbs: ['curl'] },
    });
    const ev = await f.finished(
      await f.execute(
        await f.plan({
          machines: [{ machine_id: critical.id }, { machine_id: bugfix.id }, { machine_id: aged.id }],
        }),
      ),
    );
    const expected: [typeof critical, string[]][] = [
      [critical, ['openssl-3.0.15']],
      [bugfix, ['curl-8.11.1']],
      // kernel is 2 days old (held back by ApproveAfterDays 7), telnet is Security and old enough, curl approved by name.
      [aged, ['openssl-3.0.15', 'curl-8.11.1', 'telnet-0.17']],
    ];
    const ssm = new SSMClient({
      endpoint: stack.lab.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' },
    });
    try {
      for (const [m, titles] of expected) {
        const row = machineOf(ev, m.id);
        expect(row.status).toBe('SUCCESS');
        expect([...(row.installed ?? [])].sort()).toEqual([...titles].sort());
        // What "AWS" reports for the node after the compliance scan: exactly what the override approved.
        const reported = await ssm.send(new DescribeInstancePatchesCommand({ InstanceId: m.ssmId }));
        expect((reported.Patches ?? []).map((p) => p.Title).sort()).toEqual([...titles].sort());
      }
      const [install] = await stack.lab_<LabCommandView[]>(
        'GET',
        `/_lab/machines/${critical.ssmId}/commands`,
      );
      expect(install.baseline_override?.decisions).toEqual([
        { title: 'openssl-3.0.15', approved: true, reason: 'rule 1' },
        { title: 'kernel-6.1.119', approved: false, reason: 'no rule matched' },
        { title: 'curl-8.11.1', approved: false, reason: 'no rule matched' },
        { title: 'telnet-0.17', approved: false, reason: 'RejectedPatches' },
      ]);
    } finally {
      ssm.destroy();
    }
  });
});

describe('enable_non_security reaches the override and decides packages without an update notice', () => {
  test('the S3 object the lab records carries EnableNonSecurity as set; only true installs the non-security package', async () => {
    const f = fleet(stack);
    const patches = {
      'openssl-3.0.15': { severity: 'Critical', classification: 'Security' },
      // No update notice: Patch Manager counts it as non-security.
      'htop-3.3.0': { severity: 'Critical', update_notice: false },
    };
    const commands = [
      {
        duration_s: 1,
        outcome: 'success' as const,
        installed: ['openssl-3.0.15', 'htop-3.3.0'],
        stdout: 'ok\n',
      },
      { duration_s: 1, outcome: 'success' as const, installed: [] },
    ];
    const on = await f.machine({
      commands,
      patches,
      fields: { update_severity: ['Critical'], enable_non_security: true },
    });
    const off = await f.machine({
      commands,
      patches,
      fields: { update_severity: ['Critical'], enable_non_security: false },
    });
    const stored = await stack.api<Record<string, unknown>>('GET', `/api/v1/machines/${on.id}`);
    expect(stored.body.enable_non_security).toBe(true);
    const ev = await f.finished(
      await f.execute(await f.plan({ machines: [{ machine_id: on.id }, { machine_id: off.id }] })),
    );
    for (const [m, value, installed] of [
      [on, true, ['openssl-3.0.15', 'htop-3.3.0']],
      [off, false, ['openssl-3.0.15']],
    ] as const) {
      const row = machineOf(ev, m.id);
      expect(row.status).toBe('SUCCESS');
      expect([...(row.installed ?? [])].sort()).toEqual([...installed].sort());
      const [install] = await stack.lab_<LabCommandView[]>('GET', `/_lab/machines/${m.ssmId}/commands`);
      const url = install.parameters.BaselineOverride?.[0] ?? '';
      // The S3 object itself: Linux baselines only (EnableNonSecurity does not apply to Windows), each rule with
      // the operator's value; the lab validated it and used the node's baseline.
      const res = await fetch(`${stack.lab.url}/_lab/s3/${url.replace('s3://', '')}`);
      const file = (await res.json()) as {
        OperatingSystem: string;
        ApprovalRules: { PatchRules: { EnableNonSecurity?: boolean }[] };
      }[];
      expect(file.map((b) => b.OperatingSystem)).not.toContain('WINDOWS');
      expect(file.every((b) => b.ApprovalRules.PatchRules[0].EnableNonSecurity === value)).toBe(true);
      expect(install.baseline_override).toMatchObject({
        url,
        problems: [],
        operating_system: 'AMAZON_LINUX_2023',
      });
      expect(install.baseline_override?.baseline).toEqual({
        OperatingSystem: 'AMAZON_LINUX_2023',
        ApprovalRules: {
          PatchRules: [
            {
              PatchFilterGroup: { PatchFilters: [{ Key: 'SEVERITY', Values: ['Critical'] }] },
              ApproveAfterDays: 0,
              EnableNonSecurity: value,
            },
          ],
        },
      });
      expect(install.baseline_override?.decisions?.find((d) => d.title === 'htop-3.3.0')?.approved).toBe(
        value,
      );
    }
  });
});
