/**
 * Unforgeable identifiers in links and addresses: an id and a truncated HMAC of it, under a key
 * derived from the master key for one purpose (so a token of one kind is never valid as another).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Signs and checks `<id>.<mac>` tokens with one key. */
export class TokenSigner {
  /** `key`: a purpose's own key (SecretBox.subkey); `macChars`: base64url characters of MAC kept (22 ≈ 132 bits). */
  constructor(private readonly key: Buffer, private readonly macChars = 22) {}

  /** `<id in base 36>.<mac>`: URL- and local-part-safe (letters, digits, `.`, `-`, `_`). */
  sign(id: number): string {
    const idText = id.toString(36);
    return `${idText}.${this.mac(idText)}`;
  }

  /** The id a token carries, or null when the token was not made here (or was altered). */
  verify(token: string): number | null {
    const m = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]+)$/.exec(token);
    if (!m) return null;
    const want = Buffer.from(this.mac(m[1]));
    const got = Buffer.from(m[2]);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return null;
    const id = parseInt(m[1], 36);
    return Number.isSafeInteger(id) ? id : null;
  }

  private mac(idText: string): string {
    return createHmac('sha256', this.key).update(idText).digest('base64url').slice(0, this.macChars);
  }
}
