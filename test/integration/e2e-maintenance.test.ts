/**
 * Maintenance announced and monitoring quiet end to end (issue 16 item 6, seed 004, docs/behaviour.md#maintenance):
 * a plan's Alertmanager silence and Statuspage scheduled incident are created at their lead time before the window
 * opens, cover the event's window, and are lifted when the event ends early or is deleted; a service that is down
 * is on the timeline, the event still ends DONE, and the object is made at the next sync. Driven through the REST
 * API and the lab's control API only; the worker talks to the lab's stand-ins over real HTTP.
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

const KEY_VAR = 'PATCHWAVE_TEST_STATUSPAGE_KEY';
let stack: Stack;
beforeAll(async () => {
  // The API and the worker share this process's environment, as they share theirs in production.
  process.env[KEY_VAR] = 'lab-statuspage-key';
  stack = await startStack('maintenance');
  await stack.lab_('PUT', '/_lab/maintenance-services/statuspage', { api_key: 'lab-statuspage-key' });
});
afterAll(async () => stack?.close());

interface Ev extends Omit<EventView, 'timeline'> {
  timeline: { type: string; message: string }[];
}
interface Silence {
  id: string;
  matchers: { name: string; value: string }[];
  startsAt: string;
  endsAt: string;
  comment: string;
  status: { state: string };
}
interface Incident {
  id: string;
  name: string;
  status: string;
  scheduled_for: string;
  scheduled_until: string;
  scheduled_auto_in_progress: boolean;
  scheduled_auto_completed: boolean;
  component_ids: string[];
}

const read = async (id: string) => (await stack.api<Ev>('GET', `/api/v1/events/${id}`)).body;
const silences = () => stack.lab_<Silence[]>('GET', '/_lab/alertmanager/api/v2/silences');
const silenceOf = async (eventId: string) => (await silences()).find((s) => s.comment.includes(eventId));
const incidents = async (page: string) => {
  const res = await fetch(`${stack.lab.url}/_lab/statuspage/v1/pages/${page}/incidents`, {
    headers: { authorization: 'OAuth lab-statuspage-key' },
  });
  return (await res.json()) as Incident[];
};
const ms = (iso: string) => Date.parse(iso);
const entries = (e: Ev, type: string) => e.timeline.filter((t) => t.type === type);

/** One machine whose patch takes `duration_s`, and a plan over it with `maintenance`. */
async function setup(name: string, maintenance: unknown[], duration_s = 2) {
  const ssm = newSsmId();
  await stack.lab_('PUT', `/_lab/machines/${ssm}`, {
    platform: 'Linux',
    online: true,
    commands: [{ duration_s, outcome: 'success', installed: ['pkg'] }],
  });
  const m = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
    name,
    access: { ssm_machine_id: ssm, region: 'us-east-1' },
  });
  expect(m.status).toBe(201);
  const p = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name,
    cron: '0 0 1 1 *',
    window_hours: 0.5,
    machines: [{ machine_id: m.body.id }],
    maintenance,
  });
  expect([p.status, JSON.stringify(p.body)]).toEqual([201, expect.any(String)]);
  return p.body.id;
}

const createEvent = (planId: string, startMs: number, endMs: number) =>
  createAdHocEvent(stack, planId, startMs, endMs);

const alertmanager = (service: string, lead_minutes: number) => ({
  type: 'alertmanager',
  url: `${stack.lab.url}/_lab/alertmanager`,
  lead_minutes,
  matchers: { service, env: 'prod' },
});
const statuspage = (page_id: string, lead_minutes: number) => ({
  type: 'statuspage',
  url: `${stack.lab.url}/_lab/statuspage`,
  lead_minutes,
  page_id,
  component_ids: ['cmp_api', 'cmp_web'],
  api_key_ref: `env:${KEY_VAR}`,
});

test('a silence and a scheduled incident are made ahead, cover the window, and are lifted when the event ends early', async () => {
  const page = 'pg_early';
  const planId = await setup('announced', [alertmanager('billing', 60), statuspage(page, 60)]);
  const startMs = Date.now() + 20_000;
  const endMs = startMs + 30 * 60_000;
  const id = await createEvent(planId, startMs, endMs);

  // Within the lead time: both exist before the window opens, covering exactly the window.
  const before = await waitFor('silence and incident made ahead', async () => {
    const [s, i] = [await silenceOf(id), (await incidents(page))[0]];
    return s && i ? { s, i } : undefined;
  });
  expect((await read(id)).status).toBe('NEW');
  expect(before.s.status.state).toBe('pending');
  expect(before.s.matchers).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ name: 'service', value: 'billing' }),
      expect.objectContaining({ name: 'env', value: 'prod' }),
    ]),
  );
  expect([ms(before.s.startsAt), ms(before.s.endsAt)]).toEqual([startMs, endMs]);
  expect(before.i).toEqual(
    expect.objectContaining({
      name: 'Scheduled maintenance: announced',
      status: 'scheduled',
      scheduled_auto_in_progress: true,
      scheduled_auto_completed: true,
      component_ids: ['cmp_api', 'cmp_web'],
    }),
  );
  expect([ms(before.i.scheduled_for), ms(before.i.scheduled_until)]).toEqual([startMs, endMs]);
  const created = await waitFor('created on the timeline', async () => {
    const e = await read(id);
    return entries(e, 'maintenance_created').length === 2 ? e : undefined;
  });
  expect(entries(created, 'maintenance_created').map((t) => t.message)).toEqual(
    expect.arrayContaining([
      expect.stringContaining(`Alertmanager silence ${before.s.id} created`),
      expect.stringContaining(`Statuspage incident ${before.i.id} created`),
    ]),
  );

  // The patch takes seconds of a 30-minute window: ended early, the silence expires and the incident completes.
  const final = await waitForEventStatus(stack, id);
  expect(final.status).toBe('DONE');
  const lifted = await waitFor('lifted on the timeline', async () => {
    const e = await read(id);
    return entries(e, 'maintenance_lifted').length === 2 ? e : undefined;
  });
  expect(entries(lifted, 'maintenance_lifted').map((t) => t.message)).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^Alertmanager silence .* expired: the event ended \(DONE\)$/),
      expect.stringMatching(/^Statuspage incident .* completed: the event ended \(DONE\)$/),
    ]),
  );
  const after = await silenceOf(id);
  expect(after?.status.state).toBe('expired');
  expect(ms(after!.endsAt)).toBeLessThan(endMs);
  expect((await incidents(page))[0].status).toBe('completed');
  expect(entries(lifted, 'maintenance_failed')).toEqual([]);
});

test('deleted before its window: the silence expires and the announcement is deleted', async () => {
  const page = 'pg_deleted';
  const planId = await setup('deleted ahead', [alertmanager('search', 120), statuspage(page, 120)]);
  const startMs = Date.now() + 3600_000;
  const id = await createEvent(planId, startMs, startMs + 1800_000);
  await waitFor('made ahead', async () =>
    (await silenceOf(id)) && (await incidents(page)).length === 1 ? true : undefined,
  );
  const del = await stack.api<{ status: string }>('DELETE', `/api/v1/events/${id}`);
  expect([del.status, del.body.status]).toEqual([200, 'DELETED']);
  await waitFor('lifted', async () => {
    const e = await read(id);
    return entries(e, 'maintenance_lifted').length === 2 ? e : undefined;
  });
  expect((await silenceOf(id))?.status.state).toBe('expired');
  expect(await incidents(page)).toEqual([]);
  const seen = await stack.lab_<{ deleted_incidents: { page_id: string }[] }>(
    'GET',
    '/_lab/maintenance-services',
  );
  expect(seen.deleted_incidents.filter((i) => i.page_id === page)).toHaveLength(1);
});

test('a Statuspage that is down: on the timeline, made at the window opening, and the event still ends DONE', async () => {
  const page = 'pg_down';
  const planId = await setup('status down', [statuspage(page, 60)]);
  await stack.lab_('PUT', '/_lab/maintenance-services/statuspage', { status: 503 });
  try {
    const startMs = Date.now() + 15_000;
    const id = await createEvent(planId, startMs, startMs + 1800_000);
    const failed = await waitFor('failure recorded', async () => {
      const e = await read(id);
      return entries(e, 'maintenance_failed').length >= 1 ? e : undefined;
    });
    expect(failed.status).toBe('NEW');
    expect(entries(failed, 'maintenance_failed')[0].message).toMatch(
      /^Statuspage incident: creating it failed \(HTTP 503.*\); tried again later, the event goes on$/,
    );
    // Back up before the window opens: the window opening syncs again and makes it.
    await stack.lab_('PUT', '/_lab/maintenance-services/statuspage', { status: 0 });
    const final = await waitForEventStatus(stack, id);
    expect(final.status).toBe('DONE');
    const e = await waitFor('created, then completed', async () => {
      const v = await read(id);
      return entries(v, 'maintenance_lifted').length === 1 ? v : undefined;
    });
    expect(entries(e, 'maintenance_created')).toHaveLength(1);
    expect((await incidents(page))[0].status).toBe('completed');

    // Down for a whole event: recorded, nothing to lift, DONE all the same.
    await stack.lab_('PUT', '/_lab/maintenance-services/statuspage', { status: 503 });
    const run = await stack.api<{ id: string }>('POST', `/api/v1/plans/${planId}/execute`);
    expect(run.status).toBe(201);
    const done = await waitForEventStatus(stack, run.body.id);
    expect(done.status).toBe('DONE');
    const v = await waitFor('failure recorded', async () => {
      const x = await read(run.body.id);
      return entries(x, 'maintenance_failed').length >= 1 ? x : undefined;
    });
    expect(entries(v, 'maintenance_created')).toEqual([]);
  } finally {
    await stack.lab_('PUT', '/_lab/maintenance-services/statuspage', { status: 0 });
  }
});

test('save time: an unset api_key_ref and a refused URL conflict with the server (409)', async () => {
  const m = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
    name: 'refused',
    access: { ssm_machine_id: newSsmId(), region: 'us-east-1' },
  });
  const base = { name: 'refused', cron: '0 0 1 1 *', window_hours: 1, machines: [{ machine_id: m.body.id }] };
  const unset = await stack.api<{ error: { code: string; details: { path: string }[] } }>(
    'POST',
    '/api/v1/plans',
    {
      ...base,
      maintenance: [{ ...statuspage('pg', 60), api_key_ref: 'env:PATCHWAVE_TEST_NOT_SET' }],
    },
  );
  expect([unset.status, unset.body.error.code, unset.body.error.details[0].path]).toEqual([
    409,
    'secret_unresolved',
    'maintenance.0.api_key_ref',
  ]);
  const ssrf = await stack.api<{ error: { code: string; details: { path: string }[] } }>(
    'POST',
    '/api/v1/plans',
    {
      ...base,
      maintenance: [{ ...alertmanager('x', 60), url: 'https://169.254.169.254/' }],
    },
  );
  expect([ssrf.status, ssrf.body.error.code, ssrf.body.error.details[0].path]).toEqual([
    409,
    'egress_refused',
    'maintenance.0.url',
  ]);
});
