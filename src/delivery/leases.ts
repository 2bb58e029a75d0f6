/**
 * Keeps the leases of the deliveries a worker is working on: renews them every third of a lease,
 * and marks lost those it could not renew (another worker may hold them now, so this one must not
 * send them). Deliveries whose outcome only waits to be written are not renewed: the outcome sets
 * their next attempt.
 */
import type { Logger } from 'pino';
import { Periodic } from '../lib/periodic.js';
import type { DeliveryQueue } from '../store/queue.js';
import type { Flight } from './slots.js';

/** Renews leases in rounds (one at a time: a slow store delays the next round instead of piling them up). */
export class LeaseKeeper {
  private readonly rounds: Periodic;

  constructor(private readonly d: { queue: DeliveryQueue; owner: number; leaseMs: number; held: ReadonlyMap<number, Flight>; log: Logger }) {
    this.rounds = new Periodic(() => this.renew(), Math.max(1000, d.leaseMs / 3));
  }

  start(): void {
    this.rounds.start();
  }

  /** Renews no more, once the round under way (if any) is done. */
  stop(): Promise<void> {
    return this.rounds.stop();
  }

  private async renew(): Promise<void> {
    const ids = [...this.d.held].filter(([, f]) => !f.settled && !f.lost).map(([id]) => id);
    if (ids.length === 0) return;
    try {
      const held = await this.d.queue.renewLeases(ids, this.d.owner, Date.now() + this.d.leaseMs);
      for (const id of ids) {
        const f = this.d.held.get(id);
        if (f && !f.settled && !held.has(id)) f.lost = true;
      }
    } catch (err) {
      this.d.log.error({ err }, 'renewing delivery leases failed');
    }
  }
}
