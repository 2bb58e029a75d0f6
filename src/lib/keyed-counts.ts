/**
 * Counts by key of things in use (connections open, bytes held, attempts under way). Only keys with
 * a count above zero are kept, so the table holds the keys in use now, never every key ever seen.
 */
export class KeyedCounts<K> {
  private readonly counts = new Map<K, number>();

  get(key: K): number {
    return this.counts.get(key) ?? 0;
  }

  /** Adds `n` to the key's count and answers the new count. */
  add(key: K, n = 1): number {
    const count = this.get(key) + n;
    this.counts.set(key, count);
    return count;
  }

  /** Takes `n` from the key's count, forgetting the key when nothing is left. */
  subtract(key: K, n = 1): void {
    const left = this.get(key) - n;
    if (left > 0) this.counts.set(key, left); else this.counts.delete(key);
  }

  /** Keys with a count above zero. */
  get size(): number {
    return this.counts.size;
  }
}
