/**
 * Acceptance: an accepted message and one queued delivery per recipient, written in one
 * transaction with the limits that guard it (the domain's daily quota, the sender's frequency
 * limit). The commit is the acceptance: only then does the caller get its MessageId or `250`.
 */
import { domainOf } from '../domain/address.js';
import { DeliverStatus } from '../domain/delivery-status.js';
import { EventKind } from '../domain/events.js';
import type { Db, Param, Queryable } from './db.js';
import { appendEvents, VolumeTally } from './events.js';
import type { SendCounts } from './send-counts.js';

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
  /** The subject as accepted (events and complaint reports show it). */
  subject: string;
  templateId: number | null;
  /** The Message-ID header (a batch run's: see recipientMessageIdHeader). */
  headerId: string;
  /** The X-Tencentcloudses-Cb-Custom header's value, echoed in callbacks; null when none. */
  callbackCustom?: string | null;
  now: number;
  /** The day the request counts on (YYYY-MM-DD in SESAME_TIMEZONE). */
  day: string;
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

/** Thrown inside the acceptance transaction to undo it when a limit is reached. */
class LimitReached extends Error {
  constructor(readonly result: AcceptResult) { super('limit reached'); }
}

/** Rows per multi-row statement. */
const CHUNK = 500;

/** Accepts messages. */
export class AcceptanceStore {
  constructor(private readonly db: Db, private readonly counts: SendCounts) {}

  /**
   * Accepts a message: counts it against the domain's day (always, quota or not), checks the
   * frequency limit, and writes the message and one queued delivery per recipient, all in one
   * transaction.
   *
   * The domain's counter row and its daily volume row are what every acceptance of the domain (and
   * every outcome) writes: whoever holds one makes the others wait until it commits. So they are
   * written last, and held for a statement or two and the commit, not for the whole transaction
   * (on PostgreSQL, a cluster's acceptances otherwise queue behind one another, each holding the
   * row across all its round trips). With a frequency limit the counter row is taken first
   * instead: it serialises the domain's sends, so the frequency check cannot race. Either way the
   * counter row is locked before the volume row, as everywhere (no deadlock).
   */
  async accept(accountId: number, m: NewMessage, recipients: readonly NewDelivery[], limits: AcceptLimits): Promise<AcceptResult> {
    const count = async (q: Queryable): Promise<void> => {
      const sent = await this.counts.add(q, accountId, m.domainId, limits.daily.day, recipients.length);
      if (limits.daily.quota !== null && sent > limits.daily.quota) throw new LimitReached({ kind: 'quota', sent: sent - recipients.length });
    };
    try {
      return await this.db.tx(async (q) => {
        if (limits.frequency) {
          await count(q);
          const over = await overFrequency(q, accountId, m.sender, recipients.map((r) => r.recipient), limits.frequency);
          if (over) throw new LimitReached({ kind: 'frequency', recipient: over });
        }
        const tally = new VolumeTally();
        const messageRow = await insertMessage(q, accountId, m);
        const ids = await insertDeliveries(q, accountId, messageRow, m, recipients, null, tally);
        if (!limits.frequency) await count(q);
        await tally.write(q);
        return { kind: 'accepted', messageRow, deliveryIds: ids };
      });
    } catch (e) {
      if (e instanceof LimitReached) return e.result;
      throw e;
    }
  }
}

/** Writes a message (in the caller's transaction); its row id. */
export async function insertMessage(q: Queryable, accountId: number, m: NewMessage): Promise<number> {
  const msg = await q.get<{ id: number }>(
    `INSERT INTO messages (account_id, message_id, domain_id, sender, content, subject, template_id, header_id, callback_custom, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    [accountId, m.messageId, m.domainId, m.sender, m.content, m.subject, m.templateId, m.headerId, m.callbackCustom ?? null, m.now],
  );
  if (!msg) throw new Error('message insert returned nothing');
  return msg.id;
}

/**
 * Queues one delivery per recipient of a message (in the caller's transaction), records those
 * dropped at once as dropped events, and counts them all as requested (the queued ones as accepted)
 * on the day of the request; their ids. Given a `tally`, the counts are added to it for the caller
 * to write (last, and after the counter row: see `accept`); else they are written here.
 */
export async function insertDeliveries(q: Queryable, accountId: number, messageRow: number, m: Pick<NewMessage, 'sender' | 'priority' | 'now' | 'day'>, recipients: readonly NewDelivery[], taskId: number | null = null, deferred?: VolumeTally): Promise<number[]> {
  const ids: number[] = [];
  const tally = deferred ?? new VolumeTally();
  const senderDomain = domainOf(m.sender);
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
    // RETURNING gives no order, but ids grow in the order of the VALUES.
    const chunkIds = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    ids.push(...chunkIds);
    await appendEvents(q, chunk.flatMap((r, j) => r.dropped
      ? [{ accountId, deliveryId: chunkIds[j], kind: EventKind.Dropped, reason: r.dropped.reason, at: m.now }]
      : []));
    for (const r of chunk) {
      const key = { accountId, day: m.day, senderDomain, recipientDomain: r.recipientDomain };
      tally.add(key, 'requested').add(key, r.dropped ? 'dropped' : 'accepted');
    }
  }
  if (!deferred) await tally.write(q);
  return ids;
}

/** The first recipient that already had `limit` mails from `sender` since `since`, if any. */
async function overFrequency(q: Queryable, accountId: number, sender: string, recipients: readonly string[], f: { since: number; limit: number }): Promise<string | undefined> {
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
