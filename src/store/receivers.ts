/**
 * Recipient groups and their addresses, always read and written within one account. An upload
 * marks its group as uploading in one transaction and writes the addresses in a second, so the
 * state is visible while it lasts and a second upload to the same group is refused meanwhile; the
 * mark has an end time, so an upload cut short by a crash does not hold the group for ever.
 */
import type { Db, Param, Queryable } from './db.js';
import { containsSql, likePattern } from './sql.js';

/** ReceiversStatus values. */
export const ReceiverStatus = { Empty: 1, Uploading: 2, Uploaded: 3 } as const;

/** A recipient group as stored. */
export interface ReceiverRow {
  id: number;
  account_id: number;
  name: string;
  description: string;
  status: number;
  upload_until: number | null;
  data_keys: string | null;
  count: number;
  invalid_count: number;
  created_at: number;
}

/** An address of a group as stored. */
export interface ReceiverDetailRow {
  id: number;
  email: string;
  template_data: string | null;
  status: number;
  reason: string;
  created_at: number;
}

/** An address being added: valid (status 1) or kept as invalid with its reason (status 2). */
export interface NewDetail { email: string; templateData: string | null; status: 1 | 2; reason: string }

/** Filters of a page of addresses. */
export interface DetailFilter { email?: string; status?: number; from?: number; to?: number; limit: number; offset: number }

const COLUMNS = 'id, account_id, name, description, status, upload_until, data_keys, count, invalid_count, created_at';
/** Rows per INSERT: 500 × 7 parameters stays far below either engine's limit. */
const INSERT_CHUNK = 500;

/** Reads and writes recipient groups. */
export class ReceiverStore {
  constructor(private readonly db: Db) {}

  /** Creates a group unless the account has `limit` already; its id, 'limit', or 'duplicate' (the name is taken). */
  create(accountId: number, name: string, description: string, limit: number, now: number): Promise<number | 'limit' | 'duplicate'> {
    return this.db.tx(async (q) => {
      // Serialises the account's creations, so the limit cannot be raced past.
      await q.get(`SELECT id FROM accounts WHERE id = ?${this.db.dialect.forUpdate}`, [accountId]);
      const n = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM receivers WHERE account_id = ?', [accountId]);
      if ((n?.n ?? 0) >= limit) return 'limit';
      if (await q.get('SELECT id FROM receivers WHERE account_id = ? AND name = ?', [accountId, name])) return 'duplicate';
      const row = await q.get<{ id: number }>(
        'INSERT INTO receivers (account_id, name, description, created_at) VALUES (?, ?, ?, ?) RETURNING id',
        [accountId, name, description, now],
      );
      if (!row) throw new Error('receiver insert returned nothing');
      return row.id;
    });
  }

  /** One group of the account. */
  get(accountId: number, id: number): Promise<ReceiverRow | undefined> {
    return this.db.get<ReceiverRow>(`SELECT ${COLUMNS} FROM receivers WHERE account_id = ? AND id = ?`, [accountId, id]);
  }

  /**
   * Marks a group as uploading until `until`, unless `refuse` (given the locked row) names a reason
   * not to: that reason, null once marked, or undefined when the account has no such group.
   */
  beginUpload<R>(accountId: number, id: number, until: number, refuse: (r: ReceiverRow) => R | null): Promise<R | null | undefined> {
    return this.db.tx(async (q) => {
      const r = await q.get<ReceiverRow>(`SELECT ${COLUMNS} FROM receivers WHERE account_id = ? AND id = ?${this.db.dialect.forUpdate}`, [accountId, id]);
      if (!r) return undefined;
      const reason = refuse(r);
      if (reason !== null) return reason;
      await q.run('UPDATE receivers SET status = ?, upload_until = ? WHERE id = ?', [ReceiverStatus.Uploading, until, id]);
      return null;
    });
  }

  /**
   * Adds addresses to a group marked as uploading (an address already in the group is not added
   * again), updates its counts and data keys, and ends the upload: all in one transaction. Returns
   * how many valid and invalid addresses were added, or null when the group no longer carries this
   * upload's mark (`mark`, its end time).
   */
  finishUpload(accountId: number, id: number, mark: number, details: readonly NewDetail[], dataKeys: string | null, now: number): Promise<{ valid: number; invalid: number } | null> {
    return this.db.tx(async (q) => {
      // Still this upload's mark (one that outlived it could have let another upload begin): else nothing.
      const held = await q.get(
        `SELECT id FROM receivers WHERE account_id = ? AND id = ? AND status = ? AND upload_until = ?${this.db.dialect.forUpdate}`,
        [accountId, id, ReceiverStatus.Uploading, mark],
      );
      if (!held) return null;
      let valid = 0;
      let invalid = 0;
      for (let i = 0; i < details.length; i += INSERT_CHUNK) {
        const chunk = details.slice(i, i + INSERT_CHUNK);
        const rows = await q.all<{ status: number }>(
          `INSERT INTO receiver_details (account_id, receiver_id, email, template_data, status, reason, created_at)
           VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}
           ON CONFLICT (receiver_id, email) DO NOTHING RETURNING status`,
          chunk.flatMap((d): Param[] => [accountId, id, d.email, d.templateData, d.status, d.reason, now]),
        );
        for (const r of rows) if (r.status === 1) valid++; else invalid++;
      }
      await q.run(
        `UPDATE receivers SET count = count + ?, invalid_count = invalid_count + ?,
         data_keys = CASE WHEN count + ? > 0 THEN COALESCE(data_keys, ?) ELSE data_keys END,
         status = CASE WHEN count + ? > 0 THEN ${ReceiverStatus.Uploaded} ELSE ${ReceiverStatus.Empty} END, upload_until = NULL
         WHERE account_id = ? AND id = ?`,
        [valid + invalid, invalid, valid + invalid, dataKeys, valid + invalid, accountId, id],
      );
      return { valid, invalid };
    });
  }

  /** Ends an upload that failed (if its mark is still there), leaving the group as its rows say. */
  async abandonUpload(accountId: number, id: number, mark: number): Promise<void> {
    await this.db.run(
      `UPDATE receivers SET status = CASE WHEN count > 0 THEN ${ReceiverStatus.Uploaded} ELSE ${ReceiverStatus.Empty} END, upload_until = NULL
       WHERE account_id = ? AND id = ? AND status = ${ReceiverStatus.Uploading} AND upload_until = ?`,
      [accountId, id, mark],
    );
  }

  /** A page of the account's groups, newest first: by status (as seen at `now`) and name containing `keyword`. */
  async list(accountId: number, f: { status?: number; keyword?: string; now: number; limit: number; offset: number }): Promise<{ rows: ReceiverRow[]; total: number }> {
    const where = ['account_id = ?'];
    const params: Param[] = [accountId];
    if (f.keyword) { where.push(containsSql(this.db.dialect, 'name')); params.push(likePattern(f.keyword)); }
    if (f.status !== undefined) { where.push(`${STATUS_AT} = ?`); params.push(f.now, f.status); }
    const total = await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM receivers WHERE ${where.join(' AND ')}`, params);
    const rows = f.limit === 0 ? [] : await this.db.all<ReceiverRow>(
      `SELECT ${COLUMNS} FROM receivers WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ? OFFSET ?`,
      [...params, f.limit, f.offset],
    );
    return { rows, total: total?.n ?? 0 };
  }

  /** A page of a group's addresses in the order they were added, and how many match in all. */
  async details(accountId: number, receiverId: number, f: DetailFilter): Promise<{ rows: ReceiverDetailRow[]; total: number }> {
    const where = ['account_id = ?', 'receiver_id = ?'];
    const params: Param[] = [accountId, receiverId];
    if (f.email) { where.push(containsSql(this.db.dialect, 'email')); params.push(likePattern(f.email)); }
    if (f.status !== undefined) { where.push('status = ?'); params.push(f.status); }
    if (f.from !== undefined) { where.push('created_at >= ?'); params.push(f.from); }
    if (f.to !== undefined) { where.push('created_at < ?'); params.push(f.to); }
    const total = await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM receiver_details WHERE ${where.join(' AND ')}`, params);
    const rows = f.limit === 0 ? [] : await this.db.all<ReceiverDetailRow>(
      `SELECT id, email, template_data, status, reason, created_at FROM receiver_details WHERE ${where.join(' AND ')} ORDER BY id LIMIT ? OFFSET ?`,
      [...params, f.limit, f.offset],
    );
    return { rows, total: total?.n ?? 0 };
  }

  /** Where a run over the group ends (its last address now), and how many valid addresses it covers. */
  async runExtent(receiverId: number): Promise<{ end: number; valid: number }> {
    const r = await this.db.get<{ end: number | null; valid: number }>(
      'SELECT MAX(id) AS "end", COUNT(CASE WHEN status = 1 THEN 1 END) AS valid FROM receiver_details WHERE receiver_id = ?', [receiverId],
    );
    return { end: r?.end ?? 0, valid: r?.valid ?? 0 };
  }

  /** The next valid addresses of a group after `cursor` up to `end`, in upload order. */
  validAfter(receiverId: number, cursor: number, end: number, limit: number): Promise<{ id: number; email: string; template_data: string | null }[]> {
    return this.db.all(
      'SELECT id, email, template_data FROM receiver_details WHERE receiver_id = ? AND id > ? AND id <= ? AND status = 1 ORDER BY id LIMIT ?',
      [receiverId, cursor, end, limit],
    );
  }

  /**
   * Deletes a group and its addresses unless `refuse` (given the locked row) names a reason not to;
   * 'missing' when the account has no such group.
   */
  delete(accountId: number, id: number, refuse: (r: ReceiverRow, q: Queryable) => Promise<string | null>): Promise<'deleted' | 'missing' | { refused: string }> {
    return this.db.tx(async (q) => {
      const r = await q.get<ReceiverRow>(`SELECT ${COLUMNS} FROM receivers WHERE account_id = ? AND id = ?${this.db.dialect.forUpdate}`, [accountId, id]);
      if (!r) return 'missing';
      const reason = await refuse(r, q);
      if (reason) return { refused: reason };
      await q.run('DELETE FROM receiver_details WHERE receiver_id = ?', [id]);
      await q.run('DELETE FROM receivers WHERE id = ?', [id]);
      return 'deleted';
    });
  }
}

/** The status a group shows at a time given as the first parameter: an upload past its end time no longer counts. */
const STATUS_AT = `(CASE WHEN status = ${ReceiverStatus.Uploading} AND upload_until <= ? THEN (CASE WHEN count > 0 THEN ${ReceiverStatus.Uploaded} ELSE ${ReceiverStatus.Empty} END) ELSE status END)`;

/** The status a group shows at `now` (see STATUS_AT). */
export function receiverStatusAt(r: ReceiverRow, now: number): number {
  if (r.status === ReceiverStatus.Uploading && (r.upload_until ?? 0) <= now) return r.count > 0 ? ReceiverStatus.Uploaded : ReceiverStatus.Empty;
  return r.status;
}
