/**
 * Secrets never reach Temporal (issue 8 §4): an Azure function code (`?code=SECRET123`) and a webhook URL are
 * stored once in MongoDB and referenced by ID, so no workflow history of the event — the event workflow, its
 * machine-run children and the machine command queue, every run of each — contains them: not in inputs,
 * activity arguments or results, signals, memos, search attributes or failure messages. The search decodes
 * every payload, and must find the event's own ID (so a search that sees nothing cannot pass).
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { openTestTemporal, type TestTemporal } from '../helpers/servers';
import { startStack, waitFor, type Stack } from '../helpers/stack';
import { answer, fleet, machineOf } from '../helpers/e2e-fleet';

jest.setTimeout(240_000);

const SECRET = 'SECRET123';

let stack: Stack;
let temporal: TestTemporal;
let f: ReturnType<typeof fleet>;
beforeAll(async () => {
  stack = await startStack('secrets_history', {
    env: { PATCHWAVE_WEBHOOK_SECRET: randomBytes(24).toString('hex') },
  });
  temporal = await openTestTemporal();
  f = fleet(stack);
});
afterAll(async () => {
  await temporal?.close();
  await stack?.close();
});

/** Every string in a history, with every byte payload decoded as UTF-8 (payload data is JSON bytes). */
function textOf(value: unknown, out: string[] = [], seen = new Set<unknown>()): string[] {
  if (value === null || value === undefined) return out;
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (typeof value === 'object') {
    if (seen.has(value)) return out;
    seen.add(value);
    for (const v of Object.values(value as Record<string, unknown>)) textOf(v, out, seen);
  } else out.push(String(value));
  return out;
}

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('no workflow history of an event holds the Azure code or the webhook URL', async () => {
  const webhookToken = `whk${randomBytes(8).toString('hex')}`;
  const webhookName = `webhook-${webhookToken}`;
  await stack.lab_('PUT', `/_lab/azure/${webhookName}`, {
    code: webhookToken,
    responses: [{ status: 200, body: 'ok' }],
  });
  const webhookUrl = `${stack.lab.url}/_lab/azure/${webhookName}?code=${webhookToken}`;

  const globalFn = `az-${randomBytes(4).toString('hex')}`;
  const hostFn = `az-${randomBytes(4).toString('hex')}`;
  for (const name of [globalFn, hostFn]) {
    await stack.lab_('PUT', `/_lab/azure/${name}`, { code: SECRET, responses: [answer(200, 'ok', 'done')] });
  }
  const unreachable = `http://127.0.0.1:${await closedPort()}/api/down?code=${SECRET}`;

  const group = await stack.api<{ id: string }>('POST', '/api/v1/notification-groups', {
    name: 'secret webhook',
    min_severity: 'DEBUG',
    channels: [{ type: 'webhook', url: webhookUrl }],
  });
  expect(group.status).toBe(201);
  const m = await f.machine();
  const planId = await f.plan({
    window_hours: 0.5,
    notification_groups: [group.body.id],
    pre_hooks: [{ type: 'azure', source: `${stack.lab.url}/_lab/azure/${globalFn}?code=${SECRET}` }],
    // A hook that fails in transport: its error path must not leak the code either.
    post_hooks: [{ type: 'azure', source: unreachable, method: 'POST' }],
    machines: [
      {
        machine_id: m.id,
        pre_host_hooks: [
          { type: 'azure', source: `${stack.lab.url}/_lab/azure/${hostFn}?code=${SECRET}`, method: 'POST' },
        ],
      },
    ],
  });
  const eventId = await f.execute(planId);
  const ev = await f.finished(eventId);
  expect(machineOf(ev, m.id).status).toBe('SUCCESS');
  expect(ev.hooks.map((h) => [h.name, h.code])).toEqual([
    ['pre_0', 200],
    ['post_0', 500],
  ]);
  expect(ev.status).toBe('DONE_PARTIAL');

  // The secrets were really used: the functions got their code, the webhook its messages.
  expect((await f.azureCalls(globalFn)).map((c) => c.code)).toEqual([SECRET]);
  expect((await f.azureCalls(hostFn)).map((c) => c.code)).toEqual([SECRET]);
  await waitFor('webhook deliveries', async () =>
    (await f.azureCalls(webhookName)).length >= 2 ? true : undefined,
  );
  // Nor does the API hand them out with the event.
  const view = await stack.api('GET', `/api/v1/events/${eventId}`);
  expect(JSON.stringify(view.body)).not.toContain(SECRET);

  const ids = new Set([`event/${eventId}`, `event/${eventId}/machine/${m.id}/run-0`, `machine/${m.id}`]);
  const runs = await waitFor('every workflow of the event to be listed', async () => {
    const found: { workflowId: string; runId: string }[] = [];
    for (const query of [`PatchwaveEvent = "${eventId}"`, `PatchwaveMachine = "${m.id}"`]) {
      for await (const w of temporal.client.workflow.list({ query }))
        found.push({ workflowId: w.workflowId, runId: w.runId });
    }
    return [...ids].every((id) => found.some((w) => w.workflowId === id)) ? found : undefined;
  });

  let searched = 0;
  for (const { workflowId, runId } of runs) {
    const history = await temporal.client.workflow.getHandle(workflowId, runId).fetchHistory();
    const text = textOf(history).join('\n');
    expect([workflowId, text.includes(eventId) || text.includes(m.id)]).toEqual([workflowId, true]);
    expect([workflowId, text.includes(SECRET)]).toEqual([workflowId, false]);
    expect([workflowId, text.includes(webhookToken)]).toEqual([workflowId, false]);
    expect([workflowId, text.includes(webhookUrl)]).toEqual([workflowId, false]);
    searched += history.events?.length ?? 0;
  }
  expect(runs.length).toBeGreaterThanOrEqual(3);
  expect(searched).toBeGreaterThan(30);
});
