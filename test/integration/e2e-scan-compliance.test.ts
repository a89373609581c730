/**
 * Scan-only plans and the compliance view (issue 17 item 3), through the front door: plans, events and reads
 * through the REST API and the CLI binary; what reached "AWS" is read from the lab, which reports the missing
 * patches (with severities and release dates) through SSM's own patch-state APIs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleet, machineOf, type EventDetailView } from '../helpers/e2e-fleet';
import { runCli } from '../helpers/cli';
import { validateAgainstModels } from '../helpers/aws-model';
import { startStack, type Stack } from '../helpers/stack';

jest.setTimeout(180_000);

let stack: Stack;
let cliDir: string;
beforeAll(async () => {
  stack = await startStack('scan_compliance');
  cliDir = mkdtempSync(join(tmpdir(), 'pw-scan-cli-'));
});
afterAll(async () => {
  await stack?.close();
  if (cliDir) rmSync(cliDir, { recursive: true, force: true });
});

type Row = EventDetailView['machines'][number] & {
  reason?: string;
  compliance?: { missing_count: number; failed_count: number; scanned_at: string };
};

interface Compliance {
  machine_id: string;
  status: string;
  scanned_at: string;
  operation: string;
  counts: { missing: number; failed: number };
  missing_by_severity: Record<string, number>;
  missing_by_classification: Record<string, number>;
  oldest_missing?: { kb_id: string; release_date: string };
  patches: { kb_id: string; title: string; severity: string; state: string; release_date?: string }[];
}

const LINUX_MISSING = [
  {
    title: 'openssl-3.0.15-1.amzn2023',
    kb_id: 'openssl.x86_64',
    classification: 'Security',
    severity: 'Critical',
    release_date: '2026-09-14',
    cve_ids: ['CVE-2026-1111'],
  },
  {
    title: 'kernel-6.1.119-129.amzn2023',
    kb_id: 'kernel.x86_64',
    classification: 'Security',
    severity: 'Important',
    release_date: '2026-07-02',
  },
  {
    title: 'curl-8.11.1-1.amzn2023',
    kb_id: 'curl.x86_64',
    classification: 'Bugfix',
    severity: 'Medium',
    release_date: '2026-11-20',
  },
];

describe('a scan-only plan', () => {
  test('scans without installing or rebooting; machines end COMPLIANT / NON_COMPLIANT with SSM counts; compliance views and CSV list each missing patch', async () => {
    const f = fleet(stack);
    // Settings that would make an install reboot explicitly and send a BaselineOverride: a scan uses neither.
    const lagging = await f.machine({
      lab: { missing: LINUX_MISSING },
      fields: { reboot_policy: 'ALWAYS', update_severity: ['Critical'] },
    });
    const current = await f.machine({ lab: { missing: [] } });
    const windows = await f.machine({
      platform: 'Windows',
      lab: {
        missing: [
          {
            title: '2026-10 Cumulative Update for Windows Server 2022 (KB5044281)',
            classification: 'SecurityUpdates',
            severity: 'Critical',
            release_date: '2026-10-08',
          },
        ],
      },
    });
    const planId = await f.plan({
      operation: 'scan',
      machines: [lagging, current, windows].map((m) => ({ machine_id: m.id })),
    });
    const plan = await stack.api<{ operation: string }>('GET', `/api/v1/plans/${planId}`);
    expect(plan.body.operation).toBe('scan');

    stack.lab.state.traffic = [];
    const ev = await f.finished(await f.execute(planId));
    // Every SSM request and answer of the run fits botocore's model (shapes we did not write).
    const traffic = stack.lab.state.traffic;
    stack.lab.state.traffic = null;
    const model = validateAgainstModels(traffic);
    expect(model.problems).toEqual([]);
    for (const op of ['DescribeInstancePatchStates', 'DescribeInstancePatches', 'DescribeAvailablePatches'])
      expect(model.operations[op]).toBeGreaterThan(0);
    expect(ev.status).toBe('DONE');
    expect((ev as unknown as { operation: string }).operation).toBe('scan');
    const lag = machineOf(ev, lagging.id) as Row;
    expect(lag.status).toBe('NON_COMPLIANT');
    expect(lag.reason).toBe('scan: missing 3');
    expect(lag.compliance).toMatchObject({ missing_count: 3, failed_count: 0 });
    expect((lag as { installed?: string[] }).installed).toBeUndefined();
    expect((machineOf(ev, current.id) as Row).status).toBe('COMPLIANT');
    expect((machineOf(ev, current.id) as Row).compliance).toMatchObject({ missing_count: 0 });
    expect((machineOf(ev, windows.id) as Row).status).toBe('NON_COMPLIANT');

    // What reached SSM: one Scan per machine, NoReboot, no override, no reboot command, nothing installed.
    for (const m of [lagging, current, windows]) {
      const cmds = await f.commands(m.ssmId);
      expect(cmds.map((c) => [c.document_name, c.parameters])).toEqual([
        ['AWS-RunPatchBaseline', { Operation: ['Scan'], RebootOption: ['NoReboot'] }],
      ]);
    }

    // The machine view: SSM's counts, by severity and classification, the oldest missing by release date.
    const mc = await stack.api<Compliance>('GET', `/api/v1/machines/${lagging.id}/compliance`);
    expect(mc.status).toBe(200);
    expect(mc.body).toMatchObject({
      status: 'NON_COMPLIANT',
      operation: 'Scan',
      counts: { missing: 3, failed: 0 },
      missing_by_severity: { Critical: 1, Important: 1, Medium: 1 },
      missing_by_classification: { Security: 2, Bugfix: 1 },
      oldest_missing: { kb_id: 'kernel.x86_64', release_date: '2026-07-02T00:00:00.000Z' },
    });
    expect(mc.body.scanned_at).toBe(lag.compliance?.scanned_at);
    expect(
      mc.body.patches.map((p) => [p.state, p.kb_id, p.severity, p.release_date?.slice(0, 10)]).sort(),
    ).toEqual([
      ['MISSING', 'curl.x86_64', 'Medium', '2026-11-20'],
      ['MISSING', 'kernel.x86_64', 'Important', '2026-07-02'],
      ['MISSING', 'openssl.x86_64', 'Critical', '2026-09-14'],
    ]);
    const win = await stack.api<Compliance>('GET', `/api/v1/machines/${windows.id}/compliance`);
    expect(win.body.patches).toEqual([
      expect.objectContaining({ kb_id: 'KB5044281', release_date: '2026-10-08T00:00:00.000Z' }),
    ]);

    // The plan view: totals and the plan's oldest missing patch.
    const pc = await stack.api<{
      totals: Record<string, unknown>;
      last_scan_at: string;
      oldest_missing: { kb_id: string; machine_id: string };
      machines: { machine_id: string; status: string }[];
    }>('GET', `/api/v1/plans/${planId}/compliance`);
    expect(pc.status).toBe(200);
    expect(pc.body.totals).toEqual({
      machines: 3,
      compliant: 1,
      non_compliant: 2,
      not_scanned: 0,
      missing: 4,
      failed: 0,
      missing_by_severity: { Critical: 2, Important: 1, Medium: 1 },
      missing_by_classification: { Security: 2, Bugfix: 1, SecurityUpdates: 1 },
    });
    expect(pc.body.oldest_missing).toMatchObject({ kb_id: 'kernel.x86_64', machine_id: lagging.id });
    expect(Date.parse(pc.body.last_scan_at)).toBeGreaterThanOrEqual(Date.parse(mc.body.scanned_at));

    // The auditor's CSV, through the CLI binary as an auditor would take it.
    const cli = await runCli({ apiUrl: stack.apiUrl, key: stack.key, dir: cliDir }, [
      'compliance',
      'plan',
      planId,
      '--csv',
    ]);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const rows = cli.stdout.split(/\r?\n/).map((l) => l.split(','));
    expect(rows[0]).toEqual([
      'machine_id',
      'machine_name',
      'ssm_machine_id',
      'machine_status',
      'scanned_at',
      'baseline_id',
      'patch_state',
      'kb_id',
      'title',
      'classification',
      'severity',
      'release_date',
      'cve_ids',
    ]);
    const byMachine = (id: string) => rows.slice(1).filter((r) => r[0] === id);
    expect(
      byMachine(lagging.id)
        .map((r) => `${r[3]} ${r[6]} ${r[7]} ${r[10]} ${r[11].slice(0, 10)} ${r[12]}`)
        .sort(),
    ).toEqual([
      'NON_COMPLIANT MISSING curl.x86_64 Medium 2026-11-20 ',
      'NON_COMPLIANT MISSING kernel.x86_64 Important 2026-07-02 ',
      'NON_COMPLIANT MISSING openssl.x86_64 Critical 2026-09-14 CVE-2026-1111',
    ]);
    expect(byMachine(current.id).map((r) => [r[3], r[6], r[7]])).toEqual([['COMPLIANT', '', '']]);
    expect(byMachine(windows.id).map((r) => r[7])).toEqual(['KB5044281']);

    // The table view through the CLI.
    const table = await runCli({ apiUrl: stack.apiUrl, key: stack.key, dir: cliDir }, [
      'compliance',
      'machine',
      lagging.id,
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/oldest missing\s+kernel\.x86_64 \(released 2026-07-02/);
  });

  test('a one-off event of an install plan can scan; bad operations are 400s naming the field', async () => {
    const f = fleet(stack);
    const m = await f.machine({ lab: { missing: LINUX_MISSING.slice(0, 1) } });
    const planId = await f.plan({ machines: [{ machine_id: m.id }] });
    const start = new Date(Date.now() - 1000).toISOString();
    const end = new Date(Date.now() + 120_000).toISOString();

    const bad = await stack.api<{ error: { details: { path: string }[] } }>('POST', '/api/v1/events', {
      plan_id: planId,
      start,
      end,
      operation: 'upgrade',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d) => d.path)).toEqual(['operation']);
    const badPlan = await stack.api<{ error: { details: { path: string }[] } }>(
      'PATCH',
      `/api/v1/plans/${planId}`,
      { operation: 'audit' },
    );
    expect(badPlan.status).toBe(400);
    expect(badPlan.body.error.details.map((d) => d.path)).toEqual(['operation']);

    const created = await stack.api<{ id: string; operation?: string }>('POST', '/api/v1/events', {
      plan_id: planId,
      start,
      end,
      operation: 'scan',
    });
    expect(created.status).toBe(201);
    const ev = await f.finished(created.body.id);
    expect(ev.status).toBe('DONE');
    expect(machineOf(ev, m.id).status).toBe('NON_COMPLIANT');
    const cmds = await f.commands(m.ssmId);
    expect(cmds.map((c) => c.parameters.Operation)).toEqual([['Scan']]);
    // The plan itself still installs.
    expect((await stack.api<{ operation: string }>('GET', `/api/v1/plans/${planId}`)).body.operation).toBe(
      'install',
    );
    // Never scanned: 404 naming why; the plan view lists it as NOT_SCANNED until then.
    const other = await f.machine();
    const none = await stack.api<{ error: { message: string } }>(
      'GET',
      `/api/v1/machines/${other.id}/compliance`,
    );
    expect(none.status).toBe(404);
    expect(none.body.error.message).toMatch(/no scan yet/);
  });
});
