/**
 * The network a client address belongs to, as abuse limits count it: the /24 of an IPv4 address
 * and the /64 of an IPv6 address (the smallest block a site is given, RFC 6177; one host may hold
 * all of its 2^64 addresses). Counting by single address would let anyone with a block of
 * addresses start afresh from the next one. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a
 * dual-stack socket reports for an IPv4 client) counts as the IPv4 address it carries.
 */

/** `a.b.c.0/24` or `x:x:x:x::/64` (hex groups without leading zeros); anything else as given. */
export function clientNetwork(address: string): string {
  const groups = ipv6Groups(address);
  if (!groups) {
    const v4 = ipv4Octets(address);
    return v4 ? `${v4[0]}.${v4[1]}.${v4[2]}.0/24` : address;
  }
  // ::ffff:0:0/96, RFC 4291 §2.5.5.2.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `${groups[6] >> 8}.${groups[6] & 0xff}.${groups[7] >> 8}.0/24`;
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

function ipv4Octets(s: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const octets = m.slice(1).map(Number);
  return octets.every((o) => o <= 255) ? octets : null;
}

/** The eight 16-bit groups of an IPv6 address (a zone such as `%eth0` ignored), or null. */
function ipv6Groups(address: string): number[] | null {
  let s = address.replace(/%.*$/, '');
  if (!s.includes(':')) return null;
  // A dotted IPv4 tail stands for the last two groups (RFC 4291 §2.2, form 3).
  const tail = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(s);
  if (tail) {
    const o = ipv4Octets(tail[2]);
    if (!o) return null;
    s = `${tail[1]}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const part = (h: string): string[] => (h === '' ? [] : h.split(':'));
  const head = part(halves[0]);
  const rest = halves.length === 2 ? part(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return null;
  return all.map((g) => parseInt(g, 16));
}
