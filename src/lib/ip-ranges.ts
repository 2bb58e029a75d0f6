/**
 * Which IP addresses Sesame may connect to on a tenant's say-so: an MX host a recipient domain
 * names, and (later) a webhook URL. Without this rule a tenant could point a domain's MX at
 * 127.0.0.1, 10.0.0.5 or 169.254.169.254 and read the banners and replies of the operator's
 * internal hosts in DeliverMessage, or reach a relay that trusts Sesame's address (server-side
 * request forgery). Only ordinary public unicast addresses pass; the special-purpose ranges of the
 * IANA registries (RFC 6890) do not, including IPv6 forms that carry an IPv4 address inside
 * (IPv4-mapped, NAT64, 6to4), which are judged by the address they carry.
 *
 * Pure and self-contained on purpose: Node's net.BlockList matches IPv4-mapped IPv6 against IPv4
 * rules (on Node 20.20) but not NAT64 or IPv4-compatible forms, and the embedded address is what
 * matters.
 */
import { ipv4Number, ipv6Groups } from './ip.js';

/** An IPv4 range refused, and why. */
const V4_RANGES: readonly (readonly [cidr: string, why: string])[] = [
  // 0.0.0.0 itself reaches the local host on Linux.
  ['0.0.0.0/8', '"this network" (RFC 791)'],
  ['10.0.0.0/8', 'private (RFC 1918)'],
  ['100.64.0.0/10', 'shared carrier-grade NAT space (RFC 6598)'],
  ['127.0.0.0/8', 'loopback (RFC 1122)'],
  // Cloud metadata services answer at 169.254.169.254.
  ['169.254.0.0/16', 'link-local (RFC 3927)'],
  ['172.16.0.0/12', 'private (RFC 1918)'],
  // NAT64 discovery, DS-Lite and other protocol plumbing (192.0.0.0/29 is often local).
  ['192.0.0.0/24', 'IETF protocol assignments (RFC 6890)'],
  // Documentation ranges are never routed on the Internet, so no real MX host has one, while
  // private networks do use them (as some container networks use 192.0.2.0/24).
  ['192.0.2.0/24', 'documentation (RFC 5737)'],
  ['192.88.99.0/24', 'deprecated 6to4 relay anycast (RFC 7526)'],
  ['192.168.0.0/16', 'private (RFC 1918)'],
  // Not routed on the Internet; used inside networks (lab and appliance networks).
  ['198.18.0.0/15', 'benchmarking (RFC 2544)'],
  ['198.51.100.0/24', 'documentation (RFC 5737)'],
  ['203.0.113.0/24', 'documentation (RFC 5737)'],
  // SMTP is a conversation with one host: a group address is never a mail server.
  ['224.0.0.0/4', 'multicast (RFC 5771)'],
  ['255.255.255.255/32', 'limited broadcast (RFC 919)'],
  ['240.0.0.0/4', 'reserved (RFC 1112)'],
];

/** How an IPv6 range is judged: refused outright, or by the IPv4 address it carries at `v4At` (a bit offset). */
type V6Rule = readonly [cidr: string, why: string, v4At?: number];

/** IPv6 ranges refused (or judged by their embedded IPv4 address), most specific first. */
const V6_RANGES: readonly V6Rule[] = [
  ['::/128', 'unspecified (RFC 4291)'],
  ['::1/128', 'loopback (RFC 4291)'],
  // ::ffff:127.0.0.1 is 127.0.0.1 to a dual-stack socket.
  ['::ffff:0:0/96', 'IPv4-mapped (RFC 4291)', 96],
  ['::ffff:0:0:0/96', 'IPv4-translated (RFC 2765)', 96],
  ['::/96', 'deprecated IPv4-compatible (RFC 4291)'],
  // A NAT64 gateway turns 64:ff9b::10.0.0.1 into 10.0.0.1.
  ['64:ff9b::/96', 'NAT64 (RFC 6052)', 96],
  ['64:ff9b:1::/48', 'local-use NAT64 (RFC 8215)'],
  ['100::/64', 'discard-only (RFC 6666)'],
  // Teredo and the other IETF assignments of 2001::/23 are tunnels and protocol plumbing, not hosts.
  ['2001::/23', 'IETF protocol assignments, Teredo included (RFC 2928, RFC 4380)'],
  ['2001:db8::/32', 'documentation (RFC 3849)'],
  ['2002::/16', '6to4 (RFC 3056)', 16],
  ['3fff::/20', 'documentation (RFC 9637)'],
  ['fc00::/7', 'unique local (RFC 4193)'],
  ['fe80::/10', 'link-local (RFC 4291)'],
  ['fec0::/10', 'deprecated site-local (RFC 3879)'],
  ['ff00::/8', 'multicast (RFC 4291)'],
];

/** IANA has allocated only this block for global unicast; everything outside it is special. */
const GLOBAL_UNICAST_V6 = '2000::/3';

interface V4Parsed { base: number; bits: number; why: string }
interface V6Parsed { base: number[]; bits: number; why: string; v4At?: number }

const v4Table: V4Parsed[] = V4_RANGES.map(([cidr, why]) => {
  const [addr, bits] = cidr.split('/');
  return { base: ipv4Number(addr)!, bits: Number(bits), why };
});
const v6Table: V6Parsed[] = V6_RANGES.map(([cidr, why, v4At]) => {
  const [addr, bits] = cidr.split('/');
  return { base: ipv6Groups(addr)!, bits: Number(bits), why, v4At };
});
const globalUnicast = ipv6Groups(GLOBAL_UNICAST_V6.split('/')[0])!;

/**
 * The special-purpose range `ip` belongs to (what it is, with its RFC), or null when it is an
 * ordinary public unicast address. Anything that is not an IP address is refused.
 */
export function specialRange(ip: string): string | null {
  const v4 = ipv4Number(ip);
  if (v4 !== null) return v4Range(v4);
  const v6 = ipv6Groups(ip);
  return v6 ? v6Range(v6) : 'not an IP address';
}

/** Whether `ip` is an ordinary public unicast address: the only kind a tenant may make Sesame connect to. */
export function isPublicAddress(ip: string): boolean {
  return specialRange(ip) === null;
}

function v4Range(n: number): string | null {
  for (const r of v4Table) {
    const mask = r.bits === 0 ? 0 : (~0 << (32 - r.bits)) >>> 0;
    if (((n & mask) >>> 0) === r.base) return r.why;
  }
  return null;
}

function v6Range(groups: number[]): string | null {
  for (const r of v6Table) {
    if (!inPrefix(groups, r.base, r.bits)) continue;
    if (r.v4At === undefined) return r.why;
    const inner = embeddedV4(groups, r.v4At);
    const why = v4Range(inner);
    return why === null ? null : `${r.why} of an address that is ${why}`;
  }
  return inPrefix(groups, globalUnicast, 3) ? null : 'outside global unicast 2000::/3 (RFC 4291)';
}

/** The 32 bits starting at bit `at` (a multiple of 16) of an IPv6 address. */
function embeddedV4(groups: number[], at: number): number {
  const i = at / 16;
  return ((groups[i] << 16) | groups[i + 1]) >>> 0;
}

function inPrefix(groups: number[], base: number[], bits: number): boolean {
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    const take = Math.min(16, bits);
    const mask = (0xffff << (16 - take)) & 0xffff;
    if ((groups[i] & mask) !== (base[i] & mask)) return false;
  }
  return true;
}
