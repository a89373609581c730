/**
 * A machine's ping_status / ping_error come from SSM's DescribeInstanceInformation (the lab answers it): looked up
 * when the machine is created, by the `machine-pings` Temporal Schedule, and when a run finds the agent offline.
 * Read through the REST API only, right after each of those moments.
 */
import { Client, Connection } from '@temporalio/client';
import { ensurePingSchedule, pingScheduleId } from '../../worker/ping-schedule';
import { newSsmId, startStack, waitFor, waitForEventStatus, type Stack } from '../helpers/stack';

jest.setTimeout(180_000);

interface MachineView {
  id: string;
  ping_status?: string;
  ping_error?: string;
  pinged_at?: string;
}

let stack: Stack;
let connection: Connection;
let client: Client;
beforeAll(async () => {
  // No reuse of a look-up inside the worker: each moment below must ask SSM again (production reuses for 60 s).
  stack = await startStack('machine-ping', { env: { SSM_PING_CACHE_MS: '0' } });
  connection = await Connection.connect({ address: stack.config.TEMPORAL_ADDRESS });
  client = new Client({ connection, namespace: stack.config.TEMPORAL_NAMESPACE });
});
afterAll(async () => {
  await ensurePingSchedule(client, { taskQueue: stack.config.PATCHWAVE_TASK_QUEUE, everySeconds: 0 }).catch(
    () => undefined,
  );
  await connection?.close();
  await stack?.close();
});

async function createMachine(ssmId: string) {
  const r = await stack.api<MachineView>('POST', '/api/v1/machines', {
    name: ssmId,
    access: { ssm_machine_id: ssmId, region: 'us-east-1' },
    reboot_policy: 'NEVER',
  });
  expect(r.status).toBe(201);
  return r.body;
}

const getMachine = async (id: string) => (await stack.api<MachineView>('GET', `/api/v1/machines/${id}`)).body;
const listed = async (id: string) =>
  (await stack.api<{ items: MachineView[] }>('GET', '/api/v1/machines?limit=500')).body.items.find(
    (m) => m.id === id,
  );

test('created: the answer and the next reads carry the ping SSM reports (Online, or NotRegistered with the reason)', async () => {
  const online = newSsmId();
  await stack.lab_('PUT', `/_lab/machines/${online}`, { platform: 'Linux', online: true });
  const a = await createMachine(online);
  expect(a.ping_status).toBe('Online');
  expect(a.ping_error).toBeUndefined();
  expect(Date.parse(a.pinged_at ?? '')).not.toBeNaN();
  expect((await getMachine(a.id)).ping_status).toBe('Online');
  expect((await listed(a.id))?.ping_status).toBe('Online');

  const unknown = newSsmId(); // never registered with the lab's SSM
  const b = await createMachine(unknown);
  expect(b.ping_status).toBe('NotRegistered');
  expect(b.ping_error).toContain(unknown);
  expect((await getMachine(b.id)).ping_status).toBe('NotRegistered');
  expect((await listed(b.id))?.ping_error).toContain(unknown);
});

test('a run that finds the agent offline records ConnectionLost on the machine', async () => {
  const ssmId = newSsmId();
  await stack.lab_('PUT', `/_lab/machines/${ssmId}`, { platform: 'Linux', online: true });
  const m = await createMachine(ssmId);
  expect(m.ping_status).toBe('Online');
  await stack.lab_('PUT', `/_lab/machines/${ssmId}`, { platform: 'Linux', online: false });

  const plan = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: `ping-${ssmId}`,
    cron: '0 3 * * 0',
    window_hours: 0.05,
    machines: [{ machine_id: m.id }],
  });
  expect(plan.status).toBe(201);
  const exec = await stack.api<{ id: string }>('POST', `/api/v1/plans/${plan.body.id}/execute`);
  expect(exec.status).toBe(201);
  const ev = await waitForEventStatus(stack, exec.body.id);
  expect(ev.machines[0].status).toBe('NOT_AVAILABLE');
  // No schedule exists yet in this file: only the run can have looked the agent up since the create.
  expect(
    await client.schedule
      .getHandle(pingScheduleId(stack.config.PATCHWAVE_TASK_QUEUE))
      .describe()
      .catch(() => null),
  ).toBeNull();
  const after = await getMachine(m.id);
  expect(after.ping_status).toBe('ConnectionLost');
  expect(Date.parse(after.pinged_at!)).toBeGreaterThan(Date.parse(m.pinged_at!));
});

test('the machine-pings schedule refreshes every machine', async () => {
  const ssmId = newSsmId();
  await stack.lab_('PUT', `/_lab/machines/${ssmId}`, { platform: 'Linux', online: true });
  const m = await createMachine(ssmId);
  expect(m.ping_status).toBe('Online');
  await stack.lab_('PUT', `/_lab/machines/${ssmId}`, { platform: 'Linux', online: false });

  await ensurePingSchedule(client, { taskQueue: stack.config.PATCHWAVE_TASK_QUEUE, everySeconds: 2 });
  const desc = await client.schedule.getHandle(pingScheduleId(stack.config.PATCHWAVE_TASK_QUEUE)).describe();
  expect(desc.action).toMatchObject({ workflowType: 'pingMachinesWorkflow' });
  // Idempotent: a second worker start updates the one schedule.
  await ensurePingSchedule(client, { taskQueue: stack.config.PATCHWAVE_TASK_QUEUE, everySeconds: 2 });

  const seen = await waitFor(
    'the schedule to record ConnectionLost',
    async () => {
      const v = await getMachine(m.id);
      return v.ping_status === 'ConnectionLost' ? v : undefined;
    },
    60_000,
  );
  expect(seen.ping_error).toBeUndefined();
  expect((await listed(m.id))?.ping_status).toBe('ConnectionLost');

  // Back online: the next scheduled run says so.
  await stack.lab_('PUT', `/_lab/machines/${ssmId}`, { platform: 'Linux', online: true });
  await waitFor(
    'the schedule to record Online again',
    async () => ((await getMachine(m.id)).ping_status === 'Online' ? true : undefined),
    60_000,
  );
});
