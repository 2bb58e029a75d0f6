/**
 * The client a per-address limit counts a connection or a body against. An IPv4 address is one
 * client (an IPv4-mapped IPv6 address is that IPv4 address). An IPv6 client is its /64: the
 * smallest prefix a site is given (RFC 6177), and a host picks addresses inside it freely (privacy
 * extensions, RFC 8981), so counting single IPv6 addresses would let one machine be 2^64 clients.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The key of `address` (a socket's remoteAddress) for per-client limits. */
export function clientKey(address: string | undefined): string {
  if (!address) return '';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1];
  if (isIPv4(address) || !isIPv6(address)) return address;
  return `${ipv6Groups(address).slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted IPv4 part converted, a zone dropped). */
function ipv6Groups(address: string): number[] {
  let text = address.split('%')[0].toLowerCase();
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const first = head ? head.split(':') : [];
  const last = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : new Array<string>(8 - first.length - last.length).fill('0');
  return [...first, ...zeros, ...last].map((g) => parseInt(g, 16));
}
