import { DeliveryError } from './types';

export interface RetryPolicy {
  attempts: number;
  /** First backoff; doubled after each attempt, with up to 25 % jitter. */
  baseDelayMs: number;
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 1_000 };

export interface RetryOutcome {
  attempts: number;
  error?: string;
}

/** Runs `attempt` until it succeeds, fails for good, or the attempts run out. Never throws. */
export async function withRetries(policy: RetryPolicy, attempt: () => Promise<void>): Promise<RetryOutcome> {
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let n = 1; ; n++) {
    try {
      await attempt();
      return { attempts: n };
    } catch (err) {
      const e =
        err instanceof DeliveryError ? err : new DeliveryError('unexpected error while sending', true);
      if (!e.retryable || n >= policy.attempts) return { attempts: n, error: e.message };
      const backoff = policy.baseDelayMs * 2 ** (n - 1) * (1 + Math.random() * 0.25);
      await sleep(Math.max(backoff, e.retryAfterMs ?? 0));
    }
  }
}
