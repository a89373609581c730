import { Context } from '@temporalio/activity';

/**
 * Helpers for activities whose external effect must happen once (a hook call, an SSM SendCommand) although
 * the worker may crash and the store may be away for a while.
 */

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (unit tests, scripts)
  }
}

/**
 * Runs `work` while heartbeating every `everyMs`, so an activity that waits on a slow remote party is kept
 * alive by its heartbeat timeout (and a crashed worker is noticed within it) instead of being cut off by a
 * start-to-close timeout and retried — which would call the remote party again.
 */
export async function withHeartbeats<T>(work: () => Promise<T>, everyMs = 5_000): Promise<T> {
  const ctx = activityContext();
  if (!ctx) return work();
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/**
 * Writes the record of an effect that already happened. A store outage here must not fail the activity:
 * its retry would repeat the effect. So the write is retried in place (with backoff, heartbeating) for as
 * long as the activity's own timeout allows, at most `maxMs`.
 */
export async function persistAfterEffect<T>(write: () => Promise<T>, maxMs = 10 * 60_000): Promise<T> {
  const ctx = activityContext();
  const info = ctx?.info;
  const attemptDeadline =
    info && info.startToCloseTimeoutMs > 0
      ? info.currentAttemptScheduledTimestampMs + info.startToCloseTimeoutMs - 5_000
      : Infinity;
  const giveUpAt = Math.min(Date.now() + maxMs, attemptDeadline);
  let wait = 500;
  for (;;) {
    try {
      return await write();
    } catch (err) {
      if (Date.now() + wait >= giveUpAt || ctx?.cancellationSignal.aborted) throw err;
      ctx?.heartbeat();
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 10_000);
    }
  }
}

const TRANSIENT_NAMES =
  /Throttl|TooManyRequests|RequestLimitExceeded|InternalServerError|ServiceUnavailable|TimeoutError|RequestTimeout/i;
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/**
 * An AWS error that says "not now" rather than "no": throttling, 5xx, timeouts, dropped connections. The SDK
 * already retried it a few times; the activity should retry it again rather than turn it into a result.
 */
export function isTransientAwsError(err: unknown): boolean {
  const e = err as {
    name?: string;
    code?: string;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  if (!e || typeof e !== 'object') return false;
  if (e.$retryable) return true;
  if ((e.$metadata?.httpStatusCode ?? 0) >= 500) return true;
  if (e.name && TRANSIENT_NAMES.test(e.name)) return true;
  return e.code !== undefined && TRANSIENT_CODES.has(e.code);
}
