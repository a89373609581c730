/**
 * Issue #4 end to end through the REST API on the real servers and the lab: plan scheduling days ahead
 * (checked against cron-parser directly), plan edits and deletes, and a three-step pipeline
 * A (always) → B (success_or_approval) → C (approval) playing out seed 001's approval and partial-patching
 * examples, with hook outputs from A reaching C, and a manual status change.
 */
import { CronExpressionParser } from 'cron-parser';
import {
  newSsmId,
  startStack,
  waitFor,
  waitForEventStatus,
  type EventView,
  type Stack,
} from '../helpers/stack';

jest.setTimeout(240_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('schedules');
});
afterAll(async () => {
  await stack?.close();
});

interface EventSummary {
  id: string;
  status: string;
  start: string;
  end: string;
  step?: number;
}

async function machine(behaviour: object) {
  const ssmId = newSsmId();
  await stack.lab_('PUT', `/_lab/machines/${ssmId}`, { platform: 'Linux', online: true, ...behaviour });
  const r = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
    name: `m-${ssmId.slice(-5)}`,
    access: { ssm_machine_id: ssmId, region: 'us-east-1' },
  });
  expect(r.status).toBe(201);
  return { id: r.body.id, ssmId };
}

async function events(query: string): Promise<EventSummary[]> {
  const r = await stack.api<{ items: EventSummary[] }>('GET', `/api/v1/events?limit=500&${query}`);
  expect(r.status).toBe(200);
  return r.body.items;
}

function expectedStarts(cron: string, from: Date, hours: number): string[] {
  const it = CronExpressionParser.parse(cron, {
    currentDate: from,
    endDate: new Date(from.getTime() + hours * 3600_000),
    tz: 'UTC',
  });
  const out: string[] = [];
  while (it.hasNext()) out.push(it.next().toDate().toISOString());
  return out;
}

test('a plan has exactly its cron occurrences for the next 3 days; edits and deletes follow', async () => {
  const m = await machine({});
  const cron = '17 */6 * * *';
  const created = new Date();
  const p = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: 'every six hours',
    cron,
    window_hours: 1,
    machines: [{ machine_id: m.id }],
  });
  expect(p.status).toBe(201);
  const want = expectedStarts(cron, created, 72);
  expect(want.length).toBeGreaterThanOrEqual(11);
  const got = await waitFor('scheduled events', async () => {
    const evs = await events(`plan_id=${p.body.id}&status=NEW`);
    return evs.length >= want.length ? evs : undefined;
  });
  expect(got.map((e) => e.start).sort()).toEqual(want);
  for (const e of got) expect(Date.parse(e.end) - Date.parse(e.start)).toBe(3600_000);

  // Window change: same starts, new ends.
  const put = await stack.api('PATCH', `/api/v1/plans/${p.body.id}`, { window_hours: 2 });
  expect(put.status).toBe(200);
  await waitFor('windows updated', async () => {
    const evs = await events(`plan_id=${p.body.id}&status=NEW`);
    return evs.length === want.length &&
      evs.every((e) => Date.parse(e.end) - Date.parse(e.start) === 2 * 3600_000)
      ? evs
      : undefined;
  });

  // Cron change: the old upcoming events are DELETED, the new ones exist.
  const cron2 = '45 3 * * *';
  expect((await stack.api('PATCH', `/api/v1/plans/${p.body.id}`, { cron: cron2 })).status).toBe(200);
  const want2 = expectedStarts(cron2, new Date(), 72);
  await waitFor('events regenerated', async () => {
    const live = await events(`plan_id=${p.body.id}&status=NEW`);
    return JSON.stringify(live.map((e) => e.start).sort()) === JSON.stringify(want2) ? live : undefined;
  });
  const deleted = await events(`plan_id=${p.body.id}&status=DELETED`);
  expect(deleted.map((e) => e.start).sort()).toEqual(want);

  // Plan deleted: its upcoming events are DELETED.
  expect((await stack.api('DELETE', `/api/v1/plans/${p.body.id}`)).status).toBeLessThan(300);
  await waitFor('upcoming events deleted', async () =>
    (await events(`plan_id=${p.body.id}&status=NEW`)).length === 0 ? true : undefined,
  );
});

test("a pipeline's runs follow an edit of its cron: runs of dropped starts are DELETED, new ones exist", async () => {
  const m = await machine({});
  const plan = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: 'piped',
    cron: '0 0 1 1 *',
    window_hours: 1,
    machines: [{ machine_id: m.id }],
  });
  expect(plan.status).toBe(201);
  const cron = '17 */6 * * *';
  const created = new Date();
  const pipe = await stack.api<{ id: string }>('POST', '/api/v1/pipelines', {
    name: 'every six hours',
    cron,
    steps: [{ plans: [plan.body.id] }],
  });
  expect(pipe.status).toBe(201);
  const want = expectedStarts(cron, created, 72);
  const got = await waitFor('pipeline runs scheduled', async () => {
    const evs = await events(`pipeline_id=${pipe.body.id}&status=NEW`);
    return evs.length >= want.length ? evs : undefined;
  });
  expect(got.map((e) => e.start).sort()).toEqual(want);

  const cron2 = '45 3 * * *';
  expect((await stack.api('PATCH', `/api/v1/pipelines/${pipe.body.id}`, { cron: cron2 })).status).toBe(200);
  const want2 = expectedStarts(cron2, new Date(), 72);
  await waitFor('pipeline runs regenerated', async () => {
    const live = await events(`pipeline_id=${pipe.body.id}&status=NEW`);
    return JSON.stringify(live.map((e) => e.start).sort()) === JSON.stringify(want2) ? live : undefined;
  });
  const deleted = await events(`pipeline_id=${pipe.body.id}&status=DELETED`);
  expect(deleted.map((e) => e.start).sort()).toEqual(want);
});

test('bad cron is refused with 400 and nothing is scheduled', async () => {
  const m = await machine({});
  const r = await stack.api<{ error: { details: { path: string; message: string }[] } }>(
    'POST',
    '/api/v1/plans',
    {
      name: 'bad',
      cron: '61 * * * *',
      window_hours: 1,
      machines: [{ machine_id: m.id }],
    },
  );
  expect(r.status).toBe(400);
  expect(JSON.stringify(r.body.error.details)).toContain('cron');
});

test('pipeline A(always) → B(success_or_approval) → C(approval): seed 001 approval and partial examples', async () => {
  const lambda = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:${name}`;
  await stack.lab_('PUT', '/_lab/lambdas/a-pre', {
    responses: [{ delay_s: 0, status: 200, body: { code: 200, msg: 'A ready', output: 'from-A' } }],
  });
  await stack.lab_('PUT', '/_lab/lambdas/c-post', {
    responses: [{ delay_s: 0, status: 200, body: { code: 200, msg: 'C done', output: 'from-C' } }],
  });
  // A: one machine fails first time, succeeds on the partial re-run.
  const a1 = await machine({
    commands: [
      { duration_s: 1, outcome: 'failed' },
      { duration_s: 1, outcome: 'success', installed: ['x'] },
    ],
  });
  const a2 = await machine({ commands: [{ duration_s: 1, outcome: 'success', installed: ['y'] }] });
  const b1 = await machine({ commands: [{ duration_s: 1, outcome: 'success', installed: ['z'] }] });
  const c1 = await machine({ commands: [{ duration_s: 1, outcome: 'success', installed: ['w'] }] });
  const plan = async (name: string, ids: string[], extra: object = {}) => {
    const r = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
      name,
      cron: '0 0 1 1 *',
      window_hours: 0.1,
      machines: ids.map((machine_id) => ({ machine_id })),
      ...extra,
    });
    expect(r.status).toBe(201);
    return r.body.id;
  };
  const pa = await plan('A', [a1.id, a2.id], { pre_hooks: [{ type: 'lambda', source: lambda('a-pre') }] });
  const pb = await plan('B', [b1.id]);
  const pc = await plan('C', [c1.id], { post_hooks: [{ type: 'lambda', source: lambda('c-post') }] });
  const pl = await stack.api<{ id: string }>('POST', '/api/v1/pipelines', {
    name: 'dev → staging → prod',
    cron: '0 0 1 1 *',
    steps: [
      { plans: [pa], policy: 'always', offset_hours: 0 },
      { plans: [pb], policy: 'success_or_approval', offset_hours: 0.005 },
      { plans: [pc], policy: 'approval', offset_hours: 0.01 },
    ],
  });
  expect(pl.status).toBe(201);
  const run = await stack.api<{ run_id: string; event_ids: string[] }>(
    'POST',
    `/api/v1/pipelines/${pl.body.id}/execute`,
  );
  expect(run.status).toBeLessThan(300);
  const byPlan = async () => {
    const evs = await events(`pipeline_id=${pl.body.id}`);
    return {
      A: evs.find((e) => e.id.startsWith(pa))!,
      B: evs.find((e) => e.id.startsWith(pb))!,
      C: evs.find((e) => e.id.startsWith(pc))!,
    };
  };
  const ids = await waitFor('pipeline events', async () => {
    const x = await byPlan();
    return x.A && x.B && x.C ? x : undefined;
  });
  expect(ids.C.status).toBe('NOT_APPROVED');

  // A fails partly → B (success_or_approval) waits as NOT_APPROVED.
  const a = await waitForEventStatus(stack, ids.A.id);
  expect(a.status).toBe('DONE_PARTIAL');
  await waitForEventStatus(stack, ids.B.id, ['NOT_APPROVED']);

  // Approving C while B is unfinished leaves C APPROVED.
  expect((await stack.api('POST', `/api/v1/events/${ids.C.id}/approve`)).status).toBeLessThan(300);
  await waitForEventStatus(stack, ids.C.id, ['APPROVED']);

  // A partial run turns A DONE, but does not re-open B (already NOT_APPROVED).
  expect(
    (
      await stack.api('POST', `/api/v1/events/${ids.A.id}/partial`, {
        machine_ids: [a1.id],
        pre_hooks: false,
      })
    ).status,
  ).toBeLessThan(300);
  const a2nd = await waitForEventStatus(stack, ids.A.id, ['DONE']);
  expect(a2nd.machines.find((m) => m.machine_id === a1.id)!.status).toBe('SUCCESS');
  expect((await stack.api<EventView>('GET', `/api/v1/events/${ids.B.id}`)).body.status).toBe('NOT_APPROVED');
  // A's report still exists after the partial run.
  expect(
    (
      await fetch(`${stack.apiUrl}/api/v1/events/${ids.A.id}/report`, {
        headers: { authorization: `Bearer ${stack.key}` },
      })
    ).status,
  ).toBe(200);

  // Approving B lets it run; when it is DONE, C (approved earlier) becomes NEW and runs.
  expect((await stack.api('POST', `/api/v1/events/${ids.B.id}/approve`)).status).toBeLessThan(300);
  expect((await waitForEventStatus(stack, ids.B.id)).status).toBe('DONE');
  const c = await waitForEventStatus(stack, ids.C.id, ['DONE', 'DONE_ERROR', 'DONE_PARTIAL'], 120_000);
  expect(c.status).toBe('DONE');

  // A's pre hook output reached C's post hook, with plan_name and event_id, oldest first.
  const inv = await stack.lab_<
    {
      payload: {
        event_id: string;
        hook_outputs: { output: string; plan_name?: string; event_id?: string; hook: { name: string } }[];
      };
    }[]
  >('GET', '/_lab/lambdas/c-post/invocations');
  expect(inv).toHaveLength(1);
  const outs = inv[0].payload.hook_outputs;
  expect(outs[0]).toMatchObject({
    output: 'from-A',
    plan_name: 'A',
    event_id: ids.A.id,
    hook: { name: 'pre_0' },
  });
  expect(inv[0].payload.event_id).toBe(ids.C.id);
});

test('manual status: DONE_PARTIAL → DONE_MANUAL, IN_PROGRESS_MANUAL reopens, action_taken required', async () => {
  const good = await machine({ commands: [{ duration_s: 1, outcome: 'success', installed: ['a'] }] });
  const bad = await machine({ commands: [{ duration_s: 1, outcome: 'failed' }] });
  const p = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: 'manual',
    cron: '0 0 1 1 *',
    window_hours: 0.1,
    machines: [{ machine_id: good.id }, { machine_id: bad.id }],
  });
  const ev = await stack.api<{ id: string }>('POST', `/api/v1/plans/${p.body.id}/execute`);
  expect((await waitForEventStatus(stack, ev.body.id)).status).toBe('DONE_PARTIAL');
  const url = `/api/v1/events/${ev.body.id}/machines/${bad.id}/status`;
  const noAction = await stack.api('POST', url, { manual_status: 'SUCCESS_MANUAL' });
  expect(noAction.status).toBe(400);
  expect((await stack.api('POST', url, { manual_status: 'IN_PROGRESS_MANUAL' })).status).toBeLessThan(300);
  await waitForEventStatus(stack, ev.body.id, ['IN_PROGRESS']);
  expect(
    (await stack.api('POST', url, { manual_status: 'SUCCESS_MANUAL', action_taken: 'patched by hand' }))
      .status,
  ).toBeLessThan(300);
  const done = await waitForEventStatus(stack, ev.body.id, ['DONE_MANUAL']);
  expect(done.machines.find((m) => m.machine_id === bad.id)!.status).toBe('SUCCESS_MANUAL');
  // Refusals say why: a partial run on a finished event is fine, on an upcoming one it is a 409.
  const audit = await stack.api<{ items: { action: string }[] }>('GET', '/api/v1/audit?limit=500');
  expect(audit.body.items.map((i) => i.action)).toEqual(expect.arrayContaining(['execute', 'manual_status']));
});
