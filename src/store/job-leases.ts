/**
 * Leases of the periodic jobs (one row per job in `job_leases`): a worker runs a round of a job
 * only while it holds the job's lease, so across every process sharing the store one round of a
 * job runs at a time. A round becomes due `everyMs` after the last one ended, whoever ran it; a
 * lease not renewed lapses, so a crashed holder delays the job by one lease at most.
 *
 * Taking is one conditional UPDATE: on PostgreSQL a concurrent taker waits for the row lock and
 * re-reads the row (READ COMMITTED), so it finds the lease held and takes nothing; SQLite
 * serialises writers anyway.
 */
import type { Db } from './db.js';

/** What taking a job's lease came to. */
export type Taken = { taken: true; round: number } | { taken: false; retryAt: number };

/** A job's lease as stored (for operators and tests). */
export interface JobLeaseRow { job: string; holder: string | null; expires_at: number; next_at: number; rounds: number }

/** The store side of the periodic jobs' leases. */
export class JobLeases {
  constructor(private readonly db: Db) {}

  /**
   * Takes `job`'s lease for `holder` until `now + leaseMs` if no one holds it (or the holder's
   * lease lapsed) and its next round is due; otherwise answers when to ask again.
   */
  async take(job: string, holder: string, now: number, leaseMs: number): Promise<Taken> {
    return this.db.tx(async (q) => {
      await q.run('INSERT INTO job_leases (job, holder, expires_at, next_at, rounds) VALUES (?, NULL, 0, 0, 0) ON CONFLICT (job) DO NOTHING', [job]);
      const got = await q.get<{ rounds: number }>(
        `UPDATE job_leases SET holder = ?, expires_at = ?, rounds = rounds + 1
         WHERE job = ? AND (holder IS NULL OR expires_at <= ?) AND next_at <= ? RETURNING rounds`,
        [holder, now + leaseMs, job, now, now],
      );
      if (got) return { taken: true, round: Number(got.rounds) };
      const row = await q.get<{ holder: string | null; expires_at: number; next_at: number }>('SELECT holder, expires_at, next_at FROM job_leases WHERE job = ?', [job]);
      const heldUntil = row?.holder === null ? 0 : Number(row?.expires_at ?? 0);
      return { taken: false, retryAt: Math.max(Number(row?.next_at ?? 0), heldUntil) };
    });
  }

  /** Extends `holder`'s lease of `job` to `until`; false when it is not `holder`'s any more. */
  async renew(job: string, holder: string, until: number): Promise<boolean> {
    return (await this.db.run('UPDATE job_leases SET expires_at = ? WHERE job = ? AND holder = ?', [until, job, holder])) === 1;
  }

  /** Ends `holder`'s round of `job`: the lease is free, and the next round due at `nextAt`. */
  async release(job: string, holder: string, nextAt: number): Promise<void> {
    await this.db.run('UPDATE job_leases SET holder = NULL, expires_at = 0, next_at = ? WHERE job = ? AND holder = ?', [nextAt, job, holder]);
  }

  /** Every job's lease. */
  list(): Promise<JobLeaseRow[]> {
    return this.db.all<JobLeaseRow>('SELECT job, holder, expires_at, next_at, rounds FROM job_leases ORDER BY job');
  }
}
