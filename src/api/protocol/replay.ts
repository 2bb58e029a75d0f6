/**
 * v1 replay protection. A v1 signature covers the Timestamp and the Nonce, so the signature bytes
 * identify one signed request: once seen inside the validity window, the same signature is refused.
 * (Keying on the Nonce alone would refuse honest requests: SDKs draw it from 0–65535, so two
 * different requests in the same second may share one.) The caller passes the decoded bytes, so
 * another spelling of the same signature is the same key.
 */

/** Remembers signatures until their timestamp leaves the validity window. */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  private inserts = 0;

  constructor(private readonly windowSeconds: number, private readonly maxEntries = 1_000_000) {}

  /** Records the request; false when it was seen before. */
  check(secretId: string, signature: Buffer, timestamp: number, nowMs: number): boolean {
    const key = `${secretId}\n${signature.toString('hex')}`;
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
