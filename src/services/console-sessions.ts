/**
 * Console sign-in: an account's `SecretId` and `SecretKey` buy a session, so the browser never keeps
 * the SecretKey. The session is a random cookie value (only its SHA-256 is stored) with a CSRF token
 * of its own; it ends at its expiry, at sign-out, when the API key it signed in with is revoked, or
 * when the account is suspended. Failed sign-ins are throttled by client network and by SecretId
 * from it, as SMTP logins are (lib/auth-throttle.ts).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { CodedError } from '../errors/coded-error.js';
import type { AuthThrottle } from '../lib/auth-throttle.js';
import type { ConsoleSessionStore } from '../store/console-sessions.js';
import type { AccountService, ApiKey } from './accounts.js';

/** A signed-in browser. */
export interface ConsoleSession { key: ApiKey; csrf: string; expiresAt: number }

/** A new session: the cookie value to set (shown once) and its CSRF token. */
export interface NewSession { cookie: string; csrf: string; appId: number; expiresAt: number }

/** Signs browsers in and out, and finds their sessions. */
export class ConsoleSessions {
  constructor(private readonly d: { store: ConsoleSessionStore; accounts: Pick<AccountService, 'findKey'>; throttle: AuthThrottle; sessionMs: number }) {}

  /** Checks `secretId` and `secretKey` from client `address`; a session, or a CodedError saying why not. */
  async signIn(secretId: string, secretKey: string, address: string): Promise<NewSession> {
    const standing = this.d.throttle.standing(address, secretId);
    if (standing.kind === 'locked') {
      throw new CodedError('RequestLimitExceeded', 'Too many failed sign-ins from your network; try again later.');
    }
    if (standing.delayMs > 0) await new Promise((r) => setTimeout(r, standing.delayMs));
    const attempt = this.d.throttle.begin(address, secretId);
    let key: ApiKey | undefined;
    try {
      key = await this.d.accounts.findKey(secretId);
    } catch (e) {
      attempt.abandoned();
      throw e;
    }
    if (!key || !sameText(key.secretKey, secretKey)) {
      attempt.failed();
      throw new CodedError('AuthFailure.SecretIdNotFound', 'The SecretId or the SecretKey is wrong.');
    }
    if (key.suspended) {
      attempt.abandoned();
      throw new CodedError('AuthFailure.UnauthorizedOperation', 'This account is suspended.');
    }
    attempt.succeeded();
    const cookie = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    const now = Date.now();
    const expiresAt = now + this.d.sessionMs;
    await this.d.store.create({ idHash: hashOf(cookie), accountId: key.accountId, secretId: key.secretId, csrf, now, expiresAt });
    return { cookie, csrf, appId: key.appId, expiresAt };
  }

  /** The session a cookie value names, while it lasts and its key and account stand; else undefined. */
  async find(cookie: string): Promise<ConsoleSession | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(cookie)) return undefined;
    const row = await this.d.store.get(hashOf(cookie), Date.now());
    if (!row) return undefined;
    const key = await this.d.accounts.findKey(row.secret_id);
    if (!key || key.accountId !== Number(row.account_id) || key.suspended) return undefined;
    return { key, csrf: row.csrf, expiresAt: Number(row.expires_at) };
  }

  /** Whether `token` is the session's CSRF token. */
  csrfMatches(s: ConsoleSession, token: string | undefined): boolean {
    return token !== undefined && sameText(s.csrf, token);
  }

  /** Ends the session a cookie value names. */
  async signOut(cookie: string): Promise<void> {
    if (/^[A-Za-z0-9_-]{43}$/.test(cookie)) await this.d.store.delete(hashOf(cookie));
  }
}

function hashOf(cookie: string): string {
  return createHash('sha256').update(cookie).digest('base64url');
}

/** Compares two strings in time that depends on their lengths only. */
function sameText(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}
