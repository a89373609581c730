/**
 * Out of service while patched (issue 16 item 7, seed 003, docs/behaviour.md#out-of-service), through the REST API
 * and the lab's control API only. A plan with `out_of_service: {auto_scaling: 'standby'}`: an instance of an Auto
 * Scaling group is in Standby exactly while its patch command (with its reboot) runs, and InService before and
 * after; an instance in no group is untouched; an instance whose EnterStandby fails is not patched (FAILED); an
 * ExitStandby that fails a few times is retried until the instance is back in service.
 */
import { newSsmId, startStack, waitForEventStatus, type Stack } from '../helpers/stack';

jest.setTimeout(180_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('standby');
});
afterAll(async () => stack?.close());

interface Lifecycle {
  lifecycle_state: string;
  history: { state: string; at: string }[];
  calls: { action: string; ok: boolean }[];
}
interface LabCommand {
  document_name: string;
  started_at: string;
  ended_at?: string;
}
interface Ev {
  status: string;
  machines: {
    machine_id: string;
    status: string;
    reason?: string;
    out_of_service?: {
      auto_scaling_group: string;
      state: string;
      standby_at?: string;
      in_service_at?: string;
    };
  }[];
  timeline: { type: string; machine_id?: string; message: string }[];
}

async function machine(ssm: string, name: string): Promise<string> {
  // Two seconds of patching, then a two-second reboot while the command is still InProgress (the seed's case).
  await stack.lab_('PUT', `/_lab/machines/${ssm}`, {
    platform: 'Linux',
    online: true,
    commands: [{ duration_s: 2, reboot_s: 2, outcome: 'success', installed: ['kernel-6.1.2'] }],
  });
  const m = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
    name,
    access: { ssm_machine_id: ssm, region: 'us-east-1' },
  });
  expect(m.status).toBe(201);
  return m.body.id;
}

test('an instance of an Auto Scaling group is in Standby exactly while it is patched; one in no group is untouched', async () => {
  const group = `web-${Date.now().toString(36)}`;
  const [inGroup, alone, refused, flaky] = [newSsmId(), newSsmId(), newSsmId(), newSsmId()];
  const ids = [
    await machine(inGroup, 'asg-member'),
    await machine(alone, 'standalone'),
    await machine(refused, 'asg-refuses-standby'),
    await machine(flaky, 'asg-exit-flaky'),
  ];
  await stack.lab_('PUT', `/_lab/autoscaling/instances/${inGroup}`, { group });
  // Every EnterStandby call of this one is refused (ResourceContention, after the SDK's own retries).
  await stack.lab_('PUT', `/_lab/autoscaling/instances/${refused}`, { group, fail: { EnterStandby: 1000 } });
  // The first four ExitStandby calls fail: more than one activity attempt's SDK retries, fewer than the bound.
  await stack.lab_('PUT', `/_lab/autoscaling/instances/${flaky}`, { group, fail: { ExitStandby: 4 } });

  const plan = await stack.api<{ id: string; out_of_service?: unknown }>('POST', '/api/v1/plans', {
    name: `standby-${group}`,
    cron: '0 3 * * 0',
    window_hours: 0.25,
    machines: ids.map((machine_id) => ({ machine_id, order: 1 })),
    out_of_service: { auto_scaling: 'standby' },
  });
  expect([plan.status, JSON.stringify(plan.body)]).toEqual([201, expect.any(String)]);
  expect(plan.body.out_of_service).toEqual({ auto_scaling: 'standby' });
  const exec = await stack.api<{ id: string }>('POST', `/api/v1/plans/${plan.body.id}/execute`);
  expect(exec.status).toBe(201);
  const done = await waitForEventStatus(stack, exec.body.id, undefined, 150_000);
  const ev = (await stack.api<Ev>('GET', `/api/v1/events/${done.id}`)).body;
  const row = (id: string) => ev.machines.find((m) => m.machine_id === id)!;
  const tl = (id: string) => ev.timeline.filter((t) => t.machine_id === id && t.type.startsWith('standby'));
  const life = (ssm: string) => stack.lab_<Lifecycle>('GET', `/_lab/autoscaling/instances/${ssm}`);
  const patchCommand = async (ssm: string) => {
    const cmds = await stack.lab_<LabCommand[]>('GET', `/_lab/machines/${ssm}/commands`);
    expect(cmds).toHaveLength(1);
    return cmds[0];
  };

  // In the group: InService → Standby → InService, Standby spanning the patch command (and its reboot).
  expect(row(ids[0]).status).toBe('SUCCESS');
  const a = await life(inGroup);
  expect(a.lifecycle_state).toBe('InService');
  expect(a.history.map((h) => h.state)).toEqual(['InService', 'Standby', 'InService']);
  const cmd = await patchCommand(inGroup);
  expect(Date.parse(a.history[1].at)).toBeLessThanOrEqual(Date.parse(cmd.started_at));
  expect(Date.parse(a.history[2].at)).toBeGreaterThanOrEqual(Date.parse(cmd.ended_at!));
  expect(a.calls.map((c) => c.action)).toEqual(['EnterStandby', 'ExitStandby']);
  expect(tl(ids[0]).map((t) => t.type)).toEqual(['standby_entered', 'standby_exited']);
  expect(tl(ids[0])[0].message).toContain(`in Standby in Auto Scaling group ${group}`);
  expect(row(ids[0]).out_of_service).toMatchObject({ auto_scaling_group: group, state: 'in_service' });

  // In no group: patched, nothing asked of Auto Scaling for it, nothing on the timeline.
  expect(row(ids[1]).status).toBe('SUCCESS');
  await expect(life(alone)).rejects.toThrow(/404/);
  expect(tl(ids[1])).toEqual([]);
  expect(row(ids[1]).out_of_service).toBeUndefined();

  // EnterStandby refused: not patched, FAILED with the reason, still InService.
  expect(row(ids[2]).status).toBe('FAILED');
  expect(row(ids[2]).reason).toMatch(
    /^not patched: could not put it in Standby first: EnterStandby .*ResourceContention/,
  );
  expect(await stack.lab_<LabCommand[]>('GET', `/_lab/machines/${refused}/commands`)).toEqual([]);
  expect((await life(refused)).history.map((h) => h.state)).toEqual(['InService']);
  // ResourceContention is a 5xx: the call may have been carried out after all, so the run checked and found nothing to undo.
  expect(tl(ids[2]).map((t) => t.type)).toEqual(['standby_enter_failed', 'standby_checked']);
  expect(row(ids[2]).out_of_service).toMatchObject({ auto_scaling_group: group, state: 'enter_failed' });

  // ExitStandby failing for a while: retried (bounded) until the instance is back in service.
  expect(row(ids[3]).status).toBe('SUCCESS');
  const f = await life(flaky);
  expect(f.history.map((h) => h.state)).toEqual(['InService', 'Standby', 'InService']);
  expect(f.calls.filter((c) => c.action === 'ExitStandby').map((c) => c.ok)).toEqual([
    false,
    false,
    false,
    false,
    true,
  ]);
  expect(tl(ids[3]).map((t) => t.type)).toEqual(['standby_entered', 'standby_exited']);

  expect(ev.status).toBe('DONE_PARTIAL');
});
