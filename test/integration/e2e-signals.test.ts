/**
 * Approve and manual status as Temporal Signals (issue 14, docs/behaviour.md#approve), sent through the Temporal client
 * exactly as the Temporal UI's "Send a Signal" does: the signal name and one JSON payload, by workflow ID.
 * Accepted signals change the event as the API's Updates do; refused ones are recorded on the timeline and in
 * the audit log with the reason, and change nothing. Reads go through the REST API.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { findBinary } from '../../scripts/lib/servers';
import { openTestTemporal, testEnv, type TestTemporal } from '../helpers/servers';
import { newSsmId, startStack, waitFor, waitForEventStatus, type Stack } from '../helpers/stack';

jest.setTimeout(180_000);

let stack: Stack;
let temporal: TestTemporal;
let client: Client;
beforeAll(async () => {
  stack = await startStack('signals');
  temporal = await openTestTemporal();
  client = temporal.client;
});
afterAll(async () => {
  await temporal?.close();
  await stack?.close();
});

interface Ev {
  status: string;
  machines: { machine_id: string; status: string; action_taken?: string }[];
  timeline: { type: string; message: string }[];
  approval?: { by: string; via: string; targets: number };
}
interface Audit {
  items: { actor: string; action: string; details: { reason?: string; via?: string } }[];
}

const read = async (id: string) => (await stack.api<Ev>('GET', `/api/v1/events/${id}`)).body;
/** What the UI sends: signal name + JSON input, untyped, addressed by workflow ID. */
const signal = (eventId: string, name: string, input?: unknown) =>
  client.workflow.getHandle(`event/${eventId}`).signal(name, ...(input === undefined ? [] : [input]));

async function waitForTimeline(eventId: string, pattern: RegExp): Promise<Ev> {
  return waitFor(`timeline of ${eventId} to match ${pattern}`, async () => {
    const e = await read(eventId);
    return e.timeline.some((t) => pattern.test(t.message)) ? e : undefined;
  });
}

test('approve and manualStatus signals: applied when the rules allow, recorded with the reason when not', async () => {
  const ssmId = newSsmId();
  await stack.lab_('PUT', `/_lab/machines/${ssmId}`, {
    platform: 'Linux',
    online: true,
    commands: [{ duration_s: 1, outcome: 'failed' }],
  });
  const m = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
    name: 'signalled',
    access: { ssm_machine_id: ssmId, region: 'us-east-1' },
  });
  const p = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: 'needs approval',
    cron: '0 0 1 1 *',
    window_hours: 0.1,
    machines: [{ machine_id: m.body.id }],
  });
  const pl = await stack.api<{ id: string }>('POST', '/api/v1/pipelines', {
    name: `signals-${Date.now().toString(36)}`,
    cron: '0 0 1 1 *',
    steps: [{ plans: [p.body.id], policy: 'approval', offset_hours: 0 }],
  });
  expect(pl.status).toBe(201);
  const run = await stack.api<{ event_ids: string[] }>('POST', `/api/v1/pipelines/${pl.body.id}/execute`);
  const [eventId] = run.body.event_ids;
  await waitForEventStatus(stack, eventId, ['NOT_APPROVED']);

  // A manual status before the event ran: refused, recorded, nothing changes.
  await signal(eventId, 'manualStatus', {
    machine_id: m.body.id,
    manual_status: 'SUCCESS_MANUAL',
    action_taken: 'by hand',
    requested_by: 'ops-bob',
  });
  await waitForTimeline(eventId, /manual_status signal from ops-bob refused: .*finished event.*NOT_APPROVED/);
  expect((await read(eventId)).status).toBe('NOT_APPROVED');

  // Approve from the UI: the event runs.
  await signal(eventId, 'approve', { requested_by: 'ops-alice' });
  const done = await waitForEventStatus(stack, eventId);
  expect(done.status).toBe('DONE_ERROR');
  expect((done.timeline as Ev['timeline']).map((t) => t.message)).toContain(
    'approved by ops-alice (Temporal signal)',
  );
  // The approval is recorded with what it was given on (docs/behaviour.md#reapproval), signal or Update alike.
  expect((done as unknown as Ev).approval).toMatchObject({
    by: 'ops-alice',
    via: 'temporal_signal',
    targets: 1,
  });

  // A second approval (no input at all, as a bare "Send" in the UI) is refused and recorded.
  await signal(eventId, 'approve');
  await waitForTimeline(eventId, /approve signal from temporal-signal refused: only a NOT_APPROVED event/);
  expect((await read(eventId)).status).toBe('DONE_ERROR');

  // Malformed and rule-breaking manual statuses are refused with the reason.
  await signal(eventId, 'manualStatus', {
    machine_id: m.body.id,
    manual_status: 'DONE',
    requested_by: 'ops-bob',
  });
  await waitForTimeline(eventId, /refused: manual_status must be one of SUCCESS_MANUAL/);
  await signal(eventId, 'manualStatus', {
    machine_id: m.body.id,
    manual_status: 'SUCCESS_MANUAL',
    requested_by: 'ops-bob',
  });
  await waitForTimeline(eventId, /refused: action_taken is required for SUCCESS_MANUAL/);
  await signal(eventId, 'manualStatus', {
    machine_id: 'mch_not_in_this_event',
    manual_status: 'FAILED_MANUAL',
    action_taken: 'x',
    requested_by: 'ops-bob',
  });
  await waitForTimeline(eventId, /refused: machine mch_not_in_this_event is not part of event/);
  expect((await read(eventId)).status).toBe('DONE_ERROR');

  // A valid one is applied: machine and event status recomputed. Sent with the README's `temporal` command.
  const env = testEnv();
  await promisify(execFile)(findBinary('temporal'), [
    'workflow',
    'signal',
    '--address',
    env.temporalAddress,
    '--namespace',
    env.temporalNamespace,
    '--workflow-id',
    `event/${eventId}`,
    '--name',
    'manualStatus',
    '--input',
    JSON.stringify({
      machine_id: m.body.id,
      manual_status: 'SUCCESS_MANUAL',
      action_taken: 'patched by hand',
      requested_by: 'ops-bob',
    }),
  ]);
  const manual = await waitForEventStatus(stack, eventId, ['DONE_MANUAL']);
  expect(manual.machines[0]).toMatchObject({ status: 'SUCCESS_MANUAL', action_taken: 'patched by hand' });

  // The audit log has every signal: who, what, applied or refused and why (the last one is recorded after the
  // change it describes, so poll for it as a client would).
  const audit = await waitFor('audit of the applied manual status', async () => {
    const r = await stack.api<Audit>(
      'GET',
      `/api/v1/audit?resource=event&resource_id=${encodeURIComponent(eventId)}&limit=50`,
    );
    return r.body.items.some((a) => a.action === 'manual_status') ? r : undefined;
  });
  const bySignal = audit.body.items.filter((a) => a.details?.via === 'temporal_signal');
  expect(bySignal.map((a) => `${a.actor}:${a.action}`).sort()).toEqual(
    [
      'ops-alice:approve',
      'ops-bob:manual_status',
      'ops-bob:manual_status_refused',
      'ops-bob:manual_status_refused',
      'ops-bob:manual_status_refused',
      'ops-bob:manual_status_refused',
      'temporal-signal:approve_refused',
    ].sort(),
  );
  expect(bySignal.filter((a) => a.action.endsWith('_refused')).every((a) => !!a.details.reason)).toBe(true);
});
