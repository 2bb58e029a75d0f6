/**
 * Routes as the delivery engine finds them, against a real DNS server (dnsmasq): MX hosts of equal
 * preference in a fresh random order on every use (RFC 5321 §5.1), even from the cache; addresses on
 * private and other special-purpose networks left out when only public ones are allowed, IPv6 forms
 * of IPv4 loopback included; the relay never filtered. Public addresses here are never connected to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Router, type Route } from '../src/delivery/route.js';
import { isPublicAddress } from '../src/lib/ip-ranges.js';
import { createDnsClient } from '../src/net/dns.js';
import { startDns, type DnsServer } from './helpers/dns.js';

const CACHE = { maxAddresses: 10, cacheMs: 60_000, failureCacheMs: 5_000 };
const PUBLIC_V4 = '93.184.216.34';
const PUBLIC_V6 = '2001:4860:4860::8888';

describe('routes', () => {
  let dns: DnsServer;
  beforeAll(async () => {
    dns = await startDns();
    await dns.publish({
      mx: [
        { name: 'equal.test', host: 'a.mx.test', priority: 10 },
        { name: 'equal.test', host: 'b.mx.test', priority: 10 },
        { name: 'equal.test', host: 'c.mx.test', priority: 20 },
        { name: 'ranked.test', host: 'a.mx.test', priority: 10 },
        { name: 'ranked.test', host: 'b.mx.test', priority: 20 },
        { name: 'private.test', host: 'a.mx.test', priority: 10 },
        { name: 'private.test', host: 'internal.mx.test', priority: 20 },
        { name: 'mixed.test', host: 'a.mx.test', priority: 10 },
        { name: 'mixed.test', host: 'public.mx.test', priority: 20 },
        { name: 'mapped.test', host: 'mapped.mx.test', priority: 10 },
        { name: 'dual.test', host: 'dual.mx.test', priority: 10 },
      ],
      a: [
        { name: 'a.mx.test', address: '127.0.0.2' },
        { name: 'b.mx.test', address: '127.0.0.3' },
        { name: 'c.mx.test', address: '127.0.0.4' },
        { name: 'internal.mx.test', address: '10.1.2.3' },
        { name: 'public.mx.test', address: PUBLIC_V4 },
        { name: 'dual.mx.test', address: '192.168.1.25' },
        { name: 'implicit-private.test', address: '169.254.169.254' },
        { name: 'relay.test', address: '127.0.0.9' },
      ],
      aaaa: [
        { name: 'mapped.mx.test', address: '::ffff:127.0.0.2' },
        { name: 'dual.mx.test', address: PUBLIC_V6 },
      ],
    });
  });
  afterAll(async () => { await dns?.stop(); });

  const addresses = (r: Route): string[] => (r.kind === 'hosts' ? r.hosts.map((h) => h.address) : []);

  it('tries MX hosts of equal preference in a new random order each time, even from the cache', async () => {
    const router = new Router(createDnsClient([dns.address]), CACHE);
    const firsts = new Map<string, number>();
    for (let i = 0; i < 100; i++) {
      const hosts = addresses(await router.route('equal.test'));
      // Both of preference 10 come before the one of preference 20, in either order.
      expect(hosts.slice(0, 2).sort()).toEqual(['127.0.0.2', '127.0.0.3']);
      expect(hosts[2]).toBe('127.0.0.4');
      firsts.set(hosts[0], (firsts.get(hosts[0]) ?? 0) + 1);
    }
    // Either one first about half the time (each at least 20 of 100 but with odds of about 1e-9).
    expect(firsts.get('127.0.0.2')).toBeGreaterThan(20);
    expect(firsts.get('127.0.0.3')).toBeGreaterThan(20);
    // Different preferences keep their order, always.
    for (let i = 0; i < 20; i++) expect(addresses(await router.route('ranked.test'))).toEqual(['127.0.0.2', '127.0.0.3']);
  });

  describe('with only public addresses allowed', () => {
    const router = (): Router => new Router(createDnsClient([dns.address]), { ...CACHE, allowAddress: isPublicAddress });

    it('refuses a domain whose every host is private, loopback or link-local', async () => {
      const r = router();
      expect(await r.route('private.test')).toEqual({ kind: 'refused' });
      // No MX: the domain's own address (the cloud metadata service's, here).
      expect(await r.route('implicit-private.test')).toEqual({ kind: 'refused' });
    });

    it('refuses an IPv6 address that is IPv4 loopback in disguise (::ffff:127.0.0.2)', async () => {
      expect(await router().route('mapped.test')).toEqual({ kind: 'refused' });
    });

    it('keeps the public hosts and addresses of a domain that mixes them with private ones', async () => {
      const r = router();
      expect(await r.route('mixed.test')).toEqual({ kind: 'hosts', hosts: [{ hostname: 'public.mx.test', address: PUBLIC_V4 }] });
      // One host with a private IPv4 and a public IPv6 address: only the latter.
      expect(await r.route('dual.test')).toEqual({ kind: 'hosts', hosts: [{ hostname: 'dual.mx.test', address: PUBLIC_V6 }] });
    });

    it('leaves the relay alone: it is the operator\'s choice', async () => {
      expect(addresses(await router().host('relay.test'))).toEqual(['127.0.0.9']);
    });
  });

  it('takes every address when private networks are allowed (the tests\' and the trusted operator\'s choice)', async () => {
    const r = new Router(createDnsClient([dns.address]), CACHE);
    expect(addresses(await r.route('private.test'))).toEqual(['127.0.0.2', '10.1.2.3']);
    expect(addresses(await r.route('mapped.test'))).toEqual(['::ffff:127.0.0.2']);
    expect(addresses(await r.route('dual.test'))).toEqual(['192.168.1.25', PUBLIC_V6]);
  });
});
