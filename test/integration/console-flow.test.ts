/**
 * The README walkthrough done in the console, in a real browser against the real stack: create a plan through
 * the form, run it, watch it finish live, read a machine's log, download the report, change a machine's status
 * (the API's 400 shown beside the field first), run a partial patching with a machine and one pre hook left
 * out, and approve a pipeline step. What the browser shows is checked against what the lab and the API saw.
 */
import { startStack, waitFor, type Stack } from '../helpers/stack';
import { answer, fleet, uid, type FleetMachine } from '../helpers/e2e-fleet';
import { openBrowser, screenshot, signIn, type Browser } from '../helpers/browser';

jest.setTimeout(300_000);

let stack: Stack;
let browser: Browser;
let f: ReturnType<typeof fleet>;
let web: FleetMachine;
let db: FleetMachine;
let preHook: { name: string; hook: { type: 'lambda'; source: string } };
let checkHook: { name: string; hook: { type: 'lambda'; source: string } };

beforeAll(async () => {
  stack = await startStack('console_flow', { env: { PATCHWAVE_TEMPORAL_UI_URL: 'http://127.0.0.1:8233' } });
  f = fleet(stack);
  web = await f.machine({
    name: uid('web'),
    commands: [{ duration_s: 1, outcome: 'success', installed: ['openssl-3.0.13', 'curl-8.5.0'] }],
  });
  db = await f.machine({
    name: uid('db'),
    commands: [{ duration_s: 1, outcome: 'failed', stdout: 'db failed to patch' }],
  });
  preHook = await f.lambda([answer(200, 'drained', 'drain output')]);
  checkHook = await f.lambda([answer(200, 'checked', 'check output')]);
  browser = await openBrowser(stack.apiUrl);
  await signIn(browser.page, stack.key);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

let eventId: string;

it('creates a plan through the form, with the API field messages beside the fields first', async () => {
  const { page } = browser;
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Plans' }).click();
  await page.getByRole('link', { name: 'New plan' }).click();
  await page.getByLabel('Name', { exact: true }).fill('console weekly');
  // A cron the API refuses: the preview says so, and the API's message lands beside the field.
  await page.getByLabel('Schedule (cron, UTC)').fill('0 3 * *');
  await page.getByText('Not a valid schedule yet').waitFor();
  await page.getByRole('button', { name: 'Create plan' }).click();
  await page.locator('#plan-cron-error').waitFor();
  expect(await page.locator('#plan-cron-error').innerText()).toMatch(/5 fields/);

  await page.getByLabel('Schedule (cron, UTC)').fill('0 3 1 1 *');
  await page.getByTestId('cron-next').filter({ hasText: '-01-01 03:00 UTC' }).waitFor();
  await page.getByLabel('Window (hours)').fill('0.25');
  await page.getByLabel(`Include ${web.name}`).check();
  await page.getByLabel(`Include ${db.name}`).check();
  await page.getByLabel(`Order of ${db.name}`).fill('1');
  await page.getByRole('button', { name: 'Add pre hook' }).click();
  await page.getByLabel('Pre hooks 1 source').fill(preHook.hook.source);
  await page.getByRole('button', { name: 'Add pre hook' }).click();
  await page.getByLabel('Pre hooks 2 source').fill(checkHook.hook.source);
  await page.getByLabel('Enabled').uncheck();
  await screenshot(page, 'plan-form');
  await page.getByRole('button', { name: 'Create plan' }).click();
  await page.getByRole('heading', { name: 'console weekly' }).waitFor();

  const plans = await stack.api<{
    items: { id: string; name: string; machines: { machine_id: string; order: number }[] }[];
  }>('GET', '/api/v1/plans');
  const plan = plans.body.items.find((p) => p.name === 'console weekly')!;
  expect(plan.machines).toEqual([
    expect.objectContaining({ machine_id: web.id, order: 0 }),
    expect.objectContaining({ machine_id: db.id, order: 1 }),
  ]);
  await screenshot(page, 'plan-view');
});

it('runs the plan and follows the event live until it finishes', async () => {
  const { page } = browser;
  await page.getByRole('button', { name: 'Run now' }).click();
  await page.waitForURL(/\/events\/pln_/);
  eventId = decodeURIComponent(page.url().split('/events/')[1]);
  // Live: the page moves through In progress to the final status without a reload.
  await page.locator('.page-head [data-status="DONE_PARTIAL"]').waitFor({ timeout: 120_000 });
  const webRow = page.locator(`tr[data-machine="${web.id}"]`);
  expect(await webRow.locator('[data-status]').innerText()).toBe('Success');
  expect(await webRow.innerText()).toContain('curl-8.5.0');
  const api = await stack.api<{ machines: { machine_id: string; command_id: string }[] }>(
    'GET',
    `/api/v1/events/${eventId}`,
  );
  expect(await webRow.innerText()).toContain(
    api.body.machines.find((m) => m.machine_id === web.id)!.command_id,
  );
  expect(await page.locator(`tr[data-machine="${db.id}"] [data-status]`).innerText()).toBe('Failed');
  // The global pre hook with its code, message and output.
  const hook = page.locator('tr[data-hook="pre_0"]');
  expect(await hook.innerText()).toContain('drained');
  await hook.getByText(/^show/).click();
  await hook.getByText('drain output').waitFor();
  // Deep links into the Temporal UI.
  expect(await page.getByRole('link', { name: 'Temporal UI ↗' }).getAttribute('href')).toBe(
    `http://127.0.0.1:8233/namespaces/${encodeURIComponent(stack.config.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(`event/${eventId}`)}`,
  );
  expect(await webRow.getByRole('link', { name: 'owner ↗' }).getAttribute('href')).toContain(
    encodeURIComponent(`machine/${web.id}`),
  );
  await screenshot(page, 'event-detail');
});

it("reads a machine's log and downloads the report", async () => {
  const { page } = browser;
  const webRow = page.locator(`tr[data-machine="${web.id}"]`);
  await webRow.getByRole('button', { name: 'Log' }).click();
  const log = page.getByRole('region', { name: `Log of ${web.name}` });
  // The patch command's own output, as SSM reported it.
  await log.getByText(/curl-8\.5\.0/).waitFor();

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download report (PDF)' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/\.pdf$/);
  const file = await download.path();
  const head = (await import('node:fs')).readFileSync(file).subarray(0, 5).toString();
  expect(head).toBe('%PDF-');
});

it("changes a machine's status, showing the API's refusal beside the field first", async () => {
  const { page } = browser;
  const dbRow = page.locator(`tr[data-machine="${db.id}"]`);
  await dbRow.getByRole('button', { name: 'Change status' }).click();
  const form = page.getByRole('form', { name: `Change the status of ${db.name}` });
  await form.getByLabel('Manual status').selectOption('SUCCESS_MANUAL');
  await form.getByRole('button', { name: 'Set status' }).click();
  await form.getByRole('alert').filter({ hasText: 'is required for SUCCESS_MANUAL' }).waitFor();
  await form.getByLabel(/Action taken/).fill('patched by hand over SSH');
  await screenshot(page, 'manual-status');
  await form.getByRole('button', { name: 'Set status' }).click();
  await dbRow.locator('[data-status="SUCCESS_MANUAL"]').waitFor();
  await page.locator('.page-head [data-status="DONE_MANUAL"]').waitFor();
  const ev = await stack.api<{
    status: string;
    machines: { machine_id: string; status: string; action_taken?: string }[];
  }>('GET', `/api/v1/events/${eventId}`);
  expect(ev.body.machines.find((m) => m.machine_id === db.id)).toEqual(
    expect.objectContaining({ status: 'SUCCESS_MANUAL', action_taken: 'patched by hand over SSH' }),
  );
});

it('runs a partial patching of one machine with one of its two pre hooks removed', async () => {
  const { page } = browser;
  const hookCallsBefore = (await f.lambdaCalls(preHook.name)).length;
  const keptCallsBefore = (await f.lambdaCalls(checkHook.name)).length;
  const webCommandsBefore = (await f.commands(web.ssmId)).length;
  const dbCommandsBefore = (await f.commands(db.ssmId)).length;
  await page.getByRole('button', { name: 'Run partial patching' }).click();
  const panel = page.getByRole('form', { name: 'Run partial patching' });
  await panel.getByLabel(`Include ${db.name}`).uncheck();
  // Per hook, by name: the first pre hook (pre_0) is left out, the second (pre_1) runs again.
  await panel.getByLabel(/^Pre hook 1 /).uncheck();
  expect(await panel.getByLabel(/^Pre hook 2 /).isChecked()).toBe(true);
  await screenshot(page, 'partial');
  await panel.getByRole('button', { name: /Run partial patching \(1 machine\)/ }).click();
  await page
    .locator('.page-head [data-status="IN_PROGRESS"], .page-head [data-status^="DONE"]')
    .first()
    .waitFor();
  await waitFor(
    'the partial run to finish',
    async () => {
      const r = await stack.api<{ status: string; run_no: number }>('GET', `/api/v1/events/${eventId}`);
      return r.body.run_no >= 1 && r.body.status.startsWith('DONE') ? r.body : undefined;
    },
    120_000,
  );
  await page.locator('.page-head [data-status^="DONE"]').waitFor();
  expect((await f.commands(web.ssmId)).length).toBe(webCommandsBefore + 1);
  expect((await f.commands(db.ssmId)).length).toBe(dbCommandsBefore);
  expect((await f.lambdaCalls(preHook.name)).length).toBe(hookCallsBefore);
  expect((await f.lambdaCalls(checkHook.name)).length).toBe(keptCallsBefore + 1);
});

it('approves a pipeline step, explaining what the approval does', async () => {
  const { page } = browser;
  const first = await f.plan({ name: uid('first'), machines: [{ machine_id: web.id, order: 0 }] });
  const second = await f.plan({ name: 'console second step', machines: [{ machine_id: db.id, order: 0 }] });
  const pipe = await stack.api<{ id: string }>('POST', '/api/v1/pipelines', {
    name: uid('pipe'),
    cron: '0 1 1 1 *',
    enabled: false,
    steps: [
      { name: 'first', plans: [first], policy: 'always', offset_hours: 1 },
      { name: 'second', plans: [second], policy: 'approval', offset_hours: 2 },
    ],
  });
  expect(pipe.status).toBe(201);
  const run = await stack.api<{ event_ids: string[] }>('POST', `/api/v1/pipelines/${pipe.body.id}/execute`);
  expect(run.status).toBe(201);
  const waiting = await waitFor('a NOT_APPROVED event of the second step', async () => {
    for (const id of run.body.event_ids) {
      const r = await stack.api<{ id: string; status: string; plan_id: string }>(
        'GET',
        `/api/v1/events/${id}`,
      );
      if (r.body.plan_id === second && r.body.status === 'NOT_APPROVED') return r.body;
    }
    return undefined;
  });
  await page.goto(`/events/${encodeURIComponent(waiting.id)}`);
  const box = page.getByRole('region', { name: 'Waiting for approval' });
  await box.getByText('every not-approved event of its pipeline step').waitFor();
  await box.getByText('only this one is waiting').waitFor();
  await screenshot(page, 'approve');
  await box.getByRole('button', { name: 'Approve the step' }).click();
  await page.locator('.page-head [data-status="APPROVED"], .page-head [data-status="NEW"]').first().waitFor();
  const after = await stack.api<{ status: string }>('GET', `/api/v1/events/${waiting.id}`);
  expect(['APPROVED', 'NEW']).toContain(after.body.status);
  expect(browser.errors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
});
