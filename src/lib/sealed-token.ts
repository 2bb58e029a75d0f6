/**
 * Tokens that carry what they name, sealed (AES-256-GCM): nobody can read, forge or alter one, and
 * the token alone says what it is about, so it keeps working after the rows that led to it are
 * gone. Used where a link in mail must outlive the store's retention (unsubscribe links).
 *
 * Each token is sealed under a key of its own, derived from the purpose's key and 16 random bytes
 * the token carries (HMAC-SHA256): a key seals one token only, so its IV may be fixed, and no
 * number of tokens wears the purpose's key out (random 96-bit IVs under one key allow about 2^32
 * messages before a repeat becomes a risk; a large sender could reach that). base64url of salt,
 * tag and ciphertext: URL-safe, about 43 characters plus the fields.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

const SALT_BYTES = 16;
const TAG_BYTES = 16;
/** Each key seals one token: a fixed IV is safe. */
const IV = Buffer.alloc(12);
/** Longest token opened: fields of a few hundred characters at most (an address, a domain). */
const MAX_TOKEN_CHARS = 2048;

/** Seals and opens lists of text fields (none may contain a line feed). */
export class SealedTokens {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('a sealed-token key must be 32 bytes');
  }

  seal(fields: readonly string[]): string {
    if (fields.some((f) => f.includes('\n'))) throw new Error('a sealed-token field may not hold a line feed');
    const salt = randomBytes(SALT_BYTES);
    const c = createCipheriv('aes-256-gcm', this.keyFor(salt), IV);
    const body = Buffer.concat([c.update(fields.join('\n'), 'utf8'), c.final()]);
    return Buffer.concat([salt, c.getAuthTag(), body]).toString('base64url');
  }

  /** The fields, or null when the token was not sealed with this key (or was altered). */
  open(token: string): string[] | null {
    if (token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
    const raw = Buffer.from(token, 'base64url');
    if (raw.length <= SALT_BYTES + TAG_BYTES) return null;
    try {
      const d = createDecipheriv('aes-256-gcm', this.keyFor(raw.subarray(0, SALT_BYTES)), IV);
      d.setAuthTag(raw.subarray(SALT_BYTES, SALT_BYTES + TAG_BYTES));
      return Buffer.concat([d.update(raw.subarray(SALT_BYTES + TAG_BYTES)), d.final()]).toString('utf8').split('\n');
    } catch {
      return null;
    }
  }

  /** The one-token key of a salt. */
  private keyFor(salt: Buffer): Buffer {
    return createHmac('sha256', this.key).update(salt).digest();
  }
}
