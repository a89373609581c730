/**
 * Exact patch promotion through the front door (issue 17 items 1-2, docs/behaviour.md#promotion): a three-step
 * pipeline created and run through the REST API. Dev installs a set; staging, promoted with
 * `exact_previous_step`, installs exactly that set (an InstallOverrideList) although the lab offers it a newer
 * patch; prod's promotion gate is not met, so it waits for approval, and once approved its BaselineOverride
 * rejects the patch staging excluded. What reached "AWS" is read from the lab.
 */
import { fleet } from '../helpers/e2e-fleet';
import { startStack, waitFor, waitForEventStatus, type Stack } from '../helpers/stack';
import { pdfPages } from '../unit/notifications-fixtures';

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
interface PatchRefView {
  kb_id: string;
  title: string;
}
interface PromotionCheckView {
  mode: string;
  previous_step: number;
  from_events: string[];
  promoted?: { operating_system: string; patches: PatchRefView[] }[];
  previous_start?: string;
  cutoff?: string;
  excluded: string[];
  clean?: boolean;
  machines: {
    machine_id: string;
    status: string;
    operating_system: string;
    installed: PatchRefView[];
    missing?: PatchRefView[];
    unexpected?: PatchRefView[];
  }[];
}
interface EventView {
  status: string;
  started_at?: string;
  finished_at?: string;
  manifest?: ManifestView;
  promotion_check?: PromotionCheckView;
  machines: {
    machine_id: string;
    status: string;
    started_at?: string;
    patches?: { kb_id: string; title: string }[];
  }[];
  timeline: { type: string; message: string }[];
}
interface LabCommandView {
  document_name: string;
  parameters: Record<string, string[]>;
  install_override_list?: { url: string; problems: string[]; patches?: { id: string; title?: string }[] };
  baseline_override?: {
    problems: string[];
    baseline?: {
      RejectedPatches?: string[];
      ApprovalRules?: { PatchRules?: { ApproveUntilDate?: string }[] };
    };
  };
}

const titles = (ps: PatchRefView[] | undefined) => (ps ?? []).map((p) => p.title).sort();

/** The event report's text (the PDF's pages, whitespace squashed). */
async function reportText(eventId: string): Promise<string> {
  const r = await fetch(`${stack.apiUrl}/api/v1/events/${eventId}/report`, {
    headers: { authorization: `Bearer ${stack.key}` },
  });
  expect(r.status).toBe(200);
  return (await pdfPages(Buffer.from(await r.arrayBuffer()))).join('\n').replace(/\s+/g, ' ');
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
  // The promotion check: a clean promotion, nothing missing, nothing unexpected; the report says so.
  const check = stgEv.promotion_check!;
  expect(check).toMatchObject({
    mode: 'exact_previous_step',
    previous_step: 0,
    from_events: [evDev],
    excluded: ['zlib.x86_64'],
    clean: true,
  });
  expect(check.promoted).toEqual([
    {
      operating_system: 'AMAZON_LINUX_2023',
      patches: devOs.patches.map((p) => ({ kb_id: p.kb_id, title: p.title })),
    },
  ]);
  expect(check.machines).toEqual([
    expect.objectContaining({
      machine_id: stg.id,
      status: 'SUCCESS',
      operating_system: 'AMAZON_LINUX_2023',
      missing: [],
      unexpected: [],
    }),
  ]);
  expect(titles(check.machines[0].installed)).toEqual([...DEV_SET].sort());
  const stgReport = await reportText(evStg);
  expect(stgReport).toContain('Promotion exact_previous_step: the promoted set is the manifest of step 1');
  expect(stgReport).toContain('Result: every machine installed exactly the promoted set.');

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

test("staging cuts off at the previous start; prod waits out its soak, then installs staging's set: a failed install shows as missing", async () => {
  const f = fleet(stack);
  const OLD = ['openssl-3.0.13', 'curl-8.5.0'];
  // Released today: after the day before dev started, so the cutoff keeps it out.
  const fresh = { 'zlib-1.3.1': { released_days_ago: 0 } };
  const dev = await f.machine({ commands: [{ duration_s: 1, outcome: 'success', installed: OLD }] });
  const stg = await f.machine({
    commands: [{ duration_s: 1, outcome: 'success', installed: [...OLD, 'zlib-1.3.1'] }],
    patches: fresh,
  });
  const prodOk = await f.machine({
    commands: [{ duration_s: 1, outcome: 'success', installed: [...OLD, 'zlib-1.3.1'] }],
  });
  // Fails its run: of the promoted set it only got openssl.
  const prodBad = await f.machine({
    commands: [{ duration_s: 1, outcome: 'failed', installed: ['openssl-3.0.13'] }],
  });
  const plan = async (ids: string[]) =>
    f.plan({ machines: ids.map((machine_id) => ({ machine_id })), window_hours: 0.5 });
  const [pDev, pStg, pProd] = [
    await plan([dev.id]),
    await plan([stg.id]),
    await plan([prodOk.id, prodBad.id]),
  ];
  const pl = await stack.api<{ id: string }>('POST', '/api/v1/pipelines', {
    name: `promotion-soak-${Date.now().toString(36)}`,
    cron: '0 0 1 1 *',
    steps: [
      { plans: [pDev], policy: 'always' },
      { plans: [pStg], policy: 'success', promotion: 'publish_date_cutoff' },
      {
        plans: [pProd],
        policy: 'always',
        promotion: 'exact_previous_step',
        promotion_gate: { min_success_rate: 100, min_machines: 1, min_soak_minutes: 1 },
      },
    ],
  });
  expect(pl.status).toBe(201);
  const run = await stack.api<{ event_ids: string[] }>('POST', `/api/v1/pipelines/${pl.body.id}/execute`);
  expect(run.status).toBeLessThan(300);
  const idOf = (planId: string) => run.body.event_ids.find((id) => id.startsWith(planId))!;
  const [evDev, evStg, evProd] = [idOf(pDev), idOf(pStg), idOf(pProd)];

  const devEv = await waitForEventStatus(stack, evDev);
  expect(devEv.status).toBe('DONE');
  const devStart = (await stack.api<EventView>('GET', `/api/v1/events/${evDev}`)).body.started_at!;
  const cutoff = new Date(Date.parse(devStart) - 86_400_000).toISOString().slice(0, 10);

  // Staging: a BaselineOverride approving only what was released by the day before dev started; zlib is newer.
  expect((await waitForEventStatus(stack, evStg)).status).toBe('DONE');
  const [stgCmd] = await stack.lab_<LabCommandView[]>('GET', `/_lab/machines/${stg.ssmId}/commands`);
  expect(stgCmd.baseline_override?.problems).toEqual([]);
  expect(
    stgCmd.baseline_override?.baseline?.ApprovalRules?.PatchRules?.map((r) => r.ApproveUntilDate),
  ).toContain(cutoff);
  const stgEv = (await stack.api<EventView>('GET', `/api/v1/events/${evStg}`)).body;
  expect(titles(stgEv.machines[0].patches)).toEqual([...OLD].sort());
  expect(stgEv.promotion_check).toMatchObject({
    mode: 'publish_date_cutoff',
    previous_step: 0,
    from_events: [evDev],
    previous_start: devStart,
    cutoff,
  });
  expect(titles(stgEv.promotion_check!.machines[0].installed)).toEqual([...OLD].sort());
  expect(stgEv.promotion_check!.machines[0].missing).toBeUndefined();
  expect(await reportText(evStg)).toContain(`Promotion publish_date_cutoff`);

  // Prod: the gate is met (staging 1/1), and it waits out the one-minute soak after staging finished.
  const soakEnd = Date.parse(stgEv.finished_at!) + 60_000;
  const early: string[] = [];
  let polledWhileSoaking = 0;
  const started = await waitFor(
    `${evProd} to start after its soak`,
    async () => {
      const e = (await stack.api<EventView>('GET', `/api/v1/events/${evProd}`)).body;
      if (Date.now() < soakEnd - 2_000) {
        // Still soaking: nothing sent to prod's machines.
        polledWhileSoaking++;
        const sent = await stack.lab_<unknown[]>('GET', `/_lab/machines/${prodOk.ssmId}/commands`);
        if (sent.length || e.started_at) early.push(`${new Date().toISOString()} ${e.status}`);
      }
      return e.started_at ? e : undefined;
    },
    150_000,
  );
  expect(early).toEqual([]);
  expect(polledWhileSoaking).toBeGreaterThan(0);
  expect(Date.parse(started.started_at!)).toBeGreaterThanOrEqual(soakEnd);

  // Prod installs staging's set: the clean machine has nothing missing or unexpected, the failed one misses curl.
  expect((await waitForEventStatus(stack, evProd)).status).toBe('DONE_PARTIAL');
  const prodEv = (await stack.api<EventView>('GET', `/api/v1/events/${evProd}`)).body;
  const check = prodEv.promotion_check!;
  expect(check).toMatchObject({
    mode: 'exact_previous_step',
    previous_step: 1,
    from_events: [evStg],
    clean: false,
  });
  expect(check.promoted!.map((o) => [o.operating_system, titles(o.patches)])).toEqual([
    ['AMAZON_LINUX_2023', [...OLD].sort()],
  ]);
  const of = (id: string) => check.machines.find((m) => m.machine_id === id)!;
  expect(of(prodOk.id)).toMatchObject({ status: 'SUCCESS', missing: [], unexpected: [] });
  expect(titles(of(prodOk.id).installed)).toEqual([...OLD].sort());
  expect(of(prodBad.id)).toMatchObject({ status: 'FAILED', unexpected: [] });
  expect(titles(of(prodBad.id).missing)).toContain('curl-8.5.0');
  const prodReport = await reportText(evProd);
  expect(prodReport).toContain('Result: at least one machine did not install exactly the promoted set');
  expect(prodReport).toContain('curl-8.5.0');
});
