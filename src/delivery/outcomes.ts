/**
 * Writes delivery outcomes. Outcomes arriving within a few milliseconds are committed in one
 * transaction (under load that saves a commit per delivery), only for deliveries whose lease is
 * still this worker's; a bounce that condemns its address puts it on the account's blocklist in
 * the same transaction. If a batch fails, its outcomes are written one by one, so one bad row
 * cannot sink the others.
 *
 * An outcome that cannot be written (the store restarting, say) is tried again, with growing
 * pauses, for RETRY_FOR_MS: the mail has been sent, and an outcome lost would have it sent again
 * once its lease lapses. Writing late is safe: it lands only while the lease is still this
 * worker's (no other worker claimed the delivery meanwhile).
 */
import type { Logger } from 'pino';
import { retrying, type RetryPolicy } from '../lib/retry.js';
import type { BlocklistService } from '../services/blocklists.js';
import type { ClaimedDelivery, DeliveryQueue, Outcome } from '../store/queue.js';

/** Outcomes arriving within this window are written in one transaction. */
const OUTCOME_BATCH_MS = 5;
/** How long an outcome the store refuses is tried again, and the pauses between tries. */
const RETRY: RetryPolicy = { forMs: 5 * 60_000, firstMs: 200, maxMs: 5_000 };

interface Waiting { c: ClaimedDelivery; outcome: Outcome; resolve: () => void; reject: (e: Error) => void }

/** Batches outcomes into transactions. */
export class OutcomeWriter {
  private waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Closed: no more tries (the worker stopped; what is unwritten is left to its lease). */
  private closed = false;
  private wakeRetries = new Set<() => void>();

  constructor(private readonly d: { queue: DeliveryQueue; blocklists: BlocklistService; owner: number; log: Logger }) {}

  /** Resolves once the outcome is committed (or was not ours to write any more); rejects if it could not be written. */
  write(c: ClaimedDelivery, outcome: Outcome): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ c, outcome, resolve, reject });
      this.timer ??= setTimeout(() => { void this.flush(); }, OUTCOME_BATCH_MS);
    });
  }

  /** Stops trying again: what is still unwritten fails (its lease brings the delivery back). */
  close(): void {
    this.closed = true;
    for (const wake of this.wakeRetries) wake();
  }

  private async flush(): Promise<void> {
    this.timer = null;
    const batch = this.waiting.splice(0);
    if (batch.length === 0) return;
    if (batch.length > 1) {
      try {
        await this.writeBatch(batch);
        for (const b of batch) b.resolve();
        return;
      } catch (err) {
        this.d.log.warn({ err, outcomes: batch.length }, 'writing a batch of outcomes failed; writing them one by one');
      }
    }
    for (const b of batch) {
      try {
        await this.writeOne(b);
        b.resolve();
      } catch (err) {
        b.reject(err as Error);
      }
    }
  }

  /** Writes one outcome, trying again while the store fails (RETRY), until the writer closes. */
  private writeOne(b: Waiting): Promise<void> {
    return retrying(() => this.writeBatch([b]), RETRY, {
      giveUp: () => this.closed,
      onRetry: (err, pause) => this.d.log.warn({ err, delivery: b.c.id, retryInMs: pause }, 'writing an outcome failed; trying again'),
      wait: (ms) => new Promise<void>((resolve) => {
        const wake = (): void => { clearTimeout(t); this.wakeRetries.delete(wake); resolve(); };
        const t = setTimeout(wake, ms);
        this.wakeRetries.add(wake);
      }),
    });
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
