/**
 * Tokens that carry what they name, sealed (AES-256-GCM under a purpose's own key): nobody can read,
 * forge or alter one, and the token alone says what it is about, so it keeps working after the rows
 * that led to it are gone. Used where a link in mail must outlive the store's retention (unsubscribe
 * links). base64url of IV, tag and ciphertext: URL-safe, about 40 characters plus the fields.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Longest token opened: fields of a few hundred characters at most (an address, a domain). */
const MAX_TOKEN_CHARS = 2048;

/** Seals and opens lists of text fields (none may contain a line feed). */
export class SealedTokens {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('a sealed-token key must be 32 bytes');
  }

  seal(fields: readonly string[]): string {
    if (fields.some((f) => f.includes('\n'))) throw new Error('a sealed-token field may not hold a line feed');
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([c.update(fields.join('\n'), 'utf8'), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url');
  }

  /** The fields, or null when the token was not sealed with this key (or was altered). */
  open(token: string): string[] | null {
    if (token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
    const raw = Buffer.from(token, 'base64url');
    if (raw.length <= IV_BYTES + TAG_BYTES) return null;
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
      d.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([d.update(raw.subarray(IV_BYTES + TAG_BYTES)), d.final()]).toString('utf8').split('\n');
    } catch {
      return null;
    }
  }
}
