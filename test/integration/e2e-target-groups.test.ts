/**
 * Out of service while patched, load-balancer half (issue 16 item 7, docs/behaviour.md#out-of-service), through the
 * REST API and the lab's control API only. A plan with `out_of_service: {target_groups: 'deregister'}`: an instance
 * registered in two target groups is deregistered from both, drained, patched (with its reboot) and registered
 * again, healthy, after; an instance in no group is untouched; an instance whose RegisterTargets keeps failing is
 * recorded as left out (FAILED, timeline, machine record) and an operator gets an `error` notification. With Auto
 * Scaling standby as well, the target groups are left before Standby and rejoined after it; a refused
 * DeregisterTargets means not patched and still registered.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { newSsmId, startStack, waitFor, waitForEventStatus, type Stack } from '../helpers/stack';

jest.setTimeout(240_000);

let stack: Stack;
let receiver: Server;
let receiverUrl: string;
const received: { type: string; severity: string; text: string }[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  stack = await startStack('target-groups', {
    env: { PATCHWAVE_WEBHOOK_SECRET: 'test-webhook-secret-0123456789' },
  });
});
afterAll(async () => {
  await stack?.close();
  await new Promise((r) => receiver?.close(r));
});

interface LabGroup {
  arn: string;
  targets: { id: string; port: number; state: string; history: { state: string; at: string }[] }[];
  calls: { action: string; ok: boolean }[];
}
interface LabCommand {
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
      run_no: number;
      target_groups?: {
        arn: string;
        ports: number[];
        state: string;
        deregistered_at?: string;
        healthy_at?: string;
      }[];
    };
  }[];
  timeline: { type: string; machine_id?: string; message: string }[];
}

async function machine(ssm: string, name: string): Promise<string> {
  // Two seconds of patching, then a two-second reboot while the command is still InProgress.
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

test('an instance behind target groups is out of them (drained) exactly while patched, and healthy in them after; a failing RegisterTargets is recorded and notified', async () => {
  const sfx = Date.now().toString(36);
  const [member, alone, stuck] = [newSsmId(), newSsmId(), newSsmId()];
  const ids = [
    await machine(member, 'lb-member'),
    await machine(alone, 'no-lb'),
    await machine(stuck, 'lb-stuck'),
  ];
  // Two groups hold the member (one on two ports); the third group refuses every RegisterTargets.
  const web = `web-${sfx}`;
  const api = `api-${sfx}`;
  const bad = `bad-${sfx}`;
  const other = 'i-0123456789abcdef0';
  await stack.lab_('PUT', `/_lab/elbv2/target-groups/${web}`, {
    deregistration_delay_s: 3,
    health_check_ms: 1500,
    targets: [{ id: member }, { id: other }],
  });
  await stack.lab_('PUT', `/_lab/elbv2/target-groups/${api}`, {
    port: 8080,
    deregistration_delay_s: 1,
    targets: [{ id: member }, { id: member, port: 8443 }],
  });
  await stack.lab_('PUT', `/_lab/elbv2/target-groups/${bad}`, {
    deregistration_delay_s: 1,
    targets: [{ id: stuck }],
    fail: { RegisterTargets: 1000 },
  });

  const group = await stack.api<{ id: string }>('POST', '/api/v1/notification-groups', {
    name: `ops-${sfx}`,
    min_severity: 'INFO',
    channels: [{ type: 'webhook', url: receiverUrl }],
  });
  expect(group.status).toBe(201);
  const plan = await stack.api<{ id: string; out_of_service?: unknown }>('POST', '/api/v1/plans', {
    name: `lb-${sfx}`,
    cron: '0 3 * * 0',
    window_hours: 0.25,
    notification_groups: [group.body.id],
    machines: ids.map((machine_id) => ({ machine_id, order: 1 })),
    out_of_service: { target_groups: 'deregister' },
  });
  expect([plan.status, JSON.stringify(plan.body)]).toEqual([201, expect.any(String)]);
  expect(plan.body.out_of_service).toEqual({ target_groups: 'deregister' });
  // Neither mode set, or an ARN list without target_groups: 400 naming the field.
  const refused = await stack.api<{ details: { path: string }[] }>('POST', '/api/v1/plans', {
    name: `lb-bad-${sfx}`,
    cron: '0 3 * * 0',
    window_hours: 1,
    machines: [{ machine_id: ids[0], order: 0 }],
    out_of_service: {},
  });
  expect(refused.status).toBe(400);
  expect(JSON.stringify(refused.body)).toContain('auto_scaling');

  const exec = await stack.api<{ id: string }>('POST', `/api/v1/plans/${plan.body.id}/execute`);
  expect(exec.status).toBe(201);
  const done = await waitForEventStatus(stack, exec.body.id, undefined, 200_000);
  const ev = (await stack.api<Ev>('GET', `/api/v1/events/${done.id}`)).body;
  const row = (id: string) => ev.machines.find((m) => m.machine_id === id)!;
  const tl = (id: string) =>
    ev.timeline.filter((t) => t.machine_id === id && t.type.startsWith('target_groups'));
  const labGroup = (name: string) => stack.lab_<LabGroup>('GET', `/_lab/elbv2/target-groups/${name}`);
  const patchCommand = async (ssm: string) => {
    const cmds = await stack.lab_<LabCommand[]>('GET', `/_lab/machines/${ssm}/commands`);
    expect(cmds).toHaveLength(1);
    return cmds[0];
  };

  // The member: healthy → draining → gone before the command started; registered again after it ended; healthy.
  expect(row(ids[0]).status).toBe('SUCCESS');
  const cmd = await patchCommand(member);
  const w = await labGroup(web);
  const t = w.targets.find((x) => x.id === member)!;
  expect(t.state).toBe('healthy');
  expect(t.history.map((h) => h.state)).toEqual(['healthy', 'draining', 'unused', 'initial', 'healthy']);
  const when = (i: number) => Date.parse(t.history[i].at);
  expect(when(1)).toBeLessThanOrEqual(Date.parse(cmd.started_at));
  expect(when(2)).toBeLessThanOrEqual(Date.parse(cmd.started_at)); // drained before the patch
  expect(when(2) - when(1)).toBeGreaterThanOrEqual(3000); // the group's deregistration delay
  expect(when(3)).toBeGreaterThanOrEqual(Date.parse(cmd.ended_at!));
  // The other instance of the group was never touched.
  expect(w.targets.find((x) => x.id === other)!.history.map((h) => h.state)).toEqual(['healthy']);
  // Both ports of the second group, out and back.
  const a = await labGroup(api);
  expect(a.targets.map((x) => [x.port, x.history.map((h) => h.state)])).toEqual([
    [8080, ['healthy', 'draining', 'unused', 'healthy']],
    [8443, ['healthy', 'draining', 'unused', 'healthy']],
  ]);
  expect(tl(ids[0]).map((e) => e.type)).toEqual([
    'target_groups_draining',
    'target_groups_drained',
    'target_groups_registered',
    'target_groups_healthy',
  ]);
  expect(tl(ids[0])[1].message).toContain(`${web} (port 80)`);
  expect(tl(ids[0])[1].message).toContain(`${api} (port 8080, 8443)`);
  expect(row(ids[0]).out_of_service?.target_groups).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ arn: w.arn, ports: [80], state: 'healthy' }),
      expect.objectContaining({ arn: a.arn, ports: [8080, 8443], state: 'healthy' }),
    ]),
  );
  expect(row(ids[0]).out_of_service?.target_groups).toHaveLength(2);

  // In no group: patched, nothing on the timeline or in the record.
  expect(row(ids[1]).status).toBe('SUCCESS');
  expect(tl(ids[1])).toEqual([]);
  expect(row(ids[1]).out_of_service).toBeUndefined();

  // RegisterTargets refused every time: patched, but FAILED as left out; timeline, record and an `error` notice.
  const s = row(ids[2]);
  expect(s.status).toBe('FAILED');
  expect(s.reason).toMatch(
    new RegExp(
      `^patched \\(SUCCESS\\), but left out of load-balancer target group\\(s\\) ${bad}: RegisterTargets \\(target group ${bad}\\) failed: ServiceUnavailable`,
    ),
  );
  expect(tl(ids[2]).map((e) => e.type)).toEqual([
    'target_groups_draining',
    'target_groups_drained',
    'target_groups_register_failed',
  ]);
  expect(s.out_of_service?.target_groups).toEqual([expect.objectContaining({ state: 'register_failed' })]);
  const b = await labGroup(bad);
  expect(b.targets[0].history.map((h) => h.state)).toEqual(['healthy', 'draining', 'unused']);
  expect(b.calls.filter((c) => c.action === 'RegisterTargets').length).toBeGreaterThan(3); // retried, bounded
  const notice = await waitFor('the error notice for the stuck instance', async () =>
    received.find((r) => r.type === 'error' && r.text.includes(`left out of target group(s) ${bad}`)),
  );
  expect(notice.text).toContain('aws elbv2 register-targets');

  expect(ev.status).toBe('DONE_PARTIAL');
});

test('with Auto Scaling standby too: out of the target group before Standby, back in it after; a refused DeregisterTargets is not patched and stays registered', async () => {
  const sfx = Date.now().toString(36);
  const [both, refused] = [newSsmId(), newSsmId()];
  const ids = [await machine(both, 'asg-and-lb'), await machine(refused, 'lb-refuses')];
  const asg = `asg-${sfx}`;
  await stack.lab_('PUT', `/_lab/autoscaling/instances/${both}`, { group: asg });
  const shop = await stack.lab_<LabGroup>('PUT', `/_lab/elbv2/target-groups/shop-${sfx}`, {
    deregistration_delay_s: 1,
    health_check_ms: 500,
    targets: [{ id: both }],
  });
  const locked = await stack.lab_<LabGroup>('PUT', `/_lab/elbv2/target-groups/locked-${sfx}`, {
    deregistration_delay_s: 1,
    targets: [{ id: refused }],
    fail: { DeregisterTargets: 1000 },
  });
  const plan = await stack.api<{ id: string; out_of_service?: unknown }>('POST', '/api/v1/plans', {
    name: `asg-lb-${sfx}`,
    cron: '0 3 * * 0',
    window_hours: 0.25,
    machines: ids.map((machine_id) => ({ machine_id, order: 1 })),
    // Only these groups are looked at (no scan of the region's groups).
    out_of_service: {
      auto_scaling: 'standby',
      target_groups: 'deregister',
      target_group_arns: [shop.arn, locked.arn],
    },
  });
  expect([plan.status, JSON.stringify(plan.body)]).toEqual([201, expect.any(String)]);
  const exec = await stack.api<{ id: string }>('POST', `/api/v1/plans/${plan.body.id}/execute`);
  const done = await waitForEventStatus(stack, exec.body.id, undefined, 150_000);
  const ev = (await stack.api<Ev>('GET', `/api/v1/events/${done.id}`)).body;
  const row = (id: string) => ev.machines.find((m) => m.machine_id === id)!;
  const steps = (id: string) =>
    ev.timeline
      .filter(
        (t) => t.machine_id === id && (t.type.startsWith('target_groups') || t.type.startsWith('standby')),
      )
      .map((t) => t.type);

  // Both: drained out of the group → Standby → patch → out of Standby → registered → healthy.
  expect(row(ids[0]).status).toBe('SUCCESS');
  expect(steps(ids[0])).toEqual([
    'target_groups_draining',
    'target_groups_drained',
    'standby_entered',
    'standby_exited',
    'target_groups_registered',
    'target_groups_healthy',
  ]);
  const target = (await stack.lab_<LabGroup>('GET', `/_lab/elbv2/target-groups/shop-${sfx}`)).targets[0];
  const life = await stack.lab_<{ history: { state: string; at: string }[] }>(
    'GET',
    `/_lab/autoscaling/instances/${both}`,
  );
  expect(target.history.map((h) => h.state)).toEqual(['healthy', 'draining', 'unused', 'initial', 'healthy']);
  expect(life.history.map((h) => h.state)).toEqual(['InService', 'Standby', 'InService']);
  expect(Date.parse(target.history[2].at)).toBeLessThanOrEqual(Date.parse(life.history[1].at));
  expect(Date.parse(target.history[3].at)).toBeGreaterThanOrEqual(Date.parse(life.history[2].at));
  expect(row(ids[0]).out_of_service).toMatchObject({
    auto_scaling_group: asg,
    state: 'in_service',
    target_groups: [expect.objectContaining({ arn: shop.arn, state: 'healthy' })],
  });

  // DeregisterTargets refused: not patched, no command sent, still registered and healthy (registered again).
  expect(row(ids[1]).status).toBe('FAILED');
  expect(row(ids[1]).reason).toMatch(
    /^not patched: could not take it out of its load-balancer target groups first: DeregisterTargets .*ServiceUnavailable/,
  );
  expect(await stack.lab_<LabCommand[]>('GET', `/_lab/machines/${refused}/commands`)).toEqual([]);
  const l = await stack.lab_<LabGroup>('GET', `/_lab/elbv2/target-groups/locked-${sfx}`);
  expect(l.targets[0].history.map((h) => h.state)).toEqual(['healthy']);
  expect(l.calls.filter((c) => c.action === 'RegisterTargets' && c.ok)).toHaveLength(1);
  expect(steps(ids[1])).toEqual([
    'target_groups_deregister_failed',
    'target_groups_registered',
    'target_groups_healthy',
  ]);
});
