/** Accounts and their API keys. */
import type { Db, Queryable } from './db.js';

/** An account as stored. */
export interface AccountRow {
  id: number;
  app_id: number;
  name: string;
  template_review: number;
  api_rate_limit: number | null;
  /** Kept by the template store in the same transactions, so limits and totals cost one row read. */
  template_count: number;
  /** Whether SendEmail may carry Simple content (not only templates). */
  /** May the account send content of its own (Simple, SMTP)? 1 yes, 0 no, null: unless its templates need review. */
  free_content: number | null;
  /** When an operator suspended the account; null while it is active. */
  disabled_at: number | null;
  /** Open and click tracking in its HTML mail: 1 on, 0 off. */
  tracking: number;
  created_at: number;
}

/** An API key joined with what request authentication needs of its account (read on every request: no more). */
export interface KeyRow extends Pick<AccountRow, 'app_id' | 'api_rate_limit' | 'disabled_at'> {
  account_id: number;
  secret_id: string;
  secret_key_sealed: string;
}

/** A new account with its first key. */
export interface NewAccount {
  appId: number;
  name: string;
  templateReview: boolean;
  apiRateLimit: number | null;
  tracking: boolean;
  secretId: string;
  secretKeySealed: string;
  now: number;
}

const ACCOUNT_COLUMNS = 'a.id, a.app_id, a.name, a.template_review, a.api_rate_limit, a.template_count, a.free_content, a.disabled_at, a.tracking, a.created_at';

/** An API key as operators see it: never its secret. */
export interface KeySummary { secret_id: string; created_at: number }

/** Reads and writes accounts, API keys and the store's own metadata. */
export class AccountStore {
  constructor(private readonly db: Db) {}

  /** Creates the account and its key in one transaction. */
  create(a: NewAccount): Promise<AccountRow> {
    return this.db.tx(async (q) => {
      const row = await q.get<AccountRow>(
        `INSERT INTO accounts (app_id, name, template_review, api_rate_limit, tracking, created_at) VALUES (?, ?, ?, ?, ?, ?)
         RETURNING id, app_id, name, template_review, api_rate_limit, template_count, free_content, disabled_at, tracking, created_at`,
        [a.appId, a.name, a.templateReview ? 1 : 0, a.apiRateLimit, a.tracking ? 1 : 0, a.now],
      );
      if (!row) throw new Error('account insert returned nothing');
      await q.run('INSERT INTO api_keys (account_id, secret_id, secret_key_sealed, created_at) VALUES (?, ?, ?, ?)',
        [row.id, a.secretId, a.secretKeySealed, a.now]);
      return row;
    });
  }

  /**
   * A mark that changes whenever an account's settings or state, or its keys, may have changed (in
   * this process or another; Db.changeMark). Null where the store cannot say (PostgreSQL): then
   * what depends on them must be read afresh.
   */
  changeMark(): string | null {
    return this.db.changeMark(['accounts', 'api_keys']);
  }

  /**
   * The key with this SecretId and its account: read for every signed request (one indexed
   * lookup), so a revoked key or a suspended account is refused from the next request on, in every
   * process sharing the store.
   */
  findKey(secretId: string): Promise<KeyRow | undefined> {
    return this.db.get<KeyRow>(
      `SELECT k.account_id, a.app_id, a.api_rate_limit, a.disabled_at, k.secret_id, k.secret_key_sealed
       FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.secret_id = ?`,
      [secretId],
    );
  }

  /**
   * Adds a key to the account unless it already holds `max`: 'taken' when the SecretId is in use
   * (by any account), 'full' at the cap. The keys are counted under the account's row lock, so
   * calls at once cannot pass the cap together.
   */
  createKey(accountId: number, secretId: string, secretKeySealed: string, now: number, max = Infinity): Promise<'created' | 'taken' | 'full'> {
    return this.db.tx(async (q) => {
      if (!(await this.lockAccount(q, accountId))) throw new Error(`account ${accountId} does not exist`);
      const held = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM api_keys WHERE account_id = ?', [accountId]);
      if ((held?.n ?? 0) >= max) return 'full';
      const added = await q.run(
        'INSERT INTO api_keys (account_id, secret_id, secret_key_sealed, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (secret_id) DO NOTHING',
        [accountId, secretId, secretKeySealed, now],
      );
      return added > 0 ? 'created' : 'taken';
    });
  }

  /** Deletes one of the account's keys (its sealed secret with it); false when the account has no such key. */
  async revokeKey(accountId: number, secretId: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM api_keys WHERE account_id = ? AND secret_id = ?', [accountId, secretId])) > 0;
  }

  /** The account's keys, oldest first, without their secrets. */
  listKeys(accountId: number): Promise<KeySummary[]> {
    return this.db.all<KeySummary>('SELECT secret_id, created_at FROM api_keys WHERE account_id = ? ORDER BY id', [accountId]);
  }

  /** Suspends the account (keeping when it first was) or makes it active again; false when there is no such account. */
  async setDisabled(appId: number, disabled: boolean, now: number): Promise<boolean> {
    return (await this.db.run(
      'UPDATE accounts SET disabled_at = CASE WHEN ? = 1 THEN COALESCE(disabled_at, ?) ELSE NULL END WHERE app_id = ?',
      [disabled ? 1 : 0, now, appId],
    )) > 0;
  }

  /** The account with this id. */
  get(id: number): Promise<AccountRow | undefined> {
    return this.db.get<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = ?`, [id]);
  }

  /** The account with this AppId. */
  byAppId(appId: number): Promise<AccountRow | undefined> {
    return this.db.get<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.app_id = ?`, [appId]);
  }

  /** The account, read inside a transaction and locked until it ends (serialises per-account limits). */
  lockAccount(q: Queryable, accountId: number): Promise<AccountRow | undefined> {
    return q.get<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts a WHERE a.id = ?${this.db.dialect.forUpdate}`, [accountId]);
  }

  /** Every account, oldest first (operator view). */
  list(): Promise<AccountRow[]> {
    return this.db.all<AccountRow>(`SELECT ${ACCOUNT_COLUMNS} FROM accounts a ORDER BY a.id`);
  }

  /** How many accounts exist. */
  async count(): Promise<number> {
    const r = await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM accounts');
    return r?.n ?? 0;
  }

  /** Changes an account's settings; false when there is no such account. */
  async update(appId: number, patch: { templateReview?: boolean; apiRateLimit?: number | null; freeContent?: boolean | null; tracking?: boolean }): Promise<boolean> {
    const sets: string[] = [];
    const params: (number | null)[] = [];
    if (patch.tracking !== undefined) { sets.push('tracking = ?'); params.push(patch.tracking ? 1 : 0); }
    if (patch.freeContent !== undefined) { sets.push('free_content = ?'); params.push(patch.freeContent === null ? null : patch.freeContent ? 1 : 0); }
    if (patch.templateReview !== undefined) { sets.push('template_review = ?'); params.push(patch.templateReview ? 1 : 0); }
    if (patch.apiRateLimit !== undefined) { sets.push('api_rate_limit = ?'); params.push(patch.apiRateLimit); }
    if (!sets.length) return (await this.byAppId(appId)) !== undefined;
    return (await this.db.run(`UPDATE accounts SET ${sets.join(', ')} WHERE app_id = ?`, [...params, appId])) > 0;
  }

  /** A metadata value, or undefined. */
  async getMeta(key: string): Promise<string | undefined> {
    return (await this.db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key]))?.value;
  }

  /** Stores `value` unless the key already has one; returns the value now stored. */
  async putMetaOnce(key: string, value: string): Promise<string> {
    return this.db.tx(async (q) => {
      await q.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', [key, value]);
      const r = await q.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key]);
      return r?.value ?? value;
    });
  }
}
