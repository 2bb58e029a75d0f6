/** Email templates, always read and written within one account. */
import type { Db } from './db.js';
import type { AccountStore } from './accounts.js';

/** A template as stored (content decoded to UTF-8 text). */
export interface TemplateRow {
  id: number;
  account_id: number;
  name: string;
  html: string | null;
  text: string | null;
  /** JSON array of the variable names found in the content. */
  variables: string;
  status: number;
  review_reason: string;
  created_at: number;
  updated_at: number;
}

/** The content and review state of a template being written. */
export interface TemplateContentRow {
  name: string;
  html: string | null;
  text: string | null;
  variables: string;
  /** Decides the review state inside the transaction, from the account's current setting. */
  status: (templateReview: boolean) => number;
  now: number;
}

const COLUMNS = 'id, account_id, name, html, text, variables, status, review_reason, created_at, updated_at';
/** Everything but the content: what lists show. */
const META_COLUMNS = 'id, account_id, name, status, review_reason, created_at, updated_at';

/** A template without its content. */
export type TemplateMetaRow = Omit<TemplateRow, 'html' | 'text' | 'variables'>;

/** Reads and writes templates. */
export class TemplateStore {
  constructor(private readonly db: Db, private readonly accounts: AccountStore) {}

  /** Moves whenever these rows may have changed (Db.changeMark). */
  changeMark(): string | null {
    return this.db.changeMark(['templates']);
  }

  /** Inserts the template unless the account already has `limit`; returns its id, or null at the limit. */
  create(accountId: number, t: TemplateContentRow, limit: number): Promise<number | null> {
    return this.db.tx(async (q) => {
      const account = await this.accounts.lockAccount(q, accountId);
      if (!account) throw new Error(`account ${accountId} does not exist`);
      if (account.template_count >= limit) return null;
      await q.run('UPDATE accounts SET template_count = template_count + 1 WHERE id = ?', [accountId]);
      const row = await q.get<{ id: number }>(
        `INSERT INTO templates (account_id, name, html, text, variables, status, review_reason, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, '', ?, ?) RETURNING id`,
        [accountId, t.name, t.html, t.text, t.variables, t.status(account.template_review === 1), t.now, t.now],
      );
      return row?.id ?? null;
    });
  }

  /** Replaces name and content; false when the account has no such template. */
  update(accountId: number, id: number, t: TemplateContentRow): Promise<boolean> {
    return this.db.tx(async (q) => {
      const account = await this.accounts.lockAccount(q, accountId);
      if (!account) return false;
      const changed = await q.run(
        `UPDATE templates SET name = ?, html = ?, text = ?, variables = ?, status = ?, review_reason = '', updated_at = ?
         WHERE account_id = ? AND id = ?`,
        [t.name, t.html, t.text, t.variables, t.status(account.template_review === 1), t.now, accountId, id],
      );
      return changed > 0;
    });
  }

  /** One template of the account. */
  get(accountId: number, id: number): Promise<TemplateRow | undefined> {
    return this.db.get<TemplateRow>(`SELECT ${COLUMNS} FROM templates WHERE account_id = ? AND id = ?`, [accountId, id]);
  }

  /** The status of one template of the account (its text not read), or undefined when there is none. */
  async status(accountId: number, id: number): Promise<number | undefined> {
    const row = await this.db.get<{ status: number }>('SELECT status FROM templates WHERE account_id = ? AND id = ?', [accountId, id]);
    return row?.status;
  }

  /** A page of the account's templates, newest first, and how many there are in all. */
  async list(accountId: number, limit: number, offset: number): Promise<{ rows: TemplateMetaRow[]; total: number }> {
    const total = await this.db.get<{ n: number }>('SELECT template_count AS n FROM accounts WHERE id = ?', [accountId]);
    const rows = limit === 0 ? [] : await this.db.all<TemplateMetaRow>(
      `SELECT ${META_COLUMNS} FROM templates WHERE account_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`,
      [accountId, limit, offset],
    );
    return { rows, total: total?.n ?? 0 };
  }

  /** Deletes one template; false when the account has no such template. */
  delete(accountId: number, id: number): Promise<boolean> {
    return this.db.tx(async (q) => {
      const gone = await q.run('DELETE FROM templates WHERE account_id = ? AND id = ?', [accountId, id]);
      if (gone > 0) await q.run('UPDATE accounts SET template_count = template_count - 1 WHERE id = ?', [accountId]);
      return gone > 0;
    });
  }

  /** Operator review: sets the status and reason of a template of the account. */
  async review(accountId: number, id: number, status: number, reason: string, now: number): Promise<boolean> {
    return (await this.db.run(
      'UPDATE templates SET status = ?, review_reason = ?, updated_at = ? WHERE account_id = ? AND id = ?',
      [status, reason, now, accountId, id],
    )) > 0;
  }

  /** Templates waiting for review in one account (operator view). */
  pending(accountId: number): Promise<TemplateRow[]> {
    return this.db.all<TemplateRow>(`SELECT ${COLUMNS} FROM templates WHERE account_id = ? AND status = 1 ORDER BY id`, [accountId]);
  }
}
