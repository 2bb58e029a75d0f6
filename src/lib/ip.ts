/**
 * IP address text as numbers: the one parser behind every rule that reasons about addresses
 * (which destinations are private, which clients count as one for a limit). Node's `net` decides
 * what is a valid address; this only converts what it accepted.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** A dotted-quad IPv4 address as an unsigned 32-bit number; null when it is not one. */
export function ipv4Number(ip: string): number | null {
  if (!isIPv4(ip)) return null;
  return ip.split('.').reduce((n, part) => ((n << 8) | Number(part)) >>> 0, 0);
}

/**
 * An IPv6 address as its eight 16-bit groups (`::` expanded, a trailing dotted quad taken as the
 * last two groups, a zone such as `%eth0` dropped: it only scopes the address); null when it is not one.
 */
export function ipv6Groups(ip: string): number[] | null {
  const bare = ip.replace(/%.*$/, '');
  if (!isIPv6(bare)) return null;
  let text = bare;
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const n = ipv4Number(quad[1]) ?? 0;
    text = `${text.slice(0, quad.index)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const parse = (s: string | undefined): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = parse(head);
  if (tail === undefined) return h;
  const t = parse(tail);
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** The IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) carries, or null. */
export function mappedIpv4(groups: readonly number[]): number | null {
  return groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff ? ((groups[6] << 16) | groups[7]) >>> 0 : null;
}

/** An unsigned 32-bit number as a dotted quad. */
export function ipv4Text(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}
