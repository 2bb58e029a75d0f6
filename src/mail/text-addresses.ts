/**
 * Addresses in free text (a bounce notice written for people), found by a scan from each `@`: at
 * most 64 characters back for the local part (RFC 5321 §4.5.3.1.1) and 255 on for the domain. A
 * pattern such as `[\w.+-]+@[\w.-]+` tried at every position costs time quadratic in a long run of
 * word characters with no `@` to end it; this costs a bounded amount per `@`.
 */

/** An address found, lower-cased, and where it stands in the text. */
export interface TextAddress { address: string; start: number; end: number }

/** Addresses kept from one text: a notice names a few. */
export const TEXT_ADDRESSES_MAX = 1000;

const LOCAL_MAX = 64;
const DOMAIN_MAX = 255;

/** Characters of a dot-atom local part (RFC 5322 §3.2.3), and of a domain name. */
const LOCAL = charSet("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~.-");
const DOMAIN = charSet('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-');

/** The addresses in `text`, in order. */
export function addressesIn(text: string): TextAddress[] {
  const found: TextAddress[] = [];
  // Nothing before `floor` belongs to a later address: it was the previous one.
  let floor = 0;
  for (let at = text.indexOf('@'); at >= 0 && found.length < TEXT_ADDRESSES_MAX; at = text.indexOf('@', at + 1)) {
    const min = Math.max(floor, at - LOCAL_MAX);
    let start = at;
    while (start > min && LOCAL[text.charCodeAt(start - 1)] === 1) start--;
    // A local part longer than the limit is no address (and a piece of one would be the wrong one).
    if (start === at - LOCAL_MAX && start > floor && LOCAL[text.charCodeAt(start - 1)] === 1) continue;
    while (start < at && text[start] === '.') start++;
    const max = Math.min(text.length, at + 1 + DOMAIN_MAX);
    let end = at + 1;
    while (end < max && DOMAIN[text.charCodeAt(end)] === 1) end++;
    if (end === max && DOMAIN[text.charCodeAt(end)] === 1) continue;
    // A sentence may end right after an address.
    while (end > at + 1 && (text[end - 1] === '.' || text[end - 1] === '-')) end--;
    if (start === at || !isDomain(text.slice(at + 1, end))) continue;
    found.push({ address: text.slice(start, end).toLowerCase(), start, end });
    floor = end;
  }
  return found;
}

/** At least two labels, none empty, none starting with a hyphen. */
function isDomain(domain: string): boolean {
  const labels = domain.split('.');
  return labels.length >= 2 && labels.every((l) => l !== '' && l[0] !== '-');
}

function charSet(chars: string): Uint8Array {
  const set = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) set[chars.charCodeAt(i)] = 1;
  return set;
}
