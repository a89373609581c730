import { validateCron } from '../domain/schedule';

/** Why a plan/pipeline cron is refused, or undefined: the scheduler's own rules (5 fields, UTC, fires). */
export function cronError(expr: string): string | undefined {
  const r = validateCron(expr);
  return r.ok ? undefined : r.message;
}

/** Replaces the schema's generic message on `cron` (e.g. "too small") with what is wrong with the expression. */
export function explainCron<I extends { path: string; message: string }>(raw: unknown, issues: I[]): I[] {
  const cron = raw && typeof raw === 'object' ? (raw as Record<string, unknown>).cron : undefined;
  if (typeof cron !== 'string') return issues;
  const why = cronError(cron);
  return why ? issues.map((i) => (i.path === 'cron' ? { ...i, message: why } : i)) : issues;
}
