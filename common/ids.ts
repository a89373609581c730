import { randomBytes } from 'node:crypto';

/** Short, URL-safe, prefixed IDs: `mch_5k2n…`. Prefixes make IDs self-describing in logs and the Temporal UI. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').toLowerCase()}`;
}
