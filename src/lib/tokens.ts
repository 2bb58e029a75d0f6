/**
 * Unforgeable identifiers in links and addresses: an id and a truncated HMAC of it, under a key
 * derived from the master key for one purpose (so a token of one kind is never valid as another).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How a token's MAC is written. */
export interface TokenOptions {
  /** Characters of MAC kept. */
  macChars: number;
  /**
   * Case-free tokens (lower-case base32), for mail addresses: a local part should keep its case on
   * the way, but some systems fold it. Otherwise base64url, for links.
   */
  caseless: boolean;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Signs and checks `<id>.<mac>` tokens with one key. */
export class TokenSigner {
  private readonly opts: TokenOptions;

  /** `key`: a purpose's own key (SecretBox.subkey). By default 22 base64url characters of MAC (≈ 132 bits). */
  constructor(private readonly key: Buffer, opts: Partial<TokenOptions> = {}) {
    this.opts = { macChars: 22, caseless: false, ...opts };
  }

  /** `<id in base 36>.<mac>`: URL- and local-part-safe (letters, digits, `.`, `-`, `_`). */
  sign(id: number): string {
    const idText = id.toString(36);
    return `${idText}.${this.mac(idText)}`;
  }

  /** The id a token carries, or null when the token was not made here (or was altered). */
  verify(token: string): number | null {
    const text = this.opts.caseless ? token.toLowerCase() : token;
    const m = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]+)$/.exec(text);
    if (!m) return null;
    const want = Buffer.from(this.mac(m[1]));
    const got = Buffer.from(m[2]);
    if (got.length !== want.length || !timingSafeEqual(got, want)) return null;
    const id = parseInt(m[1], 36);
    return Number.isSafeInteger(id) ? id : null;
  }

  private mac(idText: string): string {
    const digest = createHmac('sha256', this.key).update(idText).digest();
    return (this.opts.caseless ? base32(digest) : digest.toString('base64url')).slice(0, this.opts.macChars);
  }
}

/** RFC 4648 base32, lower case, no padding. */
function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}
