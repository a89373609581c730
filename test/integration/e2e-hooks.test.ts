/**
 * Hooks end to end (docs/behaviour.md#event-run, #hook-payload): Lambda, Azure (GET and POST) and script hooks, global and per
 * machine, each receiving the hook payload (docs/behaviour.md#hook-payload) with every earlier hook output of the event (oldest first), and
 * every way a hook can fail recorded as code 500 with a message that says which.
 * Real Temporal, real FerretDB, real AWS SDK clients against the fleet lab.
 */
import { startStack, type Stack } from '../helpers/stack';
import {
  answer,
  fleet,
  machineOf,
  type HookInvocation,
  type HookPayloadSeen,
  type LabCommand,
} from '../helpers/e2e-fleet';

jest.setTimeout(240_000);

const HOOK_TIMEOUT_MS = 5_000;

let stack: Stack;
let f: ReturnType<typeof fleet>;
beforeAll(async () => {
  stack = await startStack('e2e_hooks', { env: { HOOK_TIMEOUT_MS: String(HOOK_TIMEOUT_MS) } });
  f = fleet(stack);
});
afterAll(async () => {
  await stack?.close();
});

type Entry = HookPayloadSeen['hook_outputs'][number];

function entry(
  name: string,
  hook: { type: string; source: string; method?: string },
  code: number,
  message: string,
  output: string,
  extra: { machine_id?: string; command_id?: string } = {},
): Entry {
  return { code, message, hook: { ...hook, name }, output, ...extra };
}

function only(calls: HookInvocation[], what: string): HookInvocation {
  if (calls.length !== 1) throw new Error(`${what} was called ${calls.length} times, expected once`);
  return calls[0];
}

test('all success: global Lambda/Azure GET/POST hooks and host hooks get the hook payload with every earlier output', async () => {
  const m1 = await f.machine({
    fields: {
      provider: 'AZURE',
      subscription_id: 'sub-1',
      subscription_name: 'Prod subscription',
      resource_group_name: 'rg-web',
    },
  });
  const m2 = await f.machine({ commands: [{ duration_s: 1, outcome: 'no_updates', installed: [] }] });

  const pre0 = await f.lambda([answer(200, 'pre0 fine', 'snapshot-1234')]);
  const pre1 = await f.azure([answer(201, 'pre1 fine', 'lb drained')], 'GET');
  const post0 = await f.azure([answer(200, 'post0 fine', 'lb restored')], 'POST');
  const post1 = await f.lambda([answer(204, 'post1 fine', '')]);
  const m1pre = await f.lambda([answer(200, 'm1 pre', 'service stopped')]);
  const m1post = await f.azure([answer(200, 'm1 post', 'service started')], 'POST');
  const m2pre = await f.azure([answer(200, 'm2 pre', 'm2 drained')], 'GET');
  const m2post = await f.lambda([answer(299, 'm2 post', 'm2 ok')]);

  const planId = await f.plan({
    pre_hooks: [pre0.hook, pre1.hook],
    post_hooks: [post0.hook, post1.hook],
    machines: [
      { machine_id: m1.id, order: 0, pre_host_hooks: [m1pre.hook], post_host_hooks: [m1post.hook] },
      { machine_id: m2.id, order: 1, pre_host_hooks: [m2pre.hook], post_host_hooks: [m2post.hook] },
    ],
  });
  const eventId = await f.execute(planId);
  const ev = await f.finished(eventId);

  expect(ev.status).toBe('DONE');
  expect(machineOf(ev, m1.id).status).toBe('SUCCESS');
  expect(machineOf(ev, m2.id).status).toBe('SUCCESS_NO_UPDATES');
  const customerId = (ev as unknown as { customer_id: string }).customer_id;
  expect(customerId).toBeTruthy();

  // Stored global hook runs, in order, with msg → message and output kept.
  expect(ev.hooks.map((h) => [h.name, h.type, h.code, h.message, h.output])).toEqual([
    ['pre_0', 'lambda', 200, 'pre0 fine', 'snapshot-1234'],
    ['pre_1', 'azure', 201, 'pre1 fine', 'lb drained'],
    ['post_0', 'azure', 200, 'post0 fine', 'lb restored'],
    ['post_1', 'lambda', 204, 'post1 fine', ''],
  ]);
  // The Azure function key never shows in stored runs.
  expect(ev.hooks[1].source).toBe(pre1.redacted);
  expect(machineOf(ev, m1.id).hooks.map((h) => [h.name, h.code, h.message, h.output])).toEqual([
    ['pre_host_0', 200, 'm1 pre', 'service stopped'],
    ['post_host_0', 200, 'm1 post', 'service started'],
  ]);
  expect(machineOf(ev, m2.id).hooks.map((h) => [h.name, h.code, h.message, h.output])).toEqual([
    ['pre_host_0', 200, 'm2 pre', 'm2 drained'],
    ['post_host_0', 299, 'm2 post', 'm2 ok'],
  ]);

  // What each hook received.
  const lam = (h: { source: string }) => ({ type: 'lambda', source: h.source });
  const az = (a: { redacted: string; hook: { method: string } }) => ({
    type: 'azure',
    source: a.redacted,
    method: a.hook.method,
  });
  const E = {
    pre0: entry('pre_0', lam(pre0.hook), 200, 'pre0 fine', 'snapshot-1234'),
    pre1: entry('pre_1', az(pre1), 201, 'pre1 fine', 'lb drained'),
    m1pre: entry('pre_host_0', lam(m1pre.hook), 200, 'm1 pre', 'service stopped', { machine_id: m1.id }),
    m1post: entry('post_host_0', az(m1post), 200, 'm1 post', 'service started', { machine_id: m1.id }),
    m2pre: entry('pre_host_0', az(m2pre), 200, 'm2 pre', 'm2 drained', { machine_id: m2.id }),
    m2post: entry('post_host_0', lam(m2post.hook), 299, 'm2 post', 'm2 ok', { machine_id: m2.id }),
    post0: entry('post_0', az(post0), 200, 'post0 fine', 'lb restored'),
  };
  const m1Seen = (status: string) => ({
    id: m1.id,
    status,
    name: m1.name,
    subscription_id: 'sub-1',
    subscription_name: 'Prod subscription',
    resource_group_name: 'rg-web',
  });
  const m2Seen = (status: string) => ({ id: m2.id, status, name: m2.name });

  const calls = {
    pre0: only(await f.lambdaCalls(pre0.name), 'pre_0'),
    pre1: only(await f.azureCalls(pre1.name), 'pre_1'),
    m1pre: only(await f.lambdaCalls(m1pre.name), 'm1 pre_host_0'),
    m1post: only(await f.azureCalls(m1post.name), 'm1 post_host_0'),
    m2pre: only(await f.azureCalls(m2pre.name), 'm2 pre_host_0'),
    m2post: only(await f.lambdaCalls(m2post.name), 'm2 post_host_0'),
    post0: only(await f.azureCalls(post0.name), 'post_0'),
    post1: only(await f.lambdaCalls(post1.name), 'post_1'),
  };
  const base = { event_id: eventId, customer_id: customerId };
  expect(calls.pre0.payload).toEqual({
    ...base,
    machines: [m1Seen('PENDING'), m2Seen('PENDING')],
    hook_outputs: [],
  });
  expect(calls.pre1.payload).toEqual({
    ...base,
    machines: [m1Seen('PENDING'), m2Seen('PENDING')],
    hook_outputs: [E.pre0],
  });
  expect(calls.m1pre.payload).toEqual({
    ...base,
    machines: [m1Seen('IN_PROGRESS')],
    hook_outputs: [E.pre0, E.pre1],
  });
  expect(calls.m1post.payload).toEqual({
    ...base,
    machines: [m1Seen('SUCCESS')],
    hook_outputs: [E.pre0, E.pre1, E.m1pre],
  });
  expect(calls.m2pre.payload).toEqual({
    ...base,
    machines: [m2Seen('IN_PROGRESS')],
    hook_outputs: [E.pre0, E.pre1, E.m1pre, E.m1post],
  });
  expect(calls.m2post.payload).toEqual({
    ...base,
    machines: [m2Seen('SUCCESS_NO_UPDATES')],
    hook_outputs: [E.pre0, E.pre1, E.m1pre, E.m1post, E.m2pre],
  });
  const allDone = [m1Seen('SUCCESS'), m2Seen('SUCCESS_NO_UPDATES')];
  expect(calls.post0.payload).toEqual({
    ...base,
    machines: allDone,
    hook_outputs: [E.pre0, E.pre1, E.m1pre, E.m1post, E.m2pre, E.m2post],
  });
  expect(calls.post1.payload).toEqual({
    ...base,
    machines: allDone,
    hook_outputs: [E.pre0, E.pre1, E.m1pre, E.m1post, E.m2pre, E.m2post, E.post0],
  });

  // Azure: the configured method, with the function key.
  expect([calls.pre1.method, calls.m2pre.method]).toEqual(['GET', 'GET']);
  expect([calls.post0.method, calls.m1post.method]).toEqual(['POST', 'POST']);
  expect(calls.pre1.code).toBe(pre1.code);

  // Hooks ran in the contract's order: pre hooks, M1's pre host hook, its patch, its post host hook, M2…, post hooks.
  const [m1Cmd] = await f.commands(m1.ssmId);
  const [m2Cmd] = await f.commands(m2.ssmId);
  const t = (s: string | null) => Date.parse(s!);
  expect(t(calls.pre1.received_at)).toBeLessThanOrEqual(t(calls.m1pre.received_at));
  expect(t(calls.m1pre.received_at)).toBeLessThanOrEqual(t(m1Cmd.requested_at));
  expect(t(m1Cmd.ended_at)).toBeLessThanOrEqual(t(calls.m1post.received_at));
  expect(t(calls.m1post.received_at)).toBeLessThanOrEqual(t(calls.m2pre.received_at));
  expect(t(m2Cmd.ended_at)).toBeLessThanOrEqual(t(calls.m2post.received_at));
  expect(t(calls.m2post.received_at)).toBeLessThanOrEqual(t(calls.post0.received_at));
});

test('script host hooks run through SSM on the machine; stdout is the output, exit ≠ 0 is code 500', async () => {
  const preScript = await f.script('#!/bin/sh\necho "disk ok"\ndf -h /\n');
  const postScript = await f.script('#!/bin/sh\nsystemctl is-active nginx\n');
  const m = await f.machine({
    commands: [
      { duration_s: 1, outcome: 'success', stdout: 'disk ok\n/dev/xvda1 20G' },
      { duration_s: 1, outcome: 'success', installed: ['kernel-6.1.1'] },
      { duration_s: 1, outcome: 'failed', stdout: 'nginx: inactive' },
    ],
  });
  const between = await f.lambda([answer(200, 'between', 'seen')]);
  const post = await f.lambda([answer(200, 'post', '')]);
  const planId = await f.plan({
    post_hooks: [post.hook],
    machines: [
      {
        machine_id: m.id,
        pre_host_hooks: [{ type: 'script', source: preScript }],
        post_host_hooks: [between.hook, { type: 'script', source: postScript }],
      },
    ],
  });
  const eventId = await f.execute(planId);
  const ev = await f.finished(eventId);

  const cmds = await f.commands(m.ssmId);
  expect(cmds.map((c) => c.document_name)).toEqual([
    'AWS-RunShellScript',
    'AWS-RunPatchBaseline',
    'AWS-RunShellScript',
  ]);
  // The script's own lines, after the lines that write the hook payload file (its #! line stays first).
  expect(cmds[0].parameters.commands[0]).toBe('#!/bin/sh');
  expect(cmds[0].parameters.commands.slice(-2)).toEqual(['echo "disk ok"', 'df -h /']);
  expect(cmds[2].parameters.commands.slice(-1)).toEqual(['systemctl is-active nginx']);

  const mv = machineOf(ev, m.id);
  // The patch itself succeeded; the failed post host hook makes the event fail (docs/behaviour.md#final-status, rule 2) but not the machine.
  expect(mv.status).toBe('SUCCESS');
  expect(mv.command_id).toBe(cmds[1].command_id);
  expect(ev.status).toBe('DONE_PARTIAL');
  expect(mv.hooks.map((h) => [h.name, h.code, h.output])).toEqual([
    ['pre_host_0', 200, 'disk ok\n/dev/xvda1 20G'],
    ['post_host_0', 200, 'seen'],
    ['post_host_1', 500, 'nginx: inactive'],
  ]);
  expect(mv.hooks[2].message).toMatch(/exit code 1/);

  const scriptEntry = (name: string, source: string, code: number, output: string, commandId: string) => ({
    code,
    message: expect.any(String),
    hook: { type: 'script', source, name },
    output,
    machine_id: m.id,
    command_id: commandId,
  });
  const preEntry = scriptEntry('pre_host_0', preScript, 200, 'disk ok\n/dev/xvda1 20G', cmds[0].command_id);
  const betweenCall = only(await f.lambdaCalls(between.name), 'post_host_0');
  expect(betweenCall.payload.hook_outputs).toEqual([preEntry]);
  expect(betweenCall.payload.machines).toEqual([{ id: m.id, status: 'SUCCESS', name: m.name }]);

  // Script hooks get the same payload as Lambda and Azure hooks, in the file PATCHWAVE_HOOK_PAYLOAD_FILE names.
  const scriptPayload = (c: LabCommand) => JSON.parse(c.script_files!.PATCHWAVE_HOOK_PAYLOAD_FILE) as unknown;
  expect(scriptPayload(cmds[0])).toEqual({
    event_id: eventId,
    customer_id: betweenCall.payload.customer_id,
    machines: [{ id: m.id, status: 'IN_PROGRESS', name: m.name }],
    hook_outputs: [],
  });
  expect(scriptPayload(cmds[2])).toEqual({
    ...betweenCall.payload,
    hook_outputs: [
      preEntry,
      entry('post_host_0', { type: 'lambda', source: between.hook.source }, 200, 'between', 'seen', {
        machine_id: m.id,
      }),
    ],
  });

  const postCall = only(await f.lambdaCalls(post.name), 'post_0');
  expect(postCall.payload.hook_outputs).toEqual([
    preEntry,
    entry('post_host_0', { type: 'lambda', source: between.hook.source }, 200, 'between', 'seen', {
      machine_id: m.id,
    }),
    scriptEntry('post_host_1', postScript, 500, 'nginx: inactive', cmds[2].command_id),
  ]);
  expect(await f.overlaps()).toEqual([]);
});

test('a Windows script hook reads the hook payload from the file its environment names', async () => {
  const script = await f.script('Get-Content -Raw $env:PATCHWAVE_HOOK_PAYLOAD_FILE\r\n');
  const m = await f.machine({ platform: 'Windows', commands: [{ duration_s: 1, outcome: 'success' }] });
  const planId = await f.plan({
    machines: [{ machine_id: m.id, post_host_hooks: [{ type: 'script', source: script }] }],
  });
  const eventId = await f.execute(planId);
  const ev = await f.finished(eventId);
  const cmds = await f.commands(m.ssmId);
  expect(cmds.map((c) => c.document_name)).toEqual(['AWS-RunPatchBaseline', 'AWS-RunPowerShellScript']);
  // What the script printed is the payload: seen through the API as the hook's output.
  const mv = machineOf(ev, m.id);
  expect(mv.hooks).toHaveLength(1);
  expect(mv.hooks[0]).toMatchObject({ name: 'post_host_0', code: 200 });
  expect(JSON.parse(mv.hooks[0].output)).toEqual({
    event_id: eventId,
    customer_id: expect.any(String),
    machines: [{ id: m.id, status: mv.status, name: m.name }],
    hook_outputs: [],
  });
});

test('every way a hook can fail is code 500 saying which; the remaining pre hooks still run', async () => {
  const m = await f.machine();
  const lambda500 = await f.lambda([{ status: 500, body: { message: 'Lambda is down' } }]);
  const azure500 = await f.azure([{ status: 500, body: 'Internal Server Error' }], 'GET');
  const azureEmpty500 = await f.azure([{ status: 500 }], 'POST');
  const garbage = await f.azure([{ status: 200, body: '<html>surprise</html>' }], 'POST');
  const noCode = await f.lambda([{ status: 200, body: { msg: 'forgot the code', output: 'x' } }]);
  const fnError = await f.lambda([
    { status: 'error', body: { errorType: 'TypeError', errorMessage: 'cannot read undefined' } },
  ]);
  const hangLambda = await f.lambda([answer(200, 'too late', '', 9)]);
  const hangAzure = await f.azure([answer(200, 'too late', '', 9)], 'GET');
  const last = await f.lambda([answer(200, 'still ran', 'last')]);
  const post = await f.lambda([answer(200, 'post', '')]);

  const pre = [lambda500, azure500, azureEmpty500, garbage, noCode, fnError, hangLambda, hangAzure, last];
  const planId = await f.plan({
    pre_hooks: pre.map((h) => h.hook),
    post_hooks: [post.hook],
    machines: [{ machine_id: m.id }],
  });
  const eventId = await f.execute(planId);
  const ev = await f.finished(eventId);

  expect(ev.status).toBe('DONE_ERROR');
  expect(machineOf(ev, m.id).status).toBe('OMITTED');
  expect(await f.commands(m.ssmId)).toEqual([]);
  expect(await f.lambdaCalls(post.name)).toEqual([]);

  const runs = ev.hooks.map((h) => ({ name: h.name, code: h.code, message: h.message }));
  expect(runs.map((r) => r.name)).toEqual(pre.map((_, i) => `pre_${i}`));
  const secs = Math.round(HOOK_TIMEOUT_MS / 1000);
  const expected: [number, RegExp][] = [
    [500, /^hook could not be called: ServiceException/],
    [500, /^HTTP 500: hook answered non-JSON: Internal Server Error$/],
    [500, /^HTTP 500: hook gave no answer \(empty body\)$/],
    [500, /^hook answered non-JSON: <html>surprise<\/html>$/],
    [500, /^hook answer has no numeric code/],
    [500, /^hook function error: Unhandled: .*cannot read undefined/],
    [500, new RegExp(`^hook timed out after ${secs}s$`)],
    [500, new RegExp(`^hook timed out after ${secs}s$`)],
    [200, /^still ran$/],
  ];
  expected.forEach(([code, re], i) => {
    expect({ name: runs[i].name, code: runs[i].code }).toEqual({ name: `pre_${i}`, code });
    expect(runs[i].message).toMatch(re);
  });

  // The last pre hook saw every failure before it, in order.
  const lastCall = only(await f.lambdaCalls(last.name), 'pre_8');
  expect(lastCall.payload.hook_outputs.map((o) => [o.hook.name, o.code, o.message])).toEqual(
    runs.slice(0, 8).map((r) => [r.name, r.code, r.message]),
  );
  expect(lastCall.payload.machines).toEqual([{ id: m.id, status: 'PENDING', name: m.name }]);
  // A hook's own failure answer is not retried (the HTTP 500 one answered once).
  expect(await f.azureCalls(azure500.name)).toHaveLength(1);
  expect(await f.azureCalls(garbage.name)).toHaveLength(1);
  expect(await f.lambdaCalls(noCode.name)).toHaveLength(1);
  expect(await f.lambdaCalls(fnError.name)).toHaveLength(1);
});
