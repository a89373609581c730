/**
 * Freeze calendars through the front door: REST (create, read, edit, delete; uploaded iCalendar text and a
 * URL fetched through the SSRF guard) and the CLI binary (`freeze-calendar create --ics-file`).
 * Route-level: the API with the recording orchestrator of api-harness (what freezes do to events is
 * e2e-freeze.test.ts, on the real stack).
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { machineBody, planBody, startApi, type ApiHarness } from './api-harness';
import { runCli } from '../helpers/cli';

jest.setTimeout(60_000);

const ROOT = resolve(__dirname, '../..');
const DAY = 86_400_000;
let h: ApiHarness;
let server: Server;
let base: string;
/** What the calendar server answers, by path. */
const served = new Map<string, { status: number; body: string }>();

/** iCalendar stamp (UTC) of a Date. */
const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
const dayAt = (days: number, hour: number) => {
  const d = new Date(Date.now() + days * DAY);
  d.setUTCHours(hour, 0, 0, 0);
  return d;
};

/** A weekly 4-hour freeze starting two days from now, four times, with its second week excluded. */
function weeklyIcs(summary = 'Release freeze'): string {
  const first = dayAt(2, 18);
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//patchwave tests//EN',
    'BEGIN:VEVENT',
    'UID:weekly@test',
    `SUMMARY:${summary}`,
    `DTSTART:${stamp(first)}`,
    `DTEND:${stamp(new Date(first.getTime() + 4 * 3600_000))}`,
    'RRULE:FREQ=WEEKLY;COUNT=4',
    `EXDATE:${stamp(new Date(first.getTime() + 7 * DAY))}`,
    'END:VEVENT',
    'END:VCALENDAR',
  ].join('\r\n');
}

beforeAll(async () => {
  await promisify(execFile)(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'cli/tsconfig.json')],
    { cwd: ROOT },
  );
  server = createServer((req, res) => {
    const a = served.get(req.url ?? '') ?? { status: 404, body: 'not here' };
    res.writeHead(a.status, { 'content-type': 'text/calendar' }).end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  h = await startApi('freeze');
}, 120_000);
afterAll(async () => {
  await h?.close();
  await new Promise((r) => server?.close(r));
});

describe('uploaded iCalendar text', () => {
  it('is stored, its recurring events are expanded into upcoming_freezes, and it can be edited and deleted', async () => {
    const created = await h.request('POST', '/api/v1/freeze-calendars', {
      body: { name: 'Releases', ics: weeklyIcs() },
    });
    expect(created.status).toBe(201);
    const first = dayAt(2, 18).getTime();
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^frz_/),
      name: 'Releases',
      mode: 'closed_during_events',
      attach: { to: 'customer' },
      enabled: true,
      refresh_minutes: 60,
    });
    expect(created.body.upcoming_freezes).toEqual(
      [0, 2, 3].map((w) => ({
        start: new Date(first + w * 7 * DAY).toISOString(),
        end: new Date(first + w * 7 * DAY + 4 * 3600_000).toISOString(),
        summary: 'Release freeze',
      })),
    );
    expect(h.orchestrator.callsOf('freezeCalendarsChanged')).toHaveLength(1);

    const id = created.body.id as string;
    const patched = await h.request('PATCH', `/api/v1/freeze-calendars/${id}`, {
      body: { mode: 'open_only_during_events' },
    });
    expect(patched.status).toBe(200);
    // Open only during the events: closed from now until the first one begins.
    expect(patched.body.upcoming_freezes[0]).toMatchObject({
      end: new Date(first).toISOString(),
      summary: 'outside the open events of Releases',
    });

    const listed = await h.request('GET', '/api/v1/freeze-calendars');
    expect(listed.body.items.map((c: { id: string }) => c.id)).toContain(id);
    expect((await h.request('DELETE', `/api/v1/freeze-calendars/${id}`)).status).toBe(204);
    expect((await h.request('GET', `/api/v1/freeze-calendars/${id}`)).status).toBe(404);
    expect(h.orchestrator.callsOf('freezeCalendarsChanged')).toHaveLength(3);
  });

  it('refuses unreadable text, a missing or double source (400), unknown plans and blocked URLs (409), naming each field', async () => {
    const bad = await h.request('POST', '/api/v1/freeze-calendars', {
      body: {
        name: 'x',
        ics: 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:no start\r\nEND:VEVENT\r\nEND:VCALENDAR',
        attach: { to: 'plans', plan_ids: ['pln_nope'] },
      },
    });
    // One answer names every bad field; the text is wrong in the request itself, so it is a 400.
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'ics', message: expect.stringContaining('has no DTSTART') }),
        expect.objectContaining({
          path: 'attach.plan_ids.0',
          message: 'plan pln_nope does not exist',
          code: 'unknown_reference',
        }),
      ]),
    );
    // Readable text and an unknown plan only: valid as written, conflicts with what is stored.
    const unknownPlan = await h.request('POST', '/api/v1/freeze-calendars', {
      body: { name: 'x', ics: weeklyIcs(), attach: { to: 'plans', plan_ids: ['pln_nope'] } },
    });
    expect([unknownPlan.status, unknownPlan.body.error.code]).toEqual([409, 'unknown_reference']);
    const neither = await h.request('POST', '/api/v1/freeze-calendars', { body: { name: 'x' } });
    expect([neither.status, neither.body.error.details[0].path]).toEqual([400, 'ics']);
    const both = await h.request('POST', '/api/v1/freeze-calendars', {
      body: { name: 'x', ics: weeklyIcs(), url: `${base}/a.ics` },
    });
    expect([both.status, both.body.error.details[0].path]).toEqual([400, 'url']);
    const metadata = await h.request('POST', '/api/v1/freeze-calendars', {
      body: { name: 'x', url: 'https://169.254.169.254/latest/meta-data' },
    });
    expect(metadata.status).toBe(409);
    expect(metadata.body.error.details[0]).toMatchObject({ path: 'url', code: 'egress_refused' });
    const list = await h.request('GET', '/api/v1/freeze-calendars?limit=100');
    expect(list.body.items.filter((c: { name: string }) => c.name === 'x')).toEqual([]);
  });

  it('attaches to plans of the customer', async () => {
    const m = await h.request('POST', '/api/v1/machines', { body: machineBody(4242) });
    const p = await h.request('POST', '/api/v1/plans', { body: planBody([m.body.id]) });
    const c = await h.request('POST', '/api/v1/freeze-calendars', {
      body: { name: 'plan freeze', ics: weeklyIcs(), attach: { to: 'plans', plan_ids: [p.body.id] } },
    });
    expect([c.status, c.body.attach]).toEqual([201, { to: 'plans', plan_ids: [p.body.id] }]);
  });
});

describe('a calendar at a URL', () => {
  it('is fetched when saved; a failed fetch is recorded on the calendar and a new URL is fetched again', async () => {
    served.set('/cal.ics', { status: 200, body: weeklyIcs('Fetched freeze') });
    const c = await h.request('POST', '/api/v1/freeze-calendars', {
      body: { name: 'Remote', url: `${base}/cal.ics`, refresh_minutes: 15 },
    });
    expect(c.status).toBe(201);
    expect(c.body.fetch.fetched_at).toEqual(expect.any(String));
    expect(c.body).not.toHaveProperty('fetched_ics');
    expect(c.body.upcoming_freezes[0]).toMatchObject({ summary: 'Fetched freeze' });

    const moved = await h.request('PATCH', `/api/v1/freeze-calendars/${c.body.id}`, {
      body: { url: `${base}/gone.ics` },
    });
    expect(moved.status).toBe(200);
    expect(moved.body.fetch).toEqual({
      error: `GET ${base}/gone.ics answered 404`,
      error_at: expect.any(String),
    });
    expect(moved.body.upcoming_freezes).toEqual([]);
    expect(moved.body.problem).toBe(`${base}/gone.ics has not been fetched yet`);
  });
});

describe('the CLI', () => {
  it('creates a calendar from an .ics file and lists it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-freeze-'));
    writeFileSync(join(dir, 'freeze.ics'), weeklyIcs('CLI freeze'));
    const target = { apiUrl: h.url, key: h.adminKey, dir };
    const created = await runCli(target, [
      '--output',
      'json',
      'freeze-calendar',
      'create',
      '--ics-file',
      'freeze.ics',
      '--set',
      'name=From the CLI',
    ]);
    expect([created.code, created.stderr]).toEqual([0, '']);
    const body = JSON.parse(created.stdout);
    expect(body.upcoming_freezes[0].summary).toBe('CLI freeze');
    const list = await runCli(target, ['freeze-calendar', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(body.id);
  });
});
