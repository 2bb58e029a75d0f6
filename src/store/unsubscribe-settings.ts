/** Per sender address unsubscribe-link settings of an account. */
import type { Db } from './db.js';

/** One address's setting. */
export interface UnsubscribeSettingRow {
  address: string;
  /** "0" (no link) to "11", the language of the link. */
  language: string;
  enabled: number;
}

const COLUMNS = 'address, language, enabled';

/** Reads and writes unsubscribe settings. */
export class UnsubscribeSettingStore {
  constructor(private readonly db: Db) {}

  /** Moves whenever these rows may have changed (Db.changeMark). */
  changeMark(): string | null {
    return this.db.changeMark(['unsubscribe_settings']);
  }

  /**
   * Creates the setting of one of the account's sender addresses. The address row is locked first,
   * so a sender deleted meanwhile (which deletes its setting too) cannot leave one behind.
   */
  create(accountId: number, address: string, language: string, enabled: boolean, now: number): Promise<'created' | 'exists' | 'no-sender'> {
    return this.db.tx(async (q) => {
      const sender = await q.get(`SELECT id FROM sender_addresses WHERE account_id = ? AND address = ?${this.db.dialect.forUpdate}`, [accountId, address]);
      if (!sender) return 'no-sender';
      const n = await q.run(
        `INSERT INTO unsubscribe_settings (account_id, address, language, enabled, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (account_id, address) DO NOTHING`,
        [accountId, address, language, enabled ? 1 : 0, now, now],
      );
      return n > 0 ? 'created' : 'exists';
    });
  }

  /** Changes the setting; false when the address has none. */
  async update(accountId: number, address: string, language: string, enabled: boolean, now: number): Promise<boolean> {
    return (await this.db.run(
      'UPDATE unsubscribe_settings SET language = ?, enabled = ?, updated_at = ? WHERE account_id = ? AND address = ?',
      [language, enabled ? 1 : 0, now, accountId, address],
    )) > 0;
  }

  /** Removes the setting; false when the address had none. */
  async delete(accountId: number, address: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM unsubscribe_settings WHERE account_id = ? AND address = ?', [accountId, address])) > 0;
  }

  /** One address's setting. */
  get(accountId: number, address: string): Promise<UnsubscribeSettingRow | undefined> {
    return this.db.get<UnsubscribeSettingRow>(`SELECT ${COLUMNS} FROM unsubscribe_settings WHERE account_id = ? AND address = ?`, [accountId, address]);
  }

  /** A page of the account's settings, oldest first, and how many there are. */
  async list(accountId: number, limit: number, offset: number): Promise<{ rows: UnsubscribeSettingRow[]; total: number }> {
    const total = await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM unsubscribe_settings WHERE account_id = ?', [accountId]);
    const rows = await this.db.all<UnsubscribeSettingRow>(
      `SELECT ${COLUMNS} FROM unsubscribe_settings WHERE account_id = ? ORDER BY id LIMIT ? OFFSET ?`, [accountId, limit, offset],
    );
    return { rows, total: total?.n ?? 0 };
  }
}
