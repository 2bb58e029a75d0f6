/**
 * A budget of bytes shared by concurrent work: each piece takes its size before it starts and gives
 * it back when done, waiting (in order) while the budget is spent. A piece larger than the whole
 * budget still runs, alone, so nothing waits for ever.
 */
export class ByteBudget {
  private used = 0;
  private readonly waiting: { bytes: number; go: () => void }[] = [];

  constructor(private readonly total: number) {}

  /** Waits until `bytes` fit, takes them, and answers the function that gives them back (once). */
  async take(bytes: number): Promise<() => void> {
    const size = Math.min(Math.max(0, bytes), this.total);
    if (this.waiting.length > 0 || this.used + size > this.total) {
      await new Promise<void>((go) => this.waiting.push({ bytes: size, go }));
    } else {
      this.used += size;
    }
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.used -= size;
      this.admit();
    };
  }

  /** Bytes taken now. */
  get inUse(): number {
    return this.used;
  }

  private admit(): void {
    while (this.waiting.length > 0 && this.used + this.waiting[0].bytes <= this.total) {
      const next = this.waiting.shift()!;
      this.used += next.bytes;
      next.go();
    }
  }
}
