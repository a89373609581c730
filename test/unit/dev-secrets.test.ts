import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WEBHOOK_SECRET_FILE, devWebhookSecret } from '../../scripts/lib/dev-secrets';

describe('npm run dev: development webhook signing secret', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pw-dev-secret-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('generates one into the data directory (owner-only) and reuses it on the next start', () => {
    const dataDir = path.join(dir, '.data');
    const first = devWebhookSecret(dataDir, {});
    expect(first).toEqual({
      secret: expect.stringMatching(/^[0-9a-f]{64}$/),
      source: 'generated',
      file: path.join(dataDir, WEBHOOK_SECRET_FILE),
    });
    expect(fs.readFileSync(first.file!, 'utf8')).toBe(`${first.secret}\n`);
    expect(fs.statSync(first.file!).mode & 0o777).toBe(0o600);
    expect(devWebhookSecret(dataDir, {})).toEqual({ ...first, source: 'file' });
  });

  it('uses PATCHWAVE_WEBHOOK_SECRET from the environment and writes nothing', () => {
    const got = devWebhookSecret(dir, { PATCHWAVE_WEBHOOK_SECRET: 'from-the-shell-0123456789' });
    expect(got).toEqual({ secret: 'from-the-shell-0123456789', source: 'environment' });
    expect(fs.existsSync(path.join(dir, WEBHOOK_SECRET_FILE))).toBe(false);
  });

  it('replaces a file too short for the worker', () => {
    fs.writeFileSync(path.join(dir, WEBHOOK_SECRET_FILE), 'short\n');
    const got = devWebhookSecret(dir, {});
    expect([got.source, got.secret.length]).toEqual(['generated', 64]);
  });
});
