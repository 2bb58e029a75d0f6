/**
 * Accounts and API keys: creation, the first account, keys and suspension (operator), the keys and
 * settings an account manages itself, and key lookup for request signing.
 */
import { fail } from '../errors/coded-error.js';
import type { SecretBox } from '../lib/secret-box.js';
import { newAppId, newSecretId, newSecretKey } from '../lib/random.js';
import { MarkedCache } from '../lib/marked-cache.js';
import { TtlCache } from '../lib/ttl-cache.js';
import type { AccountRow, AccountStore, KeySummary } from '../store/accounts.js';
import { allowsFreeContent } from './sending-rules.js';

/** What the API needs to verify a signature and apply per-account policy. */
export interface ApiKey {
  readonly accountId: number;
  readonly appId: number;
  readonly secretId: string;
  readonly secretKey: string;
  /** Requests per second per action for this account; null: the configured default. */
  readonly apiRateLimit: number | null;
  /** The operator has suspended the account: even a correctly signed request is refused. */
  readonly suspended: boolean;
}

/** Credentials of a new account, shown once. */
export interface NewCredentials {
  AppId: number;
  Name: string;
  SecretId: string;
  SecretKey: string;
}

/** A new key of an existing account, shown once. */
export interface NewKey {
  AppId: number;
  SecretId: string;
  SecretKey: string;
}

/** An account's settings, as it may read them itself (GetAccountSettings). */
export interface AccountSettings {
  /** Open and click tracking in its HTML mail. */
  tracking: boolean;
  /** Its templates wait for an operator's approval. */
  templateReview: boolean;
  /** It may send content of its own (Simple, SMTP submission), not only templates. */
  freeContent: boolean;
}

/**
 * Keys an account may hold when it adds them itself (CreateApiKey): enough to rotate and to give
 * each application its own, few enough that a leaked key cannot mint keys without end. The
 * operator (`sesame account key create`) is not held to it.
 */
export const API_KEY_LIMIT = 10;

/** Options of a new account. */
export interface AccountOptions {
  name: string;
  templateReview?: boolean;
  apiRateLimit?: number | null;
  secretId?: string;
  secretKey?: string;
}

/** A SecretId shaped like Tencent's (and like the ones Sesame makes). */
const SECRET_ID = /^AKID[A-Za-z0-9]{32}$/;

/**
 * Opened SecretKeys are kept, by SecretId and sealed value, so a signed request costs no
 * decryption; an entry whose row is gone is never consulted again and leaves when it expires.
 *
 * Keys found are kept too, but used again only while nothing could have changed them: while the
 * account store's change mark (another process's commit, or a change of keys or accounts by this
 * process) is what it was when the key was read. Otherwise, and always on PostgreSQL (every process
 * commits all the time), the key row is read for the request. Either way a key revoked or an
 * account suspended, by any process, is refused from the next request on; a request with an unknown
 * SecretId is never answered from here.
 */
const KEYS_TTL_MS = 10 * 60_000;
const KEYS_MAX = 10_000;

/** Creates accounts, manages their API keys and state, and finds keys for request signing. */
export class AccountService {
  private readonly opened = new TtlCache<string, string>({ ttlMs: KEYS_TTL_MS, maxEntries: KEYS_MAX });
  private readonly keys: MarkedCache<string, ApiKey | undefined>;

  constructor(
    private readonly accounts: AccountStore,
    private readonly box: SecretBox,
    private readonly defaults: { templateReview: boolean; tracking: boolean },
  ) {
    this.keys = new MarkedCache({ ttlMs: KEYS_TTL_MS, maxEntries: KEYS_MAX }, () => accounts.changeMark());
  }

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
          tracking: this.defaults.tracking,
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

  /** The API key with this SecretId, or undefined when there is none (revoked keys included). */
  findKey(secretId: string): Promise<ApiKey | undefined> {
    return this.keys.get(secretId, async () => {
      const row = await this.accounts.findKey(secretId);
      return row && {
        accountId: row.account_id,
        appId: row.app_id,
        secretId: row.secret_id,
        secretKey: this.open(row.secret_id, row.secret_key_sealed),
        apiRateLimit: row.api_rate_limit,
        suspended: row.disabled_at !== null,
      };
    });
  }

  /**
   * Adds an API key to the account, with the given SecretId (unused, shaped like AKID + 32 letters
   * or digits) or a fresh one; refused (LimitExceeded) when the account already holds `max`.
   */
  async createKey(account: { id: number; app_id: number }, opts: { secretId?: string; max?: number } = {}): Promise<NewKey> {
    if (opts.secretId !== undefined && !SECRET_ID.test(opts.secretId)) {
      fail('InvalidParameterValue', 'A SecretId is AKID followed by 32 letters or digits.');
    }
    const id = opts.secretId ?? newSecretId();
    const secretKey = newSecretKey();
    const added = await this.accounts.createKey(account.id, id, this.box.seal(secretKey, sealPurpose(id)), Date.now(), opts.max);
    if (added === 'full') fail('LimitExceeded', `This account already holds ${opts.max} API keys, the most it may have; delete one it no longer uses first.`);
    if (added === 'taken') fail('InvalidParameterValue', `The SecretId ${id} is already in use.`);
    return { AppId: account.app_id, SecretId: id, SecretKey: secretKey };
  }

  /**
   * Revokes one of the account's keys: refused from the next request on. Revoking an account's last
   * key is allowed (a leaked key must go at once, before any replacement exists); the account then
   * has no API access until a key is created. False when the account has no such key.
   */
  revokeKey(accountId: number, secretId: string): Promise<boolean> {
    return this.accounts.revokeKey(accountId, secretId);
  }

  /**
   * Revokes one of the account's keys at its own request (DeleteApiKey). Not the key `signedWith`,
   * which makes the request (ResourceInUse): nobody locks themselves out by accident, and rotation is
   * to create a key, switch to it and delete the old one with it. A SecretId the account does not
   * hold, another account's included, answers ResourceNotFound alike: nothing says whose it is.
   */
  async revokeOwnKey(accountId: number, secretId: string, signedWith: string): Promise<void> {
    if (secretId === signedWith) {
      fail('ResourceInUse', 'That is the key this request is made with (it signed it, or the console signed in with it); delete it with another key of the account.');
    }
    if (!(await this.revokeKey(accountId, secretId))) fail('ResourceNotFound', `This account has no API key with SecretId ${secretId}.`);
  }

  /** The account's keys, oldest first, without their secrets. */
  listKeys(accountId: number): Promise<KeySummary[]> {
    return this.accounts.listKeys(accountId);
  }

  /** The account's settings, as it may read them itself. */
  async settings(accountId: number): Promise<AccountSettings> {
    const a = await this.accounts.get(accountId);
    if (!a) throw new Error(`account ${accountId} does not exist`);
    return { tracking: a.tracking === 1, templateReview: a.template_review === 1, freeContent: allowsFreeContent(a) };
  }

  /**
   * Turns the account's open and click tracking on (1) or off (0) at its own request: the same
   * change as `sesame account update --tracking`, seen by every process as soon as that one is.
   */
  async setTracking(appId: number, value: number): Promise<void> {
    if (value !== 0 && value !== 1) fail('InvalidParameterValue', 'Tracking must be 0 (off) or 1 (on).');
    await this.update(appId, { tracking: value === 1 });
  }

  /** Suspends an account (operator), or makes it active again; false when there is no such account. */
  setDisabled(appId: number, disabled: boolean): Promise<boolean> {
    return this.accounts.setDisabled(appId, disabled, Date.now());
  }

  /** Changes an account's settings (operator); every process sees them from its next request. */
  update(appId: number, patch: { templateReview?: boolean; apiRateLimit?: number | null; freeContent?: boolean | null; tracking?: boolean }): Promise<boolean> {
    return this.accounts.update(appId, patch);
  }

  /** Every account (operator view). */
  list(): Promise<AccountRow[]> {
    return this.accounts.list();
  }

  /** The account with this AppId (operator commands name accounts by AppId). */
  byAppId(appId: number): Promise<AccountRow | undefined> {
    return this.accounts.byAppId(appId);
  }

  /** The SecretKey of a sealed value, opened once. */
  private open(secretId: string, sealed: string): string {
    // The SecretId is part of the key: the sealed value is bound to it, and the cache must not
    // hand out a value under a SecretId it was not sealed for.
    const id = `${secretId}\n${sealed}`;
    let key = this.opened.get(id);
    if (key === undefined) {
      key = this.box.open(sealed, sealPurpose(secretId));
      this.opened.set(id, key);
    }
    return key;
  }
}

const sealPurpose = (secretId: string): string => `api-key:${secretId}`;
