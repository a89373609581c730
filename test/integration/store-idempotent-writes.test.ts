import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { Client } from '@temporalio/client';
import { createActivities } from '../../activities/index';
import { loadConfig } from '../../common/config';
import { COLLECTIONS } from '../../store/db';
import { MachineStore } from '../../store/machines';
import { PlanStore } from '../../store/plans';
import { openTestDb, type TestDb } from '../helpers/servers';

/**
 * Every write activity of an event, run twice with the same input and the same activity identity (what a
 * Temporal retry does), on the real store: the second run leaves every collection as the first left it.
 * A second request of its own (another activity ID) still gets its own timeline row.
 */

jest.setTimeout(120_000);

const CUSTOMER = 'cus_idem';
const EVENT = 'pln_idem-20260101T000000Z';

let store: TestDb;
let acts: ReturnType<typeof createActivities>;
let hookServer: http.Server;
let hookCalls = 0;
let nextActivityId = 1;

beforeAll(async () => {
  store = await openTestDb('store_idempotent');
  hookServer = http.createServer((req, res) => {
    hookCalls++;
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 200, message: 'ok', output: 'fine' }));
    });
  });
  await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', r));
  const port = (hookServer.address() as AddressInfo).port;
  const config = loadConfig({ PATCHWAVE_HTTP_ALLOWLIST: '127.0.0.1', LOG_LEVEL: 'silent' });
  // The schedule and command-queue activities need a Temporal client; none of those is called here.
  acts = createActivities({ db: store.db, config, client: undefined as unknown as Client });

  const machines = new MachineStore(store.db);
  for (const id of ['mch_a', 'mch_b'])
    await machines.insert(CUSTOMER, id, {
      name: id,
      provider: 'AWS',
      metadata: [],
      access: { ssm_machine_id: `i-0${id === 'mch_a' ? 'a' : 'b'}${'0'.repeat(15)}`, region: 'eu-west-1' },
      reboot_policy: 'IF_NEEDED',
    });
  await new PlanStore(store.db).insert(
    CUSTOMER,
    'pln_idem',
    PlanStore.withDerived({
      name: 'idem',
      cron: '0 3 * * 1',
      window_hours: 2,
      operation: 'install',
      notification_groups: [],
      pre_hooks: [{ type: 'azure', source: `http://127.0.0.1:${port}/api/pre`, method: 'POST' }],
      post_hooks: [],
      machines: [
        {
          machine_id: 'mch_a',
          order: 0,
          pre_host_hooks: [{ type: 'script', source: 's3://bucket/pre.sh' }],
          post_host_hooks: [],
        },
        { machine_id: 'mch_b', order: 1, pre_host_hooks: [], post_host_hooks: [] },
      ],
      enabled: false,
    }),
  );
});

afterAll(async () => {
  await new Promise((r) => hookServer?.close(r));
  await store?.close();
});

/** Row count of every collection, and the timeline's keys. */
async function rows(): Promise<{ counts: Record<string, number>; timeline: string[] }> {
  const counts: Record<string, number> = {};
  for (const name of Object.values(COLLECTIONS))
    counts[name] = await store.db.collection(name).countDocuments({});
  const timeline = (
    await store.db
      .collection<{ _id: string }>(COLLECTIONS.timeline)
      .find({}, { projection: { _id: 1 } })
      .toArray()
  ).map((d) => d._id);
  return { counts, timeline: timeline.sort() };
}

/**
 * Runs one activity call, then its retry (same activity ID, attempt 2), and checks the retry wrote no row.
 * Returns what the first run answered and the rows after it.
 */
async function runAndRetry<R>(
  fn: () => Promise<R>,
): Promise<{ first: R; after: Awaited<ReturnType<typeof rows>> }> {
  const info = {
    activityId: String(nextActivityId++),
    workflowExecution: { workflowId: 'wf-idem', runId: 'run-1' },
  };
  const first = (await new MockActivityEnvironment({ ...info, attempt: 1 }).run(fn)) as R;
  const after = await rows();
  await new MockActivityEnvironment({ ...info, attempt: 2 }).run(fn);
  expect(await rows()).toEqual(after);
  return { first, after };
}

test('a retried write activity leaves no duplicate row, in any collection', async () => {
  const before = await rows();
  const created = await runAndRetry(() =>
    acts.createEventRecord({
      eventId: EVENT,
      customerId: CUSTOMER,
      planId: 'pln_idem',
      start: '2026-01-01T00:00:00.000Z',
      end: '2026-01-01T02:00:00.000Z',
      status: 'NOT_APPROVED',
      workflowId: `event-${EVENT}`,
      origin: 'schedule',
    }),
  );
  expect(created.after.counts[COLLECTIONS.events]).toBe(before.counts[COLLECTIONS.events] + 1);

  // Before the start: approval, window change, exclusions (each is one timeline row).
  const approved = await runAndRetry(() =>
    acts.recordEventStatus({
      eventId: EVENT,
      status: 'NEW',
      timeline: { type: 'approved', message: 'approved by ops' },
    }),
  );
  expect(approved.after.timeline.length).toBe(created.after.timeline.length + 1);
  await runAndRetry(() => acts.recordEventWindow({ eventId: EVENT, end: '2026-01-01T03:00:00.000Z' }));
  await runAndRetry(() =>
    acts.recordExclusions({ eventId: EVENT, machineIds: ['mch_x'], requestedBy: 'ops' }),
  );

  // The run: machine records, hooks, machine results, the final status.
  const begun = await runAndRetry(() => acts.beginEventRun({ eventId: EVENT, runNo: 0, excluded: [] }));
  expect(begun.first.machines.map((m) => m.id)).toEqual(['mch_a', 'mch_b']);
  expect(begun.after.counts[COLLECTIONS.eventMachines]).toBe(2);

  const hook = await runAndRetry(() =>
    acts.runRemoteHook({ eventId: EVENT, runNo: 0, name: 'pre_0', deadlineMs: Date.now() + 60_000 }),
  );
  expect(hook.first).toEqual({ success: true, code: 200 });
  expect(hookCalls).toBe(1); // the retry found the recorded run and did not call the hook again

  await runAndRetry(() => acts.beginMachineRun({ eventId: EVENT, machineId: 'mch_a', runNo: 0 }));
  await runAndRetry(() =>
    acts.recordScriptHookRun({
      eventId: EVENT,
      machineId: 'mch_a',
      runNo: 0,
      name: 'pre_host_0',
      startedAt: '2026-01-01T00:00:05.000Z',
      outcome: { kind: 'not_started', reason: 'no answer from SSM' },
    }),
  );
  await runAndRetry(() =>
    acts.finishMachineRun({
      result: {
        eventId: EVENT,
        machineId: 'mch_a',
        runNo: 0,
        status: 'OMITTED',
        reason: 'pre_host_0 failed',
      },
      notice: 'machine_patching_finish',
    }),
  );
  await runAndRetry(() =>
    acts.markMachines({
      eventId: EVENT,
      runNo: 0,
      machineIds: ['mch_b'],
      status: 'NOT_IN_TIME_WINDOW',
      reason: 'the window ended',
    }),
  );
  await runAndRetry(() => acts.recordHookNotStarted({ eventId: EVENT, runNo: 0, name: 'post_0' }));
  const final = await runAndRetry(() => acts.finalizeEvent({ eventId: EVENT, runNo: 0 }));
  expect(final.first).toBe('DONE_ERROR');
  await runAndRetry(() => acts.produceReport({ eventId: EVENT }));

  // After the run: a manual change, then a partial run.
  const manual = await runAndRetry(() =>
    acts.applyManualStatus({
      eventId: EVENT,
      runNo: 0,
      machine_id: 'mch_b',
      manual_status: 'SUCCESS_MANUAL',
      action_taken: 'patched by hand',
      requested_by: 'ops',
    }),
  );
  // Two timeline rows: the manual change and the status it leads to.
  expect(manual.after.timeline.length).toBe(final.after.timeline.length + 2);
  const partial = await runAndRetry(() =>
    acts.beginEventRun({
      eventId: EVENT,
      runNo: 1,
      excluded: [],
      partial: { machine_ids: ['mch_a'], requested_by: 'ops' },
    }),
  );
  expect(partial.first.machines.map((m) => m.id)).toEqual(['mch_a']);
  const e = await acts.getEventRecord({ eventId: EVENT });
  expect(e.run_no).toBe(1);
  const doc = await store.db.collection(COLLECTIONS.events).findOne({ _id: EVENT as never });
  expect(doc?.partial).toHaveLength(1);
  expect(before.counts[COLLECTIONS.hookRuns]).toBe(0);
  expect(partial.after.counts[COLLECTIONS.hookRuns]).toBe(3); // pre_0, pre_host_0 of mch_a, post_0
});

test('a second request of its own (not a retry) still gets its own timeline row', async () => {
  const before = await rows();
  for (const activityId of ['900', '901'])
    await new MockActivityEnvironment({
      activityId,
      workflowExecution: { workflowId: 'wf-idem', runId: 'run-1' },
    }).run(() =>
      acts.recordExclusions({ eventId: EVENT, machineIds: ['mch_x', 'mch_y'], requestedBy: 'ops' }),
    );
  expect((await rows()).timeline.length).toBe(before.timeline.length + 2);
});
