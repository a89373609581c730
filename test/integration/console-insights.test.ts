/**
 * The console's insight panels (issue 17), in a real browser (Debian's Chromium via playwright-core) against the
 * real stack: an event's **Preview** (targets with their SSM ping status, computed on demand), its **Patch
 * manifest** (what the lab installed), a machine's **Compliance** from its last scan, and a plan's compliance
 * CSV downloaded with the key in the header. What the browser shows is checked against what the API says.
 */
import fs from 'node:fs';
import { startStack, waitForEventStatus, type Stack } from '../helpers/stack';
import { fleet, uid, type FleetMachine } from '../helpers/e2e-fleet';
import { openBrowser, screenshot, signIn, type Browser } from '../helpers/browser';

jest.setTimeout(240_000);

let stack: Stack;
let browser: Browser;
let f: ReturnType<typeof fleet>;
let web: FleetMachine;
let other: FleetMachine;

const MISSING = {
  title: 'kernel-6.1.119-129.amzn2023',
  kb_id: 'kernel.x86_64',
  classification: 'Security',
  severity: 'Important',
  release_date: '2026-07-02',
};

beforeAll(async () => {
  stack = await startStack('console_insights');
  f = fleet(stack);
  // Each machine installs openssl, then a scan finds the kernel missing (one command entry per run).
  const commands = [
    { duration_s: 1, outcome: 'success' as const, installed: ['openssl-3.0.13'] },
    { duration_s: 1, outcome: 'success' as const, installed: [] },
  ];
  web = await f.machine({ name: uid('web'), commands, lab: { missing: [MISSING] } });
  other = await f.machine({ name: uid('db'), commands, lab: { missing: [MISSING] } });
  browser = await openBrowser(stack.apiUrl);
  await signIn(browser.page, stack.key);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

interface Manifest {
  operating_systems: { operating_system: string; patches: { title: string; kb_id: string }[] }[];
}

it('an event page previews its targets with ping status and lists the manifest; a machine page shows its compliance', async () => {
  const { page } = browser;
  const planId = await f.plan({
    name: uid('insights plan'),
    window_hours: 0.5,
    machines: [
      { machine_id: web.id, order: 0 },
      { machine_id: other.id, order: 1 },
    ],
  });
  const eventId = await f.execute(planId);
  expect((await waitForEventStatus(stack, eventId)).status).toBe('DONE');
  const ev = (await stack.api<{ manifest?: Manifest }>('GET', `/api/v1/events/${eventId}`)).body;
  const installed = ev.manifest!.operating_systems.flatMap((o) => o.patches);
  const openssl = installed.find((p) => p.title.includes('openssl'));
  expect(openssl).toBeDefined();

  await page.goto(`/events/${encodeURIComponent(eventId)}`);
  // The manifest: the patch the lab installed, with its KB.
  const row = page.getByTestId('manifest-patch').filter({ hasText: openssl!.title });
  await row.waitFor();
  expect(await row.innerText()).toContain(openssl!.kb_id);

  // Preview on demand: a loading state, then each target with its ping status and platform.
  await page.getByRole('button', { name: 'Preview', exact: true }).click();
  const target = page.locator(`[data-testid="preview-machine"][data-machine-id="${web.id}"]`);
  await target.waitFor({ timeout: 60_000 });
  const text = await target.innerText();
  expect(text).toContain(web.name);
  expect(text).toContain('Online');
  expect(text).toContain('Linux');
  expect(await page.getByTestId('preview-machine').count()).toBe(2);
  await screenshot(page, 'console-preview');

  // A scan-only plan leaves a compliance reading; the machine page shows it.
  const scanPlan = await f.plan({
    name: uid('scan plan'),
    operation: 'scan',
    window_hours: 0.5,
    machines: [{ machine_id: web.id }],
  });
  expect((await waitForEventStatus(stack, await f.execute(scanPlan))).status).toBe('DONE');
  const c = (
    await stack.api<{ counts: { missing: number }; missing_by_severity: Record<string, number> }>(
      'GET',
      `/api/v1/machines/${web.id}/compliance`,
    )
  ).body;
  expect(c.counts.missing).toBe(1);

  await page.goto(`/machines/${web.id}`);
  const section = page.getByTestId('compliance');
  await section.getByText('Missing 1').waitFor();
  expect(await page.getByTestId('compliance-severity').innerText()).toBe('Important 1');
  expect(await page.getByTestId('compliance-oldest').innerText()).toContain(MISSING.title);
  await screenshot(page, 'console-compliance');

  // A machine never scanned says so instead of an error.
  await page.goto(`/machines/${other.id}`);
  await page.getByTestId('compliance').getByText('Not scanned yet').waitFor();

  // The plan's CSV, downloaded with the key in the header (never in a URL).
  await page.goto(`/plans/${scanPlan}`);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download compliance (CSV)' }).click(),
  ]);
  const csv = fs.readFileSync((await download.path())!, 'utf8');
  expect(csv).toContain(web.name);
  expect(csv).toContain(MISSING.kb_id);
  expect(browser.requests.some((u) => u.includes(stack.key))).toBe(false);
});
