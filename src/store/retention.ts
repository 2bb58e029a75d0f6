/**
 * Retention: what keeps the store from growing for ever. Each method is one small transaction on
 * at most a chunk of rows, found through the primary key or an index (the deliveries table may
 * hold tens of millions of rows: nothing here scans it). Every statement re-checks its conditions
 * on the rows it changes, so several workers may run the same chunk at once (PostgreSQL): the
 * second finds nothing left to do. This is system work: it spans accounts by design.
 */
import type { Queryable, Db } from './db.js';

/**
 * What `messages.content` holds once nothing will render the message again (the column stays NOT
 * NULL; every status GetSendEmailStatus shows lives in deliveries and the message's other columns).
 * Never valid content: DeliveryQueue.content refuses it, so a freed message cannot go out empty.
 * The SQL below and the partial index messages_content_kept spell it as the literal ''.
 */
export const FREED_CONTENT = '';

/**
 * The message `messages` row has nothing left to send: no delivery of it is queued (waiting,
 * claimed or deferred: next_attempt_at set), and it is not the message of a batch run in progress
 * (whose later chunks are still to be queued, possibly for days). A delivery never becomes queued
 * again once final, and a message gets new deliveries only in its acceptance transaction or as a
 * run's message, so once this holds it holds for good.
 */
const NOTHING_LEFT = `NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_row = messages.id AND d.next_attempt_at IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM send_tasks t WHERE t.run_message_row = messages.id)`;

/** Rows per statement that names ids. */
const CHUNK = 500;

/** The tables walked in primary-key order (ids grow with this time), and their time column. */
const TIME_COLUMNS = { deliveries: 'created_at', messages: 'created_at', events: 'created_at', captured_mail: 'captured_at' } as const;

/**
 * Frees the content of those of `rows` (message ids) that have nothing left to send, in the
 * caller's transaction; how many it freed. Each check is one seek in deliveries_message and one in
 * send_tasks_run_message. With `unlessFreed`, rows already freed are left alone (a sweep that
 * another worker ran too); the outcome writer does without: its messages cannot have been freed
 * (one of their deliveries was queued until now), and on SQLite the comparison would read the
 * whole content once more.
 */
export async function freeFinishedContent(q: Queryable, rows: readonly number[], unlessFreed = false): Promise<number> {
  let n = 0;
  for (let i = 0; i < rows.length; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    n += await q.run(
      `UPDATE messages SET content = '' WHERE id IN (${chunk.map(() => '?').join(', ')})${unlessFreed ? ` AND content <> ''` : ''} AND ${NOTHING_LEFT}`,
      chunk,
    );
  }
  return n;
}

/** One step of a walk through a table: how many rows it changed, and where the next step starts (null: the walk is over). */
export interface Step { changed: number; next: number | null }

/** The retention job's statements. */
export class RetentionStore {
  constructor(private readonly db: Db) {}

  /**
   * Frees the content of kept messages with nothing left to send, among the next `limit` kept
   * messages from id `from` on (the partial index messages_content_kept holds only those, so
   * messages already freed cost nothing). The candidates are read outside any transaction; the
   * update checks them again.
   */
  async freeContent(from: number, limit = CHUNK): Promise<Step> {
    const page = await this.db.all<{ id: number }>(`SELECT id FROM messages WHERE content <> '' AND id >= ? ORDER BY id LIMIT ?`, [from, limit]);
    if (page.length === 0) return { changed: 0, next: null };
    const ids = page.map((r) => Number(r.id));
    const marks = ids.map(() => '?').join(', ');
    const done = await this.db.all<{ id: number }>(`SELECT id FROM messages WHERE id IN (${marks}) AND ${NOTHING_LEFT}`, ids);
    const changed = done.length ? await this.db.tx((q) => freeFinishedContent(q, done.map((r) => Number(r.id)), true)) : 0;
    return { changed, next: page.length < limit ? null : ids[ids.length - 1] + 1 };
  }

  /**
   * Deletes the final deliveries created before `before` among the next `limit` deliveries from id
   * `from` on, in the order of the primary key, which is the order of created_at give or take the
   * clocks of several workers: the walk ends at the first page that reaches `before` (stragglers
   * are taken by a later round). Deliveries still queued are kept, whatever their age.
   */
  async deleteDeliveries(from: number, before: number, limit = CHUNK): Promise<Step> {
    return this.walk('deliveries', from, before, limit, 'next_attempt_at IS NULL');
  }

  /**
   * Deletes the messages created before `before` that have no delivery left and are not a batch
   * run's in progress, among the next `limit` messages from id `from` on (primary-key order, as
   * deleteDeliveries). Run after it: a message is never newer than its deliveries, so every message
   * whose deliveries that deleted is on this walk.
   */
  async deleteMessages(from: number, before: number, limit = CHUNK): Promise<Step> {
    return this.walk('messages', from, before, limit,
      'NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_row = messages.id) AND NOT EXISTS (SELECT 1 FROM send_tasks t WHERE t.run_message_row = messages.id)');
  }

  /**
   * Deletes the events created before `before` among the next `limit` events from id `from` on
   * (primary-key order, as deleteDeliveries). An event may outlive its delivery by the days between
   * the two (an open a week after the mail); nothing shows such an event, and its turn comes.
   */
  async deleteEvents(from: number, before: number, limit = CHUNK): Promise<Step> {
    return this.walk('events', from, before, limit, '1 = 1');
  }

  /** Deletes the mail capture mode kept before `before` among the next `limit` rows from id `from` on (primary-key order, as deleteDeliveries). */
  async deleteCapturedMail(from: number, before: number, limit = CHUNK): Promise<Step> {
    return this.walk('captured_mail', from, before, limit, '1 = 1');
  }

  /** The lowest account id from `from` on that has captured mail, or null (a seek in captured_mail_account each). */
  async nextCapturingAccount(from: number): Promise<number | null> {
    const row = await this.db.get<{ a: number | null }>('SELECT MIN(account_id) AS a FROM captured_mail WHERE account_id >= ?', [from]);
    return row?.a == null ? null : Number(row.a);
  }

  /**
   * The id of the newest captured mail of the account past its newest `keep` (what goes, with every
   * older one), or null when it has no more than `keep`. Reads at most `keep` + 1 index entries.
   */
  async capturedCut(accountId: number, keep: number): Promise<number | null> {
    const row = await this.db.get<{ id: number }>('SELECT id FROM captured_mail WHERE account_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?', [accountId, keep]);
    return row ? Number(row.id) : null;
  }

  /** Deletes up to `limit` of the account's captured mail with ids up to `cut`, oldest first; how many. */
  deleteCapturedUpTo(accountId: number, cut: number, limit = CHUNK): Promise<number> {
    return this.db.run(
      `DELETE FROM captured_mail WHERE id IN (SELECT id FROM captured_mail WHERE account_id = ? AND id <= ? ORDER BY id LIMIT ?${this.db.dialect.skipLocked})`,
      [accountId, cut, limit],
    );
  }

  /** Deletes up to `limit` console sessions that ended by `now`; how many. */
  deleteEndedSessions(now: number, limit = CHUNK): Promise<number> {
    return this.deleteClaimed('console_sessions', ['id_hash'], 'expires_at <= ? ORDER BY expires_at', now, limit);
  }

  /** Deletes up to `limit` webhook log rows of requests made before `before`; how many. */
  deleteOldWebhookLog(before: number, limit = CHUNK): Promise<number> {
    return this.deleteClaimed('webhook_log', ['id'], 'at < ? ORDER BY at', before, limit);
  }

  /** Deletes up to `limit` kept inbound mails received before `before`; how many. */
  deleteOldInbound(before: number, limit = CHUNK): Promise<number> {
    return this.deleteClaimed('inbound_kept', ['id'], 'received_at < ? ORDER BY received_at', before, limit);
  }

  /** Deletes up to `limit` daily volume counters of days before `day` (YYYY-MM-DD); how many. */
  deleteOldVolumes(day: string, limit = CHUNK): Promise<number> {
    return this.deleteClaimed('daily_volumes', ['account_id', 'day', 'sender_domain', 'recipient_domain'], 'day < ? ORDER BY day', day, limit);
  }

  /** Deletes up to `limit` hard bounces whose listing ended at or before `now`, oldest first; how many. */
  deleteExpiredBounces(now: number, limit = CHUNK): Promise<number> {
    return this.deleteClaimed('bounce_blocklist', ['id'], 'expires_at <= ? ORDER BY expires_at', now, limit);
  }

  /** Deletes up to `limit` custom blocklist entries whose last day is before `day` (YYYY-MM-DD); how many. */
  deleteExpiredCustom(day: string, limit = CHUNK): Promise<number> {
    return this.deleteClaimed('custom_blocklist', ['id'], 'expire_date < ? ORDER BY expire_date', day, limit);
  }

  /** Deletes up to `limit` daily send counters of days before `day` (YYYY-MM-DD); how many. */
  deleteOldCounts(day: string, limit = CHUNK): Promise<number> {
    return this.deleteClaimed('send_counts', ['domain_id', 'day'], 'day < ? ORDER BY day', day, limit);
  }

  /**
   * Deletes the first `limit` rows of `table` that `where` (served by an index) picks, by their `key`. They are
   * picked as a queue claim is (locked, skipping rows another worker holds): on PostgreSQL the
   * lock checks `where` again on a row changed meanwhile (a bounce listed again, an entry given a
   * later ExpireDate), so such a row stays; the DELETE itself then goes by key only.
   */
  private deleteClaimed(table: string, key: readonly string[], where: string, value: string | number, limit: number): Promise<number> {
    const row = key.length === 1 ? key[0] : `(${key.join(', ')})`;
    return this.db.run(
      `DELETE FROM ${table} WHERE ${row} IN (SELECT ${key.join(', ')} FROM ${table} WHERE ${where} LIMIT ?${this.db.dialect.skipLocked})`,
      [value, limit],
    );
  }

  /**
   * One page of a walk through `table` in primary-key order: the next `limit` ids from `from` on
   * are read (the primary key alone: no other column, so no large row is loaded), then the rows
   * of that id range created before `before` that meet `condition` are deleted in one transaction.
   * The walk ends with the page that holds a row created at or after `before`, or the last page.
   */
  private async walk(table: keyof typeof TIME_COLUMNS, from: number, before: number, limit: number, condition: string): Promise<Step> {
    const page = await this.db.all<{ id: number }>(`SELECT id FROM ${table} WHERE id >= ? ORDER BY id LIMIT ?`, [from, limit]);
    if (page.length === 0) return { changed: 0, next: null };
    const first = Number(page[0].id);
    const last = Number(page[page.length - 1].id);
    const time = TIME_COLUMNS[table];
    const { changed, newer } = await this.db.tx(async (q) => ({
      changed: await q.run(`DELETE FROM ${table} WHERE id >= ? AND id <= ? AND ${time} < ? AND ${condition}`, [first, last, before]),
      newer: await q.get(`SELECT 1 AS x FROM ${table} WHERE id >= ? AND id <= ? AND ${time} >= ? LIMIT 1`, [first, last, before]),
    }));
    return { changed, next: newer || page.length < limit ? null : last + 1 };
  }
}
