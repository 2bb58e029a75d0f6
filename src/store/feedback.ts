/**
 * What happens to a delivery after its outcome: opens and clicks (tracking), bounces that arrive
 * later as DSNs, and complaints from feedback loops. Each changes the delivery (or not, when it
 * already says so), appends its event and moves the daily counters, in one transaction.
 */
import { domainOf } from '../domain/address.js';
import { DeliverStatus } from '../domain/delivery-status.js';
import { EventKind } from '../domain/events.js';
import { splitRecipientMessageIdHeader } from '../domain/message-id.js';
import { storableText } from '../lib/text.js';
import type { Db, Queryable } from './db.js';
import { appendEvents, VolumeTally, type NewEvent, type VolumeKey } from './events.js';

/** An open or a click, as the tracking route saw it. */
export interface TrackingHit {
  kind: 'open' | 'click';
  deliveryId: number;
  /** The clicked URL (clicks). */
  link?: string;
  userAgent: string;
  /** The prefetcher or scanner that made it, or null for a person. */
  prefetch: string | null;
  at: number;
}

/** A later bounce of a delivery (a DSN's `failed` or `delayed` recipient). */
export interface LateBounce {
  deliveryId: number;
  /** `failed`: the mail bounced; `delayed`: a server on the way is still trying. */
  action: 'failed' | 'delayed';
  /** Whether the address itself is bad (it goes on the blocklist). */
  hard: boolean;
  /** The remote's diagnostic (and status code). */
  reason: string;
  at: number;
}

/** A complaint about a delivery (an ARF report). */
export interface Complaint {
  deliveryId: number;
  feedbackType: string;
  sourceIp: string | null;
  /** When the report says the mail arrived. */
  arrivalDate: number | null;
  userAgent: string;
  at: number;
}

/** Bytes of kept inbound mail stored. */
const KEPT_BYTES = 1024 * 1024;

/** Kept inbound mail as listed. */
export interface KeptSummary { id: number; received_at: number; client: string; mail_from: string; rcpt_to: string; reason: string; size: number }

/** The delivery a signal is about. */
export interface DeliveryFacts {
  id: number;
  account_id: number;
  sender: string;
  recipient: string;
  recipient_domain: string;
  deliver_status: number;
  opened: number;
  clicked: number;
  complained: number;
  created_at: number;
}

/** Records what happens to deliveries after their outcome. */
export class FeedbackStore {
  /** `dayOf`: the day (YYYY-MM-DD in SESAME_TIMEZONE) a time falls on, for the daily counters. */
  constructor(private readonly db: Db, private readonly dayOf: (ms: number) => string) {}

  /** The delivery `id`, or undefined when there is none (any more). */
  delivery(id: number, q: Queryable = this.db): Promise<DeliveryFacts | undefined> {
    return q.get<DeliveryFacts>(
      `SELECT id, account_id, sender, recipient, recipient_domain, deliver_status, opened, clicked, complained, created_at
       FROM deliveries WHERE id = ?`, [id]);
  }

  /**
   * The delivery of the message whose Message-ID is `headerId` (a batch recipient's names its
   * delivery; see recipientMessageIdHeader) to one of `recipients` (or to its only recipient).
   */
  async deliveryByHeader(headerId: string, recipients: readonly string[]): Promise<number | null> {
    const own = splitRecipientMessageIdHeader(headerId);
    if (own) {
      const row = await this.db.get<{ id: number }>(
        'SELECT d.id FROM deliveries d JOIN messages m ON m.id = d.message_row WHERE d.id = ? AND m.header_id = ?', [own.deliveryId, own.runHeader]);
      if (row) return Number(row.id);
    }
    const rows = await this.db.all<{ id: number; recipient: string }>(
      'SELECT d.id, d.recipient FROM deliveries d JOIN messages m ON m.id = d.message_row WHERE m.header_id = ? ORDER BY d.id LIMIT 1000', [headerId]);
    const named = rows.find((r) => recipients.includes(r.recipient));
    if (named) return Number(named.id);
    return rows.length === 1 ? Number(rows[0].id) : null;
  }

  /** Keeps inbound mail nothing could be matched to, for the operator; its id. */
  async keep(m: { client: string; mailFrom: string; rcptTo: string; reason: string; raw: Buffer; at: number }): Promise<number> {
    // Base64 text, as every engine stores it (PostgreSQL text refuses NUL); the first MB is plenty to see what it was.
    const row = await this.db.get<{ id: number }>(
      'INSERT INTO inbound_kept (received_at, client, mail_from, rcpt_to, reason, size, raw) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id',
      [m.at, m.client, storableText(m.mailFrom, 320), storableText(m.rcptTo, 2000), storableText(m.reason), m.raw.length, m.raw.subarray(0, KEPT_BYTES).toString('base64')],
    );
    return Number(row?.id);
  }

  /** Kept inbound mail, newest first (without its content). */
  listKept(limit: number): Promise<KeptSummary[]> {
    return this.db.all<KeptSummary>('SELECT id, received_at, client, mail_from, rcpt_to, reason, size FROM inbound_kept ORDER BY id DESC LIMIT ?', [limit]);
  }

  /** The content of kept mail `id` (its first MB), or undefined. */
  async keptContent(id: number): Promise<Buffer | undefined> {
    const row = await this.db.get<{ raw: string }>('SELECT raw FROM inbound_kept WHERE id = ?', [id]);
    return row ? Buffer.from(row.raw, 'base64') : undefined;
  }

  /**
   * Records opens and clicks, all in one transaction. The first open (click) of a delivery by a
   * person sets its flag and counts its recipient; every hit is an event. Hits on deliveries that
   * are no longer kept are dropped; their number is answered.
   */
  recordHits(hits: readonly TrackingHit[]): Promise<number> {
    return this.db.tx(async (q) => {
      const events: NewEvent[] = [];
      const tally = new VolumeTally();
      let gone = 0;
      // Delivery order: two transactions touching the same rows lock them in the same order.
      for (const h of [...hits].sort((a, b) => a.deliveryId - b.deliveryId)) {
        const d = await this.delivery(h.deliveryId, q);
        if (!d) { gone++; continue; }
        const flag = h.kind === 'open' ? 'opened' : 'clicked';
        const key = this.keyOf(d);
        if (h.prefetch) {
          if (h.kind === 'open' && await this.setFlag(q, d.id, 'opened', 2)) tally.add(key, 'prefetched');
        } else if (await this.setFlag(q, d.id, flag, 1)) {
          tally.add(key, flag);
        }
        events.push({
          accountId: Number(d.account_id), deliveryId: d.id, kind: h.kind === 'open' ? EventKind.Open : EventKind.Click,
          userAgent: h.userAgent, link: h.link, prefetch: h.prefetch, at: h.at,
        });
      }
      await appendEvents(q, events);
      await tally.write(q);
      return gone;
    });
  }

  /**
   * Records a later bounce. A `failed` one makes a delivered delivery bounced (its counters move
   * from delivered to bounced) and, when `hard`, runs `blocklist` in the same transaction; a
   * `delayed` one is a deferred event and changes nothing. False when the delivery is not kept.
   */
  recordBounce(b: LateBounce, blocklist: (q: Queryable, d: DeliveryFacts) => Promise<void>): Promise<boolean> {
    return this.db.tx(async (q) => {
      const d = await this.delivery(b.deliveryId, q);
      if (!d) return false;
      const tally = new VolumeTally();
      const key = this.keyOf(d);
      if (b.action === 'delayed') {
        tally.add(key, 'deferred');
        await appendEvents(q, [{ accountId: Number(d.account_id), deliveryId: d.id, kind: EventKind.Deferred, reason: b.reason, at: b.at }]);
      } else {
        const changed = await q.run(
          'UPDATE deliveries SET deliver_status = ?, deliver_message = ?, deliver_time = ? WHERE id = ? AND deliver_status = ?',
          [DeliverStatus.Bounced, storableText(b.reason), b.at, d.id, DeliverStatus.Delivered],
        );
        // Counted once: a second report of the same bounce (or one for mail that did not show as
        // delivered) is an event, and moves no counter.
        if (changed) tally.add(key, 'delivered', -1).add(key, 'bounced').add(key, 'hard_bounced', b.hard ? 1 : 0);
        await appendEvents(q, [{
          accountId: Number(d.account_id), deliveryId: d.id, kind: EventKind.Bounce, bounceType: b.hard ? 'hard_bounce' : 'soft_bounce', reason: b.reason, at: b.at,
        }]);
        if (b.hard) await blocklist(q, d);
      }
      await tally.write(q);
      return true;
    });
  }

  /**
   * Records a complaint: the delivery is flagged (its recipient counted once), the event keeps
   * what the report says, and `suppress` runs in the same transaction. False when the delivery is
   * not kept.
   */
  recordComplaint(c: Complaint, suppress: (q: Queryable, d: DeliveryFacts) => Promise<void>): Promise<boolean> {
    return this.db.tx(async (q) => {
      const d = await this.delivery(c.deliveryId, q);
      if (!d) return false;
      const tally = new VolumeTally();
      if (await this.setFlag(q, d.id, 'complained', 1)) tally.add(this.keyOf(d), 'complained');
      await appendEvents(q, [{
        accountId: Number(d.account_id), deliveryId: d.id, kind: EventKind.SpamReport, reason: c.feedbackType, userAgent: c.userAgent,
        sourceIp: c.sourceIp, reportedAt: c.arrivalDate, at: c.at,
      }]);
      await suppress(q, d);
      await tally.write(q);
      return true;
    });
  }

  /**
   * Sets a delivery's flag to `value` where it is weaker (unset, or for 1, a person's, set by a
   * machine: 2); whether it changed. One conditional UPDATE, so two reports at once count once.
   */
  private async setFlag(q: Queryable, id: number, flag: 'opened' | 'clicked' | 'complained', value: 1 | 2): Promise<boolean> {
    return (await q.run(`UPDATE deliveries SET ${flag} = ? WHERE id = ? AND ${flag} IN ${value === 1 ? '(0, 2)' : '(0)'}`, [value, id])) > 0;
  }

  private keyOf(d: DeliveryFacts): VolumeKey {
    return { accountId: Number(d.account_id), day: this.dayOf(Number(d.created_at)), senderDomain: domainOf(d.sender), recipientDomain: d.recipient_domain };
  }
}
