/**
 * The daily send counters: mails counted against a sender domain's quota, per day in
 * SESAME_TIMEZONE (`send_counts`). The counter row of a domain's day is also what serialises that
 * domain's acceptances, so checks made after taking it (quota, frequency) cannot race.
 */
import type { Db, Queryable } from './db.js';

/** Reads and moves the counters; the `q` methods run in the caller's transaction. */
export class SendCounts {
  constructor(private readonly db: Db) {}

  /** Adds `n` to the domain's day (creating its row), locking it until the transaction ends; the new total. */
  async add(q: Queryable, accountId: number, domainId: number, day: string, n: number): Promise<number> {
    const row = await q.get<{ sent: number }>(
      `INSERT INTO send_counts (account_id, domain_id, day, sent) VALUES (?, ?, ?, ?)
       ON CONFLICT (domain_id, day) DO UPDATE SET sent = send_counts.sent + excluded.sent RETURNING sent`,
      [accountId, domainId, day, n],
    );
    return row?.sent ?? 0;
  }

  /** The domain's count for the day, its row created if need be and locked until the transaction ends. */
  lock(q: Queryable, accountId: number, domainId: number, day: string): Promise<number> {
    return this.add(q, accountId, domainId, day, 0);
  }

  /** How many mails were counted against the domain on `day`. */
  async sentOn(domainId: number, day: string): Promise<number> {
    return (await this.db.get<{ sent: number }>('SELECT sent FROM send_counts WHERE domain_id = ? AND day = ?', [domainId, day]))?.sent ?? 0;
  }
}
