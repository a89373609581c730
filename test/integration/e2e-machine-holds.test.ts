/**
 * Machine holds end to end (issue 16 item 5, docs/behaviour.md#machine-holds), through the REST API and the CLI
 * binary: a hold needs a reason and an expiry at most 60 days after the machine's last patch; an event marks a
 * held machine OMITTED "on hold" (its report lists it) while the others patch; an expired hold ends by itself
 * and the machine patches again; holds and releases are in the audit log.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newSsmId, startStack, waitFor, waitForEventStatus, type Stack } from '../helpers/stack';
import { runCli } from '../helpers/cli';
import { pdfPages } from '../unit/notifications-fixtures';

jest.setTimeout(180_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('machine-holds');
});
afterAll(async () => stack?.close());

interface MachineView {
  id: string;
  created_at: string;
  hold?: { reason: string; until: string; set_by: string; set_at: string };
  last_patching?: { event_id: string; status: string; at?: string };
}
interface Ev {
  id: string;
  status: string;
  machines: {
    machine_id: string;
    status: string;
    reason?: string;
    hold?: { reason: string; until: string };
  }[];
  timeline: { type: string; message: string }[];
}
const inDays = (d: number) => new Date(Date.now() + d * 86_400_000).toISOString();
const machine = async (id: string) => (await stack.api<MachineView>('GET', `/api/v1/machines/${id}`)).body;

async function newMachine(name: string): Promise<{ id: string; ssm: string }> {
  const ssm = newSsmId();
  await stack.lab_('PUT', `/_lab/machines/${ssm}`, {
    platform: 'Linux',
    online: true,
    commands: [{ duration_s: 1, outcome: 'success', installed: ['openssl'] }],
  });
  const m = await stack.api<{ id: string }>('POST', '/api/v1/machines', {
    name,
    access: { ssm_machine_id: ssm, region: 'us-east-1' },
  });
  expect(m.status).toBe(201);
  return { id: m.body.id, ssm };
}

async function runPlan(planId: string): Promise<Ev> {
  const ev = await stack.api<{ id: string }>('POST', `/api/v1/plans/${planId}/execute`);
  expect(ev.status).toBe(201);
  await waitForEventStatus(stack, ev.body.id);
  return (await stack.api<Ev>('GET', `/api/v1/events/${ev.body.id}`)).body;
}

test('a held machine is OMITTED (on hold) and listed in the report until its hold expires; refusals name the field', async () => {
  const held = await newMachine('db-legacy');
  const other = await newMachine('web-1');
  const plan = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: 'holds',
    cron: '0 0 1 1 *',
    window_hours: 1,
    machines: [
      { machine_id: held.id, order: 1 },
      { machine_id: other.id, order: 1 },
    ],
  });
  expect(plan.status).toBe(201);
  const holdPath = `/api/v1/machines/${held.id}/hold`;

  // Refused, naming the field: no reason or an expiry in the past (the request alone is wrong: 400), or more
  // than 60 days after the last patch (never patched: after its creation), which depends on the stored machine
  // (409 conflicts_with_stored). Nothing is written.
  const refusals = [
    [{ until: inDays(1) }, 'reason', 400],
    [{ reason: '  ', until: inDays(1) }, 'reason', 400],
    [{ reason: 'x', until: inDays(-1) }, 'until', 400],
    [{ reason: 'x', until: inDays(61) }, 'until', 409],
    [{ reason: 'x', until: 'next week' }, 'until', 400],
  ] as const;
  for (const [body, field, status] of refusals) {
    const r = await stack.api<{ error: { details: { path: string; message: string }[] } }>(
      'PUT',
      holdPath,
      body,
    );
    expect([r.status, r.body.error.details.map((d) => d.path)]).toEqual([status, [field]]);
  }
  const tooLong = await stack.api<{ error: { details: { message: string }[] } }>('PUT', holdPath, {
    reason: 'x',
    until: inDays(61),
  });
  expect(tooLong.body.error.details[0].message).toMatch(/at most 60 days after the machine's creation/);
  expect((await machine(held.id)).hold).toBeUndefined();
  expect(
    (await stack.api('PUT', '/api/v1/machines/mch_nope/hold', { reason: 'x', until: inDays(1) })).status,
  ).toBe(404);

  // Held through the CLI binary, as an operator would.
  const dir = mkdtempSync(join(tmpdir(), 'pw-holds-'));
  const cli = await runCli({ apiUrl: stack.apiUrl, key: stack.key, dir }, [
    '-o',
    'json',
    'machine',
    'hold',
    held.id,
    '--reason',
    'vendor support case 4711',
    '--days',
    '7',
  ]);
  expect([cli.code, cli.stderr]).toEqual([0, '']);
  expect(JSON.parse(cli.stdout).hold).toMatchObject({ reason: 'vendor support case 4711' });
  const view = await machine(held.id);
  expect(view.hold).toMatchObject({ reason: 'vendor support case 4711', set_by: expect.any(String) });
  expect(Date.parse(view.hold!.until) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);

  // The event omits it; the other machine patches.
  const first = await runPlan(plan.body.id);
  const byId = new Map(first.machines.map((m) => [m.machine_id, m]));
  expect(byId.get(other.id)?.status).toBe('SUCCESS');
  expect(byId.get(held.id)).toMatchObject({
    status: 'OMITTED',
    reason: `on hold: vendor support case 4711 (until ${view.hold!.until})`,
    hold: { reason: 'vendor support case 4711', until: view.hold!.until },
  });
  expect(first.status).toBe('DONE_PARTIAL'); // OMITTED counts as a failure, as the contract says
  expect(first.timeline).toContainEqual(
    expect.objectContaining({ type: 'machines_on_hold', message: expect.stringContaining(held.id) }),
  );
  expect(await stack.lab_<unknown[]>('GET', `/_lab/machines/${held.ssm}/commands`)).toEqual([]);
  // Not patched: its last patching (what the 60 days count from) did not move.
  expect((await machine(held.id)).last_patching).toBeUndefined();
  expect((await machine(other.id)).last_patching?.event_id).toBe(first.id);

  // The report lists it.
  const report = await fetch(`${stack.apiUrl}/api/v1/events/${first.id}/report`, {
    headers: { authorization: `Bearer ${stack.key}` },
  });
  expect(report.status).toBe(200);
  const text = (await pdfPages(Buffer.from(await report.arrayBuffer()))).join('\n').replace(/\s+/g, ' ');
  expect(text).toContain('Machines on hold');
  expect(text).toContain('vendor support case 4711');

  // A hold about to expire: it ends by itself, and the next event patches the machine.
  const short = await stack.api<MachineView>('PUT', holdPath, {
    reason: 'until the fix',
    until: inDays(8 / 86_400),
  });
  expect([short.status, short.body.hold?.reason]).toEqual([200, 'until the fix']);
  await waitFor(
    'the hold to end by itself',
    async () => ((await machine(held.id)).hold ? undefined : true),
    30_000,
  );
  const second = await runPlan(plan.body.id);
  expect(second.machines.map((m) => m.status)).toEqual(['SUCCESS', 'SUCCESS']);
  expect(second.status).toBe('DONE');

  // A release ends a hold early; the audit log has every change.
  await stack.api('PUT', holdPath, { reason: 'freeze for audit', until: inDays(2) });
  const released = await stack.api<MachineView>('DELETE', holdPath);
  expect([released.status, released.body.hold]).toEqual([200, undefined]);
  const audit = await stack.api<{ items: { action: string; before?: unknown; after?: unknown }[] }>(
    'GET',
    `/api/v1/audit?resource=machine&resource_id=${held.id}`,
  );
  const actions = audit.body.items.map((a) => a.action);
  expect(actions.filter((a) => a === 'hold')).toHaveLength(3);
  expect(actions).toContain('release');
  expect(audit.body.items.find((a) => a.action === 'release')?.before).toEqual({
    hold: expect.objectContaining({ reason: 'freeze for audit' }),
  });
});
