import type { ApiContext } from './context';
import type { Actor } from './orchestrator-port';

/**
 * Audit snapshots must not carry secrets: an Azure function's `code`, webhook URLs (Slack/Teams tokens
 * live in the path) and key hashes are cut before a snapshot is stored.
 */
export function redactForAudit(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactForAudit);
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'secret' || k === 'secret_hash') continue;
    if (k === 'url' && typeof v === 'string') out[k] = redactUrl(v, true);
    else if (k === 'source' && typeof v === 'string' && /^https?:/i.test(v)) out[k] = redactUrl(v, false);
    else out[k] = redactForAudit(v);
  }
  return out;
}

function redactUrl(url: string, hidePath: boolean): string {
  try {
    const u = new URL(url);
    return hidePath ? `${u.origin}/…` : `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '…';
  }
}

/** Records the change; returns the audit record's id. */
export async function writeAudit(
  ctx: ApiContext,
  actor: Actor,
  entry: {
    action: string;
    resource: string;
    resource_id: string;
    before?: unknown;
    after?: unknown;
    details?: unknown;
  },
): Promise<string> {
  const rec = await ctx.audit.record({
    customer_id: actor.customer_id,
    actor: actor.api_key_id,
    action: entry.action,
    resource: entry.resource,
    resource_id: entry.resource_id,
    ...(entry.before !== undefined ? { before: redactForAudit(entry.before) } : {}),
    ...(entry.after !== undefined ? { after: redactForAudit(entry.after) } : {}),
    ...(entry.details !== undefined ? { details: redactForAudit(entry.details) } : {}),
  });
  return rec.id;
}
