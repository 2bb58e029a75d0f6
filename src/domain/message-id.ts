/** Message identifiers: the API's MessageId (shaped like Tencent's) and the Message-ID header. */
import { randomAlnum } from '../lib/random.js';

/**
 * `qcloudses-30-<AppId>-date-<YYYYMMDDhhmmss>-<12 random>` (UTC), the shape of Tencent's examples
 * (FACTS §3.2), so code that parses it keeps working.
 */
export function newMessageId(appId: number, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `qcloudses-30-${appId}-date-${stamp}-${randomAlnum(12)}`;
}

/** A Message-ID header value: `<id@domain>`. */
export function newMessageIdHeader(domain: string): string {
  return `<${randomAlnum(24)}@${domain}>`;
}

/**
 * The Message-ID of one recipient's message of a batch run, `<deliveryId.left@right>` from the
 * run's `<left@right>`: each recipient's is its own, and stays the same across attempts.
 */
export function recipientMessageIdHeader(runHeader: string, deliveryId: number): string {
  return `<${deliveryId}.${runHeader.slice(1)}`;
}

/**
 * The run's Message-ID and the delivery a recipient's Message-ID (recipientMessageIdHeader) names,
 * or null when `header` is not of that shape.
 */
export function splitRecipientMessageIdHeader(header: string): { runHeader: string; deliveryId: number } | null {
  const m = /^<([0-9]{1,15})\.(.+)$/.exec(header);
  return m ? { runHeader: `<${m[2]}`, deliveryId: Number(m[1]) } : null;
}

/** msg-id of RFC 5322 §3.6.4 in its common dot-atom form: `<left@right>`, printable ASCII, no spaces. */
export function isMessageIdHeader(v: string): boolean {
  // Both classes admit `@`, so the pattern tries every `@` as the separator: quadratic in the
  // length, and safe only because the length is checked first.
  return v.length <= 250 && /^<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x5a\x5e-\x7e]+>$/.test(v);
}
