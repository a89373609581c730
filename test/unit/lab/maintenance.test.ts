import type { Lab } from '../../../lab/server';
import { manualClock, startLab } from './helpers';

/** The lab's Alertmanager silences and Statuspage incidents (lab/maintenance.ts), over HTTP. */
describe('lab: maintenance services', () => {
  const clock = manualClock();
  let lab: Lab;
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${lab.url}${path}`, {
      method,
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const iso = (ms: number) => new Date(ms).toISOString();
  const AM = '/_lab/alertmanager/api/v2';
  const SP = '/_lab/statuspage/v1/pages/pg1/incidents';
  const oauth = { authorization: 'OAuth k1' };

  beforeAll(async () => {
    lab = await startLab({ now: clock.now });
  });
  afterAll(async () => lab.close());
  beforeEach(() => lab.state.reset());

  it('silences: created pending, active in their window, updated by id, expired by DELETE', async () => {
    const t = clock.now();
    const silence = {
      matchers: [{ name: 'service', value: 'billing', isRegex: false, isEqual: true }],
      startsAt: iso(t + 60_000),
      endsAt: iso(t + 3600_000),
      createdBy: 'patchwave',
      comment: 'event ev1',
    };
    const made = await call('POST', `${AM}/silences`, silence);
    expect(made.status).toBe(200);
    const id = made.body.silenceID as string;
    expect((await call('GET', `${AM}/silences`)).body).toEqual([
      expect.objectContaining({ id, status: { state: 'pending' }, endsAt: iso(t + 3600_000) }),
    ]);
    clock.advance(120_000);
    expect((await call('GET', `${AM}/silence/${id}`)).body.status.state).toBe('active');
    const moved = await call('POST', `${AM}/silences`, { ...silence, id, endsAt: iso(t + 7200_000) });
    expect(moved.body).toEqual({ silenceID: id });
    expect((await call('DELETE', `${AM}/silence/${id}`)).status).toBe(200);
    expect((await call('GET', `${AM}/silence/${id}`)).body.status.state).toBe('expired');
    // An expired silence cannot be updated; an end in the past is refused.
    expect((await call('POST', `${AM}/silences`, { ...silence, id })).status).toBe(404);
    expect((await call('POST', `${AM}/silences`, { ...silence, endsAt: iso(t) })).status).toBe(400);
    // The fake alerts still answer beside the silences.
    expect((await call('GET', `${AM}/alerts`)).status).toBe(200);
  });

  it('incidents: OAuth required; scheduled, moved, completed, deleted', async () => {
    const t = clock.now();
    const incident = {
      name: 'Scheduled maintenance',
      status: 'scheduled',
      scheduled_for: iso(t + 3600_000),
      scheduled_until: iso(t + 7200_000),
      scheduled_auto_in_progress: true,
      scheduled_auto_completed: true,
      component_ids: ['c1'],
    };
    expect((await call('POST', SP, { incident })).status).toBe(401);
    const made = await call('POST', SP, { incident }, oauth);
    expect(made.status).toBe(201);
    expect(made.body).toEqual(expect.objectContaining({ ...incident, page_id: 'pg1' }));
    const id = made.body.id as string;
    const moved = await call(
      'PATCH',
      `${SP}/${id}`,
      { incident: { scheduled_until: iso(t + 9000_000) } },
      oauth,
    );
    expect(moved.body.scheduled_until).toBe(iso(t + 9000_000));
    const done = await call('PATCH', `${SP}/${id}`, { incident: { status: 'completed' } }, oauth);
    expect([done.body.status, typeof done.body.resolved_at]).toEqual(['completed', 'string']);
    expect((await call('DELETE', `${SP}/${id}`, undefined, oauth)).status).toBe(200);
    expect((await call('GET', `${SP}/${id}`, undefined, oauth)).status).toBe(404);
  });

  it('a service switched down answers every call with the status set', async () => {
    await call('PUT', '/_lab/maintenance-services/statuspage', { status: 503 });
    expect((await call('GET', SP, undefined, oauth)).status).toBe(503);
    expect((await call('GET', `${AM}/silences`)).status).toBe(200);
    await call('PUT', '/_lab/maintenance-services/statuspage', { status: 0, api_key: 'k2' });
    expect((await call('GET', SP, undefined, oauth)).status).toBe(401);
    expect((await call('GET', SP, undefined, { authorization: 'OAuth k2' })).status).toBe(200);
    const seen = await call('GET', '/_lab/maintenance-services');
    expect(seen.body.calls.map((c: { method: string }) => c.method)).toEqual(['GET', 'GET', 'GET', 'GET']);
  });

  it('pingdom windows: Bearer required; created, moved, ended by `to`, deleted only before they begin', async () => {
    const t = clock.now();
    const s = (ms: number) => Math.floor(ms / 1000);
    const PD = '/_lab/pingdom/api/3.1/maintenance';
    const bearer = { authorization: 'Bearer t1' };
    const window = {
      description: 'patching',
      from: s(t + 3600_000),
      to: s(t + 7200_000),
      uptimeids: '11,12',
    };
    expect((await call('POST', PD, window)).status).toBe(401);
    const made = await call('POST', PD, window, bearer);
    expect(made.status).toBe(200);
    const id = made.body.maintenance.id as number;
    expect(typeof id).toBe('number');
    expect((await call('GET', `${PD}/${id}`, undefined, bearer)).body.maintenance).toEqual(
      expect.objectContaining({
        id,
        from: window.from,
        to: window.to,
        checks: { uptime: [11, 12], tms: [] },
      }),
    );
    // A `from` in the past is refused (1 means now); `to` must follow `from`.
    expect((await call('POST', PD, { ...window, from: s(t - 3600_000) }, bearer)).status).toBe(400);
    expect((await call('POST', PD, { ...window, to: window.from }, bearer)).body.error.statuscode).toBe(400);
    const moved = await call('PUT', `${PD}/${id}`, { from: s(t + 5400_000), to: s(t + 9000_000) }, bearer);
    expect(moved.status).toBe(200);
    clock.advance(6000_000);
    // Begun: it cannot be deleted, it is ended by moving its end to now.
    expect((await call('DELETE', `${PD}/${id}`, undefined, bearer)).status).toBe(400);
    expect((await call('PUT', `${PD}/${id}`, { to: s(clock.now()) }, bearer)).status).toBe(200);
    const seen = await call('GET', '/_lab/maintenance-services/pingdom');
    expect(seen.body.windows).toEqual([
      expect.objectContaining({ id, from: s(t + 5400_000), to: s(clock.now()) }),
    ]);
    // One that has not begun is deleted.
    const later = await call(
      'POST',
      PD,
      { ...window, from: 1 + s(clock.now() + 60_000), to: s(clock.now() + 600_000) },
      bearer,
    );
    const id2 = later.body.maintenance.id as number;
    expect((await call('DELETE', `${PD}/${id2}`, undefined, bearer)).status).toBe(200);
    expect((await call('GET', `${PD}/${id2}`, undefined, bearer)).status).toBe(404);
    expect((await call('GET', '/_lab/maintenance-services/pingdom')).body.deleted).toEqual([
      expect.objectContaining({ id: id2 }),
    ]);
    // A token set through the control API is the only one accepted; a service down answers its status.
    await call('PUT', '/_lab/maintenance-services/pingdom', { api_key: 't2' });
    expect((await call('GET', PD, undefined, bearer)).status).toBe(401);
    await call('PUT', '/_lab/maintenance-services/pingdom', { status: 503 });
    expect((await call('GET', PD, undefined, { authorization: 'Bearer t2' })).status).toBe(503);
  });

  it('webhook receiver: keeps the raw body and the X-Patchwave headers, answers an id for create', async () => {
    const body = { action: 'create', key: '0-webhook', event_id: 'ev1' };
    const made = await call('POST', '/_lab/maintenance-receiver/ops/mw', body, {
      'x-patchwave-signature': 'sha256=ab',
    });
    expect(made).toEqual({ status: 200, body: { id: 'rcv-1' } });
    const moved = await call('POST', '/_lab/maintenance-receiver/ops/mw', {
      action: 'move',
      external_id: 'rcv-1',
    });
    expect(moved.body).toEqual({ id: 'rcv-1' });
    const got = await call('GET', '/_lab/maintenance-services/webhook');
    expect(got.body.received).toEqual([
      expect.objectContaining({
        path: '/ops/mw',
        body: JSON.stringify(body),
        headers: expect.objectContaining({ 'x-patchwave-signature': 'sha256=ab' }),
      }),
      expect.objectContaining({ path: '/ops/mw' }),
    ]);
    await call('PUT', '/_lab/maintenance-services/webhook', { status: 502 });
    expect((await call('POST', '/_lab/maintenance-receiver/ops/mw', body)).status).toBe(502);
    // The other services' routes are unchanged.
    expect((await call('GET', '/_lab/maintenance-services')).body.down).toEqual(
      expect.objectContaining({ alertmanager: 0, statuspage: 0, webhook: 502 }),
    );
  });
});
