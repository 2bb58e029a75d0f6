/**
 * The reputation level of sender domains as the rules move it (services/reputation.ts). Every write
 * is conditional on what the caller read, so workers that apply the rules at once (PostgreSQL, many
 * processes) move a level once.
 */
import type { Db } from './db.js';

/** A verified domain as the rules see it. */
export interface ReputationRow {
  id: number;
  account_id: number;
  name: string;
  reputation_level: number;
  blocked_day: string;
  judged_day: string;
}

/** Rows per page of verifiedAfter. */
const PAGE = 500;

/** Reads and moves reputation levels. */
export class ReputationStore {
  constructor(private readonly db: Db) {}

  /** The next page of verified domains after id `after`, in id order. */
  verifiedAfter(after: number, limit = PAGE): Promise<ReputationRow[]> {
    return this.db.all<ReputationRow>(
      'SELECT id, account_id, name, reputation_level, blocked_day, judged_day FROM domains WHERE verified = 1 AND id > ? ORDER BY id LIMIT ?', [after, limit]);
  }

  /** Sets the level to `to` if it is still `from`; whether it changed. */
  async setLevel(id: number, from: number, to: number): Promise<boolean> {
    return (await this.db.run('UPDATE domains SET reputation_level = ? WHERE id = ? AND reputation_level = ?', [to, id, from])) > 0;
  }

  /** Blocks the domain for `day` unless it already is; whether this blocked it. */
  async block(id: number, day: string): Promise<boolean> {
    return (await this.db.run('UPDATE domains SET blocked_day = ? WHERE id = ? AND blocked_day <> ?', [day, id, day])) > 0;
  }

  /**
   * Records that `day`'s counters were judged, moving the level from `from` to `to` with it, unless
   * a day that late was judged already; whether this did it.
   */
  async judge(id: number, day: string, from: number, to: number): Promise<boolean> {
    return (await this.db.run(
      'UPDATE domains SET judged_day = ?, reputation_level = ? WHERE id = ? AND judged_day < ? AND reputation_level = ?', [day, to, id, day, from])) > 0;
  }
}
