/**
 * One SSM command per request, even when a worker dies mid-send. v2 command queues send with startCommand as a
 * local activity (issue 18), which starts over at attempt 1 on the next worker, so the attempt counter cannot tell
 * a first send from a repeated one: the request's claim in the store does. Here the activity runs on the real store
 * against the lab's SSM, each time as attempt 1 (a fresh worker), and the lab counts the SendCommand calls.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Client } from '@temporalio/client';
import { createActivities } from '../../activities/index';
import { loadConfig } from '../../common/config';
import { COLLECTIONS } from '../../store/db';
import { EventRecords } from '../../store/event-records';
import { MachineStore } from '../../store/machines';
import { createLab, type Lab } from '../../lab/server';
import type { CommandRequest, CommandStart } from '../../workflows/defs';
import { openTestDb, type TestDb } from '../helpers/servers';

jest.setTimeout(120_000);

const CUSTOMER = 'cus_claim';
const EVENT = 'pln_claim-20260101T000000Z';
const SSM_IDS = { mch_a: 'i-0a000000000000001', mch_b: 'i-0b000000000000001' } as const;

let store: TestDb;
let lab: Lab;
let acts: ReturnType<typeof createActivities>;

beforeAll(async () => {
  store = await openTestDb('command_claim');
  lab = await createLab({ speed: 1 });
  for (const id of Object.values(SSM_IDS)) lab.state.putMachine(id, { platform: 'Linux', online: true });
  // The SDK's default credential chain reads these (the lab accepts any).
  process.env.AWS_ACCESS_KEY_ID ??= 'lab';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'lab';
  const config = loadConfig({
    AWS_ENDPOINT_URL: lab.url,
    AWS_REGION: 'us-east-1',
    SSM_PING_CACHE_MS: '0',
    LOG_LEVEL: 'silent',
  });
  // startCommand needs no Temporal client.
  acts = createActivities({ db: store.db, config, client: undefined as unknown as Client });
  const machines = new MachineStore(store.db);
  for (const [id, ssmId] of Object.entries(SSM_IDS))
    await machines.insert(CUSTOMER, id, {
      name: id,
      provider: 'AWS',
      metadata: [],
      access: { ssm_machine_id: ssmId, region: 'us-east-1' },
      reboot_policy: 'NEVER',
    });
  const now = new Date().toISOString();
  await new EventRecords(store.db).createEvent({
    _id: EVENT,
    customer_id: CUSTOMER,
    plan_id: 'pln_claim',
    plan_name: 'claim',
    origin: 'adhoc',
    start: now,
    end: new Date(Date.now() + 3600_000).toISOString(),
    status: 'IN_PROGRESS',
    workflow_id: `event/${EVENT}`,
    hooks: [],
    failure_reasons: [],
    run_no: 0,
    created_at: now,
    updated_at: now,
    plan_snapshot: {
      plan_id: 'pln_claim',
      plan_name: 'claim',
      window_hours: 1,
      pre_hooks: [],
      post_hooks: [],
      notification_groups: [],
      machines: Object.entries(SSM_IDS).map(([machine_id, ssm_machine_id], order) => ({
        machine_id,
        name: machine_id,
        ssm_machine_id,
        region: 'us-east-1',
        order,
        pre_host_hooks: [],
        post_host_hooks: [],
      })),
    },
  } as Parameters<EventRecords['createEvent']>[0]);
});

afterAll(async () => {
  await lab?.close();
  await store?.close();
});

const request = (machineId: keyof typeof SSM_IDS): CommandRequest => ({
  requestKey: `${EVENT}/0/${machineId}/patch`,
  machineId,
  requesterWorkflowId: `event/${EVENT}/machine/${machineId}/run-0`,
  deadlineMs: Date.now() + 3600_000,
  ref: { kind: 'patch', eventId: EVENT, machineId, runNo: 0 },
});

/** startCommand as a fresh worker runs it: attempt 1, whatever ran before. */
const startOnFreshWorker = (req: CommandRequest): Promise<CommandStart> =>
  new MockActivityEnvironment({ attempt: 1 }).run(acts.startCommand, {
    request: req,
  }) as Promise<CommandStart>;

const sent = (ssmId: string) => lab.state.machineCommands(ssmId)?.length ?? 0;

test('a send repeated after a crash (attempt 1 again) answers the recorded command and sends nothing', async () => {
  const req = request('mch_a');
  const first = await startOnFreshWorker(req);
  expect(first.kind).toBe('sent');
  expect(sent(SSM_IDS.mch_a)).toBe(1);

  const again = await startOnFreshWorker(req);
  expect(again).toEqual(first);
  expect(sent(SSM_IDS.mch_a)).toBe(1);
});

test('a worker that died after SendCommand, before recording it: the next finds the command in SSM by its Comment', async () => {
  const req = request('mch_b');
  const first = await startOnFreshWorker(req);
  if (first.kind !== 'sent') throw new Error(`not sent: ${JSON.stringify(first)}`);
  expect(sent(SSM_IDS.mch_b)).toBe(1);
  // What the dead worker never wrote: the command record and the claim's command id.
  await store.db.collection(COLLECTIONS.commands).deleteOne({ _id: first.commandId } as never);
  await store.db
    .collection(COLLECTIONS.commandRequests)
    .updateOne({ _id: req.requestKey } as never, { $unset: { command_id: '' } });

  const again = await startOnFreshWorker(req);
  expect(again.kind).toBe('sent');
  expect(again.kind === 'sent' && again.commandId).toBe(first.commandId);
  expect(sent(SSM_IDS.mch_b)).toBe(1);
  expect(lab.state.calls.get('ssm:ListCommands')).toBeGreaterThanOrEqual(1);
});
