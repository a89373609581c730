/**
 * In-memory token buckets, one per key (API key id, or client address for failed logins). Good enough for
 * one API process; several replicas each enforce their own share.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token; answers how long to wait when there is none. */
  take(key: string): { ok: true } | { ok: false; retryAfterSec: number } {
    const t = this.now();
    const b = this.refilled(key, t);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSec: Math.max(1, Math.ceil((1 - b.tokens) / this.ratePerSec)) };
  }

  /** True when `key` has no token left, without taking one. */
  exhausted(key: string): boolean {
    return this.refilled(key, this.now()).tokens < 1;
  }

  private refilled(key: string, t: number) {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size > 50_000) this.prune(t);
      b = { tokens: this.burst, at: t };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.ratePerSec);
    b.at = t;
    return b;
  }

  /** Forgets buckets that are full again: they hold no information. */
  private prune(t: number) {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.ratePerSec >= this.burst) this.buckets.delete(k);
    }
  }
}
