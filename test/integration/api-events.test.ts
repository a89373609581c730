/**
 * Route-level tests of the event routes (see api-harness.ts: real store, recording fake of the orchestrator
 * port). Event records are written into the store as the orchestrator's activities would write them.
 */
import { ConflictError } from '../../api/orchestrator-port';
import { COLLECTIONS } from '../../store/db';
import { machineBody, planBody, seedEvent, startApi, type ApiHarness } from './api-harness';

let h: ApiHarness;
let planId: string;
let machineId: string;
const customerId = 'default';
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
// The fixtures (an API, a machine, a plan, seeded events) take more than jest's 5 s hook default under load.
jest.setTimeout(60_000);

const t0 = Date.parse('2031-01-06T00:00:00Z');

beforeAll(async () => {
  h = await startApi('events');
  machineId = (await h.request('POST', '/api/v1/machines', { body: machineBody(1) })).body.id;
  planId = (await h.request('POST', '/api/v1/plans', { body: planBody([machineId]) })).body.id;
});
afterAll(async () => {
  await h?.close();
});

describe('listing and reading events', () => {
  let ids: string[];
  beforeAll(async () => {
    ids = [];
    ids.push(
      await seedEvent(h.db, {
        customerId,
        planId,
        start: iso(t0),
        status: 'DONE',
        machines: [{ machine_id: machineId, status: 'SUCCESS' }],
      }),
    );
    ids.push(await seedEvent(h.db, { customerId, planId, start: iso(t0 + DAY), status: 'DONE_ERROR' }));
    ids.push(
      await seedEvent(h.db, {
        customerId,
        planId: 'pln_other',
        start: iso(t0 + 2 * DAY),
        status: 'NEW',
        pipelineId: 'ppl_x',
      }),
    );
    ids.push(await seedEvent(h.db, { customerId, planId, start: iso(t0 + 3 * DAY), status: 'NEW' }));
    await seedEvent(h.db, { customerId: 'someone_else', planId, start: iso(t0 + 4 * DAY), status: 'NEW' });
  });

  const list = async (q: string) => {
    const r = await h.request('GET', `/api/v1/events?${q}`);
    expect(r.status).toBe(200);
    return r.body.items.map((e: { id: string }) => e.id);
  };

  it('orders by start and filters by time, status, plan, pipeline and machine', async () => {
    expect(await list('')).toEqual(ids);
    expect(await list(`from=${iso(t0 + DAY)}&to=${iso(t0 + 3 * DAY)}`)).toEqual([ids[1], ids[2]]);
    expect(await list('status=DONE,DONE_ERROR')).toEqual([ids[0], ids[1]]);
    expect(await list('status=DONE&status=NEW')).toEqual([ids[0], ids[2], ids[3]]);
    expect(await list(`plan_id=${planId}`)).toEqual([ids[0], ids[1], ids[3]]);
    expect(await list('pipeline_id=ppl_x')).toEqual([ids[2]]);
    // Took part (recorded) or upcoming in a plan that lists the machine.
    expect(await list(`machine_id=${machineId}`)).toEqual([ids[0], ids[3]]);
  });

  it('pages through events with continuation_token', async () => {
    const first = await h.request('GET', '/api/v1/events?limit=3');
    expect(first.body.items).toHaveLength(3);
    const second = await h.request(
      'GET',
      `/api/v1/events?limit=3&continuation_token=${first.body.continuation_token}`,
    );
    expect(second.body.items.map((e: { id: string }) => e.id)).toEqual([ids[3]]);
    expect(second.body.continuation_token).toBeNull();
  });

  it('refuses bad filters with the field named', async () => {
    const r = await h.request(
      'GET',
      '/api/v1/events?status=DONE,MAYBE&from=yesterday&limit=0&plan_id[$ne]=x',
    );
    expect(r.status).toBe(400);
    expect(r.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'from',
      'limit',
      'plan_id[$ne]',
      'status',
    ]);
  });

  it('assembles one event with machines and timeline and never shows the plan snapshot', async () => {
    const r = await h.request('GET', `/api/v1/events/${ids[0]}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: ids[0], plan_id: planId, status: 'DONE', hooks: [] });
    expect(r.body.machines).toEqual([
      expect.objectContaining({
        machine_id: machineId,
        status: 'SUCCESS',
        ssm_machine_id: expect.any(String),
        hooks: [],
      }),
    ]);
    expect(r.body.timeline).toEqual([
      expect.objectContaining({ type: 'event_new', message: 'event created' }),
    ]);
    expect(r.text).not.toContain('SECRET');
    expect(r.body.plan_snapshot).toBeUndefined();
  });

  it('answers 404 for an event of another customer', async () => {
    const other = await seedEvent(h.db, { customerId: 'someone_else', planId, start: iso(t0 + 9 * DAY) });
    expect((await h.request('GET', `/api/v1/events/${other}`)).status).toBe(404);
    expect((await h.request('POST', `/api/v1/events/${other}/approve`)).status).toBe(404);
  });
});

describe('creating ad-hoc events', () => {
  it('validates the window and the plan, then asks the orchestrator', async () => {
    const now = Date.now();
    const bad = await h.request('POST', '/api/v1/events', {
      body: { plan_id: 'pln_nope', start: iso(now - DAY), end: iso(now - DAY - 1000) },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'end',
      'plan_id',
      'start',
    ]);
    const short = await h.request('POST', '/api/v1/events', {
      body: { plan_id: planId, start: iso(now + DAY), end: iso(now + DAY + 30_000) },
    });
    expect(short.status).toBe(400);
    expect(short.body.error.details[0].message).toMatch(/one minute/);
    expect(h.orchestrator.callsOf('createEvent')).toHaveLength(0);

    const start = iso(Date.parse('2032-05-01T10:00:00Z'));
    const end = iso(Date.parse('2032-05-01T12:00:00Z'));
    const ok = await h.request('POST', '/api/v1/events', { body: { plan_id: planId, start, end } });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ plan_id: planId, start, end });
    expect(h.orchestrator.callsOf('createEvent')[0].args.slice(0, 3)).toEqual([planId, start, end]);
  });
});

describe('operator actions', () => {
  let finished: string;
  let upcoming: string;
  beforeAll(async () => {
    finished = await seedEvent(h.db, {
      customerId,
      planId,
      start: iso(t0 + 20 * DAY),
      status: 'DONE_PARTIAL',
      machines: [{ machine_id: machineId, status: 'FAILED' }],
    });
    upcoming = await seedEvent(h.db, {
      customerId,
      planId,
      start: iso(t0 + 21 * DAY),
      status: 'NOT_APPROVED',
    });
  });

  it('approves, excludes and deletes through the orchestrator and audits each', async () => {
    expect((await h.request('POST', `/api/v1/events/${upcoming}/approve`)).status).toBe(200);
    const ex = await h.request('POST', `/api/v1/events/${upcoming}/exclude`, {
      body: { machine_ids: [machineId, machineId] },
    });
    expect(ex.status).toBe(200);
    expect(h.orchestrator.callsOf('excludeMachines').at(-1)!.args.slice(0, 2)).toEqual([
      upcoming,
      [machineId],
    ]);
    h.orchestrator.failNext.set('deleteEvent', new ConflictError('event is running'));
    const refused = await h.request('DELETE', `/api/v1/events/${upcoming}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'conflict', message: 'event is running' });
    expect((await h.request('DELETE', `/api/v1/events/${upcoming}`)).status).toBe(200);
    const audit = await h.request('GET', `/api/v1/audit?resource=event&resource_id=${upcoming}`);
    expect(audit.body.items.map((a: { action: string }) => a.action)).toEqual([
      'delete',
      'exclude',
      'approve',
    ]);
    expect(audit.body.items[0]).toMatchObject({
      actor: expect.stringMatching(/^key_/),
      customer_id: customerId,
    });
  });

  it('requires action_taken for SUCCESS_MANUAL and FAILED_MANUAL', async () => {
    const path = `/api/v1/events/${finished}/machines/${machineId}/status`;
    const missing = await h.request('POST', path, { body: { manual_status: 'SUCCESS_MANUAL' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details).toEqual([expect.objectContaining({ path: 'action_taken' })]);
    const wrong = await h.request('POST', path, { body: { manual_status: 'DONE' } });
    expect(wrong.status).toBe(400);
    const ok = await h.request('POST', path, {
      body: { manual_status: 'SUCCESS_MANUAL', action_taken: 'patched by hand' },
    });
    expect(ok.status).toBe(200);
    expect(h.orchestrator.callsOf('setManualStatus').at(-1)!.args.slice(0, 4)).toEqual([
      finished,
      machineId,
      'SUCCESS_MANUAL',
      'patched by hand',
    ]);
    const inProgress = await h.request('POST', path, { body: { manual_status: 'REBOOTING_MANUAL' } });
    expect(inProgress.status).toBe(200);
    const unknownMachine = await h.request('POST', `/api/v1/events/${finished}/machines/mch_nope/status`, {
      body: { manual_status: 'REBOOTING_MANUAL' },
    });
    expect(unknownMachine.status).toBe(404);
  });

  it('starts a partial run with the chosen parts and maps refusals to 409', async () => {
    const body = { machine_ids: [machineId], pre_hooks: false, host_hooks: { [machineId]: { pre: false } } };
    const ok = await h.request('POST', `/api/v1/events/${finished}/partial`, { body });
    expect(ok.status).toBe(202);
    expect(h.orchestrator.callsOf('partialRun').at(-1)!.args[1]).toEqual(body);
    h.orchestrator.failNext.set('partialRun', new ConflictError('event is not finished'));
    expect((await h.request('POST', `/api/v1/events/${finished}/partial`, { body: {} })).status).toBe(409);
    const bad = await h.request('POST', `/api/v1/events/${finished}/partial`, {
      body: { pre_hooks: 'yes', extra: 1 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'extra',
      'pre_hooks',
    ]);
  });

  it('refuses a body on routes that take none', async () => {
    const r = await h.request('POST', `/api/v1/events/${finished}/approve`, { body: { force: true } });
    expect(r.status).toBe(400);
  });

  it('answers 501 for reports and logs when no report store is configured', async () => {
    const r = await h.request('GET', `/api/v1/events/${finished}/report`);
    expect(r.status).toBe(501);
    expect(r.body.error.code).toBe('not_implemented');
    expect((await h.request('GET', `/api/v1/events/${finished}/machines/${machineId}/log`)).status).toBe(501);
  });

  it('writes nothing to the event collections itself', async () => {
    const doc = await h.db.collection(COLLECTIONS.events).findOne({ _id: upcoming as never });
    expect(doc?.status).toBe('NOT_APPROVED'); // changes go through the orchestrator only
  });
});

describe('reports through the reports port', () => {
  it('serves the PDF and the log the port returns', async () => {
    const h2 = await startApi('events_reports', {
      reports: {
        eventReport: async (_c, id) => ({
          contentType: 'application/pdf',
          body: Buffer.from(`%PDF-1.4 ${id}`),
        }),
        machineLog: async (_c, _e, m) =>
          m === 'mch_a' ? { contentType: 'text/plain', body: 'log of a' } : null,
      },
    });
    try {
      const ev = await seedEvent(h2.db, { customerId, planId: 'pln_r', start: iso(t0), status: 'DONE' });
      const pdf = await h2.request('GET', `/api/v1/events/${ev}/report`);
      expect(pdf.status).toBe(200);
      expect(pdf.headers.get('content-type')).toMatch(/application\/pdf/);
      expect(pdf.headers.get('content-disposition')).toMatch(/attachment/);
      expect(pdf.text).toContain('%PDF-1.4');
      expect((await h2.request('GET', `/api/v1/events/${ev}/machines/mch_a/log`)).text).toBe('log of a');
      expect((await h2.request('GET', `/api/v1/events/${ev}/machines/mch_b/log`)).status).toBe(404);
    } finally {
      await h2.close();
    }
  });

  it('a finished event whose report is still being rendered: the API waits for it; never rendered: 503 report_pending; unfinished: 404', async () => {
    let renderedAt = Infinity;
    const h3 = await startApi('events_reports_wait', {
      reports: {
        eventReport: async (_c, id) =>
          id.includes('pln_late') && Date.now() >= renderedAt
            ? { contentType: 'application/pdf', body: Buffer.from(`%PDF-1.4 ${id}`) }
            : null,
        machineLog: async () => null,
      },
    });
    try {
      const late = await seedEvent(h3.db, { customerId, planId: 'pln_late', start: iso(t0), status: 'DONE' });
      renderedAt = Date.now() + 1_000;
      const t = Date.now();
      const pdf = await h3.request('GET', `/api/v1/events/${late}/report`);
      expect(pdf.status).toBe(200);
      expect(Date.now() - t).toBeGreaterThanOrEqual(900);

      const never = await seedEvent(h3.db, {
        customerId,
        planId: 'pln_never',
        start: iso(t0),
        status: 'DONE',
      });
      const pending = await h3.request('GET', `/api/v1/events/${never}/report`);
      expect(pending.status).toBe(503);
      expect(pending.body.error.code).toBe('report_pending');
      expect(pending.headers.get('retry-after')).toBe('5');

      const running = await seedEvent(h3.db, {
        customerId,
        planId: 'pln_running',
        start: iso(t0),
        status: 'IN_PROGRESS',
      });
      expect((await h3.request('GET', `/api/v1/events/${running}/report`)).status).toBe(404);
    } finally {
      await h3.close();
    }
  }, 60_000);
});
