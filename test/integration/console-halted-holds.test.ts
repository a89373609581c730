/**
 * The console's answers to a HALTED event and its machine holds, in a real browser (Debian's Chromium via
 * playwright-core) against the real stack (issue 16, docs/behaviour.md#halted, #machine-holds): the halted panel
 * says which gate stopped the event; resume reads the gates again (still failing: halted again); override
 * needs a reason (the API's 400 beside the field) and runs on; abort asks once more and leaves the machines
 * OMITTED. A machine page puts the machine on hold (an expiry past the 60-day cap refused beside the field),
 * shows it, and ends it. What the browser shows is checked against what the API says.
 */
import { startStack, waitFor, waitForEventStatus, type Stack } from '../helpers/stack';
import { fleet, uid, type FleetMachine } from '../helpers/e2e-fleet';
import { openBrowser, screenshot, signIn, type Browser } from '../helpers/browser';

jest.setTimeout(240_000);

let stack: Stack;
let browser: Browser;
let f: ReturnType<typeof fleet>;
let m: FleetMachine;
let alarm: string;

beforeAll(async () => {
  stack = await startStack('console_halted');
  f = fleet(stack);
  m = await f.machine({ name: uid('gated') });
  alarm = uid('api-5xx');
  await stack.lab_('PUT', `/_lab/cloudwatch/alarms/${alarm}`, {
    state: 'ALARM',
    reason: 'Threshold Crossed',
  });
  browser = await openBrowser(stack.apiUrl);
  await signIn(browser.page, stack.key);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

interface Ev {
  status: string;
  machines: { machine_id: string; status: string }[];
  timeline: { type: string; message: string }[];
}
const read = async (id: string) => (await stack.api<Ev>('GET', `/api/v1/events/${id}`)).body;
const halts = (e: Ev) => e.timeline.filter((t) => t.type === 'halted').length;

/** A plan over the machine gated by the alarm, run now, and its event page once the event is HALTED. */
async function haltedEvent(): Promise<string> {
  const planId = await f.plan({
    name: uid('gated plan'),
    cron: '0 0 1 1 *',
    window_hours: 0.5,
    machines: [{ machine_id: m.id, order: 1 }],
    health_gates: {
      probes: [{ type: 'cloudwatch_alarm', name: 'api errors', alarm_names: [alarm] }],
      interval_s: 1,
    },
  });
  const eventId = await f.execute(planId);
  await browser.page.goto(`${stack.apiUrl}/events/${encodeURIComponent(eventId)}`);
  await browser.page.getByTestId('halted-why').filter({ hasText: 'health gate api errors' }).waitFor();
  return eventId;
}

it('resume reads the gates again, override needs a reason and runs on', async () => {
  const { page } = browser;
  const eventId = await haltedEvent();
  expect(await page.getByTestId('halted-why').innerText()).toContain(
    `alarm ${alarm} in ALARM: Threshold Crossed`,
  );
  await screenshot(page, 'console-halted');

  // Still in ALARM: resume halts again (the page follows it live).
  await page.getByRole('button', { name: 'Resume', exact: true }).click();
  await waitFor('halted twice', async () =>
    ((e) => (e.status === 'HALTED' && halts(e) === 2 ? e : undefined))(await read(eventId)),
  );
  expect((await read(eventId)).timeline.map((t) => t.type)).toContain('resumed');

  // Override without a reason: the API's 400 beside the field, nothing changes.
  await page.getByRole('button', { name: 'Override the gates' }).click();
  await page.locator('#halt-reason-error').waitFor();
  expect(await page.locator('#halt-reason-error').innerText()).toMatch(/an override needs a reason/);
  expect((await read(eventId)).status).toBe('HALTED');

  await page.getByLabel('Reason').fill('known false alarm, CAB-42');
  await page.getByRole('button', { name: 'Override the gates' }).click();
  const final = await waitForEventStatus(stack, eventId);
  expect([final.status, final.machines[0].status]).toEqual(['DONE', 'SUCCESS']);
  expect((await read(eventId)).timeline).toContainEqual(
    expect.objectContaining({
      type: 'gates_overridden',
      message: expect.stringContaining('known false alarm, CAB-42'),
    }),
  );
  await page.locator('[data-status="DONE"]').first().waitFor();
  expect(await page.getByRole('heading', { name: 'Halted' }).count()).toBe(0);
});

it('abort asks once more and leaves the machines OMITTED', async () => {
  const { page } = browser;
  const eventId = await haltedEvent();
  await page.getByLabel('Reason').fill('rolling back');
  await page.getByRole('button', { name: 'Abort', exact: true }).click();
  await page.getByRole('button', { name: 'Yes, abort' }).click();
  const final = await waitForEventStatus(stack, eventId);
  expect([final.status, final.machines[0].status]).toEqual(['DONE_ERROR', 'OMITTED']);
  expect(final.machines[0]).toMatchObject({ reason: expect.stringMatching(/^aborted by .*: rolling back$/) });
  await page.locator('[data-status="DONE_ERROR"]').first().waitFor();
});

it('a machine page puts the machine on hold (the cap refused beside the field), shows it and ends it', async () => {
  const { page } = browser;
  await page.goto(`${stack.apiUrl}/machines/${m.id}`);
  await page.getByTestId('hold-state').filter({ hasText: 'Not on hold' }).waitFor();
  const local = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 16);

  await page.getByLabel('Reason', { exact: true }).fill('vendor case 4711');
  await page.getByLabel('Until (UTC)').fill(local(90));
  await page.getByRole('button', { name: 'Put on hold' }).click();
  await page.locator('#hold-until-error').waitFor();
  expect(await page.locator('#hold-until-error').innerText()).toMatch(/at most 60 days after the machine's/);

  await page.getByLabel('Until (UTC)').fill(local(7));
  await page.getByRole('button', { name: 'Put on hold' }).click();
  await page.getByTestId('hold-state').filter({ hasText: 'vendor case 4711' }).waitFor();
  const held = (await stack.api<{ hold?: { reason: string } }>('GET', `/api/v1/machines/${m.id}`)).body;
  expect(held.hold?.reason).toBe('vendor case 4711');
  await screenshot(page, 'console-machine-hold');

  await page.getByRole('button', { name: 'End hold' }).click();
  await page.getByRole('button', { name: 'Yes, end hold' }).click();
  await page.getByTestId('hold-state').filter({ hasText: 'Not on hold' }).waitFor();
  expect((await stack.api<{ hold?: unknown }>('GET', `/api/v1/machines/${m.id}`)).body.hold).toBeUndefined();
});
