/**
 * The preview of an event (issue 17 item 4), through the REST API and the CLI binary: targets with their SSM
 * agents (one offline), a dry-run call to each hook (the lab records it), order groups with times predicted
 * from the plan's last finished event, and a dynamic plan's targets marked as re-resolved at the start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answer, fleet, uid } from '../helpers/e2e-fleet';
import { runCli } from '../helpers/cli';
import { startStack, type Stack } from '../helpers/stack';
import type { EventPreview } from '../../domain/preview';

jest.setTimeout(180_000);

let stack: Stack;
let cliDir: string;
beforeAll(async () => {
  stack = await startStack('event_preview');
  cliDir = mkdtempSync(join(tmpdir(), 'pw-preview-cli-'));
});
afterAll(async () => {
  await stack?.close();
  if (cliDir) rmSync(cliDir, { recursive: true, force: true });
});

test('a preview shows targets, an offline machine, hook reachability and predicted times', async () => {
  const f = fleet(stack);
  const web1 = await f.machine();
  const web2 = await f.machine({ platform: 'Windows' });
  const down = await f.machine({ online: false });
  const gate = await f.azure([answer(200, 'ok', '')], 'POST');
  const missingFn = `arn:aws:lambda:us-east-1:123456789012:function:${uid('gone')}`;
  const planId = await f.plan({
    pre_hooks: [gate.hook, { type: 'lambda', source: missingFn }],
    machines: [
      { machine_id: web1.id, order: 0 },
      { machine_id: web2.id, order: 1 },
      { machine_id: down.id, order: 1 },
    ],
  });
  // One finished event gives the prediction its history (the offline machine makes it partial).
  const first = await f.finished(await f.execute(planId));
  expect(first.status).toMatch(/^DONE/);
  const callsBefore = (await f.azureCalls(gate.name)).length;

  const start = new Date(Date.now() + 3_600_000);
  const ev = await stack.api<{ id: string }>('POST', '/api/v1/events', {
    plan_id: planId,
    start: start.toISOString(),
    end: new Date(start.getTime() + 3_600_000).toISOString(),
  });
  expect(ev.status).toBe(201);
  const r = await stack.api<EventPreview>('GET', `/api/v1/events/${ev.body.id}/preview`);
  expect(r.status).toBe(200);
  const p = r.body;
  expect(p.targets_re_resolved_at_start).toBe(false);
  const byId = new Map(p.machines.map((m) => [m.machine_id, m]));
  expect(byId.get(web1.id)).toMatchObject({ ping_status: 'Online', platform_type: 'Linux', order: 0 });
  expect(byId.get(web2.id)).toMatchObject({ ping_status: 'Online', platform_type: 'Windows', order: 1 });
  expect(byId.get(down.id)?.ping_status).toBe('ConnectionLost');

  // Hooks: the Azure function answered the dry run (it saw dry_run: true); the missing Lambda did not.
  expect(p.hooks.map((h) => [h.name, h.type, h.reachable])).toEqual([
    ['pre_0', 'azure', true],
    ['pre_1', 'lambda', false],
  ]);
  expect(p.hooks[0].source).toBe(gate.redacted);
  const calls = await f.azureCalls(gate.name);
  expect(calls.length).toBe(callsBefore + 1);
  expect((calls.at(-1)!.payload as unknown as { dry_run: boolean }).dry_run).toBe(true);

  // Groups in order with predicted times from the finished event, inside the window.
  expect(p.prediction.past_events).toBe(1);
  expect(p.groups.map((g) => [g.order, g.machines, g.waves])).toEqual([
    [0, 1, 1],
    [1, 2, 1],
  ]);
  const [g0, g1] = p.groups;
  expect(Date.parse(g0.predicted_start!)).toBeGreaterThanOrEqual(start.getTime());
  expect(Date.parse(g1.predicted_start!)).toBe(Date.parse(g0.predicted_end!));
  expect(Date.parse(p.predicted_end!)).toBe(Date.parse(g1.predicted_end!));
  expect(p.predicted_overrun).toBe(false);

  // The CLI prints the same preview.
  const cli = await runCli({ apiUrl: stack.apiUrl, key: stack.key, dir: cliDir }, [
    'event',
    'preview',
    ev.body.id,
  ]);
  expect(cli.code).toBe(0);
  expect(cli.stdout).toMatch(/ConnectionLost/);
  expect(cli.stdout).toMatch(/HOOKS \(dry run\)/);
});

test('a dynamic plan is resolved now and marked as re-resolved at start; nothing is registered', async () => {
  const f = fleet(stack);
  const tag = uid('grp');
  const ssmId = `i-0${Math.floor(Math.random() * 0xffffffff)
    .toString(16)
    .padStart(16, '0')}`;
  await stack.lab_('PUT', `/_lab/machines/${ssmId}`, { platform: 'Linux', tags: { Preview: tag } });
  const planId = await f.plan({ dynamic: [{ tags: { Preview: [tag] }, regions: ['us-east-1'] }] });
  const start = new Date(Date.now() + 3_600_000);
  const ev = await stack.api<{ id: string }>('POST', '/api/v1/events', {
    plan_id: planId,
    start: start.toISOString(),
    end: new Date(start.getTime() + 3_600_000).toISOString(),
  });
  const before = await stack.api<{ items: unknown[] }>('GET', '/api/v1/machines?limit=500');
  const r = await stack.api<EventPreview>('GET', `/api/v1/events/${ev.body.id}/preview`);
  expect(r.status).toBe(200);
  expect(r.body.targets_re_resolved_at_start).toBe(true);
  expect(r.body.machines.map((m) => [m.ssm_machine_id, m.ping_status, m.machine_id])).toEqual([
    [ssmId, 'Online', undefined],
  ]);
  expect(r.body.prediction.basis).toMatch(/no finished machine run/);
  const after = await stack.api<{ items: unknown[] }>('GET', '/api/v1/machines?limit=500');
  expect(after.body.items.length).toBe(before.body.items.length);
});
