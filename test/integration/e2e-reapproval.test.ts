/**
 * Re-approval when the target set changes (issue 17 item 4, docs/behaviour.md#approve), through the REST API and
 * the lab only: an approval records the targets it was given on (shown on GET /events/:id); a dynamic plan whose
 * tag selector matches more machines by the time the window opens asks for approval again (NOT_APPROVED, with
 * the reason on the timeline and in the audit log) and runs once approved again; a change within the plan's
 * reapproval_threshold keeps the approval.
 */
import { newSsmId, startStack, waitFor, waitForEventStatus, type Stack } from '../helpers/stack';
import type { ApprovalRecord } from '../../domain/approval';

jest.setTimeout(240_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('reapproval');
});
afterAll(async () => {
  await stack?.close();
});

interface Ev {
  id: string;
  status: string;
  start: string;
  approval?: ApprovalRecord;
  machines: { ssm_machine_id: string; status: string }[];
  timeline: { type: string; message: string }[];
}

const read = async (id: string) => (await stack.api<Ev>('GET', `/api/v1/events/${id}`)).body;

async function tagged(tag: string): Promise<string> {
  const id = newSsmId();
  await stack.lab_('PUT', `/_lab/machines/${id}`, {
    platform: 'Linux',
    online: true,
    tags: { Reapproval: tag },
    commands: [{ duration_s: 1, outcome: 'success', installed: ['pkg'] }],
  });
  return id;
}

/**
 * A one-step pipeline with the `approval` policy over a dynamic plan: its event waits NOT_APPROVED, and its window
 * opens `leadS` seconds after the run starts (time to approve and retag machines before it does).
 */
async function approvalEvent(tag: string, plan: Record<string, unknown> = {}, leadS = 45): Promise<string> {
  const p = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: `reapproval ${tag}`,
    cron: '0 0 1 1 *',
    window_hours: 0.1,
    dynamic: [{ tags: { Reapproval: [tag] }, regions: ['us-east-1'] }],
    ...plan,
  });
  expect(p.status).toBe(201);
  const pl = await stack.api<{ id: string }>('POST', '/api/v1/pipelines', {
    name: `reapproval-${tag}`,
    cron: '0 0 1 1 *',
    enabled: false,
    steps: [{ plans: [p.body.id], policy: 'approval', offset_hours: leadS / 3600 }],
  });
  expect(pl.status).toBe(201);
  const run = await stack.api<{ event_ids: string[] }>('POST', `/api/v1/pipelines/${pl.body.id}/execute`);
  expect(run.status).toBeLessThan(300);
  const [id] = run.body.event_ids;
  await waitForEventStatus(stack, id, ['NOT_APPROVED']);
  return id;
}

test('targets changed beyond the threshold before the window: NOT_APPROVED again with the reason; approved again, it runs', async () => {
  const tag = `t${Date.now().toString(36)}`;
  const first = [await tagged(tag), await tagged(tag)];
  const id = await approvalEvent(tag);
  expect((await read(id)).approval).toBeUndefined();

  // Approve: the record names who, when, and the two targets the selector found then.
  const approved = await stack.api<Ev>('POST', `/api/v1/events/${id}/approve`);
  expect(approved.status).toBe(200);
  const ev = await read(id);
  expect(ev.approval).toMatchObject({
    by: expect.any(String),
    via: 'api',
    targets: 2,
    reapproval_threshold: 0.1,
  });
  expect(ev.approval!.target_digest).toMatch(/^[0-9a-f]{16}$/);
  expect(Date.now() - Date.parse(ev.approval!.at)).toBeLessThan(60_000);
  expect(ev.timeline.map((t) => t.type)).toEqual(expect.arrayContaining(['approved', 'approval_recorded']));
  expect(Date.now()).toBeLessThan(Date.parse(ev.start)); // all this before the window opens

  // Two more machines are tagged: +2 of 2 approved (100 %) is more than the default 10 %.
  const added = [await tagged(tag), await tagged(tag)];
  const waiting = await waitFor(
    'the event to ask for approval again at its window',
    async () => {
      const e = await read(id);
      const line = e.timeline.find((t) => t.type === 'reapproval_needed');
      return e.status === 'NOT_APPROVED' && line ? { e, line } : undefined;
    },
    120_000,
  );
  expect(waiting.line.message).toMatch(
    new RegExp(
      `^target set changed: \\+2 −0 machines since approval by ${ev.approval!.by} at ${ev.approval!.at.replace(/\./g, '\\.')} \\(100 % of 2 approved`,
    ),
  );
  expect(waiting.e.machines).toHaveLength(0); // nothing started
  for (const ssmId of [...first, ...added])
    expect(await stack.lab_<unknown[]>('GET', `/_lab/machines/${ssmId}/commands`)).toHaveLength(0);
  const audit = await stack.api<{ items: { action: string; actor: string; details?: { added?: number } }[] }>(
    'GET',
    `/api/v1/audit?resource=event&resource_id=${encodeURIComponent(id)}`,
  );
  expect(audit.body.items).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ action: 'approve' }),
      expect.objectContaining({
        action: 'reapproval_needed',
        actor: 'patchwave:reapproval-check',
        details: expect.objectContaining({ added: 2, removed: 0 }),
      }),
    ]),
  );

  // Approved again (inside the window): a new record on four targets, and the event runs on all four.
  expect((await stack.api('POST', `/api/v1/events/${id}/approve`)).status).toBe(200);
  const again = await read(id);
  expect(again.approval).toMatchObject({ targets: 4 });
  expect(again.approval!.target_digest).not.toBe(ev.approval!.target_digest);
  const done = (await waitForEventStatus(stack, id, undefined, 120_000)) as unknown as Ev;
  expect(done.status).toBe('DONE');
  expect(done.machines.map((m) => m.ssm_machine_id).sort()).toEqual([...first, ...added].sort());
});

test('a change within the plan reapproval_threshold keeps the approval: noted, and the event runs', async () => {
  const tag = `k${Date.now().toString(36)}`;
  const first = [await tagged(tag), await tagged(tag)];
  const id = await approvalEvent(tag, { reapproval_threshold: 0.5 });
  expect((await stack.api('POST', `/api/v1/events/${id}/approve`)).status).toBe(200);
  expect((await read(id)).approval).toMatchObject({ targets: 2, reapproval_threshold: 0.5 });

  // +1 of 2 approved is 50 %: not more than 0.5.
  const extra = await tagged(tag);
  const done = (await waitForEventStatus(stack, id, undefined, 150_000)) as unknown as Ev;
  expect(done.status).toBe('DONE');
  expect(done.machines.map((m) => m.ssm_machine_id).sort()).toEqual([...first, extra].sort());
  const types = done.timeline.map((t) => t.type);
  expect(types).not.toContain('reapproval_needed');
  expect(done.timeline.find((t) => t.type === 'approval_kept')?.message).toMatch(
    /^target set changed: \+1 −0 machines since approval by .* \(50 %, not more than the plan's reapproval_threshold of 50 %\): the approval holds$/,
  );
});
