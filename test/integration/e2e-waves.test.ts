/**
 * Waves by percentage and max_unavailable end to end (issue 16 item 3, docs/behaviour.md#waves), through the
 * REST API and the lab's control API only: a plan with `waves: [25, 100]` over 4 machines patches 1 machine,
 * then the other 3 together (the event's machines carry their wave as `order`, the preview shows the waves);
 * `max_unavailable: {tag: "Service", max: 1}` keeps two machines of one Service from running at once while a
 * machine of another Service runs beside them. A plan setting both `waves` and a machine `order` is refused.
 */
import { newSsmId, startStack, waitForEventStatus, type Stack } from '../helpers/stack';
import type { EventPreview } from '../../domain/preview';

jest.setTimeout(180_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('waves');
});
afterAll(async () => stack?.close());

interface LabCommand {
  started_at: string | null;
  ended_at: string | null;
}
interface Ev {
  status: string;
  machines: { machine_id: string; status: string; order: number }[];
}

/** Machines with one lab command each (`duration_s`), registered with their metadata (tags). */
async function machines(name: string, specs: { duration_s: number; tags?: Record<string, string> }[]) {
  const out: { id: string; ssm: string }[] = [];
  for (const [i, s] of specs.entries()) {
    const ssm = newSsmId();
    await stack.lab_('PUT', `/_lab/machines/${ssm}`, {
      platform: 'Linux',
      online: true,
      commands: [{ duration_s: s.duration_s, outcome: 'success', installed: ['pkg'] }],
    });
    const m = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
      name: `${name}-${i}`,
      access: { ssm_machine_id: ssm, region: 'us-east-1' },
      metadata: Object.entries(s.tags ?? {}).map(([key, value]) => ({ key, value })),
    });
    expect(m.status).toBe(201);
    out.push({ id: m.body.id, ssm });
  }
  return out;
}

async function runPlan(body: Record<string, unknown>) {
  const p = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    cron: '0 0 1 1 *',
    window_hours: 0.5,
    ...body,
  });
  expect([p.status, JSON.stringify(p.body)]).toEqual([201, expect.any(String)]);
  const ev = await stack.api<{ id: string }>('POST', `/api/v1/plans/${p.body.id}/execute`);
  expect(ev.status).toBe(201);
  return ev.body.id;
}

/** The one patch command a machine ran, by the lab's clock. */
async function span(ssm: string): Promise<{ start: number; end: number }> {
  const cmds = await stack.lab_<LabCommand[]>('GET', `/_lab/machines/${ssm}/commands`);
  expect(cmds).toHaveLength(1);
  return { start: Date.parse(cmds[0].started_at!), end: Date.parse(cmds[0].ended_at!) };
}

test('waves [25, 100] over 4 machines: 1 machine, then the other 3 together', async () => {
  const ms = await machines(
    'waved',
    [4, 4, 4, 4].map((duration_s) => ({ duration_s })),
  );
  const eventId = await runPlan({
    name: 'waves 25/100',
    waves: [25, 100],
    machines: ms.map((m) => ({ machine_id: m.id })),
  });
  const final = (await waitForEventStatus(stack, eventId)) as unknown as Ev;
  expect(final.status).toBe('DONE');
  const order = new Map(final.machines.map((m) => [m.machine_id, m.order]));
  const first = ms.filter((m) => order.get(m.id) === 0);
  const rest = ms.filter((m) => order.get(m.id) === 1);
  expect([first.length, rest.length]).toEqual([1, 3]);

  const w0 = await span(first[0].ssm);
  const w1 = await Promise.all(rest.map((m) => span(m.ssm)));
  // The second wave starts once the first has ended, and its 3 machines run at once.
  for (const s of w1) expect(s.start).toBeGreaterThanOrEqual(w0.end);
  expect(Math.max(...w1.map((s) => s.start))).toBeLessThan(Math.min(...w1.map((s) => s.end)));

  // The preview shows the waves as order groups with their cumulative percentage.
  const pv = await stack.api<EventPreview>('GET', `/api/v1/events/${eventId}/preview`);
  expect(pv.status).toBe(200);
  expect(pv.body.groups.map((g) => [g.order, g.machines, g.wave_percent])).toEqual([
    [0, 1, 25],
    [1, 3, 100],
  ]);
  // The hash is stable: the preview puts the same machine in the first wave.
  expect(pv.body.machines.find((m) => m.order === 0)?.machine_id).toBe(first[0].id);
});

test('max_unavailable: two machines of one Service never run at once; another Service runs beside them', async () => {
  const [api1, api2, db] = await machines('limited', [
    { duration_s: 4, tags: { Service: 'api' } },
    { duration_s: 4, tags: { Service: 'api' } },
    { duration_s: 4, tags: { Service: 'db' } },
  ]);
  const eventId = await runPlan({
    name: 'one api at a time',
    max_unavailable: { tag: 'Service', max: 1 },
    machines: [api1, api2, db].map((m) => ({ machine_id: m.id })),
  });
  const final = (await waitForEventStatus(stack, eventId)) as unknown as Ev;
  expect(final.status).toBe('DONE');
  const [a1, a2, d] = await Promise.all([api1, api2, db].map((m) => span(m.ssm)));
  // api1 and api2 (same Service) one after the other; db (another Service) alongside the first of them.
  const [early, late] = a1.start <= a2.start ? [a1, a2] : [a2, a1];
  expect(late.start).toBeGreaterThanOrEqual(early.end);
  expect(d.start).toBeLessThan(early.end);
});

test('a plan with waves and a machine order is refused with 400 naming the field', async () => {
  const [m1, m2] = await machines('refused', [{ duration_s: 1 }, { duration_s: 1 }]);
  const r = await stack.api<{ error: { details: { path: string }[] } }>('POST', '/api/v1/plans', {
    name: 'waves and order',
    cron: '0 0 1 1 *',
    window_hours: 1,
    waves: [50, 100],
    machines: [
      { machine_id: m1.id, order: 0 },
      { machine_id: m2.id, order: 2 },
    ],
  });
  expect(r.status).toBe(400);
  expect(r.body.error.details.map((d) => d.path)).toEqual(['machines.1.order']);
});
