/**
 * What happens to a delivery after its outcome: opens and clicks (tracking), bounces that arrive
 * later as DSNs, and complaints from feedback loops. Each changes the delivery (or not, when it
 * already says so), appends its event and moves the daily counters, in one transaction.
 */
import { domainOf } from '../domain/address.js';
import { DeliverStatus } from '../domain/delivery-status.js';
import { EventKind } from '../domain/events.js';
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
