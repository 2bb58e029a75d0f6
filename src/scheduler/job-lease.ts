/**
 * One round of a periodic job at a time across every worker sharing the store: a round runs only
 * under the job's lease (store/job-leases.ts), renewed while it runs, released when it ends with
 * the next round due `everyMs` later. Each round is logged with the job, the holder and its
 * process id, and when it started and ended, so an operator (or a test) can see who ran what.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Taken } from '../store/job-leases.js';
import type { JobName } from '../domain/periodic-jobs.js';

/** What a job's lease needs of the store. */
export interface LeaseStore {
  take(job: string, holder: string, now: number, leaseMs: number): Promise<Taken>;
  renew(job: string, holder: string, until: number): Promise<boolean>;
  release(job: string, holder: string, nextAt: number): Promise<void>;
}

/** How a job's rounds are spaced and leased. */
export interface JobLeasePolicy {
  /** A round is due this long after the last one ended, whichever worker ran it. */
  everyMs: number;
  /** The lease of a round, renewed every third of it while the round runs. */
  leaseMs: number;
}

/** After a failure to reach the store, asking again waits this long at most. */
const STORE_RETRY_MS = 5_000;
/** A worker that just lost the race asks again no sooner than this (a clock step between workers costs no more). */
const MIN_WAIT_MS = 50;

/**
 * This process's name as a holder: host and process id (for people), and a random part, since a
 * restarted container often gets the process id its predecessor had.
 */
export const HOLDER = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;

/** Runs rounds of one job under its lease. */
export class JobLease {
  constructor(
    private readonly store: LeaseStore,
    private readonly job: JobName,
    private readonly policy: JobLeasePolicy,
    private readonly log: Logger,
    private readonly holder = HOLDER,
  ) {}

  /**
   * Runs `work` if this worker gets the lease (`lost()` tells it the lease passed to another, so a
   * long round can stop between steps); answers how long to wait before asking again.
   */
  async round(work: (lost: () => boolean) => Promise<void>): Promise<number> {
    const { job, holder } = this;
    const { everyMs, leaseMs } = this.policy;
    let taken: Taken;
    try {
      taken = await this.store.take(job, holder, Date.now(), leaseMs);
    } catch (err) {
      this.log.error({ err, job }, 'taking a periodic job\'s lease failed (the store is unreachable?); asking again');
      return Math.min(everyMs, STORE_RETRY_MS);
    }
    if (!taken.taken) return Math.min(everyMs, Math.max(MIN_WAIT_MS, taken.retryAt - Date.now()));
    const startedAt = Date.now();
    let lost = false;
    let renewing = true;
    let timer: NodeJS.Timeout | undefined;
    // Renewals one after the other, never piled up behind a slow store.
    const renew = async (): Promise<void> => {
      try {
        if (!(await this.store.renew(job, holder, Date.now() + leaseMs))) lost = true;
      } catch (err) {
        this.log.warn({ err, job }, 'renewing a periodic job\'s lease failed; trying again');
      }
      if (renewing && !lost) timer = setTimeout(() => { void renew(); }, leaseMs / 3);
    };
    timer = setTimeout(() => { void renew(); }, leaseMs / 3);
    try {
      await work(() => lost);
    } finally {
      renewing = false;
      clearTimeout(timer);
    }
    const endedAt = Date.now();
    try {
      await this.store.release(job, holder, endedAt + everyMs);
    } catch (err) {
      this.log.warn({ err, job }, 'releasing a periodic job\'s lease failed; it lapses by itself');
    }
    this.log.info({ job, holder, holderPid: process.pid, round: taken.round, startedAt, endedAt, lost }, 'periodic job round');
    return everyMs;
  }
}
