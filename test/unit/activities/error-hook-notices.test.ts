/**
 * Which activity raises `error` and the hook notices, and under which key (docs/notifications.md): a machine
 * that ends ERROR (its own run, or marked ERROR in bulk when it never reported), a run whose start failed
 * (dynamic scan), and the hook notices keyed per phase and hook. Delivery through a real channel is
 * test/integration/e2e-notifications.test.ts; here: the moments no lab scenario reaches quickly.
 */
import { createMachineRunWriteActivities } from '../../../activities/machine-run-writes';
import { createBulkMarkActivities } from '../../../activities/bulk-marks';
import { createErrorNoticeActivities } from '../../../activities/error-notices';
import { createHookNotices, locateHook } from '../../../activities/hook-notices';
import { createEventOutputActivities } from '../../../activities/event-outputs';

type Notice = { eventId: string; type: string; machineId?: string; reason?: string; runNo?: number };

function outputs() {
  const sent: Notice[] = [];
  return { sent, outputs: { notifyEvent: async (n: Notice) => void sent.push(n) } as never };
}

test('a machine run that ends ERROR raises `error` after its own notice; other results do not', async () => {
  const { sent, outputs: o } = outputs();
  const events = { markMachineStarted: async () => undefined, recordMachineResult: async () => undefined };
  const w = createMachineRunWriteActivities({ events: events as never, outputs: o });
  const base = { eventId: 'evt_1', machineId: 'mch_1', runNo: 0 };
  await w.finishMachineRun({ result: { ...base, status: 'FAILED' }, notice: 'machine_patching_finish' });
  await w.finishMachineRun({
    result: { ...base, status: 'ERROR', reason: 'Patchwave error: boom' },
    notice: 'machine_patching_finish',
  });
  expect(sent.map((n) => n.type)).toEqual(['machine_patching_finish', 'machine_patching_finish', 'error']);
  expect(sent[2]).toMatchObject({ machineId: 'mch_1', reason: 'Patchwave error: boom' });
});

test('machines marked ERROR in bulk (no report by the window end) each raise `error`; OMITTED ones do not', async () => {
  const { sent, outputs: o } = outputs();
  const reason = 'the machine run did not report';
  const rows = [
    { machine_id: 'a', status: 'ERROR', reason },
    { machine_id: 'b', status: 'SUCCESS' }, // finished on its own meanwhile: not marked
  ];
  const b = createBulkMarkActivities({
    events: { markMachines: async () => undefined } as never,
    outputs: o,
    records: { listMachines: async () => rows } as never,
  });
  await b.markMachines({ eventId: 'evt_1', runNo: 0, machineIds: ['a', 'b'], status: 'ERROR', reason });
  expect(sent.map((n) => `${n.type}:${n.machineId}`)).toEqual(['machine_patching_finish:a', 'error:a']);
  sent.length = 0;
  rows[0].status = 'OMITTED';
  await b.markMachines({ eventId: 'evt_1', runNo: 0, machineIds: ['a'], status: 'OMITTED', reason });
  expect(sent.map((n) => n.type)).toEqual(['machine_patching_finish']);
});

test('a run whose start failed (dynamic scan) raises one `error` with the cause; a good start none', async () => {
  const { sent, outputs: o } = outputs();
  let scanError: string | undefined = 'dynamic scan of us-east-1 failed: ValidationError: bad role';
  const acts = createErrorNoticeActivities({
    events: {
      beginEventRun: async () => ({ machines: [], preHooks: [], postHooks: [], scanError }),
    } as never,
    outputs: o,
  });
  await acts.beginEventRun({ eventId: 'evt_1', runNo: 0, excluded: [] });
  scanError = undefined;
  await acts.beginEventRun({ eventId: 'evt_2', runNo: 0, excluded: [] });
  expect(sent).toEqual([
    {
      eventId: 'evt_1',
      runNo: 0,
      type: 'error',
      reason: 'dynamic scan of us-east-1 failed: ValidationError: bad role',
    },
  ]);
});

test('hook notices: type by global/host, key <type>:<event>:<run>:<machine|>:<phase>:<hook>', async () => {
  const keys: { key: string; context: Record<string, unknown> }[] = [];
  const event = {
    _id: 'evt_1',
    plan_id: 'pln_1',
    plan_name: 'Plan',
    start: '2026-06-01T10:00:00Z',
    end: '2026-06-01T12:00:00Z',
    status: 'IN_PROGRESS',
    customer_id: 'cus_1',
  };
  const out = createEventOutputActivities({
    stores: {
      events: { getEvent: async () => event, listMachines: async () => [], getMachine: async () => null },
      plans: { getById: async () => ({ notification_groups: ['ops'] }) },
    } as never,
    notify: (async (n: (typeof keys)[number]) => void keys.push(n)) as never,
    report: (async () => undefined) as never,
    leadHours: '24',
  });
  const notices = createHookNotices({ notifyEvent: out.notifyEvent });
  const snapshot = {
    pre_hooks: [{ name: 'pre_0', type: 'lambda' as const, source: 'arn:aws:lambda:us-east-1:1:function:f' }],
    post_hooks: [
      {
        name: 'post_0',
        type: 'azure' as const,
        source: 'https://f.example/api/x?code=k',
        method: 'POST' as const,
      },
    ],
    machines: [
      {
        machine_id: 'mch_1',
        pre_host_hooks: [],
        post_host_hooks: [{ name: 'post_host_0', type: 'script' as const, source: 's3://b/k.sh' }],
      },
    ],
  };
  const post = locateHook(snapshot as never, 'post_0')!;
  const host = locateHook(snapshot as never, 'post_host_0', 'mch_1')!;
  expect([post.phase, host.phase]).toEqual(['post', 'post_host']);
  expect(locateHook(snapshot as never, 'post_host_0')).toBeUndefined(); // not a global hook
  await notices.started({ eventId: 'evt_1', runNo: 2, located: post });
  await notices.finished({ eventId: 'evt_1', runNo: 2, located: post, code: 500, message: 'down' });
  await notices.started({ eventId: 'evt_1', runNo: 0, machineId: 'mch_1', located: host });
  expect(keys.map((k) => k.key)).toEqual([
    'hook_start:evt_1:2::post:post_0',
    'hook_finish:evt_1:2::post:post_0',
    'host_hook_start:evt_1:0:mch_1:post_host:post_host_0',
  ]);
  expect(keys[1].context.hook).toEqual({
    name: 'post_0',
    type: 'azure',
    source: 'https://f.example/api/x?code=k',
    method: 'POST',
    code: 500,
    message: 'down',
  });
});
