/**
 * Tokens of the tracking URLs: the open pixel's names a delivery; a click's names the delivery, the
 * link's index and the target URL itself, so the redirect needs no store read and can only send a
 * reader to a URL Sesame signed for that message (an open redirect otherwise, on our domain).
 * HMAC-SHA256 under a key the caller derives for this purpose (SecretBox.subkey), as in tokens.ts.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Longest URL a click token carries, in UTF-8 bytes: longer links are left untracked. */
export const TRACKED_URL_MAX_BYTES = 2048;

/**
 * Longest token read at all: the largest one signed (a 2048-byte URL, about 2,780 characters) and
 * room to spare; anything longer is refused before a pattern or a MAC looks at it.
 */
const TOKEN_MAX_CHARS = 4096;

/** Characters of MAC kept: 22 base64url characters, about 132 bits (as TokenSigner). */
const MAC_CHARS = 22;

/** What a verified open token names. */
export interface OpenClaim { deliveryId: number }

/** What a verified click token names. */
export interface ClickClaim { deliveryId: number; index: number; url: string }

// Every field's alphabet lacks `.`, so a token splits one way only; the MAC input starts with the
// kind, so an open token's MAC is never one for a click body and the reverse.
const OPEN = /^([0-9a-z]{1,11})\.([A-Za-z0-9_-]{22})$/;
const CLICK = /^([0-9a-z]{1,11})\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{22})$/;

/** Rejects bytes that are not UTF-8 instead of replacing them. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Signs and checks open tokens (`<id>.<mac>`) and click tokens (`<id>.<index>.<url>.<mac>`) with one key. */
export class TrackingTokens {
  /** `key`: the tracking purpose's own key (SecretBox.subkey). */
  constructor(private readonly key: Buffer) {}

  /** The open pixel's token for a delivery: `<id in base 36>.<mac>`. */
  signOpen(deliveryId: number): string {
    if (!isId(deliveryId)) throw new RangeError('a delivery id is a positive safe integer');
    const body = deliveryId.toString(36);
    return `${body}.${this.mac('open', body)}`;
  }

  /** A link's token: `<id b36>.<index b36>.<base64url of the URL>.<mac>`; the URL is http(s), at most 2048 bytes. */
  signClick(deliveryId: number, index: number, url: string): string {
    if (!isId(deliveryId)) throw new RangeError('a delivery id is a positive safe integer');
    if (!Number.isSafeInteger(index) || index < 0) throw new RangeError('a link index is a non-negative safe integer');
    const bytes = Buffer.from(url, 'utf8');
    if (bytes.length > TRACKED_URL_MAX_BYTES || !isWebUrl(url)) throw new RangeError(`a tracked URL is http(s), at most ${TRACKED_URL_MAX_BYTES} bytes`);
    const body = `${deliveryId.toString(36)}.${index.toString(36)}.${bytes.toString('base64url')}`;
    return `${body}.${this.mac('click', body)}`;
  }

  /** The delivery an open token names, or null when it was not made here, was altered, or is a click token. */
  verifyOpen(token: string): OpenClaim | null {
    if (typeof token !== 'string' || token.length > TOKEN_MAX_CHARS) return null;
    const m = OPEN.exec(token);
    if (!m || !this.macMatches('open', m[1], m[2])) return null;
    const deliveryId = parseInt(m[1], 36);
    return isId(deliveryId) ? { deliveryId } : null;
  }

  /** The delivery, link index and URL a click token names, or null when it was not made here, was altered, or is an open token. */
  verifyClick(token: string): ClickClaim | null {
    if (typeof token !== 'string' || token.length > TOKEN_MAX_CHARS) return null;
    const m = CLICK.exec(token);
    if (!m || !this.macMatches('click', `${m[1]}.${m[2]}.${m[3]}`, m[4])) return null;
    const deliveryId = parseInt(m[1], 36);
    const index = parseInt(m[2], 36);
    const url = decodeUrl(m[3]);
    if (!isId(deliveryId) || !Number.isSafeInteger(index) || url === null) return null;
    return { deliveryId, index, url };
  }

  private macMatches(kind: 'open' | 'click', body: string, mac: string): boolean {
    const want = Buffer.from(this.mac(kind, body));
    const got = Buffer.from(mac);
    return got.length === want.length && timingSafeEqual(got, want);
  }

  private mac(kind: 'open' | 'click', body: string): string {
    return createHmac('sha256', this.key).update(`${kind}.${body}`).digest('base64url').slice(0, MAC_CHARS);
  }
}

function isId(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}

function isWebUrl(url: string): boolean {
  return /^https?:\/\//i.test(url);
}

/** The URL a token's base64url field holds; null unless it is canonical base64url of UTF-8 within the limit. */
function decodeUrl(field: string): string | null {
  const bytes = Buffer.from(field, 'base64url');
  // Node decodes leniently (stray trailing bits, a lone last character); only the form signed is read.
  if (bytes.length === 0 || bytes.length > TRACKED_URL_MAX_BYTES || bytes.toString('base64url') !== field) return null;
  try {
    const url = UTF8.decode(bytes);
    return isWebUrl(url) ? url : null;
  } catch {
    return null;
  }
}
