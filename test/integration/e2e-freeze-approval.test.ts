/**
 * Freeze calendars' `run_with_approval` rule end to end (issue 16 item 4, docs/behaviour.md#freeze-calendars),
 * through the REST API on the real stack: an event whose window opens inside a freeze is NOT_APPROVED with the
 * freeze as the reason; one approval is "1 of 2"; the same API key approving again is refused (409); a second
 * API key (a second person) approves it, and it runs inside the freeze, with both approvers on the timeline. An
 * event approved by one person only is skipped when its window opens (DELETED, `freeze_skipped`).
 */
import { newSsmId, startStack, waitFor, waitForEventStatus, type Stack } from '../helpers/stack';

jest.setTimeout(180_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('freeze-approval');
});
afterAll(async () => stack?.close());

interface Ev {
  id: string;
  status: string;
  start: string;
  started_at?: string;
  machines: { machine_id: string; status: string }[];
  timeline: { type: string; message: string }[];
  freeze?: { state: string; action: string; reason: string };
}
const read = async (id: string) => (await stack.api<Ev>('GET', `/api/v1/events/${id}`)).body;
const labCommands = (ssm: string) => stack.lab_<unknown[]>('GET', `/_lab/machines/${ssm}/commands`);

/** A request made with another API key (another person). */
async function as<T>(secret: string, method: string, path: string) {
  const res = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${secret}` },
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
const ics = (startMs: number, endMs: number, summary: string) =>
  [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'BEGIN:VEVENT',
    `UID:e2e-approval-${startMs}`,
    `SUMMARY:${summary}`,
    `DTSTART:${stamp(startMs)}`,
    `DTEND:${stamp(endMs)}`,
    'END:VEVENT',
    'END:VCALENDAR',
  ].join('\r\n');

async function createEvent(planId: string, startMs: number): Promise<string> {
  const e = await stack.api<{ id: string }>('POST', '/api/v1/events', {
    plan_id: planId,
    start: new Date(startMs).toISOString(),
    end: new Date(startMs + 1800_000).toISOString(),
  });
  expect([e.status, JSON.stringify(e.body)]).toEqual([201, expect.any(String)]);
  return e.body.id;
}

test('run_with_approval: NOT_APPROVED inside a freeze, 1 of 2, same key refused, a second key lets it run; one approval is skipped', async () => {
  // A second person: an API key that may read and approve events.
  const role = await stack.api<{ id: string }>('POST', '/api/v1/roles', {
    name: 'approver',
    rules: [{ resources: ['event'], actions: ['get', 'update'] }],
  });
  expect(role.status).toBe(201);
  const second = await stack.api<{ id: string; secret: string }>('POST', '/api/v1/api-keys', {
    name: 'second approver',
    role_ids: [role.body.id],
  });
  expect(second.status).toBe(201);

  const ssm = newSsmId();
  await stack.lab_('PUT', `/_lab/machines/${ssm}`, {
    platform: 'Linux',
    online: true,
    commands: [{ duration_s: 1, outcome: 'success', installed: ['pkg'] }],
  });
  const m = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
    name: 'frozen-approved',
    access: { ssm_machine_id: ssm, region: 'us-east-1' },
  });
  expect(m.status).toBe(201);
  const p = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: 'approval plan',
    cron: '0 0 1 1 *',
    window_hours: 0.5,
    max_concurrency: 1,
    machines: [{ machine_id: m.body.id, order: 1 }],
    freeze_rule: { action: 'run_with_approval' },
  });
  expect([p.status, JSON.stringify(p.body)]).toEqual([201, expect.any(String)]);
  const now = Date.now();
  const cal = await stack.api('POST', '/api/v1/freeze-calendars', {
    name: 'Finance',
    ics: ics(now - 60_000, now + 3600_000, 'Quarter close'),
    attach: { to: 'plans', plan_ids: [p.body.id] },
  });
  expect(cal.status).toBe(201);

  const startMs = Math.ceil((now + 30_000) / 1000) * 1000;
  const approvedId = await createEvent(p.body.id, startMs);
  const skippedId = await createEvent(p.body.id, startMs + 1000);

  // The verdict asks for two people: NOT_APPROVED with the reason, before the window opens.
  for (const id of [approvedId, skippedId]) {
    const asked = await waitFor('NOT_APPROVED for the freeze', async () => {
      const e = await read(id);
      return e.status === 'NOT_APPROVED' && e.timeline.some((t) => t.type === 'freeze_approval_needed')
        ? e
        : undefined;
    });
    expect(asked.freeze).toMatchObject({
      state: 'frozen',
      action: 'run_with_approval',
      reason: 'freeze calendar Finance: Quarter close',
    });
    expect(asked.timeline).toContainEqual({
      type: 'freeze_approval_needed',
      message: expect.stringContaining('freeze calendar Finance: Quarter close'),
      at: expect.any(String),
    });
  }

  // First person: counted, still NOT_APPROVED ("1 of 2").
  for (const id of [approvedId, skippedId]) {
    const first = await stack.api<{ status: string }>('POST', `/api/v1/events/${id}/approve`);
    expect([first.status, first.body.status]).toEqual([200, 'NOT_APPROVED']);
    const e = await read(id);
    expect(e.status).toBe('NOT_APPROVED');
    expect(e.timeline).toContainEqual(
      expect.objectContaining({
        type: 'approved',
        message: expect.stringContaining('(1 of 2): needs a second person'),
      }),
    );
  }

  // The same key again: refused at once, naming why.
  const again = await stack.api<{ error: { code: string; message: string } }>(
    'POST',
    `/api/v1/events/${approvedId}/approve`,
  );
  expect(again.status).toBe(409);
  expect(again.body.error.message).toMatch(/already approved this event to run inside its freeze \(1 of 2\)/);
  expect(again.body.error.message).toContain('another person (another API key)');

  // A second person: approved, and it runs inside the freeze at its start.
  const ok = await as<{ status: string }>(second.body.secret, 'POST', `/api/v1/events/${approvedId}/approve`);
  expect([ok.status, ok.body.status]).toEqual([200, 'NEW']);
  expect((await read(approvedId)).timeline).toContainEqual(
    expect.objectContaining({
      type: 'approved',
      message: expect.stringContaining(
        `approved by ${second.body.id} to run inside the freeze (2 of 2, with `,
      ),
    }),
  );
  expect(Date.now()).toBeLessThan(startMs); // all of it before the window opens

  const done = (await waitForEventStatus(stack, approvedId)) as unknown as Ev;
  expect([done.status, done.machines[0].status]).toEqual(['DONE', 'SUCCESS']);
  expect(Date.parse(done.started_at!)).toBeGreaterThanOrEqual(startMs);
  expect(Date.parse(done.started_at!)).toBeLessThan(now + 3600_000); // inside the freeze
  const ran = done.timeline.find((t) => t.type === 'freeze_approved_run');
  expect(ran?.message).toMatch(
    /^runs inside the freeze: freeze calendar Finance: Quarter close .*approved by /,
  );
  expect(ran?.message).toContain(` and ${second.body.id}`);

  // Approved by one person only: skipped when its window opens, with the reason.
  const skipped = await waitFor('skipped', async () => {
    const e = await read(skippedId);
    return e.status === 'DELETED' && e.timeline.some((t) => t.type === 'freeze_skipped') ? e : undefined;
  });
  expect(skipped.timeline).toContainEqual(
    expect.objectContaining({
      type: 'freeze_skipped',
      message: expect.stringMatching(
        /^not run: freeze calendar Finance: Quarter close \(.*\); not approved by two people \(1 of 2: /,
      ),
    }),
  );
  expect(await labCommands(ssm)).toHaveLength(1); // only the approved event's command
});
