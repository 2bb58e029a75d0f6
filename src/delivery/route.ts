/**
 * Where mail for a domain goes (RFC 5321 §5.1): its MX hosts in preference order (hosts of equal
 * preference in random order, drawn again for each delivery), or the domain itself when it has no
 * MX; a null MX (RFC 7505) or a domain that does not exist means the mail cannot be delivered; a
 * DNS failure means try later. Addresses Sesame may not connect to (private networks, unless the
 * operator allows them) are left out, and a domain with nothing else is refused. Answers are
 * cached briefly, since one batch often sends many messages to the same domain.
 */
import { isIP } from 'node:net';
import { TtlCache } from '../lib/ttl-cache.js';
import type { DnsClient } from '../net/dns.js';

/** One address to try, and the host name it belongs to. */
export interface RouteHost { hostname: string; address: string }

/** Where to deliver, or why not. */
export type Route =
  | { kind: 'hosts'; hosts: RouteHost[] }
  | { kind: 'bounce'; reply: string }
  | { kind: 'defer'; reply: string }
  /** Every address found is one Sesame may not connect to (a private network, say). */
  | { kind: 'refused' };

/** How routes are found. */
export interface RouterOptions {
  /** Addresses tried per delivery at most (across all MX hosts). */
  maxAddresses: number;
  /** How long an answer is kept. */
  cacheMs: number;
  /** How long a failed lookup is kept (shorter: it may recover). */
  failureCacheMs: number;
  /**
   * Whether an address a recipient domain names may be connected to (unset: any). Not applied to
   * `host()`: the relay is the operator's own choice.
   */
  allowAddress?: (address: string) => boolean;
}

/** A host name and its addresses, in the order DNS gave them (IPv4 first). */
interface NamedHost { hostname: string; addresses: string[] }

/** What is cached: the hosts grouped by MX preference, best first (each group shuffled on each use). */
type Found = { kind: 'hosts'; groups: NamedHost[][] } | Exclude<Route, { kind: 'hosts' }>;

/** Finds (and caches) routes. */
export class Router {
  private readonly cache: TtlCache<string, Found>;

  constructor(private readonly dns: DnsClient, private readonly opts: RouterOptions) {
    this.cache = new TtlCache({ ttlMs: opts.cacheMs, maxEntries: 10_000 });
  }

  /** The route for a recipient domain: hosts of equal preference in a fresh random order each time. */
  async route(domain: string): Promise<Route> {
    return this.ordered(await this.cached(`mx:${domain}`, () => this.resolve(domain)));
  }

  /**
   * The route to one named host, by its address records only (a relay: its name is a host, and an
   * MX record it may have is about mail *for* it, not the way to it). An address is its own route.
   */
  async host(hostname: string): Promise<Route> {
    if (isIP(hostname)) return { kind: 'hosts', hosts: [{ hostname, address: hostname }] };
    return this.ordered(await this.cached(`host:${hostname}`, async () => {
      const a = await this.dns.addresses(hostname);
      if (!a.ok) return { kind: 'defer', reply: `451 4.4.3 DNS lookup of ${hostname} failed` };
      if (a.records.length === 0) return { kind: 'defer', reply: `451 4.4.4 ${hostname} has no address` };
      return { kind: 'hosts', groups: [[{ hostname, addresses: a.records }]] };
    }));
  }

  private cached(key: string, find: () => Promise<Found>): Promise<Found> {
    return this.cache.load(key, find, (route) => ({ ttlMs: route.kind === 'defer' ? this.opts.failureCacheMs : this.opts.cacheMs }));
  }

  /**
   * The addresses to try: preference groups best first, the hosts of one group in random order
   * (RFC 5321 §5.1, so equal MX hosts share the load), each host's addresses together, at most
   * `maxAddresses`. A fresh order on every use: the cached answer serves many deliveries.
   */
  private ordered(found: Found): Route {
    if (found.kind !== 'hosts') return found;
    const hosts: RouteHost[] = [];
    for (const group of found.groups) {
      for (const h of shuffled(group)) {
        for (const address of h.addresses) hosts.push({ hostname: h.hostname, address });
      }
    }
    return { kind: 'hosts', hosts: hosts.slice(0, this.opts.maxAddresses) };
  }

  /**
   * Steps: MX lookup → null MX or none → addresses of each host, best preference first, without
   * the addresses Sesame may not connect to.
   */
  private async resolve(domain: string): Promise<Found> {
    const mx = await this.dns.mx(domain);
    if (!mx.ok) return { kind: 'defer', reply: `451 4.4.3 DNS lookup of MX for ${domain} failed (${mx.error})` };
    if (mx.nxdomain) return { kind: 'bounce', reply: `550 5.1.2 The domain ${domain} does not exist` };
    const records = mx.records;
    // RFC 7505: a single MX with the root as its exchange says "this domain accepts no mail".
    if (records.length === 1 && (records[0].exchange === '' || records[0].exchange === '.')) {
      return { kind: 'bounce', reply: `556 5.1.10 ${domain} accepts no mail (null MX, RFC 7505)` };
    }
    // No MX: the domain itself is the host (RFC 5321 §5.1 implicit MX).
    const preferences = records.length
      ? groupBy(records.map((r) => ({ hostname: r.exchange.replace(/\.$/, ''), priority: r.priority })).filter((r) => r.hostname))
      : [[domain]];
    const allow = this.opts.allowAddress ?? (() => true);
    const groups: NamedHost[][] = [];
    let found = 0;
    let failed = 0;
    let refused = 0;
    let looked = 0;
    // Whole preference groups are resolved (the order within one is chosen at each use) until
    // there are enough addresses; no more host names than addresses wanted, however many MX
    // records a domain publishes.
    for (const names of preferences) {
      if (found >= this.opts.maxAddresses) break;
      const group: NamedHost[] = [];
      for (const hostname of names) {
        if (looked++ >= this.opts.maxAddresses) break;
        const a = await this.dns.addresses(hostname);
        if (!a.ok) { failed++; continue; }
        const addresses = a.records.filter(allow);
        refused += a.records.length - addresses.length;
        if (addresses.length) group.push({ hostname, addresses });
        found += addresses.length;
      }
      if (group.length) groups.push(group);
    }
    if (groups.length) return { kind: 'hosts', groups };
    if (failed) return { kind: 'defer', reply: `451 4.4.3 DNS lookup of the mail hosts of ${domain} failed` };
    // Said without the addresses: which internal hosts exist is what a prober wants to learn.
    if (refused) return { kind: 'refused' };
    return records.length
      ? { kind: 'defer', reply: `451 4.4.4 The mail hosts of ${domain} (${preferences.flat().join(', ')}) have no address` }
      : { kind: 'bounce', reply: `550 5.1.2 ${domain} has no mail host (no MX and no address record)` };
  }
}

/** Host names grouped by MX preference, best (lowest) first; records come sorted by preference. */
function groupBy(records: { hostname: string; priority: number }[]): string[][] {
  const groups: string[][] = [];
  let last: number | null = null;
  for (const r of records) {
    if (r.priority !== last) groups.push([]);
    groups[groups.length - 1].push(r.hostname);
    last = r.priority;
  }
  return groups;
}

/** A copy in random order (Fisher–Yates). */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
