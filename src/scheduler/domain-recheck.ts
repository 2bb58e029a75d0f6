/**
 * The worker's periodic DNS re-check of sender domains. Each round claims the domains that are due
 * (so several workers share the work instead of repeating it) and checks them; rounds repeat while
 * there is more due, then wait for the next tick.
 */
import type { Logger } from 'pino';
import type { IdentityService } from '../services/identities.js';

/** How often the worker looks for due domains. */
const TICK_MS = 30_000;

/** Runs `recheckDue` on a timer until stopped. */
export class DomainRecheck {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly identities: IdentityService, private readonly log: Logger, private readonly batch = 50) {}

  /** Starts the rounds (the first one at once). */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Waits for the round in progress, and runs no more. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.round().finally(() => { this.running = null; this.schedule(TICK_MS); });
    }, ms);
  }

  private async round(): Promise<void> {
    try {
      while (!this.stopped && (await this.identities.recheckDue(Date.now(), this.batch)) === this.batch) { /* more are due */ }
    } catch (err) {
      this.log.error({ err }, 'DNS re-check round failed; retrying at the next tick');
    }
  }
}
