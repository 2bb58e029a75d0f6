/**
 * The worker's periodic DNS re-check of sender domains. Each round claims the domains that are due
 * (so several workers share the work instead of repeating it) and checks them; rounds repeat while
 * there is more due, then wait for the next tick.
 */
import type { Logger } from 'pino';
import { PeriodicJob } from '../lib/periodic.js';
import type { IdentityService } from '../services/identities.js';

/** How often the worker looks for due domains. */
const TICK_MS = 30_000;

/** Runs `recheckDue` on a timer until stopped. */
export class DomainRecheck extends PeriodicJob {
  constructor(private readonly identities: IdentityService, private readonly log: Logger, private readonly batch = 50) {
    super(TICK_MS);
  }

  protected async round(): Promise<void> {
    try {
      while (!this.stopping && (await this.identities.recheckDue(Date.now(), this.batch)) === this.batch) { /* more are due */ }
    } catch (err) {
      this.log.error({ err }, 'DNS re-check round failed; retrying at the next tick');
    }
  }
}
