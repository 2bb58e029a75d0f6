/**
 * One delivery's history, as ListEmailEvents shows it: the delivery an account's MessageId and
 * recipient name, and its events. Every step is an index lookup, whatever the account has sent: the
 * message by its unique MessageId, the delivery among that message's own (deliveries_message), its
 * events by events_delivery. The account's events are never scanned.
 *
 * The account is checked once, on the message: its deliveries and their events are the message's
 * account's. Asking for account_id again further on would offer the planner the account-wide
 * indexes (events_account, deliveries_frequency): PostgreSQL chose them on a new database, and on
 * an account with millions of events that is a scan of them all.
 */
import type { Db } from './db.js';

/** One event of the delivery, as stored. */
export interface HistoryEventRow {
  event: number;
  bounce_type: string;
  reason: string;
  user_agent: string;
  link: string;
  prefetch: string;
  created_at: number;
}

/** Reads a delivery's events. */
export class DeliveryHistoryStore {
  constructor(private readonly db: Db) {}

  /**
   * The account's delivery of `messageId` to `recipient` (normalised): when it was requested and
   * its newest `limit` events, oldest first; null when the account has no such delivery (none, or
   * another account's: the message's account is part of the lookup).
   */
  async history(accountId: number, messageId: string, recipient: string, limit: number): Promise<{ requestedAt: number; events: HistoryEventRow[] } | null> {
    // A message has one delivery per recipient (recipients are deduplicated when it is accepted);
    // the lowest id is taken should that ever not hold. No LIMIT here: with one, PostgreSQL may
    // prefer walking deliveries in id order to the message's index.
    const [delivery] = await this.db.all<{ id: number; created_at: number }>(
      `SELECT d.id, d.created_at FROM messages m JOIN deliveries d ON d.message_row = m.id
       WHERE m.message_id = ? AND m.account_id = ? AND d.recipient = ? ORDER BY d.id`,
      [messageId, accountId, recipient],
    );
    if (!delivery) return null;
    // Newest first to keep the newest `limit`, turned back to oldest first. Ordered by the time each
    // event carries, then as written: events come by several paths (outcomes at once, tracking hits
    // in batches a few ms later, reports when they arrive), so ids alone need not follow the times.
    const newest = await this.db.all<HistoryEventRow>(
      `SELECT event, bounce_type, reason, user_agent, link, prefetch, created_at FROM events
       WHERE delivery_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
      [delivery.id, limit],
    );
    return { requestedAt: delivery.created_at, events: newest.reverse() };
  }
}
