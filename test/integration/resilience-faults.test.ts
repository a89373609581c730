/**
 * Cloud misbehaviour (issue 8 §2), on the real servers with the fleet lab injecting faults into SSM:
 * ThrottlingException, 5xx and connection resets at a moderate rate with slow answers, a command SSM does not
 * know for a while after it was sent, and a command stuck InProgress while its machine reboots. Every event
 * must end with the contract's machine statuses, and the lab must show one SSM command per machine step, each
 * tracked by the store and finished, and never two at once on a machine.
 */
import { newSsmId, startStack, waitFor, type Stack } from '../helpers/stack';
import { answer, fleet, machineOf, type FleetMachine } from '../helpers/e2e-fleet';
import { auditCommands } from '../helpers/chaos';

jest.setTimeout(300_000);

let stack: Stack;
let f: ReturnType<typeof fleet>;
beforeAll(async () => {
  stack = await startStack('resilience_faults');
  f = fleet(stack);
});
afterEach(async () => {
  await stack.lab_('PUT', '/_lab/faults', {});
});
afterAll(async () => {
  await stack?.close();
});

interface LabStats {
  faults_injected: { throttle: number; error_5xx: number; reset: number };
}

async function expectCleanCommands(machines: FleetMachine[], perMachine: Record<string, number>) {
  for (const m of machines) {
    const cmds = await f.commands(m.ssmId);
    expect([m.name, cmds.length]).toEqual([m.name, perMachine[m.id] ?? 1]);
  }
  const audit = await auditCommands(
    stack,
    stack.db.db,
    machines.map((m) => m.ssmId),
  );
  expect(audit.duplicates).toEqual([]);
  expect(audit.untracked).toEqual([]);
  expect(audit.phantom).toEqual([]);
  expect(audit.unfinished).toEqual([]);
  expect(audit.overlaps).toEqual([]);
  expect(await f.overlaps()).toEqual([]);
}

test('throttling, 5xx, connection resets and slow answers are absorbed; every machine ends as scripted', async () => {
  const ok = await f.machine({
    commands: [{ duration_s: 2, outcome: 'success', installed: ['openssl-3.0.13'] }],
  });
  const none = await f.machine({ commands: [{ duration_s: 2, outcome: 'no_updates', installed: [] }] });
  const bad = await f.machine({ commands: [{ duration_s: 2, outcome: 'failed', installed: [] }] });
  const offline = await f.machine({ online: false });
  const scripted = await f.machine({
    commands: [
      { duration_s: 1, outcome: 'success', installed: ['openssl-3.0.13'] },
      { duration_s: 1, outcome: 'success', stdout: 'checked' },
    ],
  });
  const check = await f.script('#!/bin/sh\necho checked\n');
  const pre = await f.lambda([answer(200, 'pre ok', '')]);

  await stack.lab_('PUT', '/_lab/faults', {
    ssm: { throttle_rate: 0.2, error_5xx_rate: 0.1, reset_rate: 0.1, delay_ms: 150 },
  });
  const planId = await f.plan({
    window_hours: 0.5,
    pre_hooks: [pre.hook],
    machines: [
      { machine_id: ok.id },
      { machine_id: none.id },
      { machine_id: bad.id },
      { machine_id: offline.id },
      { machine_id: scripted.id, post_host_hooks: [{ type: 'script', source: check }] },
    ],
  });
  const ev = await f.finished(await f.execute(planId), 240_000);

  expect(machineOf(ev, ok.id).status).toBe('SUCCESS');
  expect(machineOf(ev, none.id).status).toBe('SUCCESS_NO_UPDATES');
  expect(machineOf(ev, bad.id).status).toBe('FAILED');
  expect(machineOf(ev, offline.id).status).toBe('NOT_AVAILABLE');
  expect(machineOf(ev, scripted.id).status).toBe('SUCCESS');
  expect(machineOf(ev, scripted.id).hooks.map((h) => [h.name, h.code, h.output.trim()])).toEqual([
    ['post_host_0', 200, 'checked'],
  ]);
  expect(ev.status).toBe('DONE_PARTIAL');

  // The faults really happened, on enough calls to matter.
  const stats = await stack.lab_<LabStats>('GET', '/_lab/stats');
  const injected = stats.faults_injected;
  expect(injected.throttle).toBeGreaterThan(0);
  expect(injected.error_5xx + injected.reset).toBeGreaterThan(0);

  await stack.lab_('PUT', '/_lab/faults', {});
  // An offline machine is found offline before anything is sent to it.
  await expectCleanCommands([ok, none, bad, offline, scripted], { [scripted.id]: 2, [offline.id]: 0 });
  expect(await f.lambdaCalls(pre.name)).toHaveLength(1);
});

test('a command SSM reports as unknown for a while after sending is followed to its end, not resent', async () => {
  const m = await f.machine({ commands: [{ duration_s: 2, outcome: 'success', installed: ['curl-8.5.0'] }] });
  const failing = await f.machine({ commands: [{ duration_s: 2, outcome: 'failed', installed: [] }] });
  await stack.lab_('PUT', '/_lab/faults', { unknown_after_send_s: 8 });
  const planId = await f.plan({
    window_hours: 0.5,
    machines: [{ machine_id: m.id }, { machine_id: failing.id }],
  });
  const eventId = await f.execute(planId);

  // For 8 s SSM answers InvocationDoesNotExist and leaves it out of its lists: Patchwave must keep following.
  const sent = await waitFor('the command to reach the lab', async () => {
    const c = await f.commands(m.ssmId);
    return c.length > 0 ? c[0] : undefined;
  });
  const ev = await f.finished(eventId, 120_000);
  expect(machineOf(ev, m.id).status).toBe('SUCCESS');
  expect(machineOf(ev, m.id).installed).toEqual(['curl-8.5.0']);
  expect(machineOf(ev, failing.id).status).toBe('FAILED');
  expect(ev.status).toBe('DONE_PARTIAL');
  expect(machineOf(ev, m.id).command_id).toBe(sent.command_id);
  await stack.lab_('PUT', '/_lab/faults', {});
  await expectCleanCommands([m, failing], {});
});

test('a command stuck InProgress while its machine reboots ends SUCCESS; the next command waits for it', async () => {
  const rebooting = await f.machine({
    commands: [
      { duration_s: 2, outcome: 'success', installed: ['kernel-6.1.0'], reboot_s: 12 },
      { duration_s: 1, outcome: 'success', stdout: 'up again' },
    ],
    fields: { reboot_policy: 'IF_NEEDED' },
  });
  const after = await f.script('#!/bin/sh\necho up again\n');
  const planId = await f.plan({
    window_hours: 0.5,
    machines: [{ machine_id: rebooting.id, post_host_hooks: [{ type: 'script', source: after }] }],
  });
  // Faults on top: the reboot must be absorbed while SSM also misbehaves.
  await stack.lab_('PUT', '/_lab/faults', { ssm: { throttle_rate: 0.1, error_5xx_rate: 0.05 } });
  const eventId = await f.execute(planId);

  // The machine drops off SSM during its reboot while the command still says InProgress.
  await waitFor('the machine to be rebooting', async () => {
    const info = await stack.lab_<{ ping_status: string }>('GET', `/_lab/machines/${rebooting.ssmId}`);
    return info.ping_status === 'ConnectionLost' ? true : undefined;
  });
  const [cmd] = await f.commands(rebooting.ssmId);
  expect(cmd.status).toBe('InProgress');
  const during = await stack.api<{ status: string; machines: { machine_id: string; status: string }[] }>(
    'GET',
    `/api/v1/events/${eventId}`,
  );
  expect(during.body.status).toBe('IN_PROGRESS');
  expect(during.body.machines[0].status).toBe('IN_PROGRESS');

  const ev = await f.finished(eventId, 120_000);
  expect(ev.status).toBe('DONE');
  expect(machineOf(ev, rebooting.id).status).toBe('SUCCESS');
  expect(machineOf(ev, rebooting.id).hooks.map((h) => [h.name, h.code])).toEqual([['post_host_0', 200]]);
  const cmds = await f.commands(rebooting.ssmId);
  expect(cmds.map((c) => c.document_name)).toEqual(['AWS-RunPatchBaseline', 'AWS-RunShellScript']);
  // The script hook started only after the patch command (reboot included) had ended.
  expect(Date.parse(cmds[1].started_at!)).toBeGreaterThanOrEqual(Date.parse(cmds[0].ended_at!));
  await stack.lab_('PUT', '/_lab/faults', {});
  await expectCleanCommands([rebooting], { [rebooting.id]: 2 });
});

test('a dynamic plan whose scan is throttled past the SDK retries is retried, not failed', async () => {
  const fleetTag = `resilience-${Date.now().toString(36)}`;
  const ssmId = newSsmId();
  await stack.lab_('PUT', `/_lab/machines/${ssmId}`, {
    platform: 'Linux',
    online: true,
    tags: { Fleet: fleetTag },
    commands: [{ duration_s: 1, outcome: 'success', installed: ['openssl-3.0.13'] }],
  });
  const planId = await f.plan({
    window_hours: 0.5,
    dynamic: [{ tags: { Fleet: [fleetTag] }, regions: ['us-east-1'] }],
  });
  const throttled = async () => (await stack.lab_<LabStats>('GET', '/_lab/stats')).faults_injected.throttle;
  const before = await throttled();
  // Every SSM call is throttled until the scan has failed through all of the SDK's own attempts and more.
  await stack.lab_('PUT', '/_lab/faults', { ssm: { throttle_rate: 1 } });
  const eventId = await f.execute(planId);
  await waitFor('the scan to be throttled past the SDK retries', async () =>
    (await throttled()) >= before + 4 ? true : undefined,
  );
  await stack.lab_('PUT', '/_lab/faults', {});

  const ev = await f.finished(eventId, 120_000);
  expect(ev.machines.map((m) => [m.ssm_machine_id, m.status])).toEqual([[ssmId, 'SUCCESS']]);
  expect(ev.status).toBe('DONE');
  expect(await f.commands(ssmId)).toHaveLength(1);
});
