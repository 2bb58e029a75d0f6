/**
 * The event record and the daily counters it moves. Both are written only inside the transaction
 * that changes the delivery they are about, by the code that changes it (acceptance, outcomes,
 * tracking, inbound reports, unsubscribes): an event is never recorded for a change that did not
 * commit, nor a change committed without its event.
 */
import type { BounceType, EventKind, VolumeField } from '../domain/events.js';
import { storableText } from '../lib/text.js';
import type { Param, Queryable } from './db.js';

/** One event of a delivery. */
export interface NewEvent {
  accountId: number;
  deliveryId: number;
  kind: EventKind;
  bounceType?: BounceType;
  /** The remote's reply or diagnostic, or why Sesame dropped the mail. */
  reason?: string;
  userAgent?: string;
  /** The clicked URL. */
  link?: string;
  /** The prefetcher or scanner that made this open or click, if it was one. */
  prefetch?: string | null;
  /** A complaint's Source-IP. */
  sourceIp?: string | null;
  /** When a complaint says the mail arrived. */
  reportedAt?: number | null;
  at: number;
}

/** Rows per multi-row insert. */
const CHUNK = 200;
/** Longest user agent or link kept. */
const FIELD_MAX = 2048;

/**
 * Appends events (in the caller's transaction), and puts each in the webhook outbox of the callback
 * that serves it: the sender address's own when it has one (active or not: a disabled address-level
 * callback does not fall back to the account's), else the account's. Both in the same transaction,
 * so an event recorded is an event posted, at least once.
 */
export async function appendEvents(q: Queryable, events: readonly NewEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += CHUNK) {
    const chunk = events.slice(i, i + CHUNK);
    const rows = await q.all<{ id: number }>(
      `INSERT INTO events (account_id, delivery_id, event, bounce_type, reason, user_agent, link, prefetch, source_ip, reported_at, created_at)
       VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')} RETURNING id`,
      chunk.flatMap((e): Param[] => [
        e.accountId, e.deliveryId, e.kind, e.bounceType ?? '', storableText(e.reason ?? ''), clip(e.userAgent), clip(e.link),
        e.prefetch ?? '', e.sourceIp ?? '', e.reportedAt ?? null, e.at,
      ]),
    );
    await enqueueWebhooks(q, rows.map((r) => Number(r.id)));
  }
}

/** Puts the events `ids` in the outbox of the callback that serves each (none: no row). */
async function enqueueWebhooks(q: Queryable, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await q.run(
    `INSERT INTO webhook_outbox (account_id, event_id, callback_id, next_attempt_at, created_at)
     SELECT e.account_id, e.id, CASE WHEN ca.id IS NOT NULL THEN ca.id ELSE cb.id END, e.created_at, e.created_at
     FROM events e JOIN deliveries d ON d.id = e.delivery_id
     LEFT JOIN callbacks ca ON ca.account_id = e.account_id AND ca.address = d.sender
     LEFT JOIN callbacks cb ON cb.account_id = e.account_id AND cb.address = ''
     WHERE e.id IN (${ids.map(() => '?').join(', ')})
       AND CASE WHEN ca.id IS NOT NULL THEN ca.status ELSE cb.status END = 1`,
    ids,
  );
}

/** Where a counter sits: an account's day (of the request, in SESAME_TIMEZONE), sender domain and recipient domain. */
export interface VolumeKey { accountId: number; day: string; senderDomain: string; recipientDomain: string }

/**
 * Increments of the daily counters, gathered while a transaction works and written at its end, one
 * statement per counter row. Rows are written in key order, so two transactions moving the same
 * rows lock them in the same order and cannot deadlock (PostgreSQL).
 */
export class VolumeTally {
  private readonly rows = new Map<string, { key: VolumeKey; counts: Map<VolumeField, number> }>();

  /** Adds `n` to `field` of the row at `key`. */
  add(key: VolumeKey, field: VolumeField, n = 1): this {
    if (n === 0) return this;
    const id = JSON.stringify([key.accountId, key.day, key.senderDomain, key.recipientDomain]);
    let row = this.rows.get(id);
    if (!row) this.rows.set(id, row = { key, counts: new Map() });
    row.counts.set(field, (row.counts.get(field) ?? 0) + n);
    return this;
  }

  /** Writes the increments (in the caller's transaction) and forgets them. */
  async write(q: Queryable): Promise<void> {
    const ids = [...this.rows.keys()].sort();
    for (const id of ids) {
      const { key, counts } = this.rows.get(id)!;
      const fields = [...counts.keys()];
      await q.run(
        `INSERT INTO daily_volumes (account_id, day, sender_domain, recipient_domain, ${fields.join(', ')})
         VALUES (?, ?, ?, ?, ${fields.map(() => '?').join(', ')})
         ON CONFLICT (account_id, day, sender_domain, recipient_domain)
         DO UPDATE SET ${fields.map((f) => `${f} = daily_volumes.${f} + excluded.${f}`).join(', ')}`,
        [key.accountId, key.day, key.senderDomain, key.recipientDomain, ...fields.map((f) => counts.get(f)!)],
      );
    }
    this.rows.clear();
  }
}

function clip(text: string | undefined): string {
  return text ? storableText(text).slice(0, FIELD_MAX) : '';
}
