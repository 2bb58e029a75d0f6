/**
 * The worker's reputation job (SESAME_DAILY_QUOTA=reputation): a pass of the rules over every
 * verified sender domain each minute, so a domain that earns a higher level gets it within a
 * minute, and one that crosses a blocking threshold is stopped as fast. Under the job's lease
 * (job-lease.ts) one worker of the cluster runs a pass at a time.
 */
import type { Logger } from 'pino';
import { PeriodicJob } from '../lib/periodic.js';
import type { ReputationService } from '../services/reputation.js';
import type { JobLease } from './job-lease.js';

/** How often the rules are applied. */
export const REPUTATION_TICK_MS = 60_000;

/** Runs reputation passes on a timer until stopped. */
export class ReputationJob extends PeriodicJob {
  constructor(private readonly reputation: ReputationService, private readonly log: Logger, private readonly lease?: JobLease, tickMs = REPUTATION_TICK_MS) {
    super(tickMs);
  }

  protected round(): Promise<void | number> {
    return this.lease ? this.lease.round((lost) => this.pass(lost)) : this.pass(() => false);
  }

  private async pass(lost: () => boolean): Promise<void> {
    try {
      const r = await this.reputation.pass(Date.now(), () => this.stopping || lost());
      if (r.raised || r.lowered || r.blocked) this.log.info(r, 'reputation pass');
    } catch (err) {
      this.log.error({ err }, 'reputation pass failed; retrying at the next tick');
    }
  }
}
