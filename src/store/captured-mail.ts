/**
 * Mail kept by capture mode (SESAME_DELIVERY=capture): a delivery's signed message, written in the
 * transaction that records the delivery as delivered (DeliveryQueue.recordOutcomes), so a crash
 * leaves both or neither, and read by its account only. The retention job's deletes live with the
 * others in retention.ts.
 */
import { storableText } from '../lib/text.js';
import type { Db, Param, Queryable } from './db.js';

/** What an attempt in capture mode keeps of its delivery: the message as it would have gone out. */
export interface Capture {
  /** Subject as the recipient would read it (encoded words decoded). */
  subject: string;
  /** The signed RFC 5322 message. */
  message: Buffer;
}

/** A captured mail as lists show it. */
export interface CapturedRow {
  id: number;
  /** The MessageId SendEmail (or the task's run) answered. */
  message_id: string;
  sender: string;
  recipient: string;
  subject: string;
  /** Bytes of the message. */
  size: number;
  captured_at: number;
}

const LIST_COLUMNS = 'id, message_id, sender, recipient, subject, size, captured_at';

/**
 * Keeps the captures of deliveries the caller's transaction records as delivered. What the list
 * shows of the delivery and its message is copied from them here. A delivery has one row at most:
 * its outcome is recorded once, and the unique delivery_id would leave a second capture out.
 */
export async function keepCaptures(q: Queryable, items: readonly { deliveryId: number; capture: Capture; at: number }[]): Promise<void> {
  for (const { deliveryId, capture, at } of items) {
    await q.run(
      `INSERT INTO captured_mail (account_id, delivery_id, message_id, sender, recipient, subject, size, raw, captured_at)
       SELECT d.account_id, d.id, m.message_id, d.sender, d.recipient, ?, ?, ?, ?
       FROM deliveries d JOIN messages m ON m.id = d.message_row WHERE d.id = ?
       ON CONFLICT (delivery_id) DO NOTHING`,
      [storableText(capture.subject), capture.message.length, capture.message.toString('base64'), at, deliveryId],
    );
  }
}

/** Reads an account's captured mail. */
export class CapturedMailStore {
  constructor(private readonly db: Db) {}

  /** A page of the account's captured mail (to `recipient` only, when given), newest first, and how many there are. */
  async list(accountId: number, f: { recipient?: string; limit: number; offset: number }): Promise<{ rows: CapturedRow[]; total: number }> {
    const where = f.recipient === undefined ? 'account_id = ?' : 'account_id = ? AND recipient = ?';
    const params: Param[] = f.recipient === undefined ? [accountId] : [accountId, f.recipient];
    const total = await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM captured_mail WHERE ${where}`, params);
    const rows = f.limit === 0 ? [] : await this.db.all<CapturedRow>(
      `SELECT ${LIST_COLUMNS} FROM captured_mail WHERE ${where} ORDER BY id DESC LIMIT ? OFFSET ?`,
      [...params, f.limit, f.offset],
    );
    return { rows, total: Number(total?.n ?? 0) };
  }

  /** One of the account's captured mails with its message, or undefined (another account's is not found either). */
  async get(accountId: number, id: number): Promise<(CapturedRow & { message: Buffer }) | undefined> {
    const row = await this.db.get<CapturedRow & { raw: string }>(`SELECT ${LIST_COLUMNS}, raw FROM captured_mail WHERE account_id = ? AND id = ?`, [accountId, id]);
    if (!row) return undefined;
    const { raw, ...rest } = row;
    return { ...rest, message: Buffer.from(raw, 'base64') };
  }
}
