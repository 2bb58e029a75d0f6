/** Accounts and API keys: creation, the first account, and key lookup for request signing. */
import type { SecretBox } from '../lib/secret-box.js';
import { newAppId, newSecretId, newSecretKey } from '../lib/random.js';
import type { AccountRow, AccountStore } from '../store/accounts.js';

/** What the API needs to verify a signature and apply per-account policy. */
export interface ApiKey {
  readonly accountId: number;
  readonly appId: number;
  readonly secretId: string;
  readonly secretKey: string;
  /** Requests per second per action for this account; null: the configured default. */
  readonly apiRateLimit: number | null;
}

/** Credentials of a new account, shown once. */
export interface NewCredentials {
  AppId: number;
  Name: string;
  SecretId: string;
  SecretKey: string;
}

/** Options of a new account. */
export interface AccountOptions {
  name: string;
  templateReview?: boolean;
  apiRateLimit?: number | null;
  secretId?: string;
  secretKey?: string;
}

/** Keys are cached briefly: a signed request must not cost a decryption and a query each time. */
const KEY_CACHE_MS = 30_000;
const KEY_CACHE_MAX = 10_000;

/** Creates accounts and finds API keys. */
export class AccountService {
  private readonly cache = new Map<string, { key: ApiKey; until: number }>();

  constructor(
    private readonly accounts: AccountStore,
    private readonly box: SecretBox,
    private readonly defaults: { templateReview: boolean },
  ) {}

  /** Creates an account with one API key (generated unless given). */
  async create(opts: AccountOptions): Promise<NewCredentials> {
    const secretId = opts.secretId ?? newSecretId();
    const secretKey = opts.secretKey ?? newSecretKey();
    for (let attempt = 0; ; attempt++) {
      const appId = newAppId();
      try {
        const row = await this.accounts.create({
          appId,
          name: opts.name,
          templateReview: opts.templateReview ?? this.defaults.templateReview,
          apiRateLimit: opts.apiRateLimit ?? null,
          secretId,
          secretKeySealed: this.box.seal(secretKey, sealPurpose(secretId)),
          now: Date.now(),
        });
        return { AppId: row.app_id, Name: row.name, SecretId: secretId, SecretKey: secretKey };
      } catch (e) {
        // An AppId collision (one in 10^8 per account) is retried with another number.
        if (attempt < 3 && /app_id/i.test(String((e as Error).message)) && /unique/i.test(String((e as Error).message))) continue;
        throw e;
      }
    }
  }

  /**
   * Creates the first account when the store has none: with the configured credentials when given,
   * else fresh ones. Returns the new credentials (to print once), or null when accounts exist.
   */
  async ensureFirst(configured: { secretId?: string; secretKey?: string }): Promise<NewCredentials | null> {
    if ((await this.accounts.count()) > 0) return null;
    return this.create({ name: 'default', secretId: configured.secretId, secretKey: configured.secretKey });
  }

  /** The API key with this SecretId, or undefined when there is none. */
  async findKey(secretId: string): Promise<ApiKey | undefined> {
    const now = Date.now();
    const hit = this.cache.get(secretId);
    if (hit && hit.until > now) return hit.key;
    const row = await this.accounts.findKey(secretId);
    if (!row) { this.cache.delete(secretId); return undefined; }
    const key: ApiKey = {
      accountId: row.account_id,
      appId: row.app_id,
      secretId: row.secret_id,
      secretKey: this.box.open(row.secret_key_sealed, sealPurpose(row.secret_id)),
      apiRateLimit: row.api_rate_limit,
    };
    if (this.cache.size >= KEY_CACHE_MAX) this.cache.clear();
    this.cache.set(secretId, { key, until: now + KEY_CACHE_MS });
    return key;
  }

  /** Changes an account's settings (operator). */
  async update(appId: number, patch: { templateReview?: boolean; apiRateLimit?: number | null; simpleAllowed?: boolean }): Promise<boolean> {
    const ok = await this.accounts.update(appId, patch);
    this.cache.clear();
    return ok;
  }

  /** Every account (operator view). */
  list(): Promise<AccountRow[]> {
    return this.accounts.list();
  }

  /** The account with this AppId (operator commands name accounts by AppId). */
  byAppId(appId: number): Promise<AccountRow | undefined> {
    return this.accounts.byAppId(appId);
  }
}

const sealPurpose = (secretId: string): string => `api-key:${secretId}`;
