/**
 * The shared SSM look-ups (activities/command-tracker.ts) against the fleet lab's real SSM wire protocol:
 * one sweep answers many followers, a command seen running is reported as soon as it leaves the running list,
 * pings are batched 50 per call, and failures fall back to "unknown" instead of guessing.
 */
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { createLab, type Lab } from '../../lab/server';
import { CommandTracker, InstanceInfoBatcher, type SsmCall } from '../../activities/command-tracker';

jest.setTimeout(30_000);

let lab: Lab;
let ssm: SSMClient;
const calls: string[] = [];
const call: SsmCall = (op, fn) => {
  calls.push(op);
  return fn();
};
const ids = Array.from({ length: 60 }, (_, i) => `i-0c${i.toString(16).padStart(15, '0')}`);

beforeAll(async () => {
  // 20 lab seconds per real second: a 10 s command runs for half a real second.
  lab = await createLab({ speed: 20 });
  lab.state.loadFleet({
    generate: {
      count: 60,
      prefix: 'i-0c',
      behaviour: { commands: [{ duration_s: 10, outcome: 'success' }] },
    },
  });
  lab.state.putMachine('i-0d0000000000000001', { commands: [{ duration_s: 200, outcome: 'success' }] });
  ssm = new SSMClient({
    region: 'us-east-1',
    endpoint: lab.url,
    credentials: { accessKeyId: 'lab', secretAccessKey: 'lab' },
  });
});
afterAll(async () => {
  ssm.destroy();
  await lab.close();
});
beforeEach(() => {
  calls.length = 0;
});

async function send(instanceId: string): Promise<string> {
  const r = await ssm.send(
    new SendCommandCommand({
      InstanceIds: [instanceId],
      DocumentName: 'AWS-RunShellScript',
      Parameters: { commands: ['true'] },
    }),
  );
  return r.Command!.CommandId!;
}

test('one sweep answers every follower; a command seen running is reported gone as soon as it ends', async () => {
  const tracker = new CommandTracker(async () => ssm, call, 100, 1_000);
  const sentAt = Date.now();
  const watches = await Promise.all(
    ids.slice(0, 5).map(async (id) => tracker.watch(await send(id), id, sentAt)),
  );
  const longRunning = tracker.watch(await send('i-0d0000000000000001'), 'i-0d0000000000000001', sentAt);

  // Due in 10 minutes, but each command ends after ~0.55 s: only the early report can answer within the
  // test's timeout, so no clock is asserted.
  const states = await Promise.all(watches.map((w) => w.next(Date.now() + 600_000)));
  expect(states).toEqual(['gone', 'gone', 'gone', 'gone', 'gone']);
  expect(watches.every((w) => w.seenRunning)).toBe(true);

  // The long command is still executing when its own (short) due time comes.
  expect(await longRunning.next(Date.now() + 150)).toBe('executing');
  for (const w of [...watches, longRunning]) w.close();

  expect(calls.every((c) => c === 'ListCommandInvocations')).toBe(true);
  // Six followers over ~0.6 s with 100 ms between sweeps: a handful of calls, not six per tick.
  expect(tracker.stats.pages).toBe(calls.length);
  expect(calls.length).toBeLessThanOrEqual(12);
});

test('a failing sweep answers "unknown" at the due time, never a guess', async () => {
  const broken: SsmCall = async () => {
    throw new Error('AccessDeniedException');
  };
  const tracker = new CommandTracker(async () => ssm, broken, 50, 500);
  const w = tracker.watch('00000000-0000-0000-0000-000000000000', ids[0], Date.now());
  expect(await w.next(Date.now() + 100)).toBe('unknown');
  expect(tracker.stats.failures).toBeGreaterThan(0);
  w.close();
});

test('an aborted wait rejects with the abort reason and leaves no waiter behind', async () => {
  const tracker = new CommandTracker(async () => ssm, call, 50, 500);
  const w = tracker.watch('00000000-0000-0000-0000-000000000001', ids[1], Date.now());
  const ac = new AbortController();
  const p = w.next(Date.now() + 10_000, ac.signal);
  ac.abort(new Error('cancelled'));
  await expect(p).rejects.toThrow('cancelled');
  w.close();
});

test('pings are batched: 60 machines asked together cost 2 calls, and one unknown ID costs a bisection of its batch', async () => {
  const batcher = new InstanceInfoBatcher(async () => ssm, call);
  const infos = await Promise.all([...ids, 'i-0fffffffffffffff0'].map((id) => batcher.get(id)));
  expect(infos.slice(0, 60).map((i) => i?.InstanceId)).toEqual(ids);
  expect(infos.slice(0, 60).every((i) => i?.PingStatus === 'Online')).toBe(true);
  expect(infos[60]).toBeUndefined();
  // SSM fails a whole call naming an unknown ID (InvalidInstanceId): the second batch (10 known + 1 unknown)
  // is halved until the unknown ID stands alone: 1 refused call + at most 2 per halving level.
  expect(calls.filter((c) => c === 'DescribeInstanceInformation').length).toBeLessThanOrEqual(
    1 + 1 + 2 * Math.ceil(Math.log2(11)),
  );
  expect(calls.filter((c) => c === 'DescribeInstanceInformation').length).toBeGreaterThan(2);
});

test('an Online answer is reused for a minute; a "not online" one is asked again (the node may be back)', async () => {
  const id = 'i-0e0000000000000001';
  lab.state.putMachine(id, { online: false });
  const batcher = new InstanceInfoBatcher(async () => ssm, call);
  const describes = () => calls.filter((c) => c === 'DescribeInstanceInformation').length;

  const before = describes();
  expect((await batcher.get(id))?.PingStatus).toBe('ConnectionLost');
  lab.state.putMachine(id, { online: true }); // back, e.g. after its reboot
  expect((await batcher.get(id))?.PingStatus).toBe('Online');
  expect(describes()).toBe(before + 2);

  expect((await batcher.get(id))?.PingStatus).toBe('Online'); // reused
  expect(describes()).toBe(before + 2);
});
