/**
 * Since when a change mark (Db.changeMark) has held, as this process has seen it. A check of what
 * the mark covers, made after that time, still holds now: the delivery worker uses it to skip
 * reading again what acceptance checked moments before.
 */
export class ChangeWatch {
  private mark: string | null = null;
  private since = Infinity;
  /** The latest time the clock has shown, and the time it showed last: a step back is taken as a change. */
  private latest = -Infinity;
  private last = -Infinity;

  constructor(private readonly markOf: () => string | null, private readonly now: () => number = Date.now) {}

  /**
   * Whether nothing the mark covers can have changed since `at` (a time of this machine's clock,
   * from which a check began). Without a mark (PostgreSQL) the answer is always no.
   */
  unchangedSince(at: number): boolean {
    const mark = this.markOf();
    const now = this.now();
    const steppedBack = now < this.last;
    this.last = now;
    this.latest = Math.max(this.latest, now);
    if (mark === null || mark !== this.mark || steppedBack) {
      this.mark = mark;
      this.since = mark === null ? Infinity : this.latest;
      return false;
    }
    return at > this.since;
  }
}
