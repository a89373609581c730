/**
 * How failures shape an event (docs/behaviour.md#final-status, #global-pre-hooks, #one-machine, #host-hook-failure)
 * end to end, with what the store records and what the hooks and SSM saw: a failing global pre hook, a failing
 * pre host hook in parallel mode, and the machine outcomes that are not a plain success (no updates, offline,
 * unreadable custom script) next to working custom scripts. The stop rules alone (a failed post host hook stops
 * new machines, …) are pinned down in seconds by test/workflow/hooks.test.ts.
 */
import { startStack, type Stack } from '../helpers/stack';
import { answer, fleet, machineOf, statusOf } from '../helpers/e2e-fleet';

jest.setTimeout(240_000);

let stack: Stack;
let f: ReturnType<typeof fleet>;
beforeAll(async () => {
  stack = await startStack('e2e_failures');
  f = fleet(stack);
});
afterAll(async () => {
  await stack?.close();
});

test('a failing global pre hook: the rest of the pre hooks run, every machine OMITTED, no post hooks, DONE_ERROR', async () => {
  const m1 = await f.machine();
  const m2 = await f.machine();
  const pre0 = await f.lambda([answer(200, 'ok', 'p0')]);
  const pre1 = await f.lambda([answer(503, 'maintenance in progress', 'p1')]);
  const pre2 = await f.azure([answer(200, 'ok too', 'p2')], 'POST');
  const hostHook = await f.lambda([answer(200, 'host', '')]);
  const post = await f.lambda([answer(200, 'post', '')]);
  const planId = await f.plan({
    pre_hooks: [pre0.hook, pre1.hook, pre2.hook],
    post_hooks: [post.hook],
    machines: [
      { machine_id: m1.id, pre_host_hooks: [hostHook.hook], post_host_hooks: [hostHook.hook] },
      { machine_id: m2.id },
    ],
  });
  const ev = await f.finished(await f.execute(planId));

  expect(ev.status).toBe('DONE_ERROR');
  expect(ev.hooks.map((h) => [h.name, h.code, h.message, h.output])).toEqual([
    ['pre_0', 200, 'ok', 'p0'],
    ['pre_1', 503, 'maintenance in progress', 'p1'],
    ['pre_2', 200, 'ok too', 'p2'],
  ]);
  for (const m of [m1, m2]) {
    const mv = machineOf(ev, m.id);
    expect(mv.status).toBe('OMITTED');
    expect(mv.reason).toMatch(/global pre hook failed/);
    expect(mv.hooks).toEqual([]);
    expect(await f.commands(m.ssmId)).toEqual([]);
  }
  const pre2Calls = await f.azureCalls(pre2.name);
  expect(pre2Calls).toHaveLength(1);
  expect(pre2Calls[0].payload.hook_outputs.map((o) => [o.hook.name, o.code])).toEqual([
    ['pre_0', 200],
    ['pre_1', 503],
  ]);
  expect(await f.lambdaCalls(hostHook.name)).toEqual([]);
  expect(await f.lambdaCalls(post.name)).toEqual([]);
});

test('a failing pre host hook in parallel mode: running machines finish, unstarted ones OMITTED, post hooks run', async () => {
  const failing = await f.machine();
  const running = await f.machine({
    commands: [{ duration_s: 3, outcome: 'success', installed: ['bash-5.2'] }],
  });
  const later1 = await f.machine();
  const later2 = await f.machine();
  const nope = await f.lambda([answer(500, 'disk too full to patch', 'df: 99%')]);
  const fine = await f.lambda([answer(200, 'fine', '')]);
  const failingPost = await f.lambda([answer(200, 'post of omitted machine', '')]);
  const runningPost = await f.lambda([answer(200, 'running post', '')]);
  const neverPre = await f.lambda([answer(200, 'never', '')]);
  const post0 = await f.lambda([answer(200, 'post0', 'o')]);
  const post1 = await f.azure([answer(200, 'post1', 'o')], 'GET');
  const planId = await f.plan({
    max_concurrency: 2,
    post_hooks: [post0.hook, post1.hook],
    machines: [
      { machine_id: failing.id, pre_host_hooks: [nope.hook, fine.hook], post_host_hooks: [failingPost.hook] },
      { machine_id: running.id, pre_host_hooks: [fine.hook], post_host_hooks: [runningPost.hook] },
      { machine_id: later1.id, pre_host_hooks: [neverPre.hook] },
      { machine_id: later2.id, pre_host_hooks: [neverPre.hook] },
    ],
  });
  const ev = await f.finished(await f.execute(planId));

  const failingView = machineOf(ev, failing.id);
  expect(failingView.status).toBe('OMITTED');
  expect(failingView.reason).toMatch(/pre host hook failed/);
  // Every pre host hook of the machine runs, in order, even after one failed.
  expect(failingView.hooks.map((h) => [h.name, h.code, h.message])).toEqual([
    ['pre_host_0', 500, 'disk too full to patch'],
    ['pre_host_1', 200, 'fine'],
  ]);
  expect(await f.commands(failing.ssmId)).toEqual([]);
  expect(await f.lambdaCalls(failingPost.name)).toEqual([]);

  expect(statusOf(ev, running.id)).toBe('SUCCESS');
  expect(await f.commands(running.ssmId)).toHaveLength(1);
  expect(await f.lambdaCalls(runningPost.name)).toHaveLength(1);

  for (const m of [later1, later2]) {
    const mv = machineOf(ev, m.id);
    expect(mv.status).toBe('OMITTED');
    expect(mv.reason).toContain(`a host hook of machine ${failing.id} failed`);
    expect(await f.commands(m.ssmId)).toEqual([]);
  }
  expect(await f.lambdaCalls(neverPre.name)).toEqual([]);

  // The global post hooks still ran, and saw the final machine statuses.
  const [p0] = await f.lambdaCalls(post0.name);
  const [p1] = await f.azureCalls(post1.name);
  expect(p0).toBeDefined();
  expect(p1).toBeDefined();
  expect(Object.fromEntries(p0.payload.machines.map((m) => [m.id, m.status]))).toEqual({
    [failing.id]: 'OMITTED',
    [running.id]: 'SUCCESS',
    [later1.id]: 'OMITTED',
    [later2.id]: 'OMITTED',
  });
  expect(ev.hooks.map((h) => [h.name, h.code])).toEqual([
    ['post_0', 200],
    ['post_1', 200],
  ]);
  // A failure (OMITTED machines, a failed host hook) next to a SUCCESS machine: DONE_PARTIAL (docs/behaviour.md#final-status, rule 4).
  expect(ev.status).toBe('DONE_PARTIAL');
});

test('no updates, offline, unreadable S3 script, and working custom scripts on Linux and Windows', async () => {
  const linuxScript = await f.script(
    '#!/bin/bash\nset -e\nyum -y update --security\necho "InstalledCount: 3"\n',
  );
  const windowsScript = await f.script(
    'Install-WindowsUpdate -AcceptAll\r\nWrite-Output "done"\r\n',
    `${Date.now()}/patch.ps1`,
  );
  const noUpdates = await f.machine({ commands: [{ duration_s: 1, outcome: 'no_updates', installed: [] }] });
  const offline = await f.machine({ online: false });
  const unreadable = await f.machine({
    fields: { s3_custom_script: 's3://patchwave-test/does/not/exist.sh' },
  });
  const linux = await f.machine({
    commands: [{ duration_s: 1, outcome: 'success', stdout: 'patched' }],
    fields: { s3_custom_script: linuxScript },
  });
  const windows = await f.machine({
    platform: 'Windows',
    commands: [{ duration_s: 1, outcome: 'success', stdout: 'done' }],
    fields: { s3_custom_script: windowsScript },
  });
  const planId = await f.plan({
    machines: [noUpdates, offline, unreadable, linux, windows].map((m) => ({ machine_id: m.id })),
  });
  const ev = await f.finished(await f.execute(planId));

  expect(statusOf(ev, noUpdates.id)).toBe('SUCCESS_NO_UPDATES');

  const offlineView = machineOf(ev, offline.id);
  expect(offlineView.status).toBe('NOT_AVAILABLE');
  expect(offlineView.reason).toMatch(/ConnectionLost|not online/);
  expect(await f.commands(offline.ssmId)).toEqual([]);

  const unreadableView = machineOf(ev, unreadable.id);
  expect(unreadableView.status).toBe('OMITTED');
  expect(unreadableView.reason).toMatch(/could not be built/);
  expect(unreadableView.reason).toContain('s3://patchwave-test/does/not/exist.sh');
  expect(await f.commands(unreadable.ssmId)).toEqual([]);

  const [linuxCmd] = await f.commands(linux.ssmId);
  expect(linuxCmd.document_name).toBe('AWS-RunShellScript');
  expect(linuxCmd.parameters.commands).toEqual([
    '#!/bin/bash',
    'set -e',
    'yum -y update --security',
    'echo "InstalledCount: 3"',
  ]);
  expect(statusOf(ev, linux.id)).toBe('SUCCESS');

  const [windowsCmd] = await f.commands(windows.ssmId);
  expect(windowsCmd.document_name).toBe('AWS-RunPowerShellScript');
  expect(windowsCmd.parameters.commands).toEqual(['Install-WindowsUpdate -AcceptAll', 'Write-Output "done"']);
  expect(statusOf(ev, windows.id)).toBe('SUCCESS');

  expect(ev.status).toBe('DONE_PARTIAL');

  // A machine with nothing to install is a success: alone it makes the event DONE.
  const alone = await f.finished(await f.execute(await f.plan({ machines: [{ machine_id: noUpdates.id }] })));
  expect(alone.machines.map((m) => m.status)).toEqual(['SUCCESS_NO_UPDATES']);
  expect(alone.status).toBe('DONE');
});
