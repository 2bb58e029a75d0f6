/**
 * Counts by key (failed logins, say) that expire `ttlMs` after their last increase, in a table of
 * bounded size that, when full, forgets the lowest counts first, the one longest at its count
 * first among equals. A table that forgot its oldest entries instead could be wiped by whoever
 * fills it: a flood of fresh keys would push out the high counts that hold its sender back. Here,
 * to push out an entry counting n, the whole table must first hold entries counting n or more.
 *
 * Entries sit in one list per count (counts of `top` and more share the last list), each list in
 * the order its entries reached that count; so finding what to forget costs one look at the front
 * of each list, whatever the size of the table.
 */
export interface BoundedCountsOptions {
  ttlMs: number;
  maxEntries: number;
  /** Counts from here on are equal for eviction (e.g. the count at which a lockout begins). */
  top: number;
}

interface Entry { count: number; until: number }

export class BoundedCounts<K> {
  private readonly entries = new Map<K, Entry>();
  /** levels[n]: entries counting n (the last level: `top` and more), in the order they got there. */
  private readonly levels: Map<K, Entry>[];

  constructor(private readonly o: BoundedCountsOptions, private readonly now: () => number = Date.now) {
    this.levels = Array.from({ length: Math.max(1, o.top) + 1 }, () => new Map<K, Entry>());
  }

  /** The live count of `key` (0 when unknown or expired). */
  get(key: K): number {
    return this.live(key)?.count ?? 0;
  }

  /** Adds `n` to the count of `key` and starts its time to live afresh; the new count. */
  add(key: K, n = 1): number {
    let e = this.live(key);
    if (!e) {
      this.makeRoom();
      e = { count: 0, until: 0 };
      this.entries.set(key, e);
    }
    this.unlevel(key, e);
    e.count += n;
    e.until = this.now() + this.o.ttlMs;
    this.level(key, e);
    return e.count;
  }

  /** Takes `n` off the count of `key` (forgetting it at 0); its time to live runs on unchanged. */
  subtract(key: K, n: number): void {
    const e = this.live(key);
    if (!e || n <= 0) return;
    if (e.count <= n) {
      this.remove(key);
      return;
    }
    this.unlevel(key, e);
    e.count -= n;
    this.level(key, e);
  }

  delete(key: K): void {
    this.remove(key);
  }

  /** Entries held now (expired ones not yet dropped included). */
  get size(): number {
    return this.entries.size;
  }

  private live(key: K): Entry | undefined {
    const e = this.entries.get(key);
    if (e && e.until <= this.now()) {
      this.remove(key);
      return undefined;
    }
    return e;
  }

  /** Frees one place when the table is full: expired entries first, then the lowest count. */
  private makeRoom(): void {
    if (this.entries.size < this.o.maxEntries) return;
    const now = this.now();
    // The front of a level is its oldest arrival, most often also its first to expire (an entry
    // that came down after a subtract may expire behind it; it leaves when read, or evicted).
    for (const level of this.levels) {
      for (const [key, e] of level) {
        if (e.until > now) break;
        this.remove(key);
      }
    }
    if (this.entries.size < this.o.maxEntries) return;
    for (const level of this.levels) {
      const first = level.keys().next();
      if (!first.done) {
        this.remove(first.value);
        return;
      }
    }
  }

  private levelOf(e: Entry): Map<K, Entry> {
    return this.levels[Math.min(e.count, this.levels.length - 1)];
  }

  private level(key: K, e: Entry): void {
    this.levelOf(e).set(key, e);
  }

  private unlevel(key: K, e: Entry): void {
    this.levelOf(e).delete(key);
  }

  private remove(key: K): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.unlevel(key, e);
    this.entries.delete(key);
  }
}
