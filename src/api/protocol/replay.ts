/**
 * v1 replay protection: a request whose SecretId, Timestamp, Nonce and signature were already seen
 * inside the validity window is a replay. Keying on the signature as well means two different
 * requests that happen to draw the same Nonce in the same second (SDKs pick 0–65535) both pass,
 * while a byte-for-byte replay does not.
 */

/** Remembers what was seen until the timestamp leaves the validity window. */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  private inserts = 0;

  constructor(private readonly windowSeconds: number, private readonly maxEntries = 1_000_000) {}

  /** Records the request; false when it was seen before. */
  check(secretId: string, timestamp: number, nonce: string, signature: string, nowMs: number): boolean {
    const key = `${secretId}\n${timestamp}\n${nonce}\n${signature}`;
    const expires = this.seen.get(key);
    if (expires !== undefined && expires > nowMs) return false;
    if (++this.inserts % 4096 === 0 || this.seen.size >= this.maxEntries) this.sweep(nowMs);
    this.seen.set(key, (timestamp + this.windowSeconds) * 1000);
    return true;
  }

  private sweep(nowMs: number): void {
    for (const [k, exp] of this.seen) if (exp <= nowMs) this.seen.delete(k);
    // Still full inside the window: forget the oldest half rather than grow without bound.
    if (this.seen.size >= this.maxEntries) {
      let drop = this.seen.size / 2;
      for (const k of this.seen.keys()) { if (drop-- <= 0) break; this.seen.delete(k); }
    }
  }
}
