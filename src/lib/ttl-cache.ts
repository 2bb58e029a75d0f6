/**
 * A small in-memory cache whose entries expire a while after they are stored, bounded both in
 * entries and in weight (the caller says what an entry weighs, e.g. its bytes). Entries sit in
 * insertion order, which with one time-to-live is also expiry order, so expired and oldest entries
 * leave from the front whenever one is stored; an entry with a shorter life of its own leaves when
 * read after it, or when room is needed.
 */
export interface TtlCacheOptions {
  ttlMs: number;
  maxEntries: number;
  /** Total weight kept at most; an entry heavier than this is not kept at all. */
  maxWeight?: number;
}

export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; until: number; weight: number }>();
  /** Loads in progress: callers that miss while one runs share it (no stampede). */
  private readonly loading = new Map<K, Promise<V>>();
  private weight = 0;

  constructor(private readonly opts: TtlCacheOptions, private readonly now: () => number = Date.now) {}

  get(key: K): V | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until <= this.now()) {
      this.remove(key);
      return undefined;
    }
    return e.value;
  }

  set(key: K, value: V, weight = 0, ttlMs = this.opts.ttlMs): void {
    this.remove(key);
    const max = this.opts.maxWeight ?? Infinity;
    if (weight > max) return;
    this.evict(this.opts.maxEntries - 1, max - weight);
    this.entries.set(key, { value, until: this.now() + ttlMs, weight });
    this.weight += weight;
  }

  /**
   * The cached value, or the one `load` gives (stored with the weight and life `keep` says, or not
   * at all when it says `false`); concurrent misses of one key share a single load. A failed load is
   * not kept.
   */
  load(key: K, load: () => Promise<V>, keep: (v: V) => { weight?: number; ttlMs?: number } | false = () => ({})): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) return Promise.resolve(hit);
    let pending = this.loading.get(key);
    if (!pending) {
      pending = load().then((v) => {
        const k = keep(v);
        if (k !== false) this.set(key, v, k.weight, k.ttlMs);
        return v;
      }).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  delete(key: K): void {
    this.remove(key);
  }

  /** Entries and total weight held now. */
  get size(): { entries: number; weight: number } {
    return { entries: this.entries.size, weight: this.weight };
  }

  /** Drops expired entries, then the oldest until at most `entries` and `weight` remain. */
  private evict(entries: number, weight: number): void {
    const now = this.now();
    for (const [key, e] of this.entries) {
      if (e.until > now && this.entries.size <= entries && this.weight <= weight) break;
      this.remove(key);
    }
  }

  private remove(key: K): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.weight -= e.weight;
  }
}
