/**
 * Requests per second per account and action, as token buckets in this process. With several API
 * processes each enforces the limit on its own share of the traffic.
 */

interface Bucket { tokens: number; last: number }

/** Token buckets keyed by account and action. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Takes one token; false when the caller is over `perSecond` (0: never limited). */
  take(accountId: number, action: string, perSecond: number): boolean {
    if (perSecond <= 0) return true;
    const key = `${accountId}:${action}`;
    const t = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: perSecond, last: t };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(perSecond, b.tokens + ((t - b.last) / 1000) * perSecond);
    b.last = t;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
