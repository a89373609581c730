/**
 * The `success` pipeline policy through the front door (issue 14, docs/behaviour.md#policies): when the previous step did
 * not end DONE/DONE_MANUAL, the step's events never run and never wait for approval — they end DELETED, and
 * the reason (naming the failed step) is in the event's timeline, in the audit log and in a notice.
 * A later `success` step is deleted in turn (the deleted step did not succeed either).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { newSsmId, startStack, waitFor, waitForEventStatus, type Stack } from '../helpers/stack';

jest.setTimeout(180_000);
const SECRET = 'test-webhook-secret-policy-0123456789';

let stack: Stack;
let receiver: Server;
let receiverUrl: string;
const received: { type: string; text: string; details: { event?: { id?: string; status?: string } } }[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  stack = await startStack('pipeline-policy', { env: { PATCHWAVE_WEBHOOK_SECRET: SECRET } });
});
afterAll(async () => {
  await stack?.close();
  await new Promise((r) => receiver?.close(r));
});

interface TimelineEvent {
  status: string;
  timeline: { type: string; message: string }[];
}

async function machine(outcome: 'success' | 'failed') {
  const ssmId = newSsmId();
  await stack.lab_('PUT', `/_lab/machines/${ssmId}`, {
    platform: 'Linux',
    online: true,
    commands: [{ duration_s: 1, outcome, installed: outcome === 'success' ? ['p'] : [] }],
  });
  const r = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
    name: `m-${ssmId.slice(-6)}`,
    access: { ssm_machine_id: ssmId, region: 'us-east-1' },
  });
  expect(r.status).toBe(201);
  return { id: r.body.id, ssmId };
}

test('success policy: after a failed step the next steps end DELETED, never NOT_APPROVED, with the reason recorded', async () => {
  const group = await stack.api<{ id: string }>('POST', '/api/v1/notification-groups', {
    name: 'policy watchers',
    min_severity: 'INFO',
    channels: [{ type: 'webhook', url: receiverUrl }],
  });
  expect(group.status).toBe(201);
  const a = await machine('failed');
  const b = await machine('success');
  const c = await machine('success');
  const plan = async (name: string, id: string) => {
    const r = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
      name,
      cron: '0 0 1 1 *',
      window_hours: 0.1,
      notification_groups: [group.body.id],
      machines: [{ machine_id: id }],
    });
    expect(r.status).toBe(201);
    return r.body.id;
  };
  const pa = await plan('A', a.id);
  const pb = await plan('B', b.id);
  const pc = await plan('C', c.id);
  const pl = await stack.api<{ id: string }>('POST', '/api/v1/pipelines', {
    name: `success-${Date.now().toString(36)}`,
    cron: '0 0 1 1 *',
    steps: [
      { plans: [pa], policy: 'always', offset_hours: 0 },
      { plans: [pb], policy: 'success', offset_hours: 0.002 },
      { plans: [pc], policy: 'success', offset_hours: 0.004 },
    ],
  });
  expect(pl.status).toBe(201);
  const run = await stack.api<{ event_ids: string[] }>('POST', `/api/v1/pipelines/${pl.body.id}/execute`);
  expect(run.status).toBeLessThan(300);
  const idOf = (planId: string) => run.body.event_ids.find((id) => id.startsWith(planId))!;
  const [evA, evB, evC] = [idOf(pa), idOf(pb), idOf(pc)];

  expect((await waitForEventStatus(stack, evA)).status).toBe('DONE_ERROR');
  // The status, then the timeline line, audit record and notice that give the reason (written in that order:
  // a reader polls until the reason is there, as for anything the workflow does on its own).
  const deletedWithReason = (id: string) =>
    waitFor(`${id} DELETED with its reason`, async () => {
      const e = (await stack.api<TimelineEvent>('GET', `/api/v1/events/${id}`)).body;
      if (['NOT_APPROVED', 'IN_PROGRESS', 'DONE'].includes(e.status))
        throw new Error(`${id} is ${e.status}, it should have been deleted`);
      const line = e.timeline.find((t) => t.type === 'deleted');
      return e.status === 'DELETED' && line ? { e, line } : undefined;
    });
  const deletedB = await deletedWithReason(evB);
  const deletedC = await deletedWithReason(evC);

  // Timeline: the reason names the failed step; the event never waited for approval.
  expect(deletedB.line.message).toMatch(
    new RegExp(`policy success.*step 0 did not succeed.*${evA}.*DONE_ERROR`),
  );
  expect(deletedB.e.timeline.map((t) => t.message).join('\n')).not.toMatch(/NOT_APPROVED/);
  expect(deletedC.line.message).toMatch(/step 1 was not run/);

  // Nothing ran on B's or C's machines.
  expect(await stack.lab_<unknown[]>('GET', `/_lab/machines/${b.ssmId}/commands`)).toHaveLength(0);
  expect(await stack.lab_<unknown[]>('GET', `/_lab/machines/${c.ssmId}/commands`)).toHaveLength(0);

  // Audit log: who (the policy), what (delete), why.
  const audit = await waitFor('audit record of B', async () => {
    const r = await stack.api<{
      items: { actor: string; action: string; details: { reason: string } }[];
    }>('GET', `/api/v1/audit?resource=event&resource_id=${encodeURIComponent(evB)}`);
    return r.status === 200 && r.body.items.length > 0 ? r.body.items : undefined;
  });
  expect(audit).toEqual([
    expect.objectContaining({
      actor: 'pipeline-policy:success',
      action: 'delete',
      details: expect.objectContaining({ reason: expect.stringMatching(/step 0 did not succeed/) }),
    }),
  ]);

  // A notice names the failed step and offers no approval.
  const notice = await waitFor('notice for B', async () =>
    received.find((r) => r.type === 'not_approved_patching' && r.details.event?.id === evB),
  );
  expect(notice.details.event?.status).toBe('DELETED');
  expect(notice.text).toMatch(/will not run/);
  expect(notice.text).toMatch(/step 0 did not succeed/);
  expect(notice.text).not.toMatch(/event approve/);
});
