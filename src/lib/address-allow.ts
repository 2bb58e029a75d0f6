/**
 * Who may read something by client address alone (the /metrics listener's SESAME_METRICS_ALLOW):
 * a list of addresses and CIDR ranges, IPv4 and IPv6, matched with Node's BlockList. An
 * IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, as a dual-stack socket reports an IPv4 client)
 * is judged as the IPv4 address it carries.
 */
import { BlockList, isIP } from 'node:net';

/** One range of the list. */
export interface AddressRange { address: string; prefix: number; family: 'ipv4' | 'ipv6' }

/** `a.b.c.d`, `a.b.c.d/n`, an IPv6 address, or one with `/n`: the range it names, or null. */
export function parseAddressRange(text: string): AddressRange | null {
  const [address, bits, extra] = text.trim().split('/');
  if (extra !== undefined) return null;
  const v = isIP(address);
  if (v === 0) return null;
  const max = v === 4 ? 32 : 128;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return null;
  const prefix = bits === undefined ? max : Number(bits);
  if (prefix > max) return null;
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

/** Addresses allowed by a list of ranges (each already checked by parseAddressRange). */
export class AddressAllowList {
  private readonly list = new BlockList();

  constructor(ranges: readonly string[]) {
    for (const text of ranges) {
      const r = parseAddressRange(text);
      if (!r) throw new Error(`not an address or CIDR range: ${text}`);
      this.list.addSubnet(r.address, r.prefix, r.family);
    }
  }

  /** Whether `ip` (a socket's remote address) is in one of the ranges. */
  allows(ip: string | undefined): boolean {
    if (!ip) return false;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    const address = mapped ? mapped[1] : ip;
    const v = isIP(address);
    if (v === 0) return false;
    return this.list.check(address, v === 4 ? 'ipv4' : 'ipv6');
  }
}
