/**
 * Health gates and HALTED end to end (issue 16, docs/behaviour.md#health-gates): plans with real probes read
 * through the lab (CloudWatch DescribeAlarms with the real SDK client, an Alertmanager API v2), driven through
 * the REST API only. A CloudWatch alarm going to ALARM mid-group halts the wave (the running machine finishes,
 * no new one starts), resume lets it go on, abort makes the rest OMITTED; an unreadable probe halts before the
 * first machine (fail-closed) and an override runs on; a firing Alertmanager alert halts.
 */
import {
  newSsmId,
  startStack,
  waitFor,
  waitForEventStatus,
  type EventView,
  type Stack,
} from '../helpers/stack';

jest.setTimeout(180_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('health-gates');
});
afterAll(async () => stack?.close());

interface Ev extends Omit<EventView, 'timeline'> {
  timeline: { type: string; message: string }[];
}
const read = async (id: string) => (await stack.api<Ev>('GET', `/api/v1/events/${id}`)).body;
const statusOf = (e: Pick<Ev, 'machines'>, machineId: string) =>
  e.machines.find((m) => m.machine_id === machineId)?.status;

/** Machines with lab behaviour, and a plan over them (one order group, one machine at a time). */
async function setup(name: string, commands: { duration_s: number }[], healthGates: unknown) {
  const ids: { id: string; ssm: string }[] = [];
  for (const [i, c] of commands.entries()) {
    const ssm = newSsmId();
    await stack.lab_('PUT', `/_lab/machines/${ssm}`, {
      platform: 'Linux',
      online: true,
      commands: [{ duration_s: c.duration_s, outcome: 'success', installed: ['pkg'] }],
    });
    const m = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
      name: `${name}-${i}`,
      access: { ssm_machine_id: ssm, region: 'us-east-1' },
    });
    expect(m.status).toBe(201);
    ids.push({ id: m.body.id, ssm });
  }
  const p = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name,
    cron: '0 0 1 1 *',
    window_hours: 0.5,
    max_concurrency: 1,
    machines: ids.map((m) => ({ machine_id: m.id, order: 1 })),
    health_gates: healthGates,
  });
  expect([p.status, JSON.stringify(p.body)]).toEqual([201, expect.any(String)]);
  const ev = await stack.api<{ id: string }>('POST', `/api/v1/plans/${p.body.id}/execute`);
  expect(ev.status).toBe(201);
  return { machines: ids, eventId: ev.body.id };
}

/** HALTED with its n-th `halted` timeline line (status and timeline are two writes: wait for both). */
const waitHalted = (eventId: string, n = 1) =>
  waitFor(`event ${eventId} HALTED (${n})`, async () => {
    const e = await read(eventId);
    return e.status === 'HALTED' && e.timeline.filter((t) => t.type === 'halted').length >= n ? e : undefined;
  });

const labCommands = (ssm: string) => stack.lab_<unknown[]>('GET', `/_lab/machines/${ssm}/commands`);

test('a CloudWatch alarm mid-group halts the wave; resume goes on; abort leaves the rest OMITTED', async () => {
  const alarm = `api-5xx-${Date.now().toString(36)}`;
  await stack.lab_('PUT', `/_lab/cloudwatch/alarms/${alarm}`, { state: 'OK' });
  const { machines, eventId } = await setup(
    'gated wave',
    [{ duration_s: 8 }, { duration_s: 8 }, { duration_s: 1 }],
    {
      probes: [{ type: 'cloudwatch_alarm', name: 'api errors', alarm_names: [alarm] }],
      interval_s: 1,
    },
  );
  const [m1, m2, m3] = machines;

  // The first machine runs; the alarm fires while it does.
  await waitFor('m1 running', async () =>
    statusOf(await read(eventId), m1.id) === 'IN_PROGRESS' ? true : undefined,
  );
  await stack.lab_('PUT', `/_lab/cloudwatch/alarms/${alarm}`, {
    state: 'ALARM',
    reason: 'Threshold Crossed: 5xx > 10',
  });
  const halted = await waitHalted(eventId);
  expect(halted.timeline).toContainEqual(
    expect.objectContaining({
      type: 'halted',
      message: expect.stringContaining(
        `health gate api errors: alarm ${alarm} in ALARM: Threshold Crossed: 5xx > 10`,
      ),
    }),
  );
  // The running machine finishes; no new one starts while halted.
  const m1Done = await waitFor('m1 finished while halted', async () => {
    const e = await read(eventId);
    return statusOf(e, m1.id) === 'SUCCESS' ? e : undefined;
  });
  expect(m1Done.status).toBe('HALTED');
  expect([statusOf(m1Done, m2.id), statusOf(m1Done, m3.id)]).toEqual(['PENDING', 'PENDING']);
  expect(await labCommands(m2.ssm)).toEqual([]);

  // Resume while still in ALARM: the gates are read again first, and it halts again.
  const again = await stack.api<{ status: string }>('POST', `/api/v1/events/${eventId}/resume`);
  expect([again.status, again.body.status]).toEqual([200, 'IN_PROGRESS']);
  await waitFor('halted again', async () => {
    const e = await read(eventId);
    return e.status === 'HALTED' && e.timeline.filter((t) => t.type === 'halted').length === 2
      ? e
      : undefined;
  });
  expect(await labCommands(m2.ssm)).toEqual([]);

  // Healthy again: resume starts the next machine.
  await stack.lab_('PUT', `/_lab/cloudwatch/alarms/${alarm}`, { state: 'OK' });
  const resumed = await stack.api<{ status: string }>('POST', `/api/v1/events/${eventId}/resume`);
  expect([resumed.status, resumed.body.status]).toEqual([200, 'IN_PROGRESS']);
  await waitFor('m2 running', async () =>
    statusOf(await read(eventId), m2.id) === 'IN_PROGRESS' ? true : undefined,
  );

  // It fires again during m2: halt, then abort. m2 finishes, m3 never starts.
  await stack.lab_('PUT', `/_lab/cloudwatch/alarms/${alarm}`, { state: 'ALARM', reason: 'again' });
  await waitHalted(eventId, 3);
  const aborted = await stack.api<{ status: string }>('POST', `/api/v1/events/${eventId}/abort`, {
    reason: 'rolling back',
  });
  expect([aborted.status, aborted.body.status]).toEqual([200, 'IN_PROGRESS']);
  const final = await waitForEventStatus(stack, eventId);
  expect(final.status).toBe('DONE_PARTIAL');
  expect([m1, m2, m3].map((m) => statusOf(final, m.id))).toEqual(['SUCCESS', 'SUCCESS', 'OMITTED']);
  expect(final.machines.find((m) => m.machine_id === m3.id)?.reason).toMatch(/^aborted by .*: rolling back$/);
  expect(await labCommands(m3.ssm)).toEqual([]);
  expect((await read(eventId)).timeline.map((t) => t.type)).toEqual(
    expect.arrayContaining(['halted', 'resumed', 'aborted']),
  );
  // Finished: nothing left to resume.
  const late = await stack.api<{ error: { message: string } }>('POST', `/api/v1/events/${eventId}/resume`);
  expect([late.status, late.body.error.message]).toEqual([
    409,
    expect.stringContaining('only a HALTED event'),
  ]);
});

test('an unreadable probe halts before the first machine (fail-closed); an override needs a reason and runs on', async () => {
  const { machines, eventId } = await setup('unreadable gate', [{ duration_s: 1 }], {
    probes: [{ type: 'cloudwatch_alarm', alarm_names: ['no-such-alarm'] }],
    interval_s: 1,
  });
  const halted = await waitHalted(eventId);
  expect(halted.timeline).toContainEqual(
    expect.objectContaining({
      type: 'halted',
      message: expect.stringContaining('cloudwatch_alarm_0: cannot be read: no such alarm: no-such-alarm'),
    }),
  );
  expect(statusOf(halted, machines[0].id)).toBe('PENDING');

  const noReason = await stack.api<{ error: { details: unknown } }>(
    'POST',
    `/api/v1/events/${eventId}/override`,
    {},
  );
  expect(noReason.status).toBe(400);
  const ok = await stack.api<{ status: string }>('POST', `/api/v1/events/${eventId}/override`, {
    reason: 'alarm not created yet; change approved by CAB-123',
  });
  expect([ok.status, ok.body.status]).toEqual([200, 'IN_PROGRESS']);
  const final = await waitForEventStatus(stack, eventId);
  expect([final.status, statusOf(final, machines[0].id)]).toEqual(['DONE', 'SUCCESS']);
  expect((await read(eventId)).timeline).toContainEqual(
    expect.objectContaining({
      type: 'gates_overridden',
      message: expect.stringContaining('alarm not created yet; change approved by CAB-123'),
    }),
  );
});

test('a firing Alertmanager alert halts; abort leaves every machine OMITTED', async () => {
  const service = `svc-${Date.now().toString(36)}`;
  await stack.lab_('PUT', '/_lab/alertmanager/alerts', {
    alerts: [{ labels: { alertname: 'HighLatency', service, severity: 'page' } }],
  });
  const { machines, eventId } = await setup('alert gate', [{ duration_s: 1 }], {
    probes: [
      { type: 'prometheus', name: 'pages', url: `${stack.lab.url}/_lab/alertmanager`, matchers: { service } },
    ],
    interval_s: 1,
  });
  const halted = await waitHalted(eventId);
  expect(halted.timeline).toContainEqual(
    expect.objectContaining({
      type: 'halted',
      message: expect.stringContaining('pages: 1 firing alert(s): HighLatency'),
    }),
  );
  await stack.api('POST', `/api/v1/events/${eventId}/abort`, {});
  const final = await waitForEventStatus(stack, eventId);
  expect([final.status, statusOf(final, machines[0].id)]).toEqual(['DONE_ERROR', 'OMITTED']);
  expect(await labCommands(machines[0].ssm)).toEqual([]);
});

test('a hook probe: a Lambda gets the hook payload and answers {healthy, reason}; unhealthy halts, resume runs on', async () => {
  const fn = `gate-${Date.now().toString(36)}`;
  await stack.lab_('PUT', `/_lab/lambdas/${fn}`, {
    responses: [{ body: { healthy: false, reason: 'error budget exhausted' } }, { body: { healthy: true } }],
  });
  const arn = `arn:aws:lambda:us-east-1:123456789012:function:${fn}`;
  const { machines, eventId } = await setup('hook gate', [{ duration_s: 1 }], {
    probes: [{ type: 'hook', name: 'slo', hook: { type: 'lambda', source: arn } }],
    interval_s: 1,
  });
  const halted = await waitHalted(eventId);
  expect(halted.timeline).toContainEqual(
    expect.objectContaining({
      type: 'halted',
      message: expect.stringContaining('health gate slo: unhealthy: error budget exhausted'),
    }),
  );
  const calls = await stack.lab_<{ payload: { event_id: string; machines: { id: string }[] } }[]>(
    'GET',
    `/_lab/lambdas/${fn}/invocations`,
  );
  expect(calls[0].payload).toMatchObject({
    event_id: eventId,
    machines: [expect.objectContaining({ id: machines[0].id, status: 'PENDING' })],
    hook_outputs: [],
  });

  // The next answer is healthy: resume reads it and the machine runs.
  await stack.api('POST', `/api/v1/events/${eventId}/resume`);
  const final = await waitForEventStatus(stack, eventId);
  expect([final.status, statusOf(final, machines[0].id)]).toEqual(['DONE', 'SUCCESS']);

  // An Azure function as a probe passes the hooks' SSRF guard when the plan is saved: the request is valid as
  // written, the server's egress policy refuses it, so it is a 409 naming the field (code egress_refused).
  const refused = await stack.api<{ error: { code: string; details: { path: string }[] } }>(
    'POST',
    '/api/v1/plans',
    {
      name: 'metadata probe',
      cron: '0 0 1 1 *',
      window_hours: 1,
      machines: [{ machine_id: machines[0].id, order: 1 }],
      health_gates: {
        probes: [{ type: 'hook', hook: { type: 'azure', source: 'https://169.254.169.254/latest/' } }],
      },
    },
  );
  expect(refused.status).toBe(409);
  expect(refused.body.error.code).toBe('egress_refused');
  expect(refused.body.error.details.map((d) => d.path)).toContain('health_gates.probes.0.hook.source');
});
