/**
 * The delivery queue. A delivery waits while `next_attempt_at` is set; a claim pushes that time
 * ahead by a lease and writes the claiming worker's token in `lease_owner`, so the deliveries of a
 * worker that dies come due again, and a worker whose lease has passed to another cannot overwrite
 * what the other records.
 */
import { domainOf } from '../domain/address.js';
import { DeliverStatus } from '../domain/delivery-status.js';
import { EventKind } from '../domain/events.js';
import { storableText } from '../lib/text.js';
import type { Db, Queryable } from './db.js';
import { keepCaptures, type Capture } from './captured-mail.js';
import { appendEvents, VolumeTally, type NewEvent } from './events.js';
import { FREED_CONTENT, freeFinishedContent } from './retention.js';

/** A delivery claimed by a worker. */
export interface ClaimedDelivery {
  id: number;
  account_id: number;
  message_row: number;
  sender: string;
  recipient: string;
  recipient_domain: string;
  attempts: number;
  created_at: number;
  /** A batch recipient's own template data (JSON), or null. */
  template_data: string | null;
}

/** What happened to a delivery attempt. */
export type Outcome =
  | {
    kind: 'delivered'; reply: string; at: number;
    /** Capture mode: the message that would have gone out, kept with this outcome. */
    capture?: Capture;
  }
  | { kind: 'deferred'; reply: string; retryAt: number }
  | {
    kind: 'bounced'; reply: string; at: number;
    /** The reply says the address is bad: blocklist it (a hard bounce). */
    blocklist: boolean;
    /** The reply blames the content or the sender's reputation (counted for reputation). */
    spam?: boolean;
  }
  | { kind: 'dropped'; reply: string; at: number; sendStatus?: number };

const CLAIM_COLUMNS = 'id, account_id, message_row, sender, recipient, recipient_domain, attempts, created_at, template_data';
/** The event each kind of outcome is. */
const OUTCOME_EVENTS = { delivered: EventKind.Delivered, deferred: EventKind.Deferred, bounced: EventKind.Bounce, dropped: EventKind.Dropped } as const;

/** Rows per statement that names ids. */
const CHUNK = 500;
/** Due deliveries a claim looks through when it passes over busy domains. */
const CLAIM_WINDOW = 1000;

/** Claims, renews, releases and settles deliveries. A worker's store: it spans accounts by design. */
export class DeliveryQueue {
  /** `dayOf`: the day (YYYY-MM-DD in SESAME_TIMEZONE) a time falls on, for the daily counters. */
  constructor(private readonly db: Db, private readonly dayOf: (ms: number) => string) {}

  /**
   * Claims up to `limit` due deliveries for `leaseMs`, as `owner` (a worker's token: renewals and
   * outcomes only touch rows the worker still owns), triggered mail first, then oldest first.
   *
   * Recipient domains in `skipDomains` (those the worker already holds its cap of) are passed over,
   * among the first `CLAIM_WINDOW` due deliveries only: looking past one busy domain's whole backlog
   * on every claim would cost more than it saves. Triggered mail sorts first, so it is always seen.
   */
  async claim(now: number, limit: number, leaseMs: number, owner: number, skipDomains: readonly string[] = []): Promise<ClaimedDelivery[]> {
    const due = 'SELECT id, recipient_domain FROM deliveries WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ? ORDER BY priority DESC, next_attempt_at';
    const pick = skipDomains.length
      ? `SELECT id FROM (${due} LIMIT ${CLAIM_WINDOW}${this.db.dialect.skipLocked}) head
         WHERE recipient_domain NOT IN (${skipDomains.map(() => '?').join(', ')}) LIMIT ?`
      : `SELECT id FROM (${due} LIMIT ?${this.db.dialect.skipLocked}) head`;
    const rows = await this.db.tx((q) => q.all<ClaimedDelivery & { priority: number }>(
      `UPDATE deliveries SET next_attempt_at = ?, attempts = attempts + 1, lease_owner = ? WHERE id IN (${pick})
       RETURNING ${CLAIM_COLUMNS}, priority`,
      [now + leaseMs, owner, now, ...skipDomains, limit],
    ));
    // RETURNING gives no order: triggered mail first, then oldest first.
    return rows.sort((a, b) => b.priority - a.priority || a.id - b.id);
  }

  /** Extends the lease of deliveries `owner` still holds; answers those it still holds. */
  async renewLeases(ids: readonly number[], owner: number, until: number): Promise<Set<number>> {
    const held = new Set<number>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const rows = await this.db.tx((q) => q.all<{ id: number }>(
        `UPDATE deliveries SET next_attempt_at = ? WHERE lease_owner = ? AND next_attempt_at IS NOT NULL
         AND id IN (${chunk.map(() => '?').join(', ')}) RETURNING id`,
        [until, owner, ...chunk],
      ));
      for (const r of rows) held.add(Number(r.id));
    }
    return held;
  }

  /**
   * Gives claimed deliveries back to the queue, due at `at`: a worker stopping without sending
   * them. With `uncount` the claim does not count as an attempt (nothing was tried).
   */
  async release(ids: readonly number[], owner: number, at: number, uncount = false): Promise<void> {
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      await this.db.run(
        `UPDATE deliveries SET next_attempt_at = ?, lease_owner = NULL${uncount ? ', attempts = attempts - 1' : ''}
         WHERE lease_owner = ? AND next_attempt_at IS NOT NULL AND id IN (${chunk.map(() => '?').join(', ')})`,
        [at, owner, ...chunk],
      );
    }
  }

  /** Whether the store answers now. */
  async reachable(): Promise<boolean> {
    try {
      await this.db.ping();
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Deliveries not finished, by state, with the oldest creation time in each (the metrics' queue
   * gauges): in_flight while a worker's lease holds, else queued (never tried) or deferred.
   */
  async depth(now: number): Promise<{ state: string; count: number; oldestCreatedAt: number | null }[]> {
    const rows = await this.db.all<{ state: string; n: number; oldest: number | null }>(
      `SELECT CASE WHEN lease_owner IS NOT NULL AND next_attempt_at > ? THEN 'in_flight' WHEN attempts = 0 THEN 'queued' ELSE 'deferred' END AS state,
              COUNT(*) AS n, MIN(created_at) AS oldest
       FROM deliveries WHERE next_attempt_at IS NOT NULL GROUP BY 1`,
      [now],
    );
    return rows.map((r) => ({ state: r.state, count: Number(r.n), oldestCreatedAt: r.oldest === null ? null : Number(r.oldest) }));
  }

  /**
   * The composition input of a message. Throws for a message whose content was freed: that happens
   * only once no delivery of it is queued, so a caller here is a bug, and must not send an empty mail.
   */
  async content(messageRow: number): Promise<{ message_id: string; domain_id: number; content: string } | undefined> {
    const row = await this.db.get<{ message_id: string; domain_id: number; content: string }>('SELECT message_id, domain_id, content FROM messages WHERE id = ?', [messageRow]);
    if (row?.content === FREED_CONTENT) throw new Error(`message ${messageRow} (${row.message_id}) has no content any more: it was freed after its last delivery`);
    return row;
  }

  /**
   * Records what happened to deliveries `owner` holds, all in one transaction; `also` runs in it
   * too (e.g. blocklisting) with the ids that were recorded. Answers the ids that were not: their
   * lease had passed to someone else (or back to the queue), whose outcome counts instead.
   *
   * A message whose last queued delivery this makes final has its content freed in the same
   * transaction (attachments and raw submissions are most of the store; statuses never show them).
   * On PostgreSQL two transactions recording a message's last two outcomes at once may each still
   * see the other's delivery queued, and neither frees it: the retention job's sweep does.
   * A capture (capture mode) is kept in the same transaction, so it exists if and only if its
   * delivery was recorded as delivered.
   */
  recordOutcomes(outcomes: readonly { id: number; outcome: Outcome }[], owner: number, also?: (q: Queryable, recorded: Set<number>) => Promise<void>): Promise<number[]> {
    return this.db.tx(async (q) => {
      const recorded = new Set<number>();
      const finished = new Set<number>();
      const events: NewEvent[] = [];
      const tally = new VolumeTally();
      const captures: { deliveryId: number; capture: Capture; at: number }[] = [];
      for (const { id, outcome: o } of outcomes) {
        // A deferral waits for its next attempt and keeps its time; every other outcome is final.
        const [status, time, next] = o.kind === 'deferred'
          ? [DeliverStatus.Deferred, null, o.retryAt]
          : [{ delivered: DeliverStatus.Delivered, bounced: DeliverStatus.Bounced, dropped: DeliverStatus.Dropped }[o.kind], o.at, null];
        const row = await q.get<{ message_row: number; account_id: number; sender: string; recipient_domain: string; created_at: number }>(
          `UPDATE deliveries SET deliver_status = ?, deliver_message = ?, deliver_time = COALESCE(?, deliver_time), next_attempt_at = ?,
             send_status = COALESCE(?, send_status), lease_owner = NULL
           WHERE id = ? AND lease_owner = ? AND next_attempt_at IS NOT NULL RETURNING message_row, account_id, sender, recipient_domain, created_at`,
          [status, storableText(o.reply), time, next, o.kind === 'dropped' ? o.sendStatus ?? null : null, id, owner],
        );
        if (!row) continue;
        recorded.add(id);
        if (next === null) finished.add(Number(row.message_row));
        const accountId = Number(row.account_id);
        const key = { accountId, day: this.dayOf(Number(row.created_at)), senderDomain: domainOf(row.sender), recipientDomain: row.recipient_domain };
        const at = o.kind === 'deferred' ? Date.now() : o.at;
        events.push({
          accountId, deliveryId: id, kind: OUTCOME_EVENTS[o.kind], reason: o.reply, at,
          ...(o.kind === 'bounced' ? { bounceType: o.blocklist ? 'hard_bounce' : 'soft_bounce' } as const : {}),
        });
        tally.add(key, o.kind);
        if (o.kind === 'delivered' && o.capture) captures.push({ deliveryId: id, capture: o.capture, at: o.at });
        if (o.kind === 'bounced') tally.add(key, 'hard_bounced', o.blocklist ? 1 : 0).add(key, 'spam_bounced', o.spam ? 1 : 0);
      }
      await appendEvents(q, events);
      if (captures.length) await keepCaptures(q, captures);
      if (finished.size) await freeFinishedContent(q, [...finished]);
      if (also) await also(q, recorded);
      // Last: every acceptance and outcome of the day writes this row, and holds it until commit.
      await tally.write(q);
      return outcomes.filter((o) => !recorded.has(o.id)).map((o) => o.id);
    });
  }
}
