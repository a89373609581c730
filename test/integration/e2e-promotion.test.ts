/**
 * Exact patch promotion through the front door (issue 17 items 1-2, docs/behaviour.md#promotion): a three-step
 * pipeline created and run through the REST API. Dev installs a set; staging, promoted with
 * `exact_previous_step`, installs exactly that set (an InstallOverrideList) although the lab offers it a newer
 * patch; prod's promotion gate is not met, so it waits for approval, and once approved its BaselineOverride
 * rejects the patch staging excluded. What reached "AWS" is read from the lab.
 */
import { fleet } from '../helpers/e2e-fleet';
import { startStack, waitFor, waitForEventStatus, type Stack } from '../helpers/stack';

jest.setTimeout(240_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('promotion');
});
afterAll(async () => {
  await stack?.close();
});

interface ManifestView {
  run_no: number;
  operating_systems: {
    operating_system: string;
    machines: string[];
    snapshot_ids: string[];
    patches: { kb_id: string; title: string; classification: string; severity: string; machines: number }[];
  }[];
}
interface EventView {
  status: string;
  manifest?: ManifestView;
  machines: { machine_id: string; status: string; patches?: { kb_id: string; title: string }[] }[];
  timeline: { type: string; message: string }[];
}
interface LabCommandView {
  document_name: string;
  parameters: Record<string, string[]>;
  install_override_list?: { url: string; problems: string[]; patches?: { id: string; title?: string }[] };
  baseline_override?: { problems: string[]; baseline?: { RejectedPatches?: string[] } };
}

const DEV_SET = ['openssl-3.0.13', 'curl-8.5.0'];

test('dev installs a set; staging installs exactly it; prod waits on its gate and keeps the excluded patch out', async () => {
  const f = fleet(stack);
  const dev = await f.machine({ commands: [{ duration_s: 1, outcome: 'success', installed: DEV_SET }] });
  // The repositories offer staging a newer patch (zlib) besides dev's set.
  const stg = await f.machine({
    commands: [{ duration_s: 1, outcome: 'success', installed: [...DEV_SET, 'zlib-1.3.1'] }],
  });
  // Prod patches with a BaselineOverride (the excluded patch), so a Scan follows its install.
  const prod = await f.machine({
    commands: [
      { duration_s: 1, outcome: 'success', installed: ['openssl-3.0.13'] },
      { duration_s: 1, outcome: 'success', installed: [] },
    ],
  });
  // Windows long enough for three steps one after another under load.
  const plan = async (id: string) => f.plan({ machines: [{ machine_id: id }], window_hours: 0.5 });
  const [pDev, pStg, pProd] = [await plan(dev.id), await plan(stg.id), await plan(prod.id)];

  // Bad promotion settings are refused naming the field, and nothing is written.
  const bad = await stack.api<{ error: { details: { path: string; message: string }[] } }>(
    'POST',
    '/api/v1/pipelines',
    {
      name: 'bad-promotion',
      cron: '0 0 1 1 *',
      steps: [{ plans: [pDev], promotion: 'exact_previous_step', promotion_gate: { min_machines: 1 } }],
    },
  );
  expect(bad.status).toBe(400);
  expect(bad.body.error.details.map((d) => d.path).sort()).toEqual([
    'steps.0.promotion',
    'steps.0.promotion_gate',
  ]);

  const pl = await stack.api<{ id: string; steps: unknown[] }>('POST', '/api/v1/pipelines', {
    name: `promotion-${Date.now().toString(36)}`,
    cron: '0 0 1 1 *',
    steps: [
      { plans: [pDev], policy: 'always' },
      {
        plans: [pStg],
        policy: 'success',
        promotion: 'exact_previous_step',
        promotion_gate: { min_success_rate: 100, min_machines: 1 },
        exclude_patches: ['zlib.x86_64'],
      },
      { plans: [pProd], policy: 'success_or_approval', promotion_gate: { min_machines: 2 } },
    ],
  });
  expect(pl.status).toBe(201);
  const run = await stack.api<{ event_ids: string[] }>('POST', `/api/v1/pipelines/${pl.body.id}/execute`);
  expect(run.status).toBeLessThan(300);
  const idOf = (planId: string) => run.body.event_ids.find((id) => id.startsWith(planId))!;
  const [evDev, evStg, evProd] = [idOf(pDev), idOf(pStg), idOf(pProd)];

  // Dev: its manifest lists what it installed, per OS, with the run's SnapshotId.
  expect((await waitForEventStatus(stack, evDev)).status).toBe('DONE');
  const devEv = (await stack.api<EventView>('GET', `/api/v1/events/${evDev}`)).body;
  const devManifest = devEv.manifest!;
  expect(devManifest.operating_systems).toHaveLength(1);
  const devOs = devManifest.operating_systems[0];
  expect(devOs).toMatchObject({ operating_system: 'AMAZON_LINUX_2023', machines: [dev.id] });
  expect(devOs.patches.map((p) => p.title).sort()).toEqual([...DEV_SET].sort());
  const [devCmd] = await stack.lab_<LabCommandView[]>('GET', `/_lab/machines/${dev.ssmId}/commands`);
  expect(devOs.snapshot_ids).toEqual(devCmd.parameters.SnapshotId);

  // Staging: exactly dev's set, as an InstallOverrideList; the offered zlib was not installed.
  expect((await waitForEventStatus(stack, evStg)).status).toBe('DONE');
  const stgCmds = await stack.lab_<LabCommandView[]>('GET', `/_lab/machines/${stg.ssmId}/commands`);
  expect(stgCmds).toHaveLength(1);
  expect(stgCmds[0].parameters.BaselineOverride).toBeUndefined();
  expect(stgCmds[0].parameters.InstallOverrideList?.[0]).toMatch(
    new RegExp(`^s3://patchwave-baselines/patchwave/install-override-lists/${stg.id}/[0-9a-f]{32}\\.yaml$`),
  );
  expect(stgCmds[0].install_override_list?.problems).toEqual([]);
  expect(stgCmds[0].install_override_list?.patches).toEqual(
    expect.arrayContaining(devOs.patches.map((p) => ({ id: p.kb_id, title: p.title }))),
  );
  const stgEv = (await stack.api<EventView>('GET', `/api/v1/events/${evStg}`)).body;
  const stgPatches = stgEv.machines[0].patches!.map((p) => p.title).sort();
  expect(stgPatches).toEqual([...DEV_SET].sort());
  expect(stgEv.manifest!.operating_systems[0].patches.map((p) => `${p.kb_id} ${p.title}`)).toEqual(
    devOs.patches.map((p) => `${p.kb_id} ${p.title}`),
  );

  // Prod: staging succeeded on 1 machine, the gate wants 2: it waits for approval, the reason on its timeline.
  const waiting = await waitFor(`${evProd} NOT_APPROVED by its promotion gate`, async () => {
    const e = (await stack.api<EventView>('GET', `/api/v1/events/${evProd}`)).body;
    const line = e.timeline.find((t) => t.type === 'gate' && /promotion gate/.test(t.message));
    return e.status === 'NOT_APPROVED' && line ? line : undefined;
  });
  expect(waiting.message).toMatch(/1 machine\(s\) succeeded, at least 2 needed/);
  expect(await stack.lab_<unknown[]>('GET', `/_lab/machines/${prod.ssmId}/commands`)).toHaveLength(0);

  const approved = await stack.api('POST', `/api/v1/events/${evProd}/approve`);
  expect(approved.status).toBeLessThan(300);
  expect((await waitForEventStatus(stack, evProd)).status).toBe('DONE');
  // The patch staging excluded stays out downstream: prod's override rejects it.
  const prodCmds = await stack.lab_<LabCommandView[]>('GET', `/_lab/machines/${prod.ssmId}/commands`);
  expect(prodCmds[0].baseline_override?.problems).toEqual([]);
  expect(prodCmds[0].baseline_override?.baseline?.RejectedPatches).toEqual(['zlib.x86_64']);
});
