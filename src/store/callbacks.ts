/** Callbacks: where an account's events are posted, at its own level (address '') or a sender address's. */
import type { Db } from './db.js';

/** A callback as stored. */
export interface CallbackRow {
  id: number;
  account_id: number;
  address: string;
  url: string;
  secret_sealed: string;
  status: number;
  failing_since: number | null;
  created_at: number;
}

const COLUMNS = 'id, account_id, address, url, secret_sealed, status, failing_since, created_at';

/** Reads and writes callbacks. */
export class CallbackStore {
  constructor(private readonly db: Db) {}

  /**
   * Sets the callback of `address` (''): a new URL gets the new secret `sealed()` makes; the same
   * URL keeps its secret. Either way it is active again (a disabled endpoint set anew is enabled).
   */
  set(accountId: number, address: string, url: string, sealed: () => string, now: number): Promise<CallbackRow> {
    return this.db.tx(async (q) => {
      const old = await q.get<CallbackRow>(`SELECT ${COLUMNS} FROM callbacks WHERE account_id = ? AND address = ?${this.db.dialect.forUpdate}`, [accountId, address]);
      if (old && old.url === url) {
        return (await q.get<CallbackRow>(`UPDATE callbacks SET status = 1, failing_since = NULL WHERE id = ? RETURNING ${COLUMNS}`, [old.id]))!;
      }
      if (old) {
        return (await q.get<CallbackRow>(
          `UPDATE callbacks SET url = ?, secret_sealed = ?, status = 1, failing_since = NULL, created_at = ? WHERE id = ? RETURNING ${COLUMNS}`,
          [url, sealed(), now, old.id]))!;
      }
      return (await q.get<CallbackRow>(
        `INSERT INTO callbacks (account_id, address, url, secret_sealed, created_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account_id, address) DO UPDATE SET url = excluded.url, secret_sealed = excluded.secret_sealed, status = 1, failing_since = NULL
         RETURNING ${COLUMNS}`,
        [accountId, address, url, sealed(), now]))!;
    });
  }

  /** Removes the callback of `address` (''); whether there was one. Events already queued for it are dropped when their turn comes. */
  async remove(accountId: number, address: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM callbacks WHERE account_id = ? AND address = ?', [accountId, address])) > 0;
  }

  /** The account's callbacks, its own level first, then by address. */
  list(accountId: number): Promise<CallbackRow[]> {
    return this.db.all<CallbackRow>(`SELECT ${COLUMNS} FROM callbacks WHERE account_id = ? ORDER BY address`, [accountId]);
  }
}
