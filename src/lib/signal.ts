/** A one-way notice between parts of one process (for example "mail was accepted" → the delivery worker). */
export class Signal {
  private readonly listeners = new Set<() => void>();

  /** Calls `fn` on every notice until the returned function is called. */
  on(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Tells every listener. */
  notify(): void {
    for (const fn of this.listeners) fn();
  }
}
