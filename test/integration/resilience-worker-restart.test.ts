/**
 * A worker crash in the middle of an event (issue 8 §1, short version): the worker runs as its own process
 * (`node dist/worker/main.js`), is SIGKILLed while a patch command runs on the lab, and a new worker process
 * takes over. The event must end exactly as scripted, with one SSM command per machine step, every hook called
 * once, and no two commands at once on a machine. Recovery of the in-flight activity waits for its heartbeat
 * timeout (2 minutes), so this test is slow by nature.
 */
import fs from 'node:fs';
import path from 'node:path';
import { testEnv } from '../helpers/servers';
import { waitFor } from '../helpers/stack';
import { answer, fleet, machineOf } from '../helpers/e2e-fleet';
import { auditCommands, auditHookCalls, startChaosStack, type ChaosStack } from '../helpers/chaos';

jest.setTimeout(600_000);

let stack: ChaosStack;
let f: ReturnType<typeof fleet>;
let logFile: string;
beforeAll(async () => {
  const env = testEnv();
  const dir = process.env.PATCHWAVE_TEST_TMP_DIR ?? fs.mkdtempSync('/tmp/patchwave-restart-');
  logFile = path.join(dir, `worker-restart-${process.pid}.log`);
  stack = await startChaosStack({
    temporalAddress: env.temporalAddress,
    namespace: env.temporalNamespace,
    mongoUri: env.mongoUri,
    dbName: env.uniqueDbName('restart'),
    taskQueue: env.uniqueTaskQueue('restart'),
    logFile,
  });
  f = fleet(stack);
}, 600_000);
afterAll(async () => {
  await stack?.close();
});

test('SIGKILL of the worker while a command runs: a new worker finishes the event, nothing sent twice', async () => {
  const first = await f.machine({
    commands: [{ duration_s: 8, outcome: 'success', installed: ['openssl-3.0.13'] }],
  });
  const second = await f.machine({ commands: [{ duration_s: 2, outcome: 'no_updates', installed: [] }] });
  const pre = await f.lambda([answer(200, 'pre ok', 'drained', 1)]);
  const post = await f.azure([answer(200, 'post ok', 'restored')], 'POST');
  const hostPost = await f.lambda([answer(200, 'host ok', '')]);
  const planId = await f.plan({
    window_hours: 0.5,
    pre_hooks: [pre.hook],
    post_hooks: [post.hook],
    machines: [
      { machine_id: first.id, order: 0, post_host_hooks: [hostPost.hook] },
      { machine_id: second.id, order: 1 },
    ],
  });
  const eventId = await f.execute(planId);

  await waitFor('the first machine to be patching', async () => {
    const cmds = await f.commands(first.ssmId);
    return cmds.length === 1 && cmds[0].status === 'InProgress' ? true : undefined;
  });
  const pidBefore = stack.worker.pid;
  const exit = await stack.worker.kill();
  expect(exit?.signal).toBe('SIGKILL');
  await stack.worker.start();
  expect(stack.worker.starts).toBe(2);
  expect(stack.worker.pid).not.toBe(pidBefore);

  const ev = await f.finished(eventId, 420_000);
  expect(machineOf(ev, first.id).status).toBe('SUCCESS');
  expect(machineOf(ev, first.id).hooks.map((h) => [h.name, h.code])).toEqual([['post_host_0', 200]]);
  expect(machineOf(ev, second.id).status).toBe('SUCCESS_NO_UPDATES');
  expect(ev.hooks.map((h) => [h.name, h.code])).toEqual([
    ['pre_0', 200],
    ['post_0', 200],
  ]);
  expect(ev.status).toBe('DONE');

  const commands = await auditCommands(stack, stack.db.db, [first.ssmId, second.ssmId]);
  expect(commands.commandsChecked).toBe(2);
  expect(commands.duplicates).toEqual([]);
  expect(commands.untracked).toEqual([]);
  expect(commands.unfinished).toEqual([]);
  expect(commands.overlaps).toEqual([]);
  const hooks = await auditHookCalls(stack, [
    { kind: 'lambdas', name: pre.name },
    { kind: 'azure', name: post.name },
    { kind: 'lambdas', name: hostPost.name },
  ]);
  expect(hooks.calls).toBe(3);
  expect(hooks.repeated).toEqual([]);
  expect(stack.worker.unexpectedExits).toEqual([]);
});

test('a HALTED event stays halted across a worker SIGKILL; the new worker takes the resume and finishes it', async () => {
  const alarm = `restart-alarm-${Date.now().toString(36)}`;
  await stack.lab_('PUT', `/_lab/cloudwatch/alarms/${alarm}`, { state: 'ALARM', reason: 'degraded' });
  const m = await f.machine({ commands: [{ duration_s: 1, outcome: 'success', installed: ['curl-8.5.0'] }] });
  const planId = await f.plan({
    window_hours: 0.5,
    machines: [{ machine_id: m.id, order: 0 }],
    health_gates: { probes: [{ type: 'cloudwatch_alarm', alarm_names: [alarm] }], interval_s: 1 },
  });
  const eventId = await f.execute(planId);
  type View = { status: string; machines: { status: string }[]; timeline: { type: string }[] };
  const read = async () => (await stack.api<View>('GET', `/api/v1/events/${eventId}`)).body;
  const types = (v: View) => v.timeline.map((t) => t.type);
  await waitFor('the event to be HALTED', async () => {
    const v = await read();
    return v.status === 'HALTED' && types(v).includes('halted') ? v : undefined;
  });

  const starts = stack.worker.starts;
  expect((await stack.worker.kill())?.signal).toBe('SIGKILL');
  await stack.worker.start();
  expect(stack.worker.starts).toBe(starts + 1);

  // The new worker replays the halted run: still HALTED, halted once (no second reading, notice or write), nothing sent.
  const after = await read();
  expect([after.status, after.machines.map((x) => x.status)]).toEqual(['HALTED', ['PENDING']]);
  expect(await f.commands(m.ssmId)).toEqual([]);

  await stack.lab_('PUT', `/_lab/cloudwatch/alarms/${alarm}`, { state: 'OK' });
  const resumed = await stack.api<{ status: string }>('POST', `/api/v1/events/${eventId}/resume`);
  expect([resumed.status, resumed.body.status]).toEqual([200, 'IN_PROGRESS']);
  const ev = await f.finished(eventId, 120_000);
  expect([ev.status, machineOf(ev, m.id).status]).toEqual(['DONE', 'SUCCESS']);
  const final = await read();
  expect(types(final).filter((t) => t === 'halted')).toHaveLength(1);
  expect(types(final)).toContain('resumed');
  const commands = await auditCommands(stack, stack.db.db, [m.ssmId]);
  expect([commands.commandsChecked, commands.duplicates, commands.overlaps]).toEqual([1, [], []]);
  expect(stack.worker.unexpectedExits).toEqual([]);
});
