/**
 * Domain names and email addresses as Sesame accepts them: DNS host names (IDNs in their ASCII
 * form), and addresses with a dot-atom local part (RFC 5322 §3.2.3; quoted local parts are not
 * accepted: no mail system needs them and they complicate every later check). Everything is
 * compared in lower case.
 */
import { domainToASCII } from 'node:url';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** atext of RFC 5322 §3.2.3. */
const ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;

/** Longest address (RFC 5321 §4.5.3.1: 64 for the local part, 254 in all in practice). */
export const ADDRESS_MAX = 254;

/** The domain in lower-case ASCII (no trailing dot), or null when it is not a valid host name. */
export function normalizeDomain(input: string): string | null {
  let d = input.trim().replace(/\.$/, '');
  if (d === '' || d.length > 253) return null;
  // Non-ASCII names are taken in their A-label (punycode) form.
  if (/[^\x00-\x7f]/.test(d)) d = domainToASCII(d);
  d = d.toLowerCase();
  const labels = d.split('.');
  if (labels.length < 2 || d.length > 253) return null;
  if (!labels.every((l) => LABEL.test(l))) return null;
  // A top-level domain is never all digits (that would be an IP address).
  if (/^\d+$/.test(labels[labels.length - 1])) return null;
  return d;
}

/** A parsed address. */
export interface Address {
  local: string;
  domain: string;
  /** local@domain in lower case. */
  address: string;
}

/** Parses `local@domain`; null when it is not an address Sesame accepts. */
export function parseAddress(input: string): Address | null {
  const s = input.trim();
  if (s.length === 0 || s.length > ADDRESS_MAX) return null;
  const at = s.lastIndexOf('@');
  if (at < 1) return null;
  const local = s.slice(0, at);
  const domain = normalizeDomain(s.slice(at + 1));
  if (!domain || local.length > 64) return null;
  if (!local.split('.').every((atom) => ATOM.test(atom))) return null;
  const address = `${local.toLowerCase()}@${domain}`;
  if (address.length > ADDRESS_MAX) return null;
  return { local: local.toLowerCase(), domain, address };
}

/** The domain part of an address already parsed (what follows its last `@`). */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

/** An address in the form it is stored and compared: parsed if it parses, else trimmed and lower-cased. */
export function normalizeAddress(input: string): string {
  return parseAddress(input)?.address ?? input.trim().toLowerCase();
}

/** A mailbox: an address with an optional display name. */
export interface Mailbox { name: string; address: Address }

/** Longest display name, in characters (code points). */
export const DISPLAY_NAME_MAX = 128;

/**
 * Characters a display name may not hold: controls and the line separators U+2028/U+2029 (nothing
 * a caller writes may become a header of its own), `:` (FACTS §3.2), quotes and angle brackets.
 */
const NAME_FORBIDDEN = /[\u0000-\u001f\u007f\u2028\u2029:"<>]/;

/**
 * Parses `address` or `Name <address>` (FACTS §3.2: the name may not contain `:`). Names may not
 * carry control characters, quotes or angle brackets: the composer encodes the name, and nothing a
 * caller writes may become a header of its own.
 *
 * A scan, not a pattern: `/^(.*?)\s*<([^<>]*)>$/` backtracked over every split of the input and
 * took time quadratic in its length (a million spaces held the event loop for minutes). Here the
 * address is what lies between the last `<` and the final `>`, and the name is what precedes it.
 */
export function parseMailbox(input: string): Mailbox | null {
  const s = input.trim();
  const open = s.endsWith('>') ? s.lastIndexOf('<') : -1;
  const inner = open < 0 ? null : s.slice(open + 1, -1);
  if (inner === null || inner.includes('>')) {
    const address = parseAddress(s);
    return address ? { name: '', address } : null;
  }
  const name = s.slice(0, open).trim();
  // A name longer than twice the limit in UTF-16 units has more than DISPLAY_NAME_MAX code points.
  if (name.length > 2 * DISPLAY_NAME_MAX || [...name].length > DISPLAY_NAME_MAX || NAME_FORBIDDEN.test(name)) return null;
  const address = parseAddress(inner);
  return address ? { name, address } : null;
}
