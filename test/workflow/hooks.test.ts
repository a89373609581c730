/**
 * Hook failures (docs/behaviour.md §3): a failed global pre hook omits every machine and
 * skips the post hooks; a failed pre host hook omits its machine; any failed host hook stops new machines
 * from starting while running ones finish. Real workflows on Temporal, stub activities.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { startHarness, type Harness } from './harness/harness';

jest.setTimeout(60_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness('hooks');
});
afterAll(async () => {
  await h?.close();
});

const hookNames = (eventId: string, machineId?: string) =>
  h.fleet
    .callsOf('runRemoteHook', { eventId })
    .filter((c) => c.args.machineId === machineId)
    .map((c) => c.args.name);

test('a failed global pre hook: the other pre hooks still run, every machine OMITTED, no post hooks, DONE_ERROR', async () => {
  const [a, b] = ['a', 'b'].map(h.id);
  const ev = await h.startEvent({
    windowMs: 30_000,
    preHooks: [
      { name: 'pre-1', type: 'lambda' },
      { name: 'pre-2', type: 'azure' },
    ],
    postHooks: [{ name: 'post-1', type: 'lambda' }],
    hooks: { 'pre-1': { ok: false } },
    machines: [{ id: a }, { id: b }],
  });
  expect(await ev.finished()).toMatchObject({ status: 'DONE_ERROR' });
  expect(hookNames(ev.eventId)).toEqual(['pre-1', 'pre-2']);
  expect([a, b].map((m) => h.fleet.machineStatus(ev.eventId, m))).toEqual(['OMITTED', 'OMITTED']);
  for (const m of [a, b])
    await expect(ev.machineRun(m).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  for (const m of [a, b]) expect(h.fleet.commandCalls('startCommand', m)).toEqual([]);
});

test('a failed pre host hook: that machine OMITTED without its post hooks; running machines finish, unstarted ones OMITTED, global post hooks run', async () => {
  const [slow, hooked, later1, later2] = ['slow', 'hooked', 'later1', 'later2'].map(h.id);
  const ev = await h.startEvent({
    windowMs: 30_000,
    maxConcurrency: 2,
    postHooks: [{ name: 'global-post', type: 'lambda' }],
    hooks: { 'check-disk': { ok: false } },
    machines: [
      { id: slow, patch: { status: 'SUCCESS', ms: 1_500 } },
      {
        id: hooked,
        pre: [
          { name: 'check-disk', type: 'lambda' },
          { name: 'drain', type: 'azure' },
        ],
        post: [{ name: 'undrain', type: 'azure' }],
      },
      { id: later1 },
      { id: later2 },
    ],
  });
  expect(await ev.finished()).toMatchObject({ status: 'DONE_PARTIAL' });
  expect(await ev.machineRun(slow).result()).toMatchObject({ status: 'SUCCESS', hostHookFailed: false });
  expect(await ev.machineRun(hooked).result()).toMatchObject({ status: 'OMITTED', hostHookFailed: true });
  // Every pre host hook runs; the post host hooks of an omitted machine do not; it is never patched.
  expect(hookNames(ev.eventId, hooked)).toEqual(['check-disk', 'drain']);
  expect(h.fleet.commandCalls('startCommand', hooked)).toEqual([]);
  for (const m of [later1, later2]) {
    expect(h.fleet.machineStatus(ev.eventId, m)).toBe('OMITTED');
    await expect(ev.machineRun(m).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  }
  // The stop came while the slow machine was still patching, which then finished normally.
  const stop = h.fleet.callsOf('markMachines', { eventId: ev.eventId, status: 'OMITTED' });
  expect(stop).toHaveLength(1);
  expect(stop[0].args.reason).toMatch(new RegExp(`host hook of machine ${hooked}`));
  expect(stop[0].at).toBeLessThan(h.fleet.machineSpans(ev.eventId).get(slow)!.to);
  expect(hookNames(ev.eventId)).toEqual(['global-post']);
});

test('a failed post host hook stops further machines; the machine keeps its patch result; DONE_PARTIAL', async () => {
  const [first, second] = ['first', 'second'].map(h.id);
  const ev = await h.startEvent({
    windowMs: 30_000,
    maxConcurrency: 1,
    hooks: { 'smoke-test': { ok: false } },
    machines: [{ id: first, post: [{ name: 'smoke-test', type: 'lambda' }] }, { id: second }],
  });
  expect(await ev.finished()).toMatchObject({ status: 'DONE_PARTIAL' });
  expect(await ev.machineRun(first).result()).toMatchObject({ status: 'SUCCESS', hostHookFailed: true });
  expect(h.fleet.machineStatus(ev.eventId, second)).toBe('OMITTED');
  await expect(ev.machineRun(second).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
});

test('a script host hook runs as a command on the machine, before the patch; exit 1 omits the machine', async () => {
  const [ok, bad] = ['ok', 'bad'].map(h.id);
  const ev = await h.startEvent({
    windowMs: 30_000,
    hooks: { 'pre-script': [{ ok: true, ms: 200 }], 'bad-script': { ok: false } },
    machines: [
      { id: ok, pre: [{ name: 'pre-script', type: 'script' }] },
      { id: bad, pre: [{ name: 'bad-script', type: 'script' }] },
    ],
  });
  expect(await ev.finished()).toMatchObject({ status: 'DONE_PARTIAL' });
  expect(await ev.machineRun(ok).result()).toMatchObject({ status: 'SUCCESS' });
  expect(await ev.machineRun(bad).result()).toMatchObject({ status: 'OMITTED', hostHookFailed: true });
  const kinds = (m: string) => h.fleet.commandCalls('startCommand', m).map((c) => c.request.ref.kind);
  expect(kinds(ok)).toEqual(['hook', 'patch']);
  expect(kinds(bad)).toEqual(['hook']);
});
