/**
 * Values read from the store and kept while its change mark holds (AccountStore.changeMark: the mark
 * moves whenever what they were read from may have changed, in this process or another). Where the
 * store cannot say (a null mark: PostgreSQL), a value is kept only as long as its caller accepts
 * (`staleMs`, none by default), so a caller that must see a change at once always reads afresh.
 */
import { TtlCache, type TtlCacheOptions } from './ttl-cache.js';

export class MarkedCache<K, V> {
  private readonly kept: TtlCache<K, { value: V; mark: string | null; at: number }>;
  /** Loads under way: a caller that would accept what one reads shares it. */
  private readonly loading = new Map<K, { mark: string | null; value: Promise<V> }>();

  constructor(
    opts: TtlCacheOptions,
    private readonly markOf: () => string | null,
    private readonly now: () => number = Date.now,
    /** What a value weighs against opts.maxWeight (its bytes, say). */
    private readonly weigh: (v: V) => number = () => 0,
  ) {
    this.kept = new TtlCache(opts, now);
  }

  /** The kept value, or the one `load` gives (undefined, for "none", is never kept). */
  get(key: K, load: () => Promise<V>, staleMs = 0): Promise<V> {
    // Read before the value: a change committed while it loads moves the mark, so the next call loads again.
    const mark = this.markOf();
    const at = this.now();
    const acceptable = (e: { mark: string | null }): boolean => e.mark === mark && (mark !== null || staleMs > 0);
    const kept = this.kept.get(key);
    if (kept && acceptable(kept) && (mark !== null || at - kept.at < staleMs)) return Promise.resolve(kept.value);
    const pending = this.loading.get(key);
    if (pending && acceptable(pending)) return pending.value;
    const value = load().then((v) => {
      if (v === undefined) this.kept.delete(key);
      else if (mark !== null || staleMs > 0) this.kept.set(key, { value: v, mark, at }, this.weigh(v));
      return v;
    }).finally(() => {
      if (this.loading.get(key)?.value === value) this.loading.delete(key);
    });
    this.loading.set(key, { mark, value });
    return value;
  }
}
