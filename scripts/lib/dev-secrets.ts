import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** File name of the development webhook signing secret inside the dev stack's data directory. */
export const WEBHOOK_SECRET_FILE = 'webhook-signing-secret';

/**
 * The webhook signing secret of `npm run dev`: PATCHWAVE_WEBHOOK_SECRET when the shell sets it, else the
 * one generated (once, mode 0600) into the data directory, so a newcomer's webhook channel is accepted by
 * the API and signed by the worker, and a receiver can read the same value to verify signatures.
 */
export function devWebhookSecret(
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): { secret: string; source: 'environment' | 'generated' | 'file'; file?: string } {
  if (env.PATCHWAVE_WEBHOOK_SECRET) return { secret: env.PATCHWAVE_WEBHOOK_SECRET, source: 'environment' };
  const file = path.join(dataDir, WEBHOOK_SECRET_FILE);
  try {
    const secret = fs.readFileSync(file, 'utf8').trim();
    // The worker wants at least 16 characters; a shorter (hand-edited) file is replaced.
    if (secret.length >= 16) return { secret, source: 'file', file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  fs.writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return { secret, source: 'generated', file };
}
