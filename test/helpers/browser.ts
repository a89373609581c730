/**
 * A real browser for the console's end-to-end tests: Debian's Chromium driven by playwright-core (no browser
 * download), headless, with a fresh profile per launch so no state leaks between tests or runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.PATCHWAVE_CHROMIUM ?? '/usr/bin/chromium';

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Every URL the browser requested, for checks such as "the key never appears in a URL". */
  requests: string[];
  /** Console errors and uncaught page errors. */
  errors: string[];
  close(): Promise<void>;
}

export async function openBrowser(baseURL: string): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: the console's browser tests need Debian's chromium ('apt-get install chromium'; scripts/setup.sh installs it when run as root), or set PATCHWAVE_CHROMIUM`,
    );
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'patchwave-chromium-'));
  // playwright passes --headless and --user-data-dir itself (launchPersistentContext owns the profile).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    baseURL,
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
    timezoneId: 'Europe/Berlin',
  });
  context.setDefaultTimeout(20_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const requests: string[] = [];
  const errors: string[] = [];
  context.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return {
    context,
    page,
    requests,
    errors,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in through the form, as a person does. */
export async function signIn(page: Page, key: string) {
  await page.goto('/');
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Events' }).waitFor();
}

/** Saves a screenshot for docs/console.md when PATCHWAVE_SCREENSHOTS names a directory. */
export async function screenshot(page: Page, name: string) {
  const dir = process.env.PATCHWAVE_SCREENSHOTS;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: false });
}
