/**
 * The worked example of seeds/001 ("Event execution timeline"), which docs/behaviour.md#one-command says must play out
 * exactly as written: events A (6:00–6:45), B (7:00–7:45), C (7:45–8:15); machines M1, M2; SSM commands
 *
 *   C1  M1  A  patch             6:00 → 7:15   (A ends 6:45: TIMED_OUT, runs on in the background)
 *   C3  M2  A  patch             6:00 → 6:55   (A ends 6:45: TIMED_OUT, ends in the background)
 *   C4  M2  B  patch             7:00 → 7:35   (M2 starts at once: C3 is over; M1 waits for C1)
 *   C2  M1  B  patch             7:15 → 8:20   (B ends 7:45: TIMED_OUT; still running when C ends)
 *   C5  M2  B  post host script  7:35 → 7:55   (B ends 7:45: hook code 500, timeout message)
 *   C6  M2  C  patch             7:55 → 8:15   (counts: M2 takes C6's status; M1 is NOT_IN_TIME_WINDOW)
 *
 * on a scaled clock: one minute of the example is SCALE_MS real milliseconds (2.5 s, as issue 13 asks: the
 * contract's shortest window is one minute, and C's 30-minute window must be at least that). The lab runs at
 * the same scale (lab seconds = example seconds), and every command's `duration_s` is its length in the
 * example. The worker runs with `npm run dev`'s default SSM polling settings (DEFAULT_POLLING): hand-offs are
 * fast because a machine someone waits for is watched closely, not because the test polls fast.
 *
 * Slack, the only departure from the example's numbers: C6 is given C6_MINUTES (17 instead of 20), so
 * without delays it would end 3 minutes of the example (6 real seconds) before C's window end. Each
 * command of M2's chain (C4 → C5 → C6) starts a little after the previous one ended (event start, poll
 * interval, activities, workflow tasks), and those delays add up: measured on the shared 2-core machine,
 * C6 started ~0.9 s (real) after 7:55. The example's "finishes at the same time" needs the command to be
 * over when the window closes, not after, and the margin must cover a loaded machine (18.5 was seen to overrun by 0.6 s while benchmarks ran beside it). Everything else
 * keeps the example's lengths and has minutes of margin (the test logs the measured drift).
 *
 * The assertions are the example's statements: every status, the hook's 500, the background finals on
 * the command records only, no two commands at once on a machine, and the six commands in order, each
 * placed against the windows as the example places it (from the lab's own start/end times).
 *
 * With PATCHWAVE_SAVE_HISTORIES=1 it also refreshes histories replayed by test/unit/replay.
 */
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startStack, waitFor, type Stack } from '../helpers/stack';
import { fleet, machineOf, type EventDetailView, type LabCommand } from '../helpers/e2e-fleet';
import { COLLECTIONS } from '../../store/db';
import type { CommandDoc, EventMachineDoc, HookRunDoc } from '../../store/event-records';
import { saveHistory } from '../../scripts/save-history';

/** Real milliseconds per minute of the example. */
const SCALE_MS = 2_500;
/** common/config.ts's defaults (the test stack's own are faster): what `npm run dev` runs with. */
const DEFAULT_POLLING = { SSM_POLL_MIN_MS: '2000', SSM_POLL_MAX_MS: '60000', SSM_WAIT_POLL_MS: '1000' };
/** Lab seconds per real second, so that lab seconds are the example's seconds. */
const LAB_SPEED = 60_000 / SCALE_MS;
/** C6's length in example minutes (the example's 20 minus the slack explained above). */
const C6_MINUTES = 17;
/** Real time between creating the events and A's start, so all three exist before anything runs (generous: on the loaded shared box creating them took up to 46 s). */
const LEAD_MS = 60_000;

jest.setTimeout(15 * 60_000);

let stack: Stack;
let f: ReturnType<typeof fleet>;
beforeAll(async () => {
  stack = await startStack('seed_timeline', {
    labSpeed: LAB_SPEED,
    env: DEFAULT_POLLING,
  });
  f = fleet(stack);
});
afterAll(async () => {
  await stack?.close();
});

const minutes = (m: number) => m * 60;

test('seed 001 timeline: events A, B, C on machines M1, M2 play out exactly as written', async () => {
  // ---- the fleet: each SSM command a machine receives takes its next entry ----
  const m1 = await f.machine({
    name: 'M1',
    commands: [
      { duration_s: minutes(75), outcome: 'success', installed: ['kernel-6.1.90'] }, // C1 6:00 → 7:15
      { duration_s: minutes(65), outcome: 'success', installed: ['glibc-2.39'] }, // C2 7:15 → 8:20
    ],
  });
  const m2 = await f.machine({
    name: 'M2',
    commands: [
      { duration_s: minutes(55), outcome: 'success', installed: ['openssl-3.0.13'] }, // C3 6:00 → 6:55
      { duration_s: minutes(35), outcome: 'success', installed: ['curl-8.5.0'] }, // C4 7:00 → 7:35
      { duration_s: minutes(20), outcome: 'success', installed: [], stdout: 'post-check ok' }, // C5 7:35 → 7:55
      { duration_s: minutes(C6_MINUTES), outcome: 'no_updates', installed: [] }, // C6 7:55 → 8:15
    ],
  });
  const postScript = await f.script('#!/bin/sh\necho post-check ok\n');

  // A and C patch both machines plainly; in B, M2 has a post host hook of type script (command C5).
  const planAC = await f.plan({ machines: [{ machine_id: m1.id }, { machine_id: m2.id }] });
  const planB = await f.plan({
    machines: [
      { machine_id: m1.id },
      { machine_id: m2.id, post_host_hooks: [{ type: 'script', source: postScript }] },
    ],
  });

  // ---- the clock: 6:00 is T0 ----
  const t0 = Math.ceil((Date.now() + LEAD_MS) / 1000) * 1000;
  const at = (hhmm: string) => {
    const [h, m] = hhmm.split(':').map(Number);
    return t0 + (h * 60 + m - 360) * SCALE_MS;
  };
  async function createEvent(planId: string, start: string, end: string) {
    const r = await stack.api<{ id: string; status: string }>('POST', '/api/v1/events', {
      plan_id: planId,
      start: new Date(at(start)).toISOString(),
      end: new Date(at(end)).toISOString(),
    });
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('NEW');
    return r.body.id;
  }
  const A = await createEvent(planAC, '6:00', '6:45');
  const B = await createEvent(planB, '7:00', '7:45');
  const C = await createEvent(planAC, '7:45', '8:15');
  // The events must all exist before A starts, or the example is not what runs.
  expect(Date.now()).toBeLessThan(at('6:00'));

  const waitMs = (until: string) => Math.max(0, at(until) - Date.now()) + 120_000;
  const evA = await f.finished(A, waitMs('6:45'));
  const evB = await f.finished(B, waitMs('7:45'));
  const evC = await f.finished(C, waitMs('8:15'));

  // When C has ended, C2 is still running on M1 (it ends at 8:20, in the background).
  const atCEnd = await f.commands(m1.ssmId);
  expect(atCEnd).toHaveLength(2);
  expect(atCEnd[1].ended_at).toBeNull();
  const commands = stack.db.db.collection<CommandDoc>(COLLECTIONS.commands);
  const finalOf = (commandId: string) =>
    waitFor(
      `final status of ${commandId}`,
      async () => {
        const d = await commands.findOne({ _id: commandId });
        return d?.ssm_status ? d : undefined;
      },
      waitMs('8:20'),
    );
  await finalOf(atCEnd[1].command_id);

  // ---- what the lab saw, once every command has ended ----
  const labM1 = await f.commands(m1.ssmId);
  const labM2 = await f.commands(m2.ssmId);
  expect(labM1).toHaveLength(2);
  expect(labM2).toHaveLength(4);
  const [c1, c2] = labM1;
  const [c3, c4, c5, c6] = labM2;
  const started = (c: LabCommand) => Date.parse(c.started_at!);
  const ended = (c: LabCommand) => Date.parse(c.ended_at!);

  // ---- Event A: 6:00 C1 and C3 start; 6:45 both still running → both TIMED_OUT ----
  expect(machineOf(evA, m1.id)).toMatchObject({ status: 'TIMED_OUT', command_id: c1.command_id });
  expect(machineOf(evA, m2.id)).toMatchObject({ status: 'TIMED_OUT', command_id: c3.command_id });
  expect(evA.status).toBe('DONE_ERROR');
  expect(started(c1)).toBeGreaterThanOrEqual(at('6:00'));
  expect(started(c3)).toBeGreaterThanOrEqual(at('6:00'));
  // 6:55: C3 ends in the background, before B starts; 7:15: C1 ends in the background, inside B.
  expect(ended(c3)).toBeGreaterThan(at('6:45'));
  expect(ended(c3)).toBeLessThan(at('7:00'));
  expect(ended(c1)).toBeGreaterThan(at('7:00'));
  expect(ended(c1)).toBeLessThan(at('7:45'));

  // ---- Event B: 7:00 M2 starts at once (C4); M1 waits for C1, then C2 at 7:15 ----
  expect(started(c4)).toBeGreaterThanOrEqual(at('7:00'));
  expect(started(c4)).toBeLessThan(ended(c1)); // M2 did not wait for M1's background command
  expect(started(c2)).toBeGreaterThanOrEqual(ended(c1));
  // 7:35: C4 ends, M2 gets its patch status; its post host hook script runs as C5.
  expect(ended(c4)).toBeLessThan(at('7:45'));
  expect(started(c5)).toBeGreaterThanOrEqual(ended(c4));
  expect(started(c5)).toBeLessThan(at('7:45'));
  // 7:45: B ends with C2 and C5 still running.
  expect(ended(c2)).toBeGreaterThan(at('7:45'));
  expect(ended(c5)).toBeGreaterThan(at('7:45'));
  const m1B = machineOf(evB, m1.id);
  expect(m1B).toMatchObject({ status: 'TIMED_OUT', command_id: c2.command_id });
  const m2B = machineOf(evB, m2.id);
  expect(m2B).toMatchObject({ status: 'SUCCESS', command_id: c4.command_id });
  expect(m2B.hooks).toHaveLength(1);
  expect(m2B.hooks[0]).toMatchObject({ name: 'post_host_0', code: 500 });
  expect(m2B.hooks[0].message).toMatch(/timed out at window end/);
  expect(m2B.hooks[0].message).toContain(c5.command_id);
  expect(evB.status).toBe('DONE_PARTIAL');

  // ---- Event C: 7:45 both machines busy; 7:55 C5 ends, C6 starts on M2; 8:15 C ends ----
  expect(started(c6)).toBeGreaterThanOrEqual(ended(c5));
  expect(ended(c6)).toBeLessThan(at('8:15'));
  expect(ended(c2)).toBeGreaterThan(at('8:15')); // M1 could not even start in C
  const m2C = machineOf(evC, m2.id);
  expect(m2C).toMatchObject({ status: 'SUCCESS_NO_UPDATES', command_id: c6.command_id }); // C6's status
  expect(c6.status).toBe('Success');
  const m1C = machineOf(evC, m1.id);
  expect(m1C.status).toBe('NOT_IN_TIME_WINDOW');
  expect(m1C.command_id).toBeUndefined();
  expect(evC.status).toBe('DONE_PARTIAL');

  // ---- 8:20: C2 ends in the background; its final status is on the command, nowhere else ----
  const background = [
    [c1, A, m1.id],
    [c3, A, m2.id],
    [c2, B, m1.id],
    [c5, B, m2.id],
  ] as const;
  for (const [c, eventId, machineId] of background) {
    const doc = await finalOf(c.command_id);
    expect(doc).toMatchObject({
      event_id: eventId,
      machine_id: machineId,
      ssm_status: 'Success',
      finished_in_background: true,
    });
    expect(Date.parse(doc.ended_at!)).toBe(ended(c));
  }
  for (const c of [c4, c6]) expect((await finalOf(c.command_id)).finished_in_background).toBe(false);

  // The events keep what they said at their window end: no write reached them after the background ends.
  const eventMachines = stack.db.db.collection<EventMachineDoc>(COLLECTIONS.eventMachines);
  for (const [c, eventId, machineId] of background) {
    const doc = await eventMachines.findOne({ event_id: eventId, machine_id: machineId });
    expect(Date.parse(doc!.updated_at!)).toBeLessThan(ended(c));
  }
  const hookRun = await stack.db.db
    .collection<HookRunDoc>(COLLECTIONS.hookRuns)
    .findOne({ event_id: B, machine_id: m2.id, name: 'post_host_0' });
  expect(hookRun).toMatchObject({ code: 500, command_id: c5.command_id, output: '' });
  const after = (id: string) => f.finished(id);
  const [a2, b2, c2v] = await Promise.all([after(A), after(B), after(C)]);
  expect([statuses(a2, m1.id, m2.id), statuses(b2, m1.id, m2.id), statuses(c2v, m1.id, m2.id)]).toEqual([
    ['DONE_ERROR', 'TIMED_OUT', 'TIMED_OUT'],
    ['DONE_PARTIAL', 'TIMED_OUT', 'SUCCESS'],
    ['DONE_PARTIAL', 'NOT_IN_TIME_WINDOW', 'SUCCESS_NO_UPDATES'],
  ]);
  expect(machineOf(b2, m2.id).hooks.map((h) => h.code)).toEqual([500]);

  // ---- one SSM command per machine, ever; six commands, in the example's order ----
  expect(await f.overlaps()).toEqual([]);
  const all = [...labM1, ...labM2].sort((x, y) => Date.parse(x.requested_at) - Date.parse(y.requested_at));
  expect(all).toHaveLength(6);
  // C1 and C3 are sent together at 6:00 (either first); then C4, C2, C5, C6.
  expect(new Set(all.slice(0, 2).map((c) => c.command_id))).toEqual(new Set([c1.command_id, c3.command_id]));
  expect(all.slice(2).map((c) => c.command_id)).toEqual([c4, c2, c5, c6].map((c) => c.command_id));
  expect([c1, c2, c3, c4, c5, c6].map((c) => c.document_name)).toEqual([
    'AWS-RunPatchBaseline',
    'AWS-RunPatchBaseline',
    'AWS-RunPatchBaseline',
    'AWS-RunPatchBaseline',
    'AWS-RunShellScript',
    'AWS-RunPatchBaseline',
  ]);

  if (process.env.PATCHWAVE_SAVE_HISTORIES === '1') {
    // The replay tests (test/unit/replay) keep the example's hardest histories: a machine command queue serving,
    // queueing and withdrawing requests across three events, and an event whose script hook timed out.
    const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    try {
      const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE || 'default' });
      const dir = path.join(__dirname, '../unit/replay/histories');
      await saveHistory(client, `machine/${m1.id}`, path.join(dir, 'seed-machine-owner-m1.json'));
      await saveHistory(client, `event/${B}`, path.join(dir, 'seed-event-b.json'));
      await saveHistory(
        client,
        `event/${B}/machine/${m2.id}/run-0`,
        path.join(dir, 'seed-machine-run-b-m2.json'),
      );
    } finally {
      await connection.close();
    }
  }

  // How far each command's start drifted from the example's minute (real ms), for whoever tunes the slack.
  const nominal: [string, LabCommand, string][] = [
    ['C1', c1, '6:00'],
    ['C3', c3, '6:00'],
    ['C4', c4, '7:00'],
    ['C2', c2, '7:15'],
    ['C5', c5, '7:35'],
    ['C6', c6, '7:55'],
  ];
  console.log(
    `seed timeline drift (real ms after the example's start; slack for C6 is ${(20 - C6_MINUTES) * SCALE_MS} ms): ` +
      nominal.map(([n, c, t]) => `${n} +${started(c) - at(t)}`).join(', ') +
      `; C6 ended ${at('8:15') - ended(c6)} ms before C's end`,
  );
});

function statuses(ev: EventDetailView, m1: string, m2: string): string[] {
  return [ev.status, machineOf(ev, m1).status, machineOf(ev, m2).status];
}
