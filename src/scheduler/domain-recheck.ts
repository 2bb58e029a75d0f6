/**
 * The worker's periodic DNS re-check of sender domains. Each round claims the domains that are due
 * and checks them; rounds repeat while there is more due, then wait for the next tick. Under the
 * job's lease (job-lease.ts) one worker of the cluster runs a round at a time.
 */
import type { Logger } from 'pino';
import { PeriodicJob } from '../lib/periodic.js';
import type { IdentityService } from '../services/identities.js';
import type { JobLease } from './job-lease.js';

/** How often the worker looks for due domains. */
export const DNS_RECHECK_TICK_MS = 30_000;

/** Runs `recheckDue` on a timer until stopped. */
export class DomainRecheck extends PeriodicJob {
  constructor(
    private readonly identities: IdentityService,
    private readonly log: Logger,
    private readonly lease?: JobLease,
    tickMs = DNS_RECHECK_TICK_MS,
    private readonly batch = 50,
  ) {
    super(tickMs);
  }

  protected round(): Promise<void | number> {
    return this.lease ? this.lease.round((lost) => this.recheck(lost)) : this.recheck(() => false);
  }

  private async recheck(lost: () => boolean): Promise<void> {
    try {
      while (!this.stopping && !lost() && (await this.identities.recheckDue(Date.now(), this.batch)) === this.batch) { /* more are due */ }
    } catch (err) {
      this.log.error({ err }, 'DNS re-check round failed; retrying at the next tick');
    }
  }
}
