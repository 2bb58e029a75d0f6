/** The status query: one row per recipient of the account's mail, as GetSendEmailStatus shows it. */
import type { Db, Param } from './db.js';

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

/** Reads delivery statuses. */
export class StatusStore {
  constructor(private readonly db: Db) {}

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
}
