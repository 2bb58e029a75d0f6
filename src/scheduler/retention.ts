/**
 * The worker's retention job: a round at start, then one every ROUND_EVERY_MS. Each round removes
 * what retention allows a chunk at a time, pausing after each chunk PAUSE_FACTOR times as long as
 * it took (and at least MIN_PAUSE_MS): the job holds the store for one chunk at most (a few
 * milliseconds), takes about a fifth of its time at most, and slows down by itself when the store
 * is busy (a chunk then takes longer), so sending goes on at its pace. On SQLite this matters
 * twice: a chunk also holds the event loop while it runs. Under the job's lease (job-lease.ts) one
 * worker of the cluster runs a round at a time (each chunk is idempotent all the same, so a round
 * whose lease lapsed mid-chunk does no harm); rounds are cheap when there is nothing to do.
 */
import type { Logger } from 'pino';
import { Periodic } from '../lib/periodic.js';
import type { RetentionService } from '../services/retention.js';
import type { JobLease } from './job-lease.js';

/** How often a round runs. Statuses become deletable a day at a time; the sweep of content the outcome writer could not free needs no more. */
export const RETENTION_EVERY_MS = 10 * 60_000;
/** The pause after a chunk, as a multiple of how long it took, and at least. */
const PAUSE_FACTOR = 4;
const MIN_PAUSE_MS = 50;
/** A long round (the first after an upgrade, or after a busy day) says how far it got this often. */
const PROGRESS_EVERY_MS = 60_000;

/** Runs retention rounds on a timer until stopped. */
export class RetentionJob {
  private readonly rounds: Periodic;
  private wake: (() => void) | null = null;

  constructor(private readonly retention: RetentionService, private readonly log: Logger, private readonly lease?: JobLease, everyMs = RETENTION_EVERY_MS) {
    this.rounds = new Periodic(() => (this.lease ? this.lease.round((lost) => this.round(lost)) : this.round(() => false)), everyMs);
  }

  /** Starts the rounds (the first one at once). */
  start(): void {
    this.rounds.start();
  }

  /** Ends the round in progress after its current chunk, and runs no more. */
  async stop(): Promise<void> {
    const stopped = this.rounds.stop();
    this.wake?.();
    await stopped;
  }

  private async round(lost: () => boolean): Promise<void> {
    const t0 = performance.now();
    let said = t0;
    try {
      const counts = await this.retention.round(Date.now(), (chunkMs, soFar) => {
        if (performance.now() - said > PROGRESS_EVERY_MS) {
          said = performance.now();
          this.log.info({ ...soFar, ms: Math.round(said - t0) }, 'retention round in progress');
        }
        // A lease that passed to another worker ends this round (the other goes on from here).
        return lost() ? Promise.resolve(false) : this.pause(Math.max(MIN_PAUSE_MS, PAUSE_FACTOR * chunkMs));
      });
      if (Object.values(counts).some((n) => n > 0)) {
        this.log.info({ ...counts, ms: Math.round(performance.now() - t0), complete: !this.rounds.stopping }, 'retention round: old rows deleted, finished content freed');
      }
    } catch (err) {
      this.log.error({ err }, 'retention round failed; retrying at the next one');
    }
  }

  /** Waits `ms` (cut short by stop()); whether to go on. */
  private pause(ms: number): Promise<boolean> {
    if (this.rounds.stopping) return Promise.resolve(false);
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.wake = null; resolve(!this.rounds.stopping); }, ms);
      this.wake = () => { clearTimeout(t); this.wake = null; resolve(false); };
    });
  }
}
