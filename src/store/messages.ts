/**
 * Accepted messages, their deliveries (one per recipient) and the delivery queue, the daily send
 * counters, and unsubscriptions. A delivery waits in the queue while `next_attempt_at` is set; a
 * claim pushes that time ahead by a lease and writes the claiming worker's token in `lease_owner`,
 * so the deliveries of a worker that dies come due again, and a worker whose lease has passed to
 * another cannot overwrite what the other records.
 */
import { storableText } from '../lib/text.js';
import type { Db, Param, Queryable } from './db.js';

/** DeliverStatus values (FACTS §3.2). */
export const DeliverStatus = { Queued: 0, Delivered: 1, Dropped: 2, Bounced: 3, Deferred: 8 } as const;

/** SendStatus values Sesame sets after acceptance (FACTS §3.2). */
export const SendStatus = { DomainNotVerified: 3014, Blocklisted: 3020, Unsubscribed: 1013 } as const;

/** A recipient of a message being accepted. */
export interface NewDelivery {
  recipient: string;
  recipientDomain: string;
  /** A batch recipient's own template data (JSON). */
  templateData?: string | null;
  /** Recorded as dropped at once, never queued (a batch recipient on a blocklist, say). */
  dropped?: { sendStatus: number; reason: string };
}

/** A message being accepted. */
export interface NewMessage {
  messageId: string;
  domainId: number;
  sender: string;
  /** 1 for triggered mail (claimed ahead of bulk mail), 0 for bulk. */
  priority: number;
  /** JSON of the composition input. */
  content: string;
  now: number;
}

/** The limits checked in the acceptance transaction, where concurrent sends cannot race past them. */
export interface AcceptLimits {
  /** Day (YYYY-MM-DD in SESAME_TIMEZONE) the mails count on, and the domain's quota for it (null: none). */
  daily: { day: string; quota: number | null };
  /** Mails from the sender to one recipient allowed since `since`; null: no limit. */
  frequency: { since: number; limit: number } | null;
}

/** Outcome of an acceptance. */
export type AcceptResult =
  | { kind: 'accepted'; messageRow: number; deliveryIds: number[] }
  | { kind: 'quota'; sent: number }
  | { kind: 'frequency'; recipient: string };

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
  | { kind: 'delivered'; reply: string; at: number }
  | { kind: 'deferred'; reply: string; retryAt: number }
  | { kind: 'bounced'; reply: string; at: number; /** The reply says the address is bad: blocklist it. */ blocklist: boolean }
  | { kind: 'dropped'; reply: string; at: number; sendStatus?: number };

/** One row of GetSendEmailStatus. */
export interface StatusRow {
  message_id: string;
  recipient: string;
  sender: string;
  send_status: number;
  deliver_status: number;
  deliver_message: string;
  created_at: number;
  deliver_time: number | null;
  opened: number;
  clicked: number;
  unsubscribed: number;
  complained: number;
}

/** Thrown inside the acceptance transaction to undo it when a limit is reached. */
class LimitReached extends Error {
  constructor(readonly result: AcceptResult) { super('limit reached'); }
}

const CLAIM_COLUMNS = 'id, account_id, message_row, sender, recipient, recipient_domain, attempts, created_at, template_data';
const CHUNK = 500;
/** Due deliveries a claim looks through when it passes over busy domains. */
const CLAIM_WINDOW = 1000;

/** Reads and writes messages, deliveries, counters and unsubscriptions. */
export class MessageStore {
  constructor(private readonly db: Db) {}

  /**
   * Accepts a message: counts it against the domain's day (always, quota or not: the counter row is
   * also what serialises the domain's sends, so the frequency check below cannot race either),
   * checks the frequency limit, and writes the message and one queued delivery per recipient, all
   * in one transaction.
   */
  async accept(accountId: number, m: NewMessage, recipients: readonly NewDelivery[], limits: AcceptLimits): Promise<AcceptResult> {
    try {
      return await this.db.tx(async (q) => {
        const row = await q.get<{ sent: number }>(
          `INSERT INTO send_counts (account_id, domain_id, day, sent) VALUES (?, ?, ?, ?)
           ON CONFLICT (domain_id, day) DO UPDATE SET sent = send_counts.sent + excluded.sent RETURNING sent`,
          [accountId, m.domainId, limits.daily.day, recipients.length],
        );
        const sent = row?.sent ?? 0;
        if (limits.daily.quota !== null && sent > limits.daily.quota) throw new LimitReached({ kind: 'quota', sent: sent - recipients.length });
        if (limits.frequency) {
          const over = await this.overFrequency(q, accountId, m.sender, recipients.map((r) => r.recipient), limits.frequency);
          if (over) throw new LimitReached({ kind: 'frequency', recipient: over });
        }
        const messageRow = await this.insertMessage(q, accountId, m);
        const ids = await this.insertDeliveries(q, accountId, messageRow, m, recipients);
        return { kind: 'accepted', messageRow, deliveryIds: ids };
      });
    } catch (e) {
      if (e instanceof LimitReached) return e.result;
      throw e;
    }
  }

  /** Writes a message (in the caller's transaction); its row id. */
  async insertMessage(q: Queryable, accountId: number, m: NewMessage): Promise<number> {
    const msg = await q.get<{ id: number }>(
      'INSERT INTO messages (account_id, message_id, domain_id, sender, content, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id',
      [accountId, m.messageId, m.domainId, m.sender, m.content, m.now],
    );
    if (!msg) throw new Error('message insert returned nothing');
    return msg.id;
  }

  /** Queues one delivery per recipient of a message (in the caller's transaction); their ids. */
  async insertDeliveries(q: Queryable, accountId: number, messageRow: number, m: Pick<NewMessage, 'sender' | 'priority' | 'now'>, recipients: readonly NewDelivery[], taskId: number | null = null): Promise<number[]> {
    const ids: number[] = [];
    for (let i = 0; i < recipients.length; i += CHUNK) {
      const chunk = recipients.slice(i, i + CHUNK);
      const rows = await q.all<{ id: number }>(
        `INSERT INTO deliveries (account_id, message_row, sender, recipient, recipient_domain, priority, next_attempt_at, created_at, task_id,
           template_data, send_status, deliver_status, deliver_message, deliver_time)
         VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} RETURNING id`,
        chunk.flatMap((r): Param[] => [
          accountId, messageRow, m.sender, r.recipient, r.recipientDomain, m.priority, r.dropped ? null : m.now, m.now, taskId, r.templateData ?? null,
          r.dropped?.sendStatus ?? 0, r.dropped ? DeliverStatus.Dropped : DeliverStatus.Queued, r.dropped?.reason ?? '', r.dropped ? m.now : null,
        ]),
      );
      ids.push(...rows.map((r) => r.id));
    }
    return ids;
  }

  /** The first recipient that already had `limit` mails from `sender` since `since`, if any. */
  private async overFrequency(q: Queryable, accountId: number, sender: string, recipients: readonly string[], f: { since: number; limit: number }): Promise<string | undefined> {
    const counts = new Map<string, number>();
    for (const r of recipients) counts.set(r, (counts.get(r) ?? 0) + 1);
    const unique = [...counts.keys()];
    const rows = await q.all<{ recipient: string; n: number }>(
      `SELECT recipient, COUNT(*) AS n FROM deliveries WHERE account_id = ? AND sender = ? AND created_at > ?
       AND recipient IN (${unique.map(() => '?').join(', ')}) GROUP BY recipient`,
      [accountId, sender, f.since, ...unique],
    );
    for (const r of rows) counts.set(r.recipient, (counts.get(r.recipient) ?? 0) + r.n);
    return unique.find((r) => (counts.get(r) ?? 0) > f.limit);
  }

  /** How many mails were counted against the domain on `day`. */
  async sentOn(domainId: number, day: string): Promise<number> {
    return (await this.db.get<{ sent: number }>('SELECT sent FROM send_counts WHERE domain_id = ? AND day = ?', [domainId, day]))?.sent ?? 0;
  }

  /**
   * Claims up to `limit` due deliveries for `leaseMs`, as `owner` (a worker's token: renewals and
   * outcomes only touch rows the worker still owns), triggered mail first, then oldest first. A
   * worker job: it spans accounts by design.
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
   * Gives claimed deliveries back to the queue, due at `at`: a worker stopping without sending them,
   * or (with `uncount`) claimed beyond what it may send now, so the claim does not count as an attempt.
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

  /** The composition input of a message. */
  async content(messageRow: number): Promise<{ message_id: string; domain_id: number; content: string } | undefined> {
    return this.db.get('SELECT message_id, domain_id, content FROM messages WHERE id = ?', [messageRow]);
  }

  /**
   * Records what happened to deliveries `owner` holds, all in one transaction; `also` runs in it
   * too (e.g. blocklisting) with the ids that were recorded. Answers the ids that were not: their
   * lease had passed to someone else (or back to the queue), whose outcome counts instead.
   */
  recordOutcomes(outcomes: readonly { id: number; outcome: Outcome }[], owner: number, also?: (q: Queryable, recorded: Set<number>) => Promise<void>): Promise<number[]> {
    return this.db.tx(async (q) => {
      const recorded = new Set<number>();
      for (const { id, outcome: o } of outcomes) {
        // A deferral waits for its next attempt and keeps its time; every other outcome is final.
        const [status, time, next] = o.kind === 'deferred'
          ? [DeliverStatus.Deferred, null, o.retryAt]
          : [{ delivered: DeliverStatus.Delivered, bounced: DeliverStatus.Bounced, dropped: DeliverStatus.Dropped }[o.kind], o.at, null];
        const n = await q.run(
          `UPDATE deliveries SET deliver_status = ?, deliver_message = ?, deliver_time = COALESCE(?, deliver_time), next_attempt_at = ?,
             send_status = COALESCE(?, send_status), lease_owner = NULL
           WHERE id = ? AND lease_owner = ? AND next_attempt_at IS NOT NULL`,
          [status, storableText(o.reply), time, next, o.kind === 'dropped' ? o.sendStatus ?? null : null, id, owner],
        );
        if (n > 0) recorded.add(id);
      }
      if (also) await also(q, recorded);
      return outcomes.filter((o) => !recorded.has(o.id)).map((o) => o.id);
    });
  }

  /** Status rows of the account's deliveries requested in [from, to), oldest first. */
  async statuses(accountId: number, f: { from: number; to: number; messageId?: string; recipient?: string; limit: number; offset: number }): Promise<StatusRow[]> {
    const where = ['d.account_id = ?', 'd.created_at >= ?', 'd.created_at < ?'];
    const params: Param[] = [accountId, f.from, f.to];
    if (f.messageId) { where.push('m.message_id = ?'); params.push(f.messageId); }
    if (f.recipient) { where.push('d.recipient = ?'); params.push(f.recipient); }
    return this.db.all<StatusRow>(
      `SELECT m.message_id, d.recipient, d.sender, d.send_status, d.deliver_status, d.deliver_message, d.created_at, d.deliver_time,
              d.opened, d.clicked, d.unsubscribed, d.complained
       FROM deliveries d JOIN messages m ON m.id = d.message_row
       WHERE ${where.join(' AND ')} ORDER BY d.created_at, d.id LIMIT ? OFFSET ?`,
      [...params, f.limit, f.offset],
    );
  }

  /** The delivery an unsubscribe token names, with its sender domain. */
  async deliveryForUnsubscribe(id: number): Promise<{ account_id: number; recipient: string; sender: string } | undefined> {
    return this.db.get('SELECT account_id, recipient, sender FROM deliveries WHERE id = ?', [id]);
  }

  /** Records an unsubscription from the delivery's sender domain and flags the delivery. */
  unsubscribe(deliveryId: number, accountId: number, domain: string, email: string, now: number): Promise<void> {
    return this.db.tx(async (q) => {
      await q.run(
        `INSERT INTO unsubscriptions (account_id, domain, email, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (account_id, domain, email) DO NOTHING`,
        [accountId, domain, email, now],
      );
      await q.run('UPDATE deliveries SET unsubscribed = 1 WHERE account_id = ? AND id = ?', [accountId, deliveryId]);
    });
  }

  /** Which of these addresses unsubscribed from the account's sender domain. */
  async unsubscribed(accountId: number, domain: string, emails: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < emails.length; i += CHUNK) {
      const chunk = emails.slice(i, i + CHUNK);
      const rows = await this.db.all<{ email: string }>(
        `SELECT email FROM unsubscriptions WHERE account_id = ? AND domain = ? AND email IN (${chunk.map(() => '?').join(', ')})`,
        [accountId, domain, ...chunk],
      );
      for (const r of rows) out.add(r.email);
    }
    return out;
  }
}
