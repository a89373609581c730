/**
 * The target-group activities (activities/target-groups.ts) against the lab's ELBv2 and SSM stand-ins through the
 * real SDK clients, with an in-memory event record: the paths the end-to-end test does not take in its time (a
 * target not healthy again within the bound, a registration someone else is draining, a retried deregistration).
 */
import {
  DeregisterTargetsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createTargetGroupActivities, type TargetGroupsDeps } from '../../../activities/target-groups';
import type { Lab } from '../../../lab/server';
import { LAB_CREDENTIALS, startLab } from '../lab/helpers';

const ID = 'i-0aaaaaaaaaaaaaaa1';
const OTHER = 'i-0bbbbbbbbbbbbbbb2';

describe('target-group activities (lab ELBv2)', () => {
  let lab: Lab;
  let elb: ElasticLoadBalancingV2Client;
  let ssm: SSMClient;
  let machine: { out_of_service?: Record<string, unknown> };
  let timeline: { key: string; type: string; message: string }[];
  let notices: { type: string; reason?: string }[];
  let snapshotOos: Record<string, unknown>;

  const put = async (name: string, body: unknown) => {
    const r = await fetch(`${lab.url}/_lab/elbv2/target-groups/${name}`, {
      method: 'PUT',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    expect(r.status).toBe(200);
    return (await r.json()) as { arn: string };
  };
  const view = async (name: string) =>
    (await (await fetch(`${lab.url}/_lab/elbv2/target-groups/${name}`)).json()) as {
      targets: { id: string; state: string; history: { state: string }[] }[];
      calls: { action: string }[];
    };

  function acts(extra: Partial<TargetGroupsDeps> = {}) {
    const records = {
      getEvent: async () => ({
        plan_snapshot: {
          machines: [{ machine_id: 'm1', ssm_machine_id: ID, region: 'us-east-1' }],
          out_of_service: snapshotOos,
        },
      }),
      getMachine: async () => machine,
      addTimeline: async (_e: string, key: string, t: { type: string; message: string }) => {
        timeline.push({ key, type: t.type, message: t.message });
      },
      updateMachine: async (_e: string, _m: string, set: Record<string, unknown>) => {
        machine = { ...machine, ...set };
      },
    } as unknown as TargetGroupsDeps['records'];
    return createTargetGroupActivities({
      records,
      aws: { elbv2: async () => elb, ssm: async () => ssm },
      notifyEvent: (async (n: { type: string; reason?: string }) => {
        notices.push(n);
      }) as unknown as TargetGroupsDeps['notifyEvent'],
      pollMs: 50,
      ...extra,
    });
  }
  const a = { eventId: 'e1', machineId: 'm1', runNo: 0 };

  beforeAll(async () => {
    lab = await startLab();
    const common = { endpoint: lab.url, region: 'us-east-1', credentials: LAB_CREDENTIALS, maxAttempts: 1 };
    elb = new ElasticLoadBalancingV2Client(common);
    ssm = new SSMClient(common);
  });
  afterAll(async () => {
    elb.destroy();
    ssm.destroy();
    await lab.close();
  });
  beforeEach(async () => {
    lab.state.reset();
    machine = {};
    timeline = [];
    notices = [];
    snapshotOos = { target_groups: 'deregister' };
    await fetch(`${lab.url}/_lab/machines/${ID}`, {
      method: 'PUT',
      body: JSON.stringify({ platform: 'Linux', online: true }),
      headers: { 'content-type': 'application/json' },
    });
  });

  it('takes it out (drained) and back; a target not healthy again within the bound is answered, then recorded and notified', async () => {
    const web = await put('web', { deregistration_delay_s: 0, targets: [{ id: ID }, { id: OTHER }] });
    const t = acts({ healthyWithinMs: 300 });
    const out = await t.deregisterTargets(a);
    expect(out).toEqual({
      kind: 'deregistered',
      targets: [{ arn: web.arn, ports: [80], healthBefore: 'healthy' }],
    });
    // The group now fails its health checks: the registered target stays unhealthy.
    await put('web', { healthy: false, targets: [{ id: OTHER }] });
    const targets = out.kind === 'deregistered' ? out.targets : [];
    const back = await t.registerTargets({ ...a, targets });
    expect(back).toEqual({ online: true, unhealthy: [{ arn: web.arn, state: '80 unhealthy' }] });
    await t.recordTargetGroupsStuck({ ...a, targets, kind: 'unhealthy', error: 'web: 80 unhealthy' });
    expect(timeline.map((e) => e.type)).toEqual([
      'target_groups_draining',
      'target_groups_drained',
      'target_groups_registered',
      'target_groups_unhealthy',
    ]);
    expect(machine.out_of_service).toMatchObject({
      run_no: 0,
      target_groups: [{ arn: web.arn, state: 'unhealthy', error: 'web: 80 unhealthy' }],
    });
    expect(notices).toEqual([
      expect.objectContaining({ type: 'error', reason: expect.stringContaining('not healthy within 1 s') }),
    ]);
  });

  it('leaves a registration someone else is draining as it is', async () => {
    await put('web', { deregistration_delay_s: 60, targets: [{ id: ID }] });
    const arn = (await put('api', { deregistration_delay_s: 60, targets: [{ id: ID }] })).arn;
    await elb.send(new DeregisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: ID, Port: 80 }] }));
    snapshotOos = { target_groups: 'deregister', target_group_arns: [arn] };
    expect(await acts().deregisterTargets(a)).toEqual({ kind: 'none' });
    expect(timeline.map((e) => e.type)).toEqual(['target_groups_left_as_is']);
    // Only the listed group was looked at: `web` was never asked about or touched.
    expect((await view('web')).calls).toEqual([]);
  });

  it('a retried deregistration reuses the groups its first attempt found (its own draining target)', async () => {
    const web = await put('web', { deregistration_delay_s: 0, targets: [{ id: OTHER }] });
    // The first attempt wrote `deregistering` and deregistered; the target is already gone from the group.
    machine = {
      out_of_service: {
        run_no: 0,
        target_groups: [{ arn: web.arn, ports: [80], state: 'deregistering', health_before: 'healthy' }],
      },
    };
    const out = await acts().deregisterTargets(a);
    expect(out).toEqual({
      kind: 'deregistered',
      targets: [{ arn: web.arn, ports: [80], healthBefore: 'healthy' }],
    });
    expect(timeline.map((e) => e.type)).toEqual(['target_groups_draining', 'target_groups_drained']);
  });

  it('a retry after the first attempt recorded `deregistered` (and was lost) still answers those groups', async () => {
    const web = await put('web', { deregistration_delay_s: 0, targets: [{ id: OTHER }] });
    machine = {
      out_of_service: {
        run_no: 0,
        target_groups: [{ arn: web.arn, ports: [80], state: 'deregistered', health_before: 'healthy' }],
      },
    };
    expect(await acts().deregisterTargets(a)).toMatchObject({
      kind: 'deregistered',
      targets: [{ arn: web.arn }],
    });
    // Another run's record is not this run's: the groups are looked up afresh (none holds the instance).
    machine = { out_of_service: { ...machine.out_of_service, run_no: 1 } };
    expect(await acts().deregisterTargets(a)).toEqual({ kind: 'none' });
  });
});
