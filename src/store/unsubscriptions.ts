/** Unsubscriptions: a recipient who left a sender domain of an account, and the delivery that said so. */
import { domainOf } from '../domain/address.js';
import { EventKind } from '../domain/events.js';
import type { Db, Queryable } from './db.js';
import { appendEvents, VolumeTally } from './events.js';

/**
 * The domain of an unsubscription that covers every sender domain of the account: a recipient who
 * complained (a feedback-loop report) gets no more mail from the account at all.
 */
export const EVERY_DOMAIN = '*';

/** Rows per statement that names addresses. */
const CHUNK = 500;

/** Reads and records unsubscriptions. */
export class UnsubscriptionStore {
  /** `dayOf`: the day (YYYY-MM-DD in SESAME_TIMEZONE) a time falls on, for the daily counters. */
  constructor(private readonly db: Db, private readonly dayOf: (ms: number) => string) {}

  /** Moves whenever these rows may have changed (Db.changeMark). */
  changeMark(): string | null {
    return this.db.changeMark(['unsubscriptions']);
  }

  /** The delivery an unsubscribe token names, with its sender. */
  async deliveryFor(id: number): Promise<{ account_id: number; recipient: string; sender: string } | undefined> {
    return this.db.get('SELECT account_id, recipient, sender FROM deliveries WHERE id = ?', [id]);
  }

  /**
   * Records an unsubscription from the delivery's sender domain; the delivery's first one is an
   * unsubscribe event and counts its recipient. A link outlives its delivery (retention): then
   * only the unsubscription is kept.
   */
  record(deliveryId: number, accountId: number, domain: string, email: string, now: number): Promise<void> {
    return this.db.tx(async (q) => {
      await this.suppress(q, accountId, domain, email, now);
      const d = await q.get<{ sender: string; recipient_domain: string; created_at: number }>(
        'UPDATE deliveries SET unsubscribed = 1 WHERE account_id = ? AND id = ? AND unsubscribed = 0 RETURNING sender, recipient_domain, created_at',
        [accountId, deliveryId],
      );
      if (!d) return;
      await appendEvents(q, [{ accountId, deliveryId, kind: EventKind.Unsubscribe, at: now }]);
      await new VolumeTally().add({ accountId, day: this.dayOf(Number(d.created_at)), senderDomain: domainOf(d.sender), recipientDomain: d.recipient_domain }, 'unsubscribed').write(q);
    });
  }

  /** Unsubscribes `email` from the account's sender `domain` (EVERY_DOMAIN: all of them), in the caller's transaction. */
  async suppress(q: Queryable, accountId: number, domain: string, email: string, now: number): Promise<void> {
    await q.run(
      'INSERT INTO unsubscriptions (account_id, domain, email, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (account_id, domain, email) DO NOTHING',
      [accountId, domain, email, now],
    );
  }

  /** Which of these addresses unsubscribed from the account's sender domain (or complained: from all of them). */
  async among(accountId: number, domain: string, emails: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < emails.length; i += CHUNK) {
      const chunk = emails.slice(i, i + CHUNK);
      const rows = await this.db.all<{ email: string }>(
        `SELECT email FROM unsubscriptions WHERE account_id = ? AND domain IN (?, ?) AND email IN (${chunk.map(() => '?').join(', ')})`,
        [accountId, domain, EVERY_DOMAIN, ...chunk],
      );
      for (const r of rows) out.add(r.email);
    }
    return out;
  }
}
