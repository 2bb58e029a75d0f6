/**
 * Where a webhook may go: the addresses of its URL's host, all of them public unless the operator
 * allows private networks (SESAME_ALLOW_PRIVATE_NETWORKS). Checked when a URL is set and again on
 * every connection, against what the name resolves to then (a name that resolved to a public
 * address at set-up may point at 127.0.0.1 later: DNS rebinding).
 */
import { isIP } from 'node:net';
import { isPublicAddress } from '../lib/ip-ranges.js';
import type { DnsClient } from '../net/dns.js';

/** The addresses a host may be reached at, or why it may not. */
export type Destination = { ok: true; addresses: string[] } | { ok: false; reason: string };

/** The allowed addresses of `host` (a name, an IPv4 address, or an IPv6 one in brackets). */
export async function resolveDestination(host: string, dns: Pick<DnsClient, 'addresses'>, allowPrivate: boolean): Promise<Destination> {
  const bare = host.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(bare)) {
    addresses = [bare];
  } else {
    const r = await dns.addresses(bare);
    if (!r.ok) return { ok: false, reason: `${bare} could not be resolved (${r.error})` };
    if (r.records.length === 0) return { ok: false, reason: `${bare} has no address` };
    addresses = r.records;
  }
  if (allowPrivate) return { ok: true, addresses };
  const refused = addresses.filter((a) => !isPublicAddress(a));
  // One private address is enough to refuse: a name must not be a way into the operator's network.
  if (refused.length) return { ok: false, reason: `${bare} points at an address on a private or reserved network, which is not an allowed destination (SESAME_ALLOW_PRIVATE_NETWORKS is off)` };
  return { ok: true, addresses };
}
