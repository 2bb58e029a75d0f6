/**
 * Which extra headers a caller may add (SendEmail's SmtpHeaders): custom `X-` headers and a few
 * threading and list headers, never one that changes routing, identity, authentication or the MIME
 * structure. Values are single-line printable text.
 */

/** Headers allowed besides `X-…`. */
const ALLOWED = new Set(['in-reply-to', 'references', 'list-id', 'feedback-id', 'precedence', 'keywords', 'comments']);
/** `X-` headers Sesame writes itself. */
const RESERVED_PREFIXES = ['x-sesame-'];

/** Longest header value accepted. */
export const HEADER_VALUE_MAX = 900;

/** True when a caller may set a header of this name. */
export function isAllowedCustomHeader(name: string): boolean {
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,76}$/.test(name)) return false;
  const lower = name.toLowerCase();
  if (RESERVED_PREFIXES.some((p) => lower.startsWith(p))) return false;
  return lower.startsWith('x-') || ALLOWED.has(lower);
}

/** True when a value is one line of printable text (Unicode allowed, no CR, LF or other controls). */
export function isSafeHeaderValue(value: string): boolean {
  return value.length <= HEADER_VALUE_MAX && !/[\u0000-\u001f\u007f]/.test(value);
}
