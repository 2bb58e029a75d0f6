/**
 * Writes delivery outcomes. Outcomes arriving within a few milliseconds are committed in one
 * transaction (under load that saves a commit per delivery), only for deliveries whose lease is
 * still this worker's; a bounce that condemns its address puts it on the account's blocklist in
 * the same transaction. If a batch fails, its outcomes are written one by one, so one bad row
 * cannot sink the others.
 */
import type { Logger } from 'pino';
import type { BlocklistService } from '../services/blocklists.js';
import type { ClaimedDelivery, DeliveryQueue, Outcome } from '../store/queue.js';

/** Outcomes arriving within this window are written in one transaction. */
const OUTCOME_BATCH_MS = 5;

interface Waiting { c: ClaimedDelivery; outcome: Outcome; resolve: () => void; reject: (e: Error) => void }

/** Batches outcomes into transactions. */
export class OutcomeWriter {
  private waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly d: { queue: DeliveryQueue; blocklists: BlocklistService; owner: number; log: Logger }) {}

  /** Resolves once the outcome is committed (or was not ours to write any more); rejects if it could not be written. */
  write(c: ClaimedDelivery, outcome: Outcome): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ c, outcome, resolve, reject });
      this.timer ??= setTimeout(() => { void this.flush(); }, OUTCOME_BATCH_MS);
    });
  }

  private async flush(): Promise<void> {
    this.timer = null;
    const batch = this.waiting.splice(0);
    if (batch.length === 0) return;
    try {
      await this.writeBatch(batch);
      for (const b of batch) b.resolve();
      return;
    } catch (err) {
      if (batch.length === 1) { batch[0].reject(err as Error); return; }
      this.d.log.warn({ err, outcomes: batch.length }, 'writing a batch of outcomes failed; writing them one by one');
    }
    for (const b of batch) {
      try {
        await this.writeBatch([b]);
        b.resolve();
      } catch (err) {
        b.reject(err as Error);
      }
    }
  }

  private async writeBatch(batch: readonly Waiting[]): Promise<void> {
    const byId = new Map(batch.map((b) => [b.c.id, b]));
    const notHeld = await this.d.queue.recordOutcomes(batch.map((b) => ({ id: b.c.id, outcome: b.outcome })), this.d.owner, async (q, recorded) => {
      for (const id of recorded) {
        const b = byId.get(id)!;
        if (b.outcome.kind === 'bounced' && b.outcome.blocklist) {
          await this.d.blocklists.recordHardBounce(b.c.account_id, b.c.recipient, b.outcome.reply, Date.now(), q);
        }
      }
    });
    if (notHeld.length) {
      this.d.log.warn({ deliveries: notHeld }, 'outcomes not recorded: the lease had passed to another worker, whose outcome counts');
    }
  }
}
