/**
 * Who a per-client limit counts. A dual-stack socket reports an IPv4 client as `::ffff:a.b.c.d`:
 * that is the IPv4 address it carries. An IPv6 host picks addresses freely inside its /64 (privacy
 * extensions, RFC 8981), and a site is given a /48 or a /56 (RFC 6177), so counting single IPv6
 * addresses would let one machine be 2^64 clients.
 * - `clientKey`: one IPv4 address, or an IPv6 /64 (HTTP connection and body limits: one host; many
 *   users may share a /24 or a /48 behind one provider).
 * - `clientNetwork`: the IPv4 /24, or the IPv6 /48 (failed SMTP logins, where an attacker holding a
 *   block of addresses must not start afresh from the next one: a /48, a site's block, is as easy to
 *   come by as a single IPv4 address).
 */
import { ipv4Number, ipv4Text, ipv6Groups, mappedIpv4 } from './ip.js';

/** One IPv4 address (mapped or not) or `x:x:x:x::/64`; what is not an address, as given ('' for none). */
export function clientKey(address: string | undefined): string {
  return keyOf(address ?? '', 32);
}

/** `a.b.c.0/24` or `x:x:x::/48`; what is not an address, as given. */
export function clientNetwork(address: string): string {
  return keyOf(address, 24, 48);
}

/** An IPv4 address cut to its first `v4Bits` bits (32: the address itself), or an IPv6 one to `v6Bits` (64 or 48). */
function keyOf(address: string, v4Bits: 24 | 32, v6Bits: 48 | 64 = 64): string {
  const groups = ipv6Groups(address);
  const v4 = groups ? mappedIpv4(groups) : ipv4Number(address);
  if (v4 !== null) return v4Bits === 32 ? ipv4Text(v4) : `${ipv4Text((v4 & 0xffffff00) >>> 0)}/24`;
  if (!groups) return address;
  return `${groups.slice(0, v6Bits / 16).map((g) => g.toString(16)).join(':')}::/${v6Bits}`;
}
