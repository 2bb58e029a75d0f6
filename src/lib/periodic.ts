/**
 * A round of work run at once, then again `everyMs` after each round ends (never two at once, so a
 * slow round delays the next instead of piling up), until stopped. Errors are the round's to handle.
 */
export class Periodic {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly round: () => Promise<void>, private readonly everyMs: number) {}

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
      this.running = this.round().finally(() => { this.running = null; this.schedule(this.everyMs); });
    }, ms);
  }
}

/** A worker job made of rounds on a Periodic: started, stopped, and told when it is stopping. */
export abstract class PeriodicJob {
  private readonly rounds: Periodic;

  constructor(everyMs: number) {
    this.rounds = new Periodic(() => this.round(), everyMs);
  }

  /** One round; errors are its own to handle. */
  protected abstract round(): Promise<void>;

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
