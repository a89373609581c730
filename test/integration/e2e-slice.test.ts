/**
 * The first vertical slice, end to end on the real servers: machine and plan through the REST API,
 * execute → event workflow → machine child → AWS-RunPatchBaseline via the real SSM client to the lab →
 * statuses stored in MongoDB and returned by GET /api/v1/events/:id.
 */
import { newSsmId, startStack, waitForEventStatus, type Stack } from '../helpers/stack';

jest.setTimeout(120_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('slice');
});
afterAll(async () => {
  await stack?.close();
});

interface LabCommand {
  command_id: string;
  document_name: string;
  parameters: Record<string, string[]>;
  status: string;
}

async function machineWithBehaviour(ssmId: string, behaviour: object, name = ssmId) {
  await stack.lab_('PUT', `/_lab/machines/${ssmId}`, { platform: 'Linux', online: true, ...behaviour });
  const r = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
    name,
    access: { ssm_machine_id: ssmId, region: 'us-east-1' },
    reboot_policy: 'NEVER',
  });
  expect(r.status).toBe(201);
  return r.body.id;
}

async function planFor(machineIds: string[], extra: object = {}) {
  const r = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: `plan-${Math.random().toString(36).slice(2, 8)}`,
    cron: '0 3 * * 0',
    window_hours: 0.05,
    machines: machineIds.map((machine_id) => ({ machine_id })),
    ...extra,
  });
  expect(r.status).toBe(201);
  return r.body.id;
}

test.each([
  [
    'success',
    { duration_s: 1, outcome: 'success', installed: ['openssl-3.0.13', 'curl-8.5.0'] },
    'SUCCESS',
    'DONE',
  ],
  ['no_updates', { duration_s: 1, outcome: 'no_updates', installed: [] }, 'SUCCESS_NO_UPDATES', 'DONE'],
  ['failed', { duration_s: 1, outcome: 'failed', installed: [] }, 'FAILED', 'DONE_ERROR'],
])('one machine, outcome %s → %s, event %s', async (label, command, machineStatus, eventStatus) => {
  void label;
  const ssmId = newSsmId();
  const machineId = await machineWithBehaviour(ssmId, { commands: [command] });
  const planId = await planFor([machineId]);

  const exec = await stack.api<{ id: string; status: string }>('POST', `/api/v1/plans/${planId}/execute`);
  expect(exec.status).toBe(201);
  expect(exec.body.id).toMatch(new RegExp(`^${planId}-\\d{8}T\\d{6}Z$`));

  const ev = await waitForEventStatus(stack, exec.body.id);
  expect(ev.status).toBe(eventStatus);
  expect(ev.machines).toHaveLength(1);
  expect(ev.machines[0].status).toBe(machineStatus);
  expect(ev.machines[0].command_id).toBeTruthy();

  const cmds = await stack.lab_<LabCommand[]>('GET', `/_lab/machines/${ssmId}/commands`);
  expect(cmds).toHaveLength(1);
  expect(cmds[0].command_id).toBe(ev.machines[0].command_id);
  expect(cmds[0].document_name).toBe('AWS-RunPatchBaseline');
  expect(cmds[0].parameters.Operation).toEqual(['Install']);
  expect(cmds[0].parameters.RebootOption).toEqual(['NoReboot']);
  if (machineStatus === 'SUCCESS') expect(ev.machines[0].installed).toEqual(['openssl-3.0.13', 'curl-8.5.0']);
});

test('bad machine and plan input → 400 naming each field, nothing written', async () => {
  const before = await stack.api<{ items: unknown[] }>('GET', '/api/v1/machines?limit=500');
  const bad = await stack.api<{ error: { details: { path: string }[] } }>('POST', '/api/v1/machines', {
    name: '',
    access: { ssm_machine_id: 'nope', region: 'mars' },
  });
  expect(bad.status).toBe(400);
  const paths = JSON.stringify(bad.body.error.details);
  expect(paths).toContain('name');
  expect(paths).toContain('ssm_machine_id');
  expect(paths).toContain('region');
  const badPlan = await stack.api<{ error: { details: unknown[] } }>('POST', '/api/v1/plans', {
    name: 'x',
    cron: 'every day',
    window_hours: -1,
    machines: [],
  });
  expect(badPlan.status).toBe(400);
  expect(JSON.stringify(badPlan.body.error.details)).toMatch(
    /cron[\s\S]*window_hours|window_hours[\s\S]*cron/,
  );
  const after = await stack.api<{ items: unknown[] }>('GET', '/api/v1/machines?limit=500');
  expect(after.body.items.length).toBe(before.body.items.length);
});

test('results come from SSM’s patch data, not stdout: exact patches, reboot fields, and no-updates', async () => {
  // Arbitrary stdout: the lab installs two packages (without a reboot under NoReboot).
  const a = newSsmId();
  const aId = await machineWithBehaviour(a, {
    commands: [
      {
        duration_s: 1,
        outcome: 'success',
        installed: ['openssl-3.0.15', 'kernel-6.1.119'],
        stdout: 'whatever the document printed',
      },
    ],
  });
  // Output that claims installs while the lab installed nothing.
  const b = newSsmId();
  const bId = await machineWithBehaviour(b, {
    commands: [{ duration_s: 1, outcome: 'no_updates', stdout: 'Installed: fake-1.0\nInstalledCount: 1' }],
  });
  // Rebooted by the document (IF_NEEDED → RebootIfNeeded, the lab reboots for reboot_s).
  const c = newSsmId();
  await stack.lab_('PUT', `/_lab/machines/${c}`, {
    platform: 'Linux',
    commands: [{ duration_s: 1, outcome: 'success', installed: ['curl-8.11.1'], reboot_s: 1, stdout: '' }],
  });
  const rc = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
    name: c,
    access: { ssm_machine_id: c, region: 'us-east-1' },
    reboot_policy: 'IF_NEEDED',
  });
  expect(rc.status).toBe(201);
  const planId = await planFor([aId, bId, rc.body.id]);
  const exec = await stack.api<{ id: string }>('POST', `/api/v1/plans/${planId}/execute`);
  const ev = await waitForEventStatus(stack, exec.body.id);
  const byId = (id: string) =>
    ev.machines.find((m) => m.machine_id === id) as unknown as Record<string, unknown>;

  const ma = byId(aId);
  expect(ma.status).toBe('SUCCESS');
  expect(ma.installed).toEqual(['openssl-3.0.15', 'kernel-6.1.119']);
  expect((ma.patches as { kb_id: string; state: string }[]).map((p) => [p.kb_id, p.state])).toEqual([
    ['openssl.x86_64', 'INSTALLED_PENDING_REBOOT'],
    ['kernel.x86_64', 'INSTALLED_PENDING_REBOOT'],
  ]);
  expect(ma).toMatchObject({ reboot_required: true, rebooted: false });
  expect(typeof ma.patched_at).toBe('string');

  const mb = byId(bId);
  expect(mb.status).toBe('SUCCESS_NO_UPDATES');
  expect(mb.installed).toEqual([]);

  const mc = byId(rc.body.id);
  expect(mc.status).toBe('SUCCESS');
  expect(mc.installed).toEqual(['curl-8.11.1']);
  expect(mc).toMatchObject({ reboot_required: false, rebooted: true });
});
