/**
 * An operator finds every run in the Temporal UI (docs/behaviour.md#temporal-ui): readable workflow IDs from business keys,
 * and search attributes that stay current — the event's PatchwaveStatus follows the event through its run
 * and a later manual status change. Asked through the same visibility API the UI uses.
 *
 * With PATCHWAVE_SAVE_HISTORIES=1 this test also refreshes the histories replayed by test/unit/replay.
 */
import path from 'node:path';
import { Client, Connection, type WorkflowExecutionInfo } from '@temporalio/client';
import { startStack, waitFor, type Stack } from '../helpers/stack';
import { answer, fleet, machineOf } from '../helpers/e2e-fleet';
import { SA } from '../../domain/search-attributes';
import { saveHistory } from '../../scripts/save-history';

jest.setTimeout(240_000);

let stack: Stack;
let f: ReturnType<typeof fleet>;
let connection: Connection;
let client: Client;
beforeAll(async () => {
  stack = await startStack('temporal_ui');
  f = fleet(stack);
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE || 'default' });
});
afterAll(async () => {
  await connection?.close();
  await stack?.close();
});

async function list(query: string): Promise<WorkflowExecutionInfo[]> {
  const found: WorkflowExecutionInfo[] = [];
  for await (const wf of client.workflow.list({ query })) found.push(wf);
  return found;
}

/** Visibility lags the workflow a little on the dev server: wait until the query sees what we expect. */
function findOne(
  query: string,
  ok: (wf: WorkflowExecutionInfo) => boolean = () => true,
): Promise<WorkflowExecutionInfo> {
  return waitFor(
    `visibility: ${query}`,
    async () => {
      const found = await list(query);
      return found.length === 1 && ok(found[0]) ? found[0] : undefined;
    },
    30_000,
  );
}

const statusOf = (wf: WorkflowExecutionInfo) => wf.typedSearchAttributes.get(SA.status);

test('event, machine run and machine command queue are found by business keys; statuses follow the event', async () => {
  const patched = await f.machine({ name: 'ui-web-1' });
  const failing = await f.machine({ name: 'ui-db-1', commands: [{ duration_s: 1, outcome: 'failed' }] });
  const pre = await f.lambda([answer(200, 'drained', 'lb-out')]);
  const post = await f.azure([answer(200, 'restored', 'lb-in')], 'POST');
  const hostPre = await f.lambda([answer(200, 'stopped', 'svc down')]);
  const hostScript = await f.script('#!/bin/sh\necho svc up\n');
  const planId = await f.plan({
    pre_hooks: [pre.hook],
    post_hooks: [post.hook],
    machines: [
      {
        machine_id: patched.id,
        pre_host_hooks: [hostPre.hook],
        post_host_hooks: [{ type: 'script', source: hostScript }],
      },
      { machine_id: failing.id },
    ],
  });
  const eventId = await f.execute(planId);
  const ev = await f.finished(eventId);
  expect(ev.status).toBe('DONE_PARTIAL');
  expect(machineOf(ev, patched.id).status).toBe('SUCCESS');
  expect(machineOf(ev, failing.id).status).toBe('FAILED');
  const customerId = (ev as unknown as { customer_id: string }).customer_id;

  // The event: `event/<event_id>`, by PatchwaveEvent, with its final status.
  const event = await findOne(
    `PatchwaveEvent = "${eventId}" AND PatchwaveKind = "event"`,
    (wf) => statusOf(wf) === 'DONE_PARTIAL',
  );
  expect(event.workflowId).toBe(`event/${eventId}`);
  expect(event.type).toBe('eventWorkflow');
  expect(event.typedSearchAttributes.get(SA.customer)).toBe(customerId);
  expect(event.typedSearchAttributes.get(SA.plan)).toBe(planId);
  expect(event.typedSearchAttributes.get(SA.event)).toBe(eventId);
  expect((await client.workflow.getHandle(event.workflowId).describe()).memo).toMatchObject({
    plan_name: expect.any(String),
  });

  // Each machine run: `event/<id>/machine/<machine_id>/run-0`, by PatchwaveMachine, with the machine's status.
  for (const [m, status] of [
    [patched, 'SUCCESS'],
    [failing, 'FAILED'],
  ] as const) {
    const run = await findOne(
      `PatchwaveMachine = "${m.id}" AND PatchwaveKind = "machine-run"`,
      (wf) => statusOf(wf) === status,
    );
    expect(run.workflowId).toBe(`event/${eventId}/machine/${m.id}/run-0`);
    expect(run.typedSearchAttributes.get(SA.event)).toBe(eventId);
    expect(run.typedSearchAttributes.get(SA.customer)).toBe(customerId);
    expect(run.typedSearchAttributes.get(SA.plan)).toBe(planId);
    // The machine's command queue: `machine/<machine_id>`.
    const queue = await findOne(`PatchwaveMachine = "${m.id}" AND PatchwaveKind = "machine"`);
    expect(queue.workflowId).toBe(`machine/${m.id}`);
  }
  // Everything of this event at once, as an operator would filter the UI.
  const ofEvent = await waitFor('all runs of the event', async () => {
    const found = await list(`PatchwaveEvent = "${eventId}"`);
    return found.length === 3 ? found : undefined;
  });
  expect(ofEvent.map((wf) => wf.workflowId).sort()).toEqual(
    [
      `event/${eventId}`,
      `event/${eventId}/machine/${failing.id}/run-0`,
      `event/${eventId}/machine/${patched.id}/run-0`,
    ].sort(),
  );

  // A manual change after the run: the event's status search attribute follows it.
  const manual = await stack.api('POST', `/api/v1/events/${eventId}/machines/${failing.id}/status`, {
    manual_status: 'SUCCESS_MANUAL',
    action_taken: 'patched by hand',
  });
  expect(manual.status).toBeLessThan(300);
  const after = await f.finished(eventId);
  expect(after.status).toBe('DONE_MANUAL');
  await findOne(
    `PatchwaveEvent = "${eventId}" AND PatchwaveKind = "event"`,
    (wf) => statusOf(wf) === 'DONE_MANUAL',
  );
  expect(
    await list(
      `PatchwaveEvent = "${eventId}" AND PatchwaveKind = "event" AND PatchwaveStatus = "DONE_PARTIAL"`,
    ),
  ).toEqual([]);

  if (process.env.PATCHWAVE_SAVE_HISTORIES === '1') {
    const dir = path.join(__dirname, '../unit/replay/histories');
    await saveHistory(client, `event/${eventId}`, path.join(dir, 'event-with-hooks.json'));
    await saveHistory(
      client,
      `event/${eventId}/machine/${patched.id}/run-0`,
      path.join(dir, 'machine-run-with-hooks.json'),
    );
    await saveHistory(client, `machine/${patched.id}`, path.join(dir, 'machine-owner.json'));
  }
});
