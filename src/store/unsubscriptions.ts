/** Unsubscriptions: a recipient who left a sender domain of an account, and the delivery that said so. */
import type { Db } from './db.js';

/** Rows per statement that names addresses. */
const CHUNK = 500;

/** Reads and records unsubscriptions. */
export class UnsubscriptionStore {
  constructor(private readonly db: Db) {}

  /** The delivery an unsubscribe token names, with its sender. */
  async deliveryFor(id: number): Promise<{ account_id: number; recipient: string; sender: string } | undefined> {
    return this.db.get('SELECT account_id, recipient, sender FROM deliveries WHERE id = ?', [id]);
  }

  /** Records an unsubscription from the delivery's sender domain and flags the delivery. */
  record(deliveryId: number, accountId: number, domain: string, email: string, now: number): Promise<void> {
    return this.db.tx(async (q) => {
      await q.run(
        `INSERT INTO unsubscriptions (account_id, domain, email, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (account_id, domain, email) DO NOTHING`,
        [accountId, domain, email, now],
      );
      await q.run('UPDATE deliveries SET unsubscribed = 1 WHERE account_id = ? AND id = ?', [accountId, deliveryId]);
    });
  }

  /** Which of these addresses unsubscribed from the account's sender domain. */
  async among(accountId: number, domain: string, emails: readonly string[]): Promise<Set<string>> {
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
