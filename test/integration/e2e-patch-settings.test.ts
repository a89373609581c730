/**
 * A machine's patch settings reach SSM as configured (issue 13 items 2, 3, 6), through the REST API and the real
 * stack against the lab: reboot_policy ALWAYS is a NoReboot patch followed by an explicit reboot command (one
 * command at a time), recorded as `rebooted`; custom_document_parameters are SendCommand's Parameters and are
 * refused without a document; the machine's last_patching says when.
 */
import { newSsmId, startStack, waitFor, waitForEventStatus, type Stack } from '../helpers/stack';

jest.setTimeout(120_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('patch-settings');
});
afterAll(async () => {
  await stack?.close();
});

interface LabCommand {
  command_id: string;
  document_name: string;
  parameters: Record<string, string[]>;
  status: string;
  started_at: string | null;
  ended_at: string | null;
}

interface MachineRecord {
  machine_id: string;
  status: string;
  reason?: string;
  command_id?: string;
  rebooted?: boolean;
  reboot_required?: boolean;
  patched_at?: string;
}

async function machine(ssmId: string, behaviour: object, settings: object) {
  await stack.lab_('PUT', `/_lab/machines/${ssmId}`, { platform: 'Linux', online: true, ...behaviour });
  const r = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
    name: ssmId,
    access: { ssm_machine_id: ssmId, region: 'us-east-1' },
    ...settings,
  });
  expect(r.status).toBe(201);
  return r.body.id;
}

async function runPlan(machineId: string) {
  const plan = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: `plan-${Math.random().toString(36).slice(2, 8)}`,
    cron: '0 3 * * 0',
    window_hours: 0.25,
    machines: [{ machine_id: machineId }],
  });
  expect(plan.status).toBe(201);
  const exec = await stack.api<{ id: string }>('POST', `/api/v1/plans/${plan.body.id}/execute`);
  expect(exec.status).toBe(201);
  const ev = await waitForEventStatus(stack, exec.body.id);
  return ev as unknown as Omit<typeof ev, 'machines' | 'timeline'> & {
    machines: MachineRecord[];
    timeline: { type: string; message: string }[];
  };
}

test('reboot_policy ALWAYS: NoReboot patch, then a reboot command after it, recorded as rebooted', async () => {
  const ssmId = newSsmId();
  // First entry: the patch (no reboot of its own under NoReboot); second: the reboot script (2 s reboot).
  const id = await machine(
    ssmId,
    {
      commands: [
        { duration_s: 1, installed: ['openssl-3.0.15'], reboot_s: 30 },
        { duration_s: 1, reboot_s: 2 },
      ],
    },
    { reboot_policy: 'ALWAYS' },
  );
  const ev = await runPlan(id);
  const m = ev.machines[0];
  expect(m.status).toBe('SUCCESS');
  expect(m.rebooted).toBe(true);
  expect(m.reboot_required).toBe(false);

  const cmds = await stack.lab_<LabCommand[]>('GET', `/_lab/machines/${ssmId}/commands`);
  expect(cmds.map((c) => c.document_name)).toEqual(['AWS-RunPatchBaseline', 'AWS-RunShellScript']);
  expect(cmds[0].parameters.RebootOption).toEqual(['NoReboot']);
  expect(cmds[0].command_id).toBe(m.command_id);
  expect(cmds[1].parameters.commands).toContain('exit 194');
  expect(cmds.every((c) => c.status === 'Success')).toBe(true);
  // One command at a time: the reboot started after the patch ended.
  expect(Date.parse(cmds[1].started_at!)).toBeGreaterThanOrEqual(Date.parse(cmds[0].ended_at!));
  expect(await stack.lab_('GET', '/_lab/overlaps')).toEqual([]);
  expect(ev.timeline.some((t) => t.type === 'machine_rebooted')).toBe(true);

  // The machine's own record says when it was last patched (the patch command's end by SSM's clock).
  const rec = await stack.api<{ last_patching?: { event_id: string; status: string; at?: string } }>(
    'GET',
    `/api/v1/machines/${id}`,
  );
  expect(rec.body.last_patching).toEqual({ event_id: ev.id, status: 'SUCCESS', at: m.patched_at });
  expect(Date.parse(m.patched_at!)).toBe(Date.parse(cmds[0].ended_at!));

  // The reboot is in the machine's log, after the patch.
  const log = await fetch(`${stack.apiUrl}/api/v1/events/${ev.id}/machines/${id}/log`, {
    headers: { authorization: `Bearer ${stack.key}` },
  }).then((r) => r.text());
  expect(log.indexOf('=== patching')).toBeGreaterThanOrEqual(0);
  expect(log.indexOf('=== reboot (reboot_policy ALWAYS)')).toBeGreaterThan(log.indexOf('=== patching'));
});

test('reboot_policy ALWAYS, reboot script fails: FAILED with the reason, not rebooted', async () => {
  const ssmId = newSsmId();
  const id = await machine(
    ssmId,
    {
      commands: [
        { duration_s: 1, installed: ['curl-8.11.1'] },
        { duration_s: 1, outcome: 'failed' },
      ],
    },
    { reboot_policy: 'ALWAYS' },
  );
  const ev = await runPlan(id);
  expect(ev.machines[0].status).toBe('FAILED');
  expect(ev.machines[0].reason).toMatch(/patched, but the reboot \(reboot_policy ALWAYS\) failed/);
  expect(ev.machines[0].rebooted).not.toBe(true);
});

test('IF_NEEDED and NEVER map to RebootIfNeeded and NoReboot, with no reboot command', async () => {
  for (const [policy, option] of [
    ['IF_NEEDED', 'RebootIfNeeded'],
    ['NEVER', 'NoReboot'],
  ]) {
    const ssmId = newSsmId();
    const id = await machine(ssmId, { commands: [{ duration_s: 1 }] }, { reboot_policy: policy });
    const ev = await runPlan(id);
    expect(ev.machines[0].status).toBe('SUCCESS');
    const cmds = await stack.lab_<LabCommand[]>('GET', `/_lab/machines/${ssmId}/commands`);
    expect(cmds).toHaveLength(1);
    expect(cmds[0].parameters.RebootOption).toEqual([option]);
  }
});

test('custom_document_parameters: sent as Parameters; refused (400 naming the field) without a document', async () => {
  const bad = await stack.api<{ error: { details: { path: string }[] } }>('POST', '/api/v1/machines', {
    name: 'no-doc',
    access: { ssm_machine_id: newSsmId(), region: 'us-east-1' },
    custom_document_parameters: { Mode: ['fast'] },
  });
  expect(bad.status).toBe(400);
  expect(bad.body.error.details.map((d) => d.path)).toEqual(['custom_document_parameters']);

  await stack.lab_('PUT', '/_lab/documents/Acme-Patch', {
    steps: [{ name: 'patch' }],
    parameters: { Mode: { allowed: ['fast', 'full'], required: true }, Exclude: {} },
  });
  const ssmId = newSsmId();
  const id = await machine(
    ssmId,
    { commands: [{ duration_s: 1, stdout: 'Installed: acme-1.2\n' }] },
    {
      custom_document_arn: 'Acme-Patch',
      custom_document_parameters: { Mode: ['full'], Exclude: ['a', 'b'] },
    },
  );
  const ev = await runPlan(id);
  expect(ev.machines[0].status).toBe('SUCCESS');
  const cmds = await stack.lab_<LabCommand[]>('GET', `/_lab/machines/${ssmId}/commands`);
  expect(cmds[0].document_name).toBe('Acme-Patch');
  expect(cmds[0].parameters).toEqual({ Mode: ['full'], Exclude: ['a', 'b'] });

  // A PATCH that drops the document but keeps its parameters is refused too, and changes nothing: the patch
  // is valid alone, so it conflicts with the stored machine (409 conflicts_with_stored).
  const patch = await stack.api<{ error: { code: string } }>('PATCH', `/api/v1/machines/${id}`, {
    custom_document_arn: null,
  });
  expect([patch.status, patch.body.error.code]).toEqual([409, 'conflicts_with_stored']);
  const still = await waitFor(
    'the machine record',
    async () => (await stack.api<{ custom_document_arn?: string }>('GET', `/api/v1/machines/${id}`)).body,
    5_000,
  );
  expect(still.custom_document_arn).toBe('Acme-Patch');
});

describe('seed 002: install hooks with AWS-RunPatchBaselineWithHooks', () => {
  const hooks = {
    pre_install: 'PatchingDemo-StopAppGracefully',
    post_install: 'PatchingDemo-UpdateApp',
    on_exit: 'PatchingDemo-StartAppandVerify',
  };
  beforeAll(async () => {
    for (const doc of Object.values(hooks))
      await stack.lab_('PUT', `/_lab/documents/${doc}`, { steps: [{ name: 'run' }] });
  });

  test('the three hook documents run in order around the patch, visible in the event and the log', async () => {
    const ssmId = newSsmId();
    const id = await machine(
      ssmId,
      { commands: [{ duration_s: 2, installed: ['kernel-6.1.119'], reboot_s: 2 }] },
      { install_hooks: hooks },
    );
    const ev = await runPlan(id);
    const m = ev.machines[0];
    expect(m.status).toBe('SUCCESS');
    // The document rebooted (RebootIfNeeded) and SSM's compliance data says so.
    expect(m.rebooted).toBe(true);

    const cmds = await stack.lab_<LabCommand[]>('GET', `/_lab/machines/${ssmId}/commands`);
    expect(cmds).toHaveLength(1);
    expect(cmds[0].document_name).toBe('AWS-RunPatchBaselineWithHooks');
    expect(cmds[0].parameters).toEqual({
      Operation: ['Install'],
      RebootOption: ['RebootIfNeeded'],
      PreInstallHookDocName: [hooks.pre_install],
      PostInstallHookDocName: [hooks.post_install],
      OnExitHookDocName: [hooks.on_exit],
      SnapshotId: [expect.stringMatching(/^[0-9a-f-]{36}$/)],
    });

    const hookEntries = ev.timeline.filter((t) => t.type === 'install_hook').map((t) => t.message);
    expect(hookEntries).toEqual([
      expect.stringMatching(new RegExp(`^PreInstallHookDocName ${hooks.pre_install} .*: Success$`)),
      expect.stringMatching(new RegExp(`^PostInstallHookDocName ${hooks.post_install} .*: Success$`)),
      expect.stringMatching(new RegExp(`^OnExitHookDocName ${hooks.on_exit} .*: Success$`)),
    ]);

    const log = await fetch(`${stack.apiUrl}/api/v1/events/${ev.id}/machines/${id}/log`, {
      headers: { authorization: `Bearer ${stack.key}` },
    }).then((r) => r.text());
    const at = Object.values(hooks).map((d) => log.indexOf(`Running document ${d}`));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    // The patch's own output sits between the pre- and post-install hooks.
    const patch = log.indexOf('kernel-6.1.119');
    expect(patch).toBeGreaterThan(at[0]);
    expect(patch).toBeLessThan(at[1]);
  });

  test('a hook document that does not exist fails the command: FAILED, the on-exit hook still runs', async () => {
    const ssmId = newSsmId();
    const id = await machine(
      ssmId,
      { commands: [{ duration_s: 1 }] },
      { install_hooks: { pre_install: 'No-Such-Document', on_exit: hooks.on_exit } },
    );
    const ev = await runPlan(id);
    expect(ev.machines[0].status).toBe('FAILED');
    const hookEntries = ev.timeline.filter((t) => t.type === 'install_hook').map((t) => t.message);
    expect(hookEntries).toEqual([
      expect.stringMatching(/^PreInstallHookDocName No-Such-Document .*: Failed$/),
      expect.stringMatching(new RegExp(`^OnExitHookDocName ${hooks.on_exit} .*: Success$`)),
    ]);
  });

  test('refused at save where they could not run (400 naming install_hooks)', async () => {
    for (const extra of [{ s3_custom_script: 's3://bucket/patch.sh' }, { update_severity: ['Critical'] }]) {
      const r = await stack.api<{ error: { details: { path: string }[] } }>('POST', '/api/v1/machines', {
        name: 'hooks-bad',
        access: { ssm_machine_id: newSsmId(), region: 'us-east-1' },
        install_hooks: hooks,
        ...extra,
      });
      expect(r.status).toBe(400);
      expect(r.body.error.details.map((d) => d.path)).toContain('install_hooks');
    }
  });
});

describe('seed 003: the patch date as a tag (plan patch_date_tag)', () => {
  const mi = () => `mi-${newSsmId().slice(2)}`;
  const tagsOf = async (ssmId: string) =>
    (await stack.lab_<{ tags: Record<string, string> }>('GET', `/_lab/machines/${ssmId}`)).tags;

  test('EC2 instances through CreateTags, managed nodes through AddTagsToResource; a failed tag only goes on the timeline', async () => {
    const ec2Id = newSsmId();
    const nodeId = mi();
    const fullId = newSsmId();
    const failedId = newSsmId();
    // fullId already has the 50 tags a resource may have: CreateTags is refused (TagLimitExceeded).
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
    const ids = [
      await machine(ec2Id, { commands: [{ duration_s: 1, installed: ['openssl-3.0.15'] }] }, {}),
      await machine(nodeId, { commands: [{ duration_s: 1, outcome: 'no_updates' }] }, {}),
      await machine(fullId, { tags: fifty, commands: [{ duration_s: 1, installed: ['curl-8.11.1'] }] }, {}),
      await machine(failedId, { commands: [{ duration_s: 1, outcome: 'failed' }] }, {}),
    ];
    const plan = await stack.api<{ id: string; patch_date_tag?: { key: string } }>('POST', '/api/v1/plans', {
      name: `plan-${Math.random().toString(36).slice(2, 8)}`,
      cron: '0 3 * * 0',
      window_hours: 0.25,
      machines: ids.map((machine_id) => ({ machine_id })),
      patch_date_tag: { key: 'ACTUAL_PATCH_DATE' },
    });
    expect(plan.status).toBe(201);
    expect(plan.body.patch_date_tag).toEqual({ key: 'ACTUAL_PATCH_DATE' });
    const exec = await stack.api<{ id: string }>('POST', `/api/v1/plans/${plan.body.id}/execute`);
    const ev = (await waitForEventStatus(stack, exec.body.id)) as unknown as {
      status: string;
      machines: MachineRecord[];
      timeline: { type: string; machine_id?: string; message: string }[];
    };
    const row = (id: string) => ev.machines.find((m) => m.machine_id === id)!;
    expect(ids.map((id) => row(id).status)).toEqual(['SUCCESS', 'SUCCESS_NO_UPDATES', 'SUCCESS', 'FAILED']);
    // The tag is the patch command's end by SSM's clock, to the second.
    const ec2Tag = (await tagsOf(ec2Id)).ACTUAL_PATCH_DATE;
    expect(ec2Tag).toBe(row(ids[0]).patched_at!.replace(/\.\d{3}Z$/, 'Z'));
    expect((await tagsOf(nodeId)).ACTUAL_PATCH_DATE).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect((await tagsOf(fullId)).ACTUAL_PATCH_DATE).toBeUndefined();
    expect((await tagsOf(failedId)).ACTUAL_PATCH_DATE).toBeUndefined();

    const tl = (id: string) =>
      ev.timeline.filter((t) => t.machine_id === id && t.type.startsWith('patch_date_tag'));
    expect(tl(ids[0]).map((t) => t.type)).toEqual(['patch_date_tagged']);
    expect(tl(ids[0])[0].message).toContain(`${ec2Id} tagged ACTUAL_PATCH_DATE=${ec2Tag} (EC2 CreateTags)`);
    expect(tl(ids[1])[0].message).toContain('(SSM AddTagsToResource)');
    expect(tl(ids[2]).map((t) => t.type)).toEqual(['patch_date_tag_failed']);
    expect(tl(ids[2])[0].message).toMatch(/EC2 CreateTags.*TagLimitExceeded/);
    expect(tl(ids[3])).toEqual([]);
    // A failed tag changes no status: the event is as its machines make it.
    expect(ev.status).toBe('DONE_PARTIAL');
  });

  test('a tag key AWS refuses is a 400 naming the field', async () => {
    const r = await stack.api<{ error: { details: { path: string }[] } }>('POST', '/api/v1/plans', {
      name: 'bad-tag',
      cron: '0 3 * * 0',
      window_hours: 0.25,
      machines: [{ machine_id: 'mch_x' }],
      patch_date_tag: { key: 'aws:patched' },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.details.map((d) => d.path)).toContain('patch_date_tag.key');
  });
});
