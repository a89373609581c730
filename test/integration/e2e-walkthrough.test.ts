/**
 * The README walkthrough and the seed's operator flows (issue 14 item 3), played as a client plays them:
 * only HTTP requests to the API and the `patchwave` CLI binary, polling as a client polls, and asserting what
 * each read returns right after each write. The stack is the real one (API, worker, Temporal, store) with the
 * lab loaded with the demo fleet of `npm run dev` (lab/fleets/demo.json), its clock sped up.
 *
 * What the other e2e files already prove is not repeated here (per-hook partial choices in detail:
 * e2e-partial-hooks; every read-your-writes case: e2e-operator-writes; signals: e2e-signals; tenancy:
 * e2e-tenancy). This file proves the two journeys end to end, with the CLI on a real run where
 * cli-main.test.ts uses a recording fake.
 */
import { execFile } from 'node:child_process';
import { runCli as runCliBinary } from '../helpers/cli';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startStack, waitFor, type Stack } from '../helpers/stack';

jest.setTimeout(240_000);

const ROOT = resolve(__dirname, '../..');
const DEMO_FLEET = JSON.parse(readFileSync(join(ROOT, 'lab/fleets/demo.json'), 'utf8'));
// 60 lab seconds per real second: the demo's 45 s patch + 60 s reboot take under 2 s.
const LAB_SPEED = 60;
const FINAL = ['DONE', 'DONE_MANUAL', 'DONE_PARTIAL', 'DONE_ERROR', 'DONE_ERROR_MANUAL'];

let stack: Stack;
let dir: string;
beforeAll(async () => {
  // The CLI exactly as shipped (same build as cli-main.test.ts).
  await promisify(execFile)(process.execPath, [
    join(ROOT, 'node_modules/typescript/bin/tsc'),
    '-p',
    join(ROOT, 'cli/tsconfig.json'),
  ]);
  dir = mkdtempSync(join(tmpdir(), 'pw-walkthrough-'));
  stack = await startStack('walkthrough', { labSpeed: LAB_SPEED, fleet: DEMO_FLEET });
});
afterAll(async () => {
  await stack?.close();
});

interface HookRun {
  name: string;
  type: string;
  code: number;
  message: string;
  output: string;
  started_at: string;
  run_no: number;
}
interface Ev {
  id: string;
  plan_id: string;
  pipeline_id?: string;
  step?: number;
  status: string;
  start: string;
  end: string;
  excluded_machine_ids?: string[];
  machines: {
    machine_id: string;
    name: string;
    ssm_machine_id: string;
    status: string;
    command_id?: string;
    installed?: string[];
    started_at?: string;
    ended_at?: string;
    action_taken?: string;
    hooks: HookRun[];
  }[];
  hooks: HookRun[];
  timeline: { type: string; message: string }[];
}

/** curl -s -X METHOD $A/path -H "$H" [-d body]: the status and the parsed answer. */
async function curl<T = Ev>(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  return stack.api<T>(method, `/api/v1${path}`, body);
}
const get = async (eventId: string) => {
  const r = await curl('GET', `/events/${eventId}`);
  expect(r.status).toBe(200);
  return r.body;
};
/** What a client does after starting something: read the event every half second until it is final. */
const pollUntilFinal = (eventId: string, statuses = FINAL) =>
  waitFor(
    `event ${eventId} to reach ${statuses.join('|')}`,
    async () => {
      const ev = await get(eventId);
      return statuses.includes(ev.status) ? ev : undefined;
    },
    120_000,
  );
/** Names of the hook runs of run `runNo` (0 = the scheduled run, 1… = partial runs). */
const ranIn = (hooks: HookRun[], runNo: number) => hooks.filter((h) => h.run_no === runNo).map((h) => h.name);
const machineIn = (ev: Ev, id: string) => {
  const m = ev.machines.find((x) => x.machine_id === id);
  if (!m) throw new Error(`machine ${id} is not in event ${ev.id}: ${JSON.stringify(ev.machines)}`);
  return m;
};

const patchwave = (args: string[]) => runCliBinary({ apiUrl: stack.apiUrl, key: stack.key, dir }, args);
async function register(name: string, ssmId: string): Promise<string> {
  const r = await curl<{ id: string; name: string }>('POST', '/machines', {
    name,
    access: { ssm_machine_id: ssmId, region: 'us-east-1' },
  });
  expect(r.status).toBe(201);
  expect(r.body).toMatchObject({ id: expect.stringMatching(/^mch_/), name });
  return r.body.id;
}

test('README walkthrough: register, plan, run now, follow, then the CLI: get, report, log, change_status, partial, execute --wait', async () => {
  // 1. Register machines; a bad one is refused with 400 naming every bad field, and nothing is written.
  const bad = await curl<{ error: { details: { path: string }[] } }>('POST', '/machines', {
    name: 'web-prod-1',
    access: { ssm_machine_id: 'server-1', region: 'us-east-1' },
    colour: 'blue',
  });
  expect(bad.status).toBe(400);
  expect(bad.body.error.details.map((d) => d.path).sort()).toEqual(['access.ssm_machine_id', 'colour']);
  expect((await curl<{ items: unknown[] }>('GET', '/machines')).body.items).toEqual([]);
  const web = await register('web-prod-1', 'i-0a1b2c3d4e5f60001');
  const db = await register('db-prod-1', 'i-0a1b2c3d4e5f60003');
  // Read-your-writes: the next listing has both.
  expect(
    (await curl<{ items: { id: string }[] }>('GET', '/machines')).body.items.map((m) => m.id).sort(),
  ).toEqual([web, db].sort());

  // 2. The README's plan, exactly: Sundays 03:00 UTC, 2-hour window, web then db, the demo Lambda pre hook.
  const plan = await curl<{ id: string }>('POST', '/plans', {
    name: 'prod weekly',
    cron: '0 3 * * 0',
    window_hours: 2,
    machines: [
      { machine_id: web, order: 0 },
      { machine_id: db, order: 1 },
    ],
    pre_hooks: [{ type: 'lambda', source: 'arn:aws:lambda:us-east-1:123456789012:function:demo-hook' }],
  });
  expect(plan.status).toBe(201);
  const planId = plan.body.id;
  // Its scheduled events are exactly the Sundays 03:00 UTC of the next 3 days (zero or one), all NEW.
  const sundays: string[] = [];
  for (
    let d = new Date(Date.now());
    d.getTime() < Date.now() + 3 * 86_400_000;
    d = new Date(d.getTime() + 3600_000)
  ) {
    const at = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 3));
    if (at.getUTCDay() === 0 && at.getTime() > Date.now() && at.getTime() < Date.now() + 3 * 86_400_000)
      sundays.push(at.toISOString());
  }
  const upcoming = await curl<{ items: Ev[] }>('GET', `/events?plan_id=${planId}`);
  expect(upcoming.status).toBe(200);
  expect(upcoming.body.items.map((e) => [new Date(e.start).toISOString(), e.status])).toEqual(
    [...new Set(sundays)].map((s) => [s, 'NEW']),
  );

  // 3. Run it now: the answer is the event, <plan_id>-<start>, and the next read finds it.
  const run = await curl<Ev>('POST', `/plans/${planId}/execute`);
  expect(run.status).toBe(201);
  expect(run.body.id).toMatch(new RegExp(`^${planId}-\\d{8}T\\d{6}Z$`));
  expect(run.body.status).toBe('NEW');
  expect(new Date(run.body.end).getTime() - new Date(run.body.start).getTime()).toBe(2 * 3600_000);
  const eventId = run.body.id;
  expect(['NEW', 'IN_PROGRESS']).toContain((await get(eventId)).status);

  // 4. Follow it: machines with status, command ID and installed packages, hook runs, the timeline.
  const ev = await pollUntilFinal(eventId);
  expect(ev.status).toBe('DONE');
  const w = machineIn(ev, web);
  const d = machineIn(ev, db);
  expect(w).toMatchObject({ name: 'web-prod-1', ssm_machine_id: 'i-0a1b2c3d4e5f60001', status: 'SUCCESS' });
  expect(w.command_id).toBeTruthy();
  expect(w.installed).toEqual(expect.arrayContaining(['openssl-3.0.13', 'curl-8.5.0', 'kernel-6.1.79']));
  expect(d.status).toBe('SUCCESS_NO_UPDATES');
  // web (order 0) ended before db (order 1) started.
  expect(new Date(w.ended_at!).getTime()).toBeLessThanOrEqual(new Date(d.started_at!).getTime());
  expect(ev.hooks).toEqual([
    expect.objectContaining({
      name: 'pre_0',
      type: 'lambda',
      code: 200,
      output: 'demo lambda hook: maintenance mode toggled',
    }),
  ]);
  expect(ev.timeline.length).toBeGreaterThan(0);

  // The same with the CLI, in the README's order. `plan execute --wait`: another event, live progress on
  // stderr (never "0/0" before the run records its machines), the finished event on stdout, exit 0.
  const live = await patchwave(['plan', 'execute', planId, '--wait', '--interval', '0.5']);
  expect(live.code).toBe(0);
  const other = /event (\S+) started/.exec(live.stderr)?.[1];
  expect(other).toMatch(new RegExp(`^${planId}-`));
  expect(other).not.toBe(eventId);
  expect(live.stderr).not.toMatch(/machines 0\/0/);
  expect(live.stderr).toMatch(/web-prod-1 \(mch_\w+\): SUCCESS/);
  expect(live.stderr).toMatch(/DONE — machines 2\/2 finished/);
  expect(live.stdout).toMatch(/status\s+DONE\b/);
  expect((await get(other!)).status).toBe('DONE');

  // `event get`: a table with machines, hooks and the timeline.
  const shown = await patchwave(['event', 'get', eventId]);
  expect(shown.code).toBe(0);
  expect(shown.stdout).toMatch(/status\s+DONE\b/);
  expect(shown.stdout).toMatch(/web-prod-1.*SUCCESS/);
  expect(shown.stdout).toMatch(/db-prod-1.*SUCCESS_NO_UPDATES/);
  expect(shown.stdout).toMatch(/pre_0\s+0\s+lambda\s+200/);
  expect(shown.stdout).toContain('TIMELINE');

  // `event report --out-file report.pdf`: a PDF.
  const report = await patchwave(['event', 'report', eventId, '--out-file', 'report.pdf']);
  expect(report.code).toBe(0);
  expect(readFileSync(join(dir, 'report.pdf')).subarray(0, 5).toString('latin1')).toBe('%PDF-');

  // `event log`: the machine's patch log (its SSM command's output, with the command's start and end).
  const log = await patchwave(['event', 'log', eventId, web]);
  expect(log.stderr).toBe('');
  expect(log.code).toBe(0);
  expect(log.stdout).toContain(`# Patchwave log: event ${eventId}, machine ${web}`);
  expect(log.stdout).toContain(`command ${w.command_id} | AWS-RunPatchBaseline | Success`);
  expect(log.stdout).toMatch(/started \d{4}-\d\d-\d\dT\S+Z {2}ended \d{4}-\d\d-\d\dT\S+Z/);
  expect(log.stdout).toContain('openssl-3.0.13');

  // `event change_status --file change.json` (the seed's form and spelling): the next read shows it.
  writeFileSync(
    join(dir, 'change.json'),
    JSON.stringify({
      event_id: eventId,
      machine_id: db,
      manual_status: 'Success_manual',
      action_taken: 'checked by hand',
    }),
  );
  const changed = await patchwave(['event', 'change_status', '--file', 'change.json']);
  expect(changed.stderr).toBe('');
  expect(changed.code).toBe(0);
  const afterChange = await get(eventId);
  expect(machineIn(afterChange, db)).toMatchObject({
    status: 'SUCCESS_MANUAL',
    action_taken: 'checked by hand',
  });
  expect(afterChange.status).toBe('DONE_MANUAL');

  // `event partial … --machines … --wait`: waits for the rerun (not the old result) and exits 0 on DONE.
  const partial = await patchwave([
    'event',
    'partial',
    eventId,
    '--machines',
    db,
    '--wait',
    '--interval',
    '0.5',
  ]);
  expect(partial.code).toBe(0);
  expect(partial.stdout).toMatch(/status\s+DONE\b/);
  const rerun = await get(eventId);
  expect(rerun.status).toBe('DONE');
  expect(machineIn(rerun, db).status).toBe('SUCCESS_NO_UPDATES');
  expect(machineIn(rerun, web).status).toBe('SUCCESS');
  // Everything runs again by default: the global pre hook has a run 1; run 0's is kept.
  expect(rerun.hooks.map((h) => [h.name, h.run_no])).toEqual([
    ['pre_0', 0],
    ['pre_0', 1],
  ]);
});

test('seed flows: a failed step waits for approval; exclude, per-hook partial, manual status, logs and report as a client', async () => {
  const lambdaHook = { type: 'lambda', source: 'arn:aws:lambda:us-east-1:123456789012:function:demo-hook' };
  const azureHook = { type: 'azure', source: `${stack.lab.url}/_lab/azure/demo-hook?code=demo-code` };
  const winWeb = await register('web-staging-win', 'i-0a1b2c3d4e5f60004');
  const winDb = await register('db-staging-win', 'i-0a1b2c3d4e5f60005'); // its patching fails
  const prod2 = await register('web-prod-2', 'i-0a1b2c3d4e5f60002');
  const onprem = await register('onprem-web-dev', 'mi-0a1b2c3d4e5f60008');
  const mkPlan = async (body: object) => {
    const r = await curl<{ id: string }>('POST', '/plans', {
      cron: '0 0 1 1 *',
      window_hours: 0.25,
      ...body,
    });
    expect(r.status).toBe(201);
    return r.body.id;
  };
  // Staging: two global pre hooks (Lambda, Azure); the failing machine has its own pre host hook.
  const staging = await mkPlan({
    name: 'staging',
    pre_hooks: [lambdaHook, azureHook],
    machines: [{ machine_id: winWeb }, { machine_id: winDb, pre_host_hooks: [lambdaHook] }],
  });
  const prod = await mkPlan({ name: 'prod', machines: [{ machine_id: prod2 }, { machine_id: onprem }] });
  const pipeline = await curl<{ id: string }>('POST', '/pipelines', {
    name: 'staging → prod',
    cron: '0 0 1 1 *',
    steps: [
      { plans: [staging], policy: 'always', offset_hours: 0 },
      { plans: [prod], policy: 'success_or_approval', offset_hours: 0.001 },
    ],
  });
  expect(pipeline.status).toBe(201);

  const started = await patchwave(['-o', 'json', 'pipeline', 'execute', pipeline.body.id]);
  expect(started.stderr).toBe('');
  expect(started.code).toBe(0);
  const eventIds = (JSON.parse(started.stdout) as { event_ids: string[] }).event_ids;
  expect(eventIds).toHaveLength(2);
  const stagingEv = eventIds.find((id) => id.startsWith(staging))!;
  const prodEv = eventIds.find((id) => id.startsWith(prod))!;
  // The later step exists right away; its policy applies when the staging step finishes.
  expect(['NEW', 'NOT_APPROVED']).toContain((await get(prodEv)).status);

  // Staging ends DONE_PARTIAL (db-staging-win FAILED), so the success_or_approval step is NOT_APPROVED.
  const first = await pollUntilFinal(stagingEv);
  expect(first.status).toBe('DONE_PARTIAL');
  expect(machineIn(first, winDb).status).toBe('FAILED');
  expect(machineIn(first, winWeb).status).toBe('SUCCESS');
  await pollUntilFinal(prodEv, ['NOT_APPROVED']);

  // The failed machine's log shows why (Windows Update's error from the command's stderr).
  const failedLog = await patchwave(['event', 'log', stagingEv, winDb]);
  expect(failedLog.code).toBe(0);
  expect(failedLog.stdout).toContain('0x80240022');

  // Partial run with per-hook choices: only the failed machine, only the Azure pre hook (pre_1), none of
  // its host hooks. The next read is IN_PROGRESS, not the old DONE_PARTIAL.
  const partial = await curl('POST', `/events/${stagingEv}/partial`, {
    machine_ids: [winDb],
    pre_hooks: ['pre_1'],
    post_hooks: false,
    host_hooks: { [winDb]: { pre: [], post: [] } },
  });
  expect(partial.status).toBe(202);
  const right = await get(stagingEv);
  expect(right.status).toBe('IN_PROGRESS');
  expect(machineIn(right, winWeb).status).toBe('SUCCESS');
  const second = await pollUntilFinal(stagingEv);
  expect(second.status).toBe('DONE_PARTIAL'); // it fails again: the demo machine always fails
  expect(ranIn(second.hooks, 1)).toEqual(['pre_1']);
  expect(ranIn(machineIn(second, winDb).hooks, 1)).toEqual([]);
  expect(machineIn(second, winDb).status).toBe('FAILED');

  // A partial run that finishes the step later does not re-open the waiting step (seed: "will not be changed").
  expect((await get(prodEv)).status).toBe('NOT_APPROVED');

  // Manual status, the seed's way: the machine was patched by hand → DONE_MANUAL in the very next read.
  writeFileSync(
    join(dir, 'manual.json'),
    JSON.stringify({
      event_id: stagingEv,
      machine_id: winDb,
      manual_status: 'Success_manual',
      action_taken: 'installed KB5034768 by hand',
    }),
  );
  const manual = await patchwave(['event', 'change_status', '--file', 'manual.json']);
  expect(manual.code).toBe(0);
  expect((await get(stagingEv)).status).toBe('DONE_MANUAL');

  // Before approving prod: exclude the on-prem machine. The next read lists it.
  const excluded = await patchwave(['event', 'exclude', prodEv, '--machines', onprem]);
  expect(excluded.stderr).toBe('');
  expect(excluded.code).toBe(0);
  expect((await get(prodEv)).excluded_machine_ids).toEqual([onprem]);

  // Approve: every earlier step is finished, so the next read is past NOT_APPROVED; then it runs.
  const approved = await patchwave(['event', 'approve', prodEv]);
  expect(approved.code).toBe(0);
  expect(['APPROVED', 'NEW', 'IN_PROGRESS']).toContain((await get(prodEv)).status);
  const prodDone = await pollUntilFinal(prodEv);
  expect(prodDone.status).toBe('DONE');
  expect(machineIn(prodDone, prod2).status).toBe('SUCCESS');
  expect(machineIn(prodDone, onprem).status).toBe('EXCLUDED');

  // The staging report (after the partial run and the manual change) downloads as a PDF.
  const report = await patchwave(['event', 'report', stagingEv, '--out-file', 'staging.pdf']);
  expect(report.code).toBe(0);
  expect(readFileSync(join(dir, 'staging.pdf')).subarray(0, 5).toString('latin1')).toBe('%PDF-');

  // Every person's action is in the audit log, as the CLI lists it.
  const audit = await patchwave(['-o', 'json', 'audit', 'list', '--resource', 'event', '--limit', '100']);
  expect(audit.code).toBe(0);
  const actions = (JSON.parse(audit.stdout) as { items: { action: string; resource_id: string }[] }).items;
  for (const [action, id] of [
    ['partial', stagingEv],
    ['manual_status', stagingEv],
    ['exclude', prodEv],
    ['approve', prodEv],
  ])
    expect(actions).toContainEqual(expect.objectContaining({ action, resource_id: id }));
});
