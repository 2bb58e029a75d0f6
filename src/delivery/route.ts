/**
 * Where mail for a domain goes (RFC 5321 §5.1): its MX hosts in preference order, or the domain
 * itself when it has no MX; a null MX (RFC 7505) or a domain that does not exist means the mail
 * cannot be delivered; a DNS failure means try later. Answers are cached briefly, since one batch
 * often sends many messages to the same domain.
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
  | { kind: 'defer'; reply: string };

/** How routes are found. */
export interface RouterOptions {
  /** Addresses tried per delivery at most (across all MX hosts). */
  maxAddresses: number;
  /** How long an answer is kept. */
  cacheMs: number;
  /** How long a failed lookup is kept (shorter: it may recover). */
  failureCacheMs: number;
}

/** Finds (and caches) routes. */
export class Router {
  private readonly cache: TtlCache<string, Route>;

  constructor(private readonly dns: DnsClient, private readonly opts: RouterOptions) {
    this.cache = new TtlCache({ ttlMs: opts.cacheMs, maxEntries: 10_000 });
  }

  /** The route for a recipient domain. */
  route(domain: string): Promise<Route> {
    return this.cached(`mx:${domain}`, () => this.resolve(domain));
  }

  /**
   * The route to one named host, by its address records only (a relay: its name is a host, and an
   * MX record it may have is about mail *for* it, not the way to it). An address is its own route.
   */
  host(hostname: string): Promise<Route> {
    if (isIP(hostname)) return Promise.resolve({ kind: 'hosts', hosts: [{ hostname, address: hostname }] });
    return this.cached(`host:${hostname}`, async () => {
      const a = await this.dns.addresses(hostname);
      if (!a.ok) return { kind: 'defer', reply: `451 4.4.3 DNS lookup of ${hostname} failed` };
      if (a.records.length === 0) return { kind: 'defer', reply: `451 4.4.4 ${hostname} has no address` };
      return { kind: 'hosts', hosts: a.records.slice(0, this.opts.maxAddresses).map((address) => ({ hostname, address })) };
    });
  }

  private cached(key: string, find: () => Promise<Route>): Promise<Route> {
    return this.cache.load(key, find, (route) => ({ ttlMs: route.kind === 'defer' ? this.opts.failureCacheMs : this.opts.cacheMs }));
  }

  /** Steps: MX lookup → null MX or none → addresses of each host, best first. */
  private async resolve(domain: string): Promise<Route> {
    const mx = await this.dns.mx(domain);
    if (!mx.ok) return { kind: 'defer', reply: `451 4.4.3 DNS lookup of MX for ${domain} failed (${mx.error})` };
    if (mx.nxdomain) return { kind: 'bounce', reply: `550 5.1.2 The domain ${domain} does not exist` };
    const records = mx.records;
    // RFC 7505: a single MX with the root as its exchange says "this domain accepts no mail".
    if (records.length === 1 && (records[0].exchange === '' || records[0].exchange === '.')) {
      return { kind: 'bounce', reply: `556 5.1.10 ${domain} accepts no mail (null MX, RFC 7505)` };
    }
    // No MX: the domain itself is the host (RFC 5321 §5.1 implicit MX).
    const hostnames = records.length ? records.map((r) => r.exchange.replace(/\.$/, '')).filter(Boolean) : [domain];
    const hosts: RouteHost[] = [];
    let failed = 0;
    for (const hostname of hostnames) {
      if (hosts.length >= this.opts.maxAddresses) break;
      const a = await this.dns.addresses(hostname);
      if (!a.ok) { failed++; continue; }
      for (const address of a.records) {
        if (hosts.length < this.opts.maxAddresses) hosts.push({ hostname, address });
      }
    }
    if (hosts.length) return { kind: 'hosts', hosts };
    if (failed) return { kind: 'defer', reply: `451 4.4.3 DNS lookup of the mail hosts of ${domain} failed` };
    return records.length
      ? { kind: 'defer', reply: `451 4.4.4 The mail hosts of ${domain} (${hostnames.join(', ')}) have no address` }
      : { kind: 'bounce', reply: `550 5.1.2 ${domain} has no mail host (no MX and no address record)` };
  }
}
