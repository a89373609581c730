/**
 * Freeze calendars end to end (issue 16 item 4, docs/behaviour.md#freeze-calendars), through the REST API on
 * the real stack (Temporal, the store, the worker, the lab): an event inside a freeze shows it (with the
 * reason) as soon as it is generated, days ahead, and is skipped when its window opens; `shift_to_next_open`
 * moves it to the freeze's end and it runs there; a freeze that begins while the event runs halts it
 * (HALTED, cause `freeze`): the running machine finishes, no new one starts, resume halts again while the
 * freeze lasts, and abort leaves the rest OMITTED.
 */
import {
  newSsmId,
  startStack,
  waitFor,
  waitForEventStatus,
  type EventView,
  type Stack,
  createAdHocEvent,
} from '../helpers/stack';

jest.setTimeout(180_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('freeze');
});
afterAll(async () => stack?.close());

interface Freeze {
  state: string;
  action: string;
  reason: string;
  from: string;
  until: string;
  shifted_to?: string;
}
interface Ev extends Omit<EventView, 'timeline'> {
  timeline: { type: string; message: string }[];
  freeze?: Freeze;
  started_at?: string;
}
const read = async (id: string) => (await stack.api<Ev>('GET', `/api/v1/events/${id}`)).body;
const statusOf = (e: Pick<Ev, 'machines'>, machineId: string) =>
  e.machines.find((m) => m.machine_id === machineId)?.status;
const labCommands = (ssm: string) => stack.lab_<unknown[]>('GET', `/_lab/machines/${ssm}/commands`);

const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
/** iCalendar text of one-off events [{startMs, endMs, summary}]. */
function ics(events: { startMs: number; endMs: number; summary: string }[]): string {
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    ...events.flatMap((e, i) => [
      'BEGIN:VEVENT',
      `UID:e2e-${i}-${e.startMs}`,
      `SUMMARY:${e.summary}`,
      `DTSTART:${stamp(e.startMs)}`,
      `DTEND:${stamp(e.endMs)}`,
      'END:VEVENT',
    ]),
    'END:VCALENDAR',
  ].join('\r\n');
}

/** Machines with lab behaviour and a plan over them (one machine at a time, in list order). */
async function setup(name: string, durations: number[], freezeRule?: unknown) {
  const ms: { id: string; ssm: string }[] = [];
  for (const [i, duration_s] of durations.entries()) {
    const ssm = newSsmId();
    await stack.lab_('PUT', `/_lab/machines/${ssm}`, {
      platform: 'Linux',
      online: true,
      commands: [{ duration_s, outcome: 'success', installed: ['pkg'] }],
    });
    const m = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
      name: `${name}-${i}`,
      access: { ssm_machine_id: ssm, region: 'us-east-1' },
    });
    expect(m.status).toBe(201);
    ms.push({ id: m.body.id, ssm });
  }
  const p = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name,
    cron: '0 0 1 1 *',
    window_hours: 0.5,
    max_concurrency: 1,
    machines: ms.map((m) => ({ machine_id: m.id, order: 1 })),
    ...(freezeRule ? { freeze_rule: freezeRule } : {}),
  });
  expect([p.status, JSON.stringify(p.body)]).toEqual([201, expect.any(String)]);
  return { machines: ms, planId: p.body.id };
}

async function calendar(
  name: string,
  planId: string,
  events: { startMs: number; endMs: number; summary: string }[],
) {
  const c = await stack.api<{ id: string }>('POST', '/api/v1/freeze-calendars', {
    name,
    ics: ics(events),
    attach: { to: 'plans', plan_ids: [planId] },
  });
  expect([c.status, JSON.stringify(c.body)]).toEqual([201, expect.any(String)]);
  return c.body.id;
}

const createEvent = (planId: string, startMs: number, endMs: number) =>
  createAdHocEvent(stack, planId, startMs, endMs);

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, '.000Z');

test('an event inside a freeze shows why days ahead, and is skipped when its window opens', async () => {
  const { machines, planId } = await setup('frozen plan', [1]);
  const now = Date.now();
  const soon = { startMs: now - 60_000, endMs: now + 3600_000, summary: 'Quarter close' };
  const later = {
    startMs: now + 3 * 86_400_000 - 3600_000,
    endMs: now + 3 * 86_400_000 + 7200_000,
    summary: 'Release weekend',
  };
  await calendar('Finance', planId, [soon, later]);

  // Three days ahead: NEW, with the freeze and the reason.
  const ahead = await createEvent(planId, now + 3 * 86_400_000, now + 3 * 86_400_000 + 1800_000);
  const shown = await waitFor('freeze shown ahead', async () => {
    const e = await read(ahead);
    return e.freeze ? e : undefined;
  });
  expect(shown.status).toBe('NEW');
  expect(shown.freeze).toMatchObject({
    state: 'frozen',
    action: 'skip',
    reason: 'freeze calendar Finance: Release weekend',
    from: iso(later.startMs),
    until: iso(later.endMs),
  });
  expect(shown.timeline).toContainEqual(
    expect.objectContaining({ type: 'freeze', message: expect.stringContaining('Release weekend') }),
  );

  // Opening inside a freeze: shown before the start, then skipped (DELETED with the reason); nothing sent.
  const near = await createEvent(planId, Date.now() + 8_000, Date.now() + 1800_000);
  const before = await waitFor('freeze shown before the start', async () => {
    const e = await read(near);
    return e.freeze ? e : undefined;
  });
  expect([before.status, before.freeze?.reason]).toEqual(['NEW', 'freeze calendar Finance: Quarter close']);
  const skipped = await waitFor('skipped', async () => {
    const e = await read(near);
    return e.status === 'DELETED' && e.timeline.some((t) => t.type === 'freeze_skipped') ? e : undefined;
  });
  expect(skipped.timeline).toContainEqual(
    expect.objectContaining({
      type: 'freeze_skipped',
      message: expect.stringContaining('not run: freeze calendar Finance: Quarter close'),
    }),
  );
  expect(await labCommands(machines[0].ssm)).toEqual([]);
});

test('shift_to_next_open moves the event to the end of the freeze, and it runs there', async () => {
  const { machines, planId } = await setup('shifting plan', [1], {
    action: 'shift_to_next_open',
    max_delay_hours: 1,
  });
  const now = Date.now();
  const freezeEnd = Math.ceil((now + 30_000) / 1000) * 1000;
  await calendar('Deploys', planId, [{ startMs: now - 60_000, endMs: freezeEnd, summary: 'Deploy freeze' }]);
  const id = await createEvent(planId, now + 10_000, now + 10_000 + 1800_000);

  const moved = await waitFor('moved', async () => {
    const e = await read(id);
    return e.start === iso(freezeEnd) ? e : undefined;
  });
  expect(moved.status).toBe('NEW');
  expect(moved.end).toBe(iso(freezeEnd + 1800_000));
  expect(moved.freeze).toMatchObject({ action: 'shift_to_next_open', shifted_to: iso(freezeEnd) });
  expect(moved.timeline).toContainEqual(
    expect.objectContaining({ type: 'moved', message: expect.stringContaining('Deploy freeze') }),
  );

  const final = (await waitForEventStatus(stack, id)) as unknown as Ev;
  expect([final.status, statusOf(final, machines[0].id)]).toEqual(['DONE', 'SUCCESS']);
  expect(Date.parse(final.started_at!)).toBeGreaterThanOrEqual(freezeEnd);
});

test('a freeze that begins mid-run halts it: the running machine finishes, resume halts again, abort omits the rest', async () => {
  const { machines, planId } = await setup('mid-run freeze plan', [30, 1]);
  const [m1, m2] = machines;
  const now = Date.now();
  // On a whole second: iCalendar times have no milliseconds, so a freeze written from now + 15 s would begin up to
  // a second before it (a clean-clone run saw the halt 815 ms before the unrounded time).
  const freezeStart = Math.ceil((now + 15_000) / 1000) * 1000;
  await calendar('Incidents', planId, [
    { startMs: freezeStart, endMs: now + 3600_000, summary: 'Major incident' },
  ]);
  const ev = await stack.api<{ id: string }>('POST', `/api/v1/plans/${planId}/execute`);
  expect(ev.status).toBe(201);
  const id = ev.body.id;

  await waitFor('m1 running', async () =>
    statusOf(await read(id), m1.id) === 'IN_PROGRESS' ? true : undefined,
  );
  const running = await read(id);
  expect(running.freeze).toMatchObject({
    state: 'freeze_during_window',
    action: 'halt',
    from: iso(freezeStart),
  });

  const halted = await waitFor('halted by the freeze', async () => {
    const e = await read(id);
    return e.status === 'HALTED' && e.timeline.some((t) => t.type === 'halted') ? e : undefined;
  });
  expect(Date.now()).toBeGreaterThanOrEqual(freezeStart);
  expect(halted.timeline).toContainEqual(
    expect.objectContaining({
      type: 'halted',
      message: expect.stringContaining('freeze Incidents: freeze calendar Incidents: Major incident until'),
    }),
  );
  const m1Done = await waitFor('m1 finished while halted', async () => {
    const e = await read(id);
    return statusOf(e, m1.id) === 'SUCCESS' ? e : undefined;
  });
  expect([m1Done.status, statusOf(m1Done, m2.id)]).toEqual(['HALTED', 'PENDING']);
  expect(await labCommands(m2.ssm)).toEqual([]);

  // Still frozen: a resume is halted again before the next machine starts.
  const resumed = await stack.api<{ status: string }>('POST', `/api/v1/events/${id}/resume`);
  expect(resumed.status).toBe(200);
  await waitFor('halted again', async () => {
    const e = await read(id);
    return e.status === 'HALTED' && e.timeline.filter((t) => t.type === 'halted').length === 2
      ? e
      : undefined;
  });
  expect(await labCommands(m2.ssm)).toEqual([]);

  const aborted = await stack.api<{ status: string }>('POST', `/api/v1/events/${id}/abort`, {
    reason: 'frozen',
  });
  expect(aborted.status).toBe(200);
  const final = (await waitForEventStatus(stack, id)) as unknown as Ev;
  expect(final.status).toBe('DONE_PARTIAL');
  expect([statusOf(final, m1.id), statusOf(final, m2.id)]).toEqual(['SUCCESS', 'OMITTED']);
});
