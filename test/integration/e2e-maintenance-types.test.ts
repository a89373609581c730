/**
 * The `pingdom` and `webhook` maintenance types and targets from machine tags, end to end (issue 16 item 6,
 * docs/behaviour.md#maintenance): a Pingdom maintenance window is created at its lead time before an upcoming
 * event, moved when a freeze shifts the event, and ended when the event ends early; the operator's webhook
 * receiver gets `create`, `move` and `lift`, each signed as webhook channels are; an entry's check ids,
 * components and matchers are read from the event's machines' tags, and an entry they leave empty is skipped on
 * the timeline while the event ends DONE. Driven through the REST API and the lab's control API only; the worker
 * talks to the lab's stand-ins over real HTTP.
 */
import { verifyWebhookSignature } from '../../activities/channels/webhook';
import {
  newSsmId,
  startStack,
  waitFor,
  waitForEventStatus,
  type EventView,
  type Stack,
  createAdHocEvent,
} from '../helpers/stack';

jest.setTimeout(240_000);

const PINGDOM_VAR = 'PATCHWAVE_TEST_PINGDOM_TOKEN';
const STATUSPAGE_VAR = 'PATCHWAVE_TEST_STATUSPAGE_KEY_TYPES';
const HOOK_SECRET_VAR = 'PATCHWAVE_TEST_MAINT_HOOK_SECRET';
const HOOK_SECRET = 'maintenance-hook-secret-0123456789';
let stack: Stack;
beforeAll(async () => {
  // The API and the worker share this process's environment, as they share theirs in production.
  process.env[PINGDOM_VAR] = 'lab-pingdom-token';
  process.env[STATUSPAGE_VAR] = 'lab-statuspage-key';
  process.env[HOOK_SECRET_VAR] = HOOK_SECRET;
  stack = await startStack('maint-types');
  await stack.lab_('PUT', '/_lab/maintenance-services/pingdom', { api_key: 'lab-pingdom-token' });
  await stack.lab_('PUT', '/_lab/maintenance-services/statuspage', { api_key: 'lab-statuspage-key' });
});
afterAll(async () => stack?.close());

interface Ev extends Omit<EventView, 'timeline'> {
  timeline: { type: string; message: string }[];
}
interface PingdomWindow {
  id: number;
  description: string;
  from: number;
  to: number;
  checks: { uptime: number[] };
}
interface Received {
  path: string;
  at: string;
  headers: Record<string, string>;
  body: string;
}
interface HookBody {
  action: string;
  key: string;
  event_id: string;
  plan: { id: string; name: string };
  window: { start: string; end: string };
  machines: { id: string; name: string }[];
  external_id?: string;
  reason?: string;
}

const read = async (id: string) => (await stack.api<Ev>('GET', `/api/v1/events/${id}`)).body;
const entries = (e: Ev, type: string) => e.timeline.filter((t) => t.type === type);
const secs = (ms: number) => Math.floor(ms / 1000);
const iso = (ms: number) => new Date(ms).toISOString();
const pingdom = () =>
  stack.lab_<{ windows: PingdomWindow[]; deleted: PingdomWindow[] }>(
    'GET',
    '/_lab/maintenance-services/pingdom',
  );
const windowOf = async (eventId: string) =>
  (await pingdom()).windows.find((w) => w.description.includes(eventId));
const pingdomCalls = async () =>
  (
    await stack.lab_<{ calls: { service: string; method: string; path: string; at: string }[] }>(
      'GET',
      '/_lab/maintenance-services',
    )
  ).calls.filter((c) => c.service === 'pingdom');
/** What the receiver got at `path`, each checked against the signing secret. */
async function received(path: string): Promise<HookBody[]> {
  const all = (await stack.lab_<{ received: Received[] }>('GET', '/_lab/maintenance-services/webhook'))
    .received;
  return all
    .filter((r) => r.path === path)
    .map((r) => {
      expect(
        verifyWebhookSignature({
          secret: HOOK_SECRET,
          rawBody: r.body,
          signature: r.headers['x-patchwave-signature'],
          timestamp: r.headers['x-patchwave-timestamp'],
        }),
      ).toBe(true);
      const body = JSON.parse(r.body) as HookBody;
      expect(r.headers['x-patchwave-event']).toBe(`maintenance_${body.action}`);
      expect(r.headers['x-patchwave-delivery']).toContain(body.event_id);
      return body;
    });
}

/** Machines (each with its tags) whose patch takes `duration_s`, and a plan over them with `maintenance`. */
async function setup(
  name: string,
  maintenance: unknown[],
  opts: { tags?: [string, string][][]; freeze_rule?: unknown } = {},
) {
  const machines: { id: string; name: string }[] = [];
  for (const [i, tags] of (opts.tags ?? [[]]).entries()) {
    const ssm = newSsmId();
    await stack.lab_('PUT', `/_lab/machines/${ssm}`, {
      platform: 'Linux',
      online: true,
      commands: [{ duration_s: 2, outcome: 'success', installed: ['pkg'] }],
    });
    const m = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
      name: `${name}-${i}`,
      access: { ssm_machine_id: ssm, region: 'us-east-1' },
      metadata: tags.map(([key, value]) => ({ key, value })),
    });
    expect(m.status).toBe(201);
    machines.push({ id: m.body.id, name: `${name}-${i}` });
  }
  const p = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name,
    cron: '0 0 1 1 *',
    window_hours: 0.5,
    machines: machines.map((m) => ({ machine_id: m.id })),
    maintenance,
    ...(opts.freeze_rule ? { freeze_rule: opts.freeze_rule } : {}),
  });
  expect([p.status, JSON.stringify(p.body)]).toEqual([201, expect.any(String)]);
  return { planId: p.body.id, machines };
}

const pingdomEntry = (lead_minutes: number, more: Record<string, unknown>) => ({
  type: 'pingdom',
  url: `${stack.lab.url}/_lab/pingdom`,
  lead_minutes,
  api_key_ref: `env:${PINGDOM_VAR}`,
  ...more,
});
const webhookEntry = (path: string, lead_minutes: number) => ({
  type: 'webhook',
  url: `${stack.lab.url}/_lab/maintenance-receiver${path}`,
  lead_minutes,
  secret_ref: `env:${HOOK_SECRET_VAR}`,
});

/** iCalendar text of one freeze. */
function ics(startMs: number, endMs: number, summary: string): string {
  const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'BEGIN:VEVENT',
    `UID:maint-${startMs}`,
    `SUMMARY:${summary}`,
    `DTSTART:${stamp(startMs)}`,
    `DTEND:${stamp(endMs)}`,
    'END:VEVENT',
    'END:VCALENDAR',
  ].join('\r\n');
}

test('Pingdom window made at its lead time, moved with the event, ended when it ends early; the webhook is told each step, signed', async () => {
  const hookPath = '/ops/lead';
  const { planId, machines } = await setup(
    'pingdom lead',
    [pingdomEntry(1, { check_ids: [1001, 1002] }), webhookEntry(hookPath, 1)],
    { freeze_rule: { action: 'shift_to_next_open', max_delay_hours: 1 } },
  );
  // Whole seconds: Pingdom's times are Unix seconds.
  const startMs = Math.ceil((Date.now() + 75_000) / 1000) * 1000;
  const endMs = startMs + 30 * 60_000;
  const id = await createAdHocEvent(stack, planId, startMs, endMs);
  expect(await windowOf(id)).toBeUndefined();

  // At start − 1 minute: the window covers exactly the event's window, over the checks.
  const made = await waitFor('Pingdom window made at the lead time', () => windowOf(id), 120_000);
  const createCall = (await pingdomCalls()).find((c) => c.method === 'POST');
  expect(Date.parse(createCall!.at)).toBeGreaterThanOrEqual(startMs - 60_000 - 1000);
  expect(made).toEqual(
    expect.objectContaining({
      from: secs(startMs),
      to: secs(endMs),
      checks: { uptime: [1001, 1002], tms: [] },
    }),
  );
  expect(made.description).toContain('pingdom lead');
  const [create] = await waitFor('receiver got create', async () => {
    const got = await received(hookPath);
    return got.length >= 1 ? got : undefined;
  });
  expect(create).toEqual({
    action: 'create',
    key: '1-webhook',
    event_id: id,
    plan: { id: planId, name: 'pingdom lead' },
    window: { start: iso(startMs), end: iso(endMs) },
    machines,
  });
  const created = await waitFor('created on the timeline', async () => {
    const e = await read(id);
    return entries(e, 'maintenance_created').length === 2 ? e : undefined;
  });
  expect(created.status).toBe('NEW');
  expect(entries(created, 'maintenance_created').map((t) => t.message)).toEqual(
    expect.arrayContaining([
      `Pingdom maintenance window ${made.id} created for ${iso(startMs)} to ${iso(endMs)} (checks 1001, 1002)`,
      expect.stringMatching(/^Webhook maintenance rcv-\d+ created for /),
    ]),
  );

  // A freeze over the window's opening shifts the event to its end: the window and the receiver follow.
  const shiftedMs = startMs + 20_000;
  const cal = await stack.api('POST', '/api/v1/freeze-calendars', {
    name: 'Short freeze',
    ics: ics(Date.now() - 60_000, shiftedMs, 'Deploy freeze'),
    attach: { to: 'plans', plan_ids: [planId] },
  });
  expect(cal.status).toBe(201);
  const moved = await waitFor(
    'window moved',
    async () => {
      const w = await windowOf(id);
      return w && w.from === secs(shiftedMs) ? w : undefined;
    },
    120_000,
  );
  expect([moved.id, moved.to]).toEqual([made.id, secs(shiftedMs + 30 * 60_000)]);

  // The patch takes seconds of the 30-minute window: DONE early, the begun window is ended now.
  const final = await waitForEventStatus(stack, id);
  expect(final.status).toBe('DONE');
  const lifted = await waitFor('lifted on the timeline', async () => {
    const e = await read(id);
    return entries(e, 'maintenance_lifted').length === 2 ? e : undefined;
  });
  expect(entries(lifted, 'maintenance_moved').map((t) => t.message)).toEqual(
    expect.arrayContaining([
      `Pingdom maintenance window ${made.id} moved to ${iso(shiftedMs)} to ${iso(shiftedMs + 30 * 60_000)}`,
    ]),
  );
  expect(entries(lifted, 'maintenance_lifted').map((t) => t.message)).toEqual(
    expect.arrayContaining([
      `Pingdom maintenance window ${made.id} ended now: the event ended (DONE)`,
      expect.stringMatching(/^Webhook maintenance rcv-\d+ lifted: the event ended \(DONE\)$/),
    ]),
  );
  expect(entries(lifted, 'maintenance_failed')).toEqual([]);
  const ended = await windowOf(id);
  expect(ended!.to).toBeGreaterThanOrEqual(secs(shiftedMs));
  expect(ended!.to).toBeLessThan(secs(shiftedMs + 30 * 60_000));

  const calls = await received(hookPath);
  expect(calls.map((c) => c.action)).toEqual(['create', 'move', 'lift']);
  expect(calls[1]).toEqual(
    expect.objectContaining({
      window: { start: iso(shiftedMs), end: iso(shiftedMs + 30 * 60_000) },
      external_id: expect.stringMatching(/^rcv-\d+$/),
    }),
  );
  expect(calls[2]).toEqual(
    expect.objectContaining({ external_id: calls[1].external_id, reason: 'the event ended (DONE)' }),
  );
});

test('targets from the machines tags: the union over the machines; an entry they leave empty is skipped, the event DONE', async () => {
  const page = 'pg_tags';
  const { planId } = await setup(
    'tag mapped',
    [
      pingdomEntry(60, { check_ids: [2000], check_ids_from_tag: 'PingdomCheck' }),
      {
        type: 'statuspage',
        url: `${stack.lab.url}/_lab/statuspage`,
        lead_minutes: 60,
        page_id: page,
        component_ids_from_tag: 'StatuspageComponent',
        api_key_ref: `env:${STATUSPAGE_VAR}`,
      },
      {
        type: 'alertmanager',
        url: `${stack.lab.url}/_lab/alertmanager`,
        lead_minutes: 60,
        matchers: { env: 'prod' },
        matchers_from_tags: { service: 'Service' },
      },
      pingdomEntry(60, { check_ids_from_tag: 'NoSuchTag' }),
    ],
    {
      tags: [
        [
          ['PingdomCheck', '2001'],
          ['StatuspageComponent', 'cmp_web'],
          ['Service', 'web'],
        ],
        [
          ['PingdomCheck', '2002, 2003'],
          ['StatuspageComponent', 'cmp_api'],
          ['Service', 'api'],
        ],
      ],
    },
  );
  const startMs = Math.ceil((Date.now() + 15_000) / 1000) * 1000;
  const id = await createAdHocEvent(stack, planId, startMs, startMs + 30 * 60_000);

  const w = await waitFor('Pingdom window', () => windowOf(id));
  expect(w.checks.uptime).toEqual([2000, 2001, 2002, 2003]);
  const incident = await waitFor('incident', async () => {
    const res = await fetch(`${stack.lab.url}/_lab/statuspage/v1/pages/${page}/incidents`, {
      headers: { authorization: 'OAuth lab-statuspage-key' },
    });
    return ((await res.json()) as { component_ids: string[] }[])[0];
  });
  expect(incident.component_ids).toEqual(['cmp_web', 'cmp_api']);
  const silence = await waitFor('silence', async () =>
    (
      await stack.lab_<{ comment: string; matchers: { name: string; value: string; isRegex: boolean }[] }[]>(
        'GET',
        '/_lab/alertmanager/api/v2/silences',
      )
    ).find((s) => s.comment.includes(id)),
  );
  expect(silence.matchers).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ name: 'env', value: 'prod', isRegex: false }),
      expect.objectContaining({ name: 'service', value: 'web|api', isRegex: true }),
    ]),
  );

  const final = await waitForEventStatus(stack, id);
  expect(final.status).toBe('DONE');
  const e = await waitFor('three lifted', async () => {
    const v = await read(id);
    return entries(v, 'maintenance_lifted').length === 3 ? v : undefined;
  });
  expect(entries(e, 'maintenance_created')).toHaveLength(3);
  expect(entries(e, 'maintenance_skipped').map((t) => t.message)).toEqual([
    "Pingdom maintenance window: not created, the event's machines give it nothing to cover (no NoSuchTag tag values)",
  ]);
  expect(entries(e, 'maintenance_failed')).toEqual([]);
});

test('deleted before its window: the Pingdom window is deleted and the receiver is told to lift', async () => {
  const hookPath = '/ops/deleted';
  const { planId } = await setup('pingdom deleted', [
    pingdomEntry(120, { check_ids: [3001] }),
    webhookEntry(hookPath, 120),
  ]);
  const startMs = Math.ceil((Date.now() + 3600_000) / 1000) * 1000;
  const id = await createAdHocEvent(stack, planId, startMs, startMs + 1800_000);
  const w = await waitFor('made ahead', () => windowOf(id));
  await waitFor('receiver got create', async () => ((await received(hookPath)).length ? true : undefined));
  const del = await stack.api<{ status: string }>('DELETE', `/api/v1/events/${id}`);
  expect([del.status, del.body.status]).toEqual([200, 'DELETED']);
  const e = await waitFor('lifted', async () => {
    const v = await read(id);
    return entries(v, 'maintenance_lifted').length === 2 ? v : undefined;
  });
  expect(entries(e, 'maintenance_lifted').map((t) => t.message)).toEqual(
    expect.arrayContaining([`Pingdom maintenance window ${w.id} deleted: the event was deleted`]),
  );
  expect(await windowOf(id)).toBeUndefined();
  expect((await pingdom()).deleted.map((x) => x.id)).toContain(w.id);
  const calls = await received(hookPath);
  expect(calls.map((c) => [c.action, c.reason])).toEqual([
    ['create', undefined],
    ['lift', 'the event was deleted'],
  ]);
});

test('save time: field-named 400 for an entry without targets, 409 for an unset secret_ref', async () => {
  const m = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
    name: 'refused types',
    access: { ssm_machine_id: newSsmId(), region: 'us-east-1' },
  });
  const base = { name: 'refused', cron: '0 0 1 1 *', window_hours: 1, machines: [{ machine_id: m.body.id }] };
  type Err = { error: { code: string; details: { path: string }[] } };
  const noChecks = await stack.api<Err>('POST', '/api/v1/plans', {
    ...base,
    maintenance: [pingdomEntry(60, {})],
  });
  expect([noChecks.status, noChecks.body.error.details.map((d) => d.path)]).toEqual([
    400,
    ['maintenance.0.check_ids'],
  ]);
  const unset = await stack.api<Err>('POST', '/api/v1/plans', {
    ...base,
    maintenance: [{ ...webhookEntry('/x', 60), secret_ref: 'env:PATCHWAVE_TEST_NOT_SET' }],
  });
  expect([unset.status, unset.body.error.code, unset.body.error.details[0].path]).toEqual([
    409,
    'secret_unresolved',
    'maintenance.0.secret_ref',
  ]);
  const ssrf = await stack.api<Err>('POST', '/api/v1/plans', {
    ...base,
    maintenance: [{ ...webhookEntry('/x', 60), url: 'https://169.254.169.254/latest' }],
  });
  expect([ssrf.status, ssrf.body.error.code, ssrf.body.error.details[0].path]).toEqual([
    409,
    'egress_refused',
    'maintenance.0.url',
  ]);
});
