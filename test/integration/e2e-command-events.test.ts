/**
 * Event-driven completion (docs/workflows.md#command-polling, docs/operations.md#command-events): with
 * PATCHWAVE_COMMAND_EVENTS_QUEUE_URL set and the lab's EventBridge-like rule putting SSM's invocation events on
 * that queue, a machine's queued command is sent within seconds of the running one's end although every
 * polling interval is 20 s; with the queue away, polling alone still finishes the events.
 *
 * The queue URL is AWS-shaped: with AWS_ENDPOINT_URL set the SDK sends it to the lab, which finds the queue by
 * its name.
 */
import { startStack, waitFor, type Stack } from '../helpers/stack';
import { fleet, machineOf, type LabCommand } from '../helpers/e2e-fleet';

jest.setTimeout(300_000);

const QUEUE = 'patchwave-command-events';
const POLL_MS = '20000';

let stack: Stack;
let f: ReturnType<typeof fleet>;
beforeAll(async () => {
  stack = await startStack('e2e_command_events', {
    env: {
      // Every polling pace long: only the event can make the hand-off fast.
      SSM_POLL_MIN_MS: POLL_MS,
      SSM_POLL_MAX_MS: POLL_MS,
      SSM_WAIT_POLL_MS: POLL_MS,
      PATCHWAVE_COMMAND_EVENTS_QUEUE_URL: `https://sqs.us-east-1.amazonaws.com/123456789012/${QUEUE}`,
    },
  });
  f = fleet(stack);
  // The operator's EventBridge rule and its queue (the lab creates the queue with the rule).
  await stack.lab_('PUT', '/_lab/command-events', { queue: QUEUE });
});
afterAll(async () => {
  await stack?.close();
});

/** An event of `planId` whose window opened `agoS` seconds ago (events of a plan differ by start) for four minutes. */
async function eventNow(planId: string, agoS: number): Promise<string> {
  const start = Math.floor(Date.now() / 1000) * 1000 - agoS * 1000;
  const r = await stack.api<{ id: string }>('POST', '/api/v1/events', {
    plan_id: planId,
    start: new Date(start).toISOString(),
    end: new Date(start + 240_000).toISOString(),
  });
  if (r.status !== 201) throw new Error(`event not created: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

function waitForCommands(ssmId: string, n: number): Promise<LabCommand[]> {
  return waitFor(`${n} command(s) on ${ssmId}`, async () => {
    const cmds = await f.commands(ssmId);
    return cmds.length >= n ? cmds : undefined;
  });
}

/** Event A patches the machine (4 s); event B's request for it queues behind A's command. */
async function queuedHandOff(): Promise<{ gapMs: number; statuses: string[] }> {
  const m = await f.machine({
    commands: [
      { duration_s: 4, outcome: 'success', installed: ['openssl-3.0.13'] },
      { duration_s: 1, outcome: 'success', installed: ['tzdata-2026a'] },
    ],
  });
  const planId = await f.plan({ machines: [{ machine_id: m.id }] });
  const a = await eventNow(planId, 5);
  await waitForCommands(m.ssmId, 1);
  const b = await eventNow(planId, 1);
  const [evA, evB] = [await f.finished(a), await f.finished(b)];
  const cmds = (await waitForCommands(m.ssmId, 2)).sort(
    (x, y) => Date.parse(x.requested_at) - Date.parse(y.requested_at),
  );
  expect(cmds).toHaveLength(2);
  return {
    gapMs: Date.parse(cmds[1].requested_at) - Date.parse(cmds[0].ended_at!),
    statuses: [machineOf(evA, m.id).status, machineOf(evB, m.id).status],
  };
}

test('a terminal event on the queue hands the machine to the queued request at once', async () => {
  const sentBefore = stack.lab.state.sqs.eventsSent;
  const { gapMs, statuses } = await queuedHandOff();
  expect(statuses).toEqual(['SUCCESS', 'SUCCESS']);
  // Polling alone would notice the end up to 20 s late.
  expect(gapMs).toBeGreaterThanOrEqual(0);
  expect(gapMs).toBeLessThan(2_500);
  expect(stack.lab.state.sqs.eventsSent - sentBefore).toBe(2);
  // Every event was read and deleted.
  await waitFor(
    'the queue to be emptied',
    async () => (stack.lab.state.sqs.queues.get(QUEUE)!.messages.length === 0 ? true : undefined),
    30_000,
  );
  expect(stack.lab.state.sqs.queues.get(QUEUE)!.messages).toHaveLength(0);
});

test('with the queue away, polling alone still finishes both events', async () => {
  await stack.lab_('PUT', '/_lab/sqs', { available: false });
  const receivesBefore = stack.lab.state.calls.get('sqs:ReceiveMessage') ?? 0;
  try {
    const { gapMs, statuses } = await queuedHandOff();
    expect(statuses).toEqual(['SUCCESS', 'SUCCESS']);
    expect(gapMs).toBeGreaterThanOrEqual(0);
    // The worker kept trying the queue (and was refused) meanwhile.
    expect(stack.lab.state.calls.get('sqs:ReceiveMessage') ?? 0).toBeGreaterThan(receivesBefore);
  } finally {
    await stack.lab_('PUT', '/_lab/sqs', { available: true });
  }
});
