/**
 * The operator console in a real browser (Debian's Chromium via playwright-core) against the real stack: the
 * API serves the built console at `/`, sign-in with an API key, the events list with the seed's labels and
 * filters, and what a key may not do hidden from the API's own permission answer (GET /api/v1/me).
 */
import { startStack, type Stack } from '../helpers/stack';
import { fleet } from '../helpers/e2e-fleet';
import { openBrowser, screenshot, signIn, type Browser } from '../helpers/browser';

jest.setTimeout(180_000);

let stack: Stack;
let browser: Browser;
let f: ReturnType<typeof fleet>;

beforeAll(async () => {
  stack = await startStack('console_basics', { env: { PATCHWAVE_TEMPORAL_UI_URL: 'http://127.0.0.1:8233' } });
  f = fleet(stack);
  browser = await openBrowser(stack.apiUrl);
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

it('serves the console at / with index.html for app paths, and keeps API 404s as JSON', async () => {
  const root = await fetch(`${stack.apiUrl}/events/some-id`, { headers: { accept: 'text/html' } });
  expect(root.status).toBe(200);
  expect(root.headers.get('content-security-policy')).toContain("default-src 'self'");
  expect(await root.text()).toContain('<div id="root">');
  const api = await fetch(`${stack.apiUrl}/api/v1/nope`, {
    headers: { authorization: `Bearer ${stack.key}` },
  });
  expect([api.status, ((await api.json()) as { error: { code: string } }).error.code]).toEqual([
    404,
    'not_found',
  ]);
});

it('GET /api/v1/me answers the key, its customer, its permissions and the Temporal UI address', async () => {
  const me = await stack.api<{
    api_key: { id: string };
    super_admin: boolean;
    permissions: Record<string, Record<string, unknown>>;
    temporal_ui: { url: string; namespace: string } | null;
  }>('GET', '/api/v1/me');
  expect(me.status).toBe(200);
  expect(me.body.super_admin).toBe(true);
  expect(me.body.permissions.event).toEqual(
    expect.objectContaining({ list: 'all', update: 'all', execute: 'all', delete: 'all' }),
  );
  expect(me.body.temporal_ui).toEqual({ url: 'http://127.0.0.1:8233', namespace: expect.any(String) });
});

it('refuses a wrong key in place, signs in, lists events with the seed labels and filters, and signs out', async () => {
  const { page } = browser;
  const machine = await f.machine({ name: 'console-web-1' });
  const planId = await f.plan({ name: 'console weekly', machines: [{ machine_id: machine.id, order: 0 }] });
  const otherPlan = await f.plan({ name: 'console other', machines: [{ machine_id: machine.id, order: 0 }] });
  const start = new Date(Math.ceil((Date.now() + 2 * 3_600_000) / 60_000) * 60_000);
  const mk = async (plan: string, offsetH: number) => {
    const s = new Date(start.getTime() + offsetH * 3_600_000);
    const r = await stack.api<{ id: string }>('POST', '/api/v1/events', {
      plan_id: plan,
      start: s.toISOString(),
      end: new Date(s.getTime() + 3_600_000).toISOString(),
    });
    expect(r.status).toBe(201);
    return r.body.id;
  };
  const ev1 = await mk(planId, 0);
  const ev2 = await mk(otherPlan, 5);

  await page.goto('/events');
  // Not signed in: the app sends us to the form.
  await page.getByLabel('API key').waitFor();
  await page.getByLabel('API key').fill('pw_key_nope.' + 'x'.repeat(43));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
  await screenshot(page, 'signin');

  await signIn(page, stack.key);
  expect(await page.evaluate('sessionStorage.length')).toBe(1);
  expect(await page.evaluate('localStorage.length')).toBe(0);

  // Agenda: both upcoming events, NEW shown as "Upcoming".
  const agenda = page.locator('.agenda');
  await agenda.getByText('console weekly').waitFor();
  await agenda.getByText('console other').waitFor();
  expect(await agenda.locator(`a[href="/events/${ev1}"] [data-status="NEW"]`).innerText()).toBe('Upcoming');
  await screenshot(page, 'events-agenda');

  // List view filtered by plan: only that plan's event.
  await page.getByRole('tab', { name: 'List' }).click();
  await page.getByLabel('Plan').selectOption(planId);
  await page.locator(`a[href="/events/${ev1}"]`).waitFor();
  await page.locator(`a[href="/events/${ev2}"]`).waitFor({ state: 'detached' });
  // A status filter that matches nothing says what to do next.
  await page.getByLabel('Plan').selectOption('');
  // The filter lives in the URL: the box shows checked once the router has applied the navigation, which
  // Playwright's check() does not wait for (it reads the state right after its click).
  await page.getByRole('checkbox', { name: 'In progress' }).click();
  await page.getByRole('checkbox', { name: 'In progress', checked: true }).waitFor();
  await page.getByText('No event matches these filters').waitFor();
  await page.getByRole('button', { name: 'Clear filters' }).click();
  await page.locator(`a[href="/events/${ev2}"]`).waitFor();

  // The key was only ever sent in a header: never in a URL the browser asked for.
  expect(browser.requests.filter((u) => u.includes(stack.key))).toEqual([]);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key').waitFor();
  expect(await page.evaluate('sessionStorage.length')).toBe(0);
  // Signed out, an app path asks for the key again.
  await page.goto('/events');
  await page.getByLabel('API key').waitFor();
  expect(browser.errors.filter((e) => !/401|Failed to load resource/.test(e))).toEqual([]);
});

it('hides what a read-only key may not do, from the API permission answer', async () => {
  const role = await stack.api<{ id: string }>('POST', '/api/v1/roles', {
    name: 'console viewer',
    rules: [{ resources: ['event', 'plan'], actions: ['get', 'list'] }],
  });
  const key = await stack.api<{ secret: string }>('POST', '/api/v1/api-keys', {
    name: 'console viewer key',
    role_ids: [role.body.id],
  });
  const { page } = browser;
  await signIn(page, key.body.secret);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link', { name: 'Events' }).waitFor();
  expect(await nav.getByRole('link', { name: 'Machines' }).count()).toBe(0);
  expect(await nav.getByRole('link', { name: 'Admin' }).count()).toBe(0);
  // plan:list but no machine:list: a plan filter, no machine filter.
  expect(await page.getByLabel('Plan').count()).toBe(1);
  expect(await page.getByLabel('Machine').count()).toBe(0);
  await page.getByRole('button', { name: 'Sign out' }).click();
});

it('manages machines, pipelines, notification groups, keys and the audit log, with field messages in place', async () => {
  const { page } = browser;
  await signIn(page, stack.key);
  const nav = page.getByRole('navigation', { name: 'Main' });

  // Machines: the list shows ping and last patching; a bad SSM id is refused beside its field.
  await nav.getByRole('link', { name: 'Machines' }).click();
  await page.getByRole('link', { name: 'console-web-1' }).waitFor();
  await screenshot(page, 'machines');
  await page.getByRole('link', { name: 'Register a machine' }).click();
  await page.getByLabel('Name', { exact: true }).fill('console-db-9');
  await page.getByLabel('SSM managed instance ID').fill('server-9');
  await page.getByRole('button', { name: 'Register machine' }).click();
  expect(await page.locator('#m-ssm-error').innerText()).toMatch(/SSM managed instance ID/);
  await page.getByLabel('SSM managed instance ID').fill('i-0123456789abcdef9');
  await page.getByRole('button', { name: 'Register machine' }).click();
  await page.getByRole('heading', { name: 'console-db-9' }).waitFor();

  // Pipelines: a two-step pipeline through the form.
  await nav.getByRole('link', { name: 'Pipelines' }).click();
  await page.getByRole('link', { name: 'New pipeline' }).click();
  await page.getByLabel('Name', { exact: true }).fill('console dev to prod');
  await page.getByRole('group', { name: 'Plans' }).getByLabel('console weekly').check();
  await page.getByRole('button', { name: 'Add a step' }).click();
  await page.getByRole('group', { name: 'Plans' }).nth(1).getByLabel('console other').check();
  await page.getByRole('button', { name: 'Create pipeline' }).click();
  await page.getByRole('heading', { name: 'console dev to prod' }).waitFor();
  await page.getByText('runs if the earlier steps succeeded, else waits for approval').waitFor();

  // Notification groups: a plain-http webhook is refused beside the channels.
  await nav.getByRole('link', { name: 'Notifications' }).click();
  await page.getByRole('link', { name: 'New group' }).click();
  await page.getByLabel('Name', { exact: true }).fill('console ops');
  await page.getByLabel('Channel 1 URL').fill('http://169.254.169.254/latest');
  await page.getByRole('button', { name: 'Create group' }).click();
  await page.locator('#g-channels-error').waitFor();

  // Admin: a new key's secret is shown once and works; the audit log has the creation.
  await nav.getByRole('link', { name: 'Admin' }).click();
  const form = page.getByRole('form', { name: 'New API key' });
  await form.getByLabel('Name', { exact: true }).fill('console ci key');
  await form.getByLabel('admin').check();
  await form.getByRole('button', { name: 'Create key' }).click();
  const secret = await page.getByTestId('new-secret').innerText();
  const me = await fetch(`${stack.apiUrl}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } });
  expect(me.status).toBe(200);
  await screenshot(page, 'admin-keys');
  await page.getByRole('button', { name: 'I have copied it' }).click();
  await page.getByTestId('new-secret').waitFor({ state: 'detached' });
  await page.getByRole('tab', { name: 'Audit log' }).click();
  await page.getByRole('cell', { name: 'api_key' }).first().waitFor();
  await screenshot(page, 'audit');
  expect(browser.errors.filter((e) => !/Failed to load resource/.test(e))).toEqual([]);
  await page.getByRole('button', { name: 'Sign out' }).click();
});

it('editing a plan in the form keeps what the form does not show (health gates, freeze rule) and removes what it cleared', async () => {
  const { page } = browser;
  const machine = await f.machine({ name: 'console-edit-1' });
  const created = await stack.api<{ id: string }>('POST', '/api/v1/plans', {
    name: 'console edit keeps fields',
    cron: '0 3 1 1 *',
    window_hours: 2,
    max_errors: 3,
    machines: [{ machine_id: machine.id, order: 0 }],
    health_gates: { probes: [{ type: 'cloudwatch_alarm', alarm_names: ['api-5xx'] }], soak_s: 60 },
    freeze_rule: { action: 'shift_to_next_open', max_delay_hours: 24 },
  });
  expect(created.status).toBe(201);
  const before = (await stack.api<Record<string, unknown>>('GET', `/api/v1/plans/${created.body.id}`)).body;

  await signIn(page, stack.key);
  await page.goto(`/plans/${created.body.id}/edit`);
  await page.getByLabel('Window (hours)').fill('3');
  await page.getByLabel('Max errors').fill('');
  await page.getByRole('button', { name: 'Save plan' }).click();
  await page.getByRole('heading', { name: 'console edit keeps fields' }).waitFor();

  const after = (await stack.api<Record<string, unknown>>('GET', `/api/v1/plans/${created.body.id}`)).body;
  expect(after.window_hours).toBe(3);
  expect(after.max_errors).toBeUndefined();
  expect(after.health_gates).toEqual(before.health_gates);
  expect(after.freeze_rule).toEqual(before.freeze_rule);
  expect(after.machines).toEqual(before.machines);
});
