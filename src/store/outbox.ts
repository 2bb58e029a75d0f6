/**
 * The webhook outbox: events waiting to be posted to their callback (written with the event, see
 * store/events.ts). A dispatcher claims due rows with a lease in its name, as the delivery queue
 * does, so several workers share the outbox and an expired lease brings a row back; what it
 * settles only touches rows it still holds. Each request made is logged for the console.
 */
import { storableText } from '../lib/text.js';
import type { Db, Param } from './db.js';

/** A claimed event, with everything its payload and its request need. */
export interface OutboxItem {
  id: number;
  attempts: number;
  callback_id: number;
  account_id: number;
  event_id: number;
  /** null when the event (or its delivery, or the callback) is no longer kept: then it is dropped. */
  event: number | null;
  delivery_id: number | null;
  bounce_type: string | null;
  reason: string | null;
  user_agent: string | null;
  link: string | null;
  event_at: number | null;
  recipient: string | null;
  sender: string | null;
  task_id: number | null;
  requested_at: number | null;
  message_id: string | null;
  header_id: string | null;
  subject: string | null;
  template_id: number | null;
  callback_custom: string | null;
  app_id: number | null;
  url: string | null;
  secret_sealed: string | null;
  callback_address: string | null;
  callback_status: number | null;
}

/** What became of one claimed event. */
export type OutboxResult =
  | { id: number; kind: 'posted' | 'refused' | 'given-up' | 'dropped' }
  | { id: number; kind: 'retry'; at: number };

/** One request made, for the log. */
export interface WebhookAttempt {
  accountId: number; callbackId: number; eventId: number; at: number; httpStatus: number; latencyMs: number; error: string;
  /** The endpoint answered as a working one does (2xx, or 410 for this event): its failure clock stops. */
  ok: boolean;
}

/** Rows per statement that names ids. */
const CHUNK = 500;
/** Outbox rows a claim looks through when it passes over busy callbacks. */
const CLAIM_WINDOW = 1000;

/** Claims, settles and logs webhook events. */
export class WebhookOutbox {
  constructor(private readonly db: Db) {}

  /** Events waiting to be posted, and the oldest one's creation time (the metrics' webhook gauges). */
  async backlog(): Promise<{ count: number; oldestCreatedAt: number | null }> {
    const r = await this.db.get<{ n: number; oldest: number | null }>('SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM webhook_outbox');
    return { count: Number(r?.n ?? 0), oldestCreatedAt: r?.oldest === null || r?.oldest === undefined ? null : Number(r.oldest) };
  }

  /** Claims up to `limit` due events for `leaseMs` as `owner`, oldest first, passing over callbacks in `skip`. */
  async claim(now: number, limit: number, leaseMs: number, owner: number, skip: readonly number[] = []): Promise<OutboxItem[]> {
    const due = 'SELECT id, callback_id FROM webhook_outbox WHERE next_attempt_at <= ? ORDER BY next_attempt_at';
    const pick = skip.length
      ? `SELECT id FROM (${due} LIMIT ${CLAIM_WINDOW}${this.db.dialect.skipLocked}) head WHERE callback_id NOT IN (${skip.map(() => '?').join(', ')}) LIMIT ?`
      : `SELECT id FROM (${due} LIMIT ?${this.db.dialect.skipLocked}) head`;
    const claimed = await this.db.tx((q) => q.all<{ id: number }>(
      `UPDATE webhook_outbox SET next_attempt_at = ?, lease_owner = ?, attempts = attempts + 1 WHERE id IN (${pick}) RETURNING id`,
      [now + leaseMs, owner, now, ...skip, limit],
    ));
    if (claimed.length === 0) return [];
    const ids = claimed.map((r) => Number(r.id));
    const rows = await this.db.all<OutboxItem>(
      `SELECT o.id, o.attempts, o.callback_id, o.account_id, o.event_id, e.event, e.delivery_id, e.bounce_type, e.reason, e.user_agent, e.link, e.created_at AS event_at,
              d.recipient, d.sender, d.task_id, d.created_at AS requested_at, m.message_id, m.header_id, m.subject, m.template_id, m.callback_custom,
              a.app_id, c.url, c.secret_sealed, c.address AS callback_address, c.status AS callback_status
       FROM webhook_outbox o
       LEFT JOIN events e ON e.id = o.event_id
       LEFT JOIN deliveries d ON d.id = e.delivery_id
       LEFT JOIN messages m ON m.id = d.message_row
       LEFT JOIN accounts a ON a.id = o.account_id
       LEFT JOIN callbacks c ON c.id = o.callback_id AND c.account_id = o.account_id
       WHERE o.id IN (${ids.map(() => '?').join(', ')}) ORDER BY o.id`,
      ids,
    );
    return rows.map((r) => ({ ...r, id: Number(r.id), callback_id: Number(r.callback_id), account_id: Number(r.account_id), event_id: Number(r.event_id) }));
  }

  /**
   * Settles what `owner` still holds, logs the requests made and moves their callbacks' failure
   * clock, in one transaction: a success stops the clock; a failure starts it, and a callback failing
   * since before `disableBefore` is disabled. Answers the callbacks this disabled.
   */
  settle(results: readonly OutboxResult[], attempts: readonly WebhookAttempt[], owner: number, disableBefore: number): Promise<number[]> {
    return this.db.tx(async (q) => {
      const ended = results.filter((r) => r.kind !== 'retry').map((r) => r.id).sort((a, b) => a - b);
      for (let i = 0; i < ended.length; i += CHUNK) {
        const chunk = ended.slice(i, i + CHUNK);
        await q.run(`DELETE FROM webhook_outbox WHERE lease_owner = ? AND id IN (${chunk.map(() => '?').join(', ')})`, [owner, ...chunk]);
      }
      for (const r of [...results].sort((a, b) => a.id - b.id)) {
        if (r.kind === 'retry') await q.run('UPDATE webhook_outbox SET next_attempt_at = ?, lease_owner = NULL WHERE id = ? AND lease_owner = ?', [r.at, r.id, owner]);
      }
      for (let i = 0; i < attempts.length; i += CHUNK) {
        const chunk = attempts.slice(i, i + CHUNK);
        await q.run(
          `INSERT INTO webhook_log (account_id, callback_id, event_id, at, http_status, latency_ms, error) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
          chunk.flatMap((a): Param[] => [a.accountId, a.callbackId, a.eventId, a.at, a.httpStatus, Math.round(a.latencyMs), storableText(a.error, 500)]),
        );
      }
      // Per callback: did any request succeed? Callback order, so transactions lock them alike.
      const byCallback = new Map<number, { ok: boolean; at: number }>();
      for (const a of attempts) {
        const seen = byCallback.get(a.callbackId);
        byCallback.set(a.callbackId, { ok: (seen?.ok ?? false) || a.ok, at: Math.min(seen?.at ?? a.at, a.at) });
      }
      const disabled: number[] = [];
      for (const [id, s] of [...byCallback].sort((a, b) => a[0] - b[0])) {
        if (s.ok) {
          await q.run('UPDATE callbacks SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL', [id]);
          continue;
        }
        await q.run('UPDATE callbacks SET failing_since = ? WHERE id = ? AND failing_since IS NULL', [s.at, id]);
        const off = await q.get('UPDATE callbacks SET status = 0 WHERE id = ? AND status = 1 AND failing_since <= ? RETURNING id', [id, disableBefore]);
        if (off) disabled.push(id);
      }
      return disabled;
    });
  }

  /** The callback's last `limit` requests, newest first (the console's delivery log). */
  log(accountId: number, callbackId: number, limit: number): Promise<{ at: number; event_id: number; http_status: number; latency_ms: number; error: string }[]> {
    return this.db.all('SELECT at, event_id, http_status, latency_ms, error FROM webhook_log WHERE account_id = ? AND callback_id = ? ORDER BY id DESC LIMIT ?',
      [accountId, callbackId, limit]);
  }
}
