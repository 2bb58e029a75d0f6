/**
 * Slows password guessing over SMTP AUTH, per client address and per user name: each failure makes
 * the next answer wait longer (doubling from a quarter of a second, at most five seconds), and after
 * `maxFailures` within the lockout period the address (or the user) is refused outright until the
 * period has passed since its last failure. A success clears the address's count.
 * Counts live in this process (each SMTP process counts its own share), in a bounded table.
 */
import { TtlCache } from '../lib/ttl-cache.js';

/** How the throttle is set up. */
export interface ThrottleOptions {
  /** Failures within `lockoutMs` after which further attempts are refused. */
  maxFailures: number;
  lockoutMs: number;
  /** Largest number of addresses and users remembered (the oldest are forgotten first). */
  maxEntries?: number;
  now?: () => number;
}

const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 5000;

/** Where a login attempt stands before its password is checked. */
export type Standing = { kind: 'ok'; delayMs: number } | { kind: 'locked'; who: 'address' | 'user' };

/** Failure counts by client address and by user name. */
export class AuthThrottle {
  /** Failures by key; each count lives `lockoutMs` after its last failure (the cache's time to live). */
  private readonly counts: TtlCache<string, number>;

  constructor(private readonly o: ThrottleOptions) {
    this.counts = new TtlCache({ ttlMs: o.lockoutMs, maxEntries: o.maxEntries ?? 100_000 }, o.now ?? Date.now);
  }

  /** Whether an attempt from `address` as `user` may go on, and how long its answer waits. */
  standing(address: string, user: string): Standing {
    const a = this.counts.get(`a:${address}`) ?? 0;
    const u = this.counts.get(`u:${user.toLowerCase()}`) ?? 0;
    if (a >= this.o.maxFailures) return { kind: 'locked', who: 'address' };
    if (u >= this.o.maxFailures) return { kind: 'locked', who: 'user' };
    const n = Math.max(a, u);
    return { kind: 'ok', delayMs: n === 0 ? 0 : Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (n - 1)) };
  }

  /** Counts a failed attempt. */
  failed(address: string, user: string): void {
    for (const key of [`a:${address}`, `u:${user.toLowerCase()}`]) this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /**
   * Clears the address's count after a successful login. The user's count is left to expire: it
   * is what holds against guesses spread over many addresses, and an application that logs in for
   * every message would otherwise hand a guesser a fresh allowance each time.
   */
  succeeded(address: string): void {
    this.counts.delete(`a:${address}`);
  }
}
