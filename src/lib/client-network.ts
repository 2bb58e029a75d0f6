/**
 * Who a per-client limit counts. A dual-stack socket reports an IPv4 client as `::ffff:a.b.c.d`:
 * that is the IPv4 address it carries. An IPv6 client is its /64 everywhere: the smallest block a
 * site is given (RFC 6177), inside which a host picks addresses freely (privacy extensions, RFC
 * 8981), so counting single IPv6 addresses would let one machine be 2^64 clients.
 * - `clientKey`: one IPv4 address, or an IPv6 /64 (HTTP connection and body limits, where many
 *   users may share a /24 behind one provider).
 * - `clientNetwork`: the IPv4 /24, or the IPv6 /64 (failed SMTP logins, where an attacker holding
 *   a block of addresses must not start afresh from the next one).
 */
import { ipv4Number, ipv4Text, ipv6Groups, mappedIpv4 } from './ip.js';

/** One IPv4 address (mapped or not) or `x:x:x:x::/64`; what is not an address, as given ('' for none). */
export function clientKey(address: string | undefined): string {
  return keyOf(address ?? '', 32);
}

/** `a.b.c.0/24` or `x:x:x:x::/64`; what is not an address, as given. */
export function clientNetwork(address: string): string {
  return keyOf(address, 24);
}

/** An IPv4 address cut to its first `v4Bits` bits (32: the address itself), or an IPv6 /64. */
function keyOf(address: string, v4Bits: 24 | 32): string {
  const groups = ipv6Groups(address);
  const v4 = groups ? mappedIpv4(groups) : ipv4Number(address);
  if (v4 !== null) return v4Bits === 32 ? ipv4Text(v4) : `${ipv4Text((v4 & 0xffffff00) >>> 0)}/24`;
  if (!groups) return address;
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}
