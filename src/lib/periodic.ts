/**
 * A round of work run at once, then again `everyMs` after each round ends (never two at once, so a
 * slow round delays the next instead of piling up), until stopped. A round may answer another wait
 * in milliseconds (it knows when the next is due). Errors are the round's to handle.
 */
export class Periodic {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly round: () => Promise<void | number>, private readonly everyMs: number) {}

  /** Whether stop() was called: a long round checks it between its steps. */
  get stopping(): boolean {
    return this.stopped;
  }

  /** Starts the rounds (the first one at once). */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Runs no more rounds, and waits for the one in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      let next = this.everyMs;
      this.running = this.round()
        .then((ms) => { if (typeof ms === 'number') next = ms; })
        // Rounds handle their errors; one that throws anyway must not end the process (an
        // unhandled rejection) nor the rounds.
        .catch(() => undefined)
        .finally(() => { this.running = null; this.schedule(next); });
    }, ms);
  }
}

/** A worker job made of rounds on a Periodic: started, stopped, and told when it is stopping. */
export abstract class PeriodicJob {
  private readonly rounds: Periodic;

  constructor(everyMs: number) {
    this.rounds = new Periodic(() => this.round(), everyMs);
  }

  /** One round; errors are its own to handle. It may answer the wait before the next. */
  protected abstract round(): Promise<void | number>;

  /** Whether stop() was called: a long round checks it between its steps. */
  protected get stopping(): boolean {
    return this.rounds.stopping;
  }

  /** Starts the rounds (the first one at once). */
  start(): void {
    this.rounds.start();
  }

  /** Waits for the round in progress, and runs no more. */
  stop(): Promise<void> {
    return this.rounds.stop();
  }
}
