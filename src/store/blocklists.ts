/**
 * The two blocklists of an account: addresses that hard-bounced (filled by delivery, expiring after
 * a while) and addresses the account listed itself (expiring on a date, or never).
 */
import type { Db, Param, Queryable } from './db.js';
import { containsSql, likePattern } from './sql.js';
import { storableText } from '../lib/text.js';

/** A hard-bounced address. */
export interface BounceRow {
  id: number;
  email: string;
  reason: string;
  bounced_at: number;
  expires_at: number;
}

/** An address on the account's own blocklist. */
export interface CustomRow {
  id: number;
  email: string;
  /** `YYYY-MM-DD`, the last day it applies; null: for ever. */
  expire_date: string | null;
  created_at: number;
}

/** Rows per multi-row INSERT (a few parameters each, well below both engines' limits). */
const INSERT_CHUNK = 500;

/** Reads and writes both blocklists. */
export class BlocklistStore {
  constructor(private readonly db: Db) {}

  /** Moves whenever these rows may have changed (Db.changeMark). */
  changeMark(): string | null {
    return this.db.changeMark(['bounce_blocklist', 'custom_blocklist']);
  }

  /**
   * Lists (or re-lists) an address after a hard bounce; in the caller's transaction `q` if given.
   * The reason is a remote server's reply: cleaned of what the stores cannot hold (NUL) and bounded.
   */
  async recordBounce(accountId: number, email: string, reason: string, at: number, expiresAt: number, q: Queryable = this.db): Promise<void> {
    await q.run(
      `INSERT INTO bounce_blocklist (account_id, email, reason, bounced_at, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (account_id, email) DO UPDATE SET reason = excluded.reason, bounced_at = excluded.bounced_at, expires_at = excluded.expires_at`,
      [accountId, email, storableText(reason), at, expiresAt],
    );
  }

  /** Addresses among `emails` that are blocked now, by either list. */
  async blocked(accountId: number, emails: readonly string[], now: number, today: string): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < emails.length; i += INSERT_CHUNK) {
      const chunk = emails.slice(i, i + INSERT_CHUNK);
      const marks = chunk.map(() => '?').join(', ');
      const rows = await this.db.all<{ email: string }>(
        `SELECT email FROM bounce_blocklist WHERE account_id = ? AND expires_at > ? AND email IN (${marks})
         UNION SELECT email FROM custom_blocklist WHERE account_id = ? AND (expire_date IS NULL OR expire_date >= ?) AND email IN (${marks})`,
        [accountId, now, ...chunk, accountId, today, ...chunk],
      );
      for (const r of rows) out.add(r.email);
    }
    return out;
  }

  /** Hard bounces between two instants, optionally only addresses containing `email`; newest first. */
  async listBounces(accountId: number, f: { from: number; to: number; email?: string; now: number; limit: number; offset: number }): Promise<{ rows: BounceRow[]; total: number }> {
    const where = ['account_id = ?', 'expires_at > ?', 'bounced_at >= ?', 'bounced_at < ?'];
    const params: Param[] = [accountId, f.now, f.from, f.to];
    if (f.email) { where.push(containsSql(this.db.dialect, 'email')); params.push(likePattern(f.email)); }
    const cond = where.join(' AND ');
    const total = await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM bounce_blocklist WHERE ${cond}`, params);
    const rows = await this.db.all<BounceRow>(
      `SELECT id, email, reason, bounced_at, expires_at FROM bounce_blocklist WHERE ${cond} ORDER BY bounced_at DESC, id DESC LIMIT ? OFFSET ?`,
      [...params, f.limit, f.offset],
    );
    return { rows, total: total?.n ?? 0 };
  }

  /** Takes addresses off the bounce list; returns how many were on it. */
  async deleteBounces(accountId: number, emails: readonly string[]): Promise<number> {
    return this.deleteIn('bounce_blocklist', accountId, emails);
  }

  /** Adds addresses to the account's own list; returns those that were not on it yet. */
  addCustom(accountId: number, emails: readonly string[], expireDate: string | null, now: number): Promise<Set<string>> {
    // Always in the same order, so two concurrent calls take the index's locks in the same order
    // (PostgreSQL would otherwise find a deadlock between them).
    const sorted = [...emails].sort();
    return this.db.tx(async (q) => {
      const added = new Set<string>();
      for (let i = 0; i < sorted.length; i += INSERT_CHUNK) {
        const chunk = sorted.slice(i, i + INSERT_CHUNK);
        const rows = await q.all<{ email: string }>(
          `INSERT INTO custom_blocklist (account_id, email, expire_date, created_at) VALUES ${chunk.map(() => '(?, ?, ?, ?)').join(', ')}
           ON CONFLICT (account_id, email) DO NOTHING RETURNING email`,
          chunk.flatMap((e) => [accountId, e, expireDate, now]),
        );
        for (const r of rows) added.add(r.email);
      }
      return added;
    });
  }

  /** Changes one entry's address and expiry. */
  async updateCustom(accountId: number, id: number, email: string, expireDate: string | null): Promise<'updated' | 'missing' | 'duplicate'> {
    const clash = (): Promise<{ id: number } | undefined> =>
      this.db.get<{ id: number }>('SELECT id FROM custom_blocklist WHERE account_id = ? AND email = ? AND id <> ?', [accountId, email, id]);
    if (await clash()) return 'duplicate';
    try {
      const changed = await this.db.run('UPDATE custom_blocklist SET email = ?, expire_date = ? WHERE account_id = ? AND id = ?', [email, expireDate, accountId, id]);
      return changed > 0 ? 'updated' : 'missing';
    } catch (e) {
      // Another call listed the same address meanwhile: the unique index decided.
      if (await clash()) return 'duplicate';
      throw e;
    }
  }

  /** Takes addresses off the account's own list; returns how many were on it. */
  deleteCustom(accountId: number, emails: readonly string[]): Promise<number> {
    return this.deleteIn('custom_blocklist', accountId, emails);
  }

  /** A page of the account's own list: all, only active (`today` or later, or for ever), or only expired. */
  async listCustom(accountId: number, f: { status: 'all' | 'active' | 'expired'; email?: string; today: string; limit: number; offset: number }): Promise<{ rows: CustomRow[]; total: number }> {
    const where = ['account_id = ?'];
    const params: Param[] = [accountId];
    if (f.status === 'active') { where.push('(expire_date IS NULL OR expire_date >= ?)'); params.push(f.today); }
    if (f.status === 'expired') { where.push('expire_date < ?'); params.push(f.today); }
    if (f.email) { where.push(containsSql(this.db.dialect, 'email')); params.push(likePattern(f.email)); }
    const cond = where.join(' AND ');
    const total = await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM custom_blocklist WHERE ${cond}`, params);
    const rows = await this.db.all<CustomRow>(
      `SELECT id, email, expire_date, created_at FROM custom_blocklist WHERE ${cond} ORDER BY id DESC LIMIT ? OFFSET ?`,
      [...params, f.limit, f.offset],
    );
    return { rows, total: total?.n ?? 0 };
  }

  private deleteIn(table: 'bounce_blocklist' | 'custom_blocklist', accountId: number, emails: readonly string[]): Promise<number> {
    const sorted = [...emails].sort();
    return this.db.tx(async (q) => {
      let n = 0;
      for (let i = 0; i < sorted.length; i += INSERT_CHUNK) {
        const chunk = sorted.slice(i, i + INSERT_CHUNK);
        n += await q.run(`DELETE FROM ${table} WHERE account_id = ? AND email IN (${chunk.map(() => '?').join(', ')})`, [accountId, ...chunk]);
      }
      return n;
    });
  }
}
