import { describe, expect, it } from 'vitest';
import { isPublicAddress, specialRange } from './ip-ranges.js';

describe('isPublicAddress', () => {
  it.each([
    // IPv4: each special-purpose range, at both ends where it matters.
    ['0.0.0.0', 'this network'], ['0.255.255.255', 'this network'],
    ['10.0.0.1', 'private'], ['10.255.255.255', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'], ['100.127.255.254', 'carrier-grade NAT'],
    ['127.0.0.1', 'loopback'], ['127.0.0.2', 'loopback'], ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['172.16.0.1', 'private'], ['172.31.255.254', 'private'],
    ['192.0.0.8', 'IETF protocol assignments'], ['192.0.0.170', 'IETF protocol assignments'],
    ['192.0.2.1', 'documentation'], ['198.51.100.7', 'documentation'], ['203.0.113.9', 'documentation'],
    ['192.88.99.1', '6to4 relay'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'benchmarking'], ['198.19.255.254', 'benchmarking'],
    ['224.0.0.1', 'multicast'], ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'], ['255.255.255.254', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    // IPv6.
    ['::', 'unspecified'], ['::1', 'loopback'],
    ['fc00::1', 'unique local'], ['fd12:3456::1', 'unique local'],
    ['fe80::1', 'link-local'], ['fe80::1%eth0', 'link-local'], ['febf::1', 'link-local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'], ['ff0e::101', 'multicast'],
    ['2001:db8::25', 'documentation'], ['3fff::25', 'documentation'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
    ['100::1', 'discard-only'],
    ['64:ff9b:1::a00:1', 'local-use NAT64'],
    ['4000::1', 'outside global unicast'], ['::2:1', 'IPv4-compatible'],
    // IPv6 forms carrying a special IPv4 address, in every spelling.
    ['::ffff:127.0.0.1', 'IPv4-mapped'], ['::ffff:7f00:1', 'IPv4-mapped'], ['0:0:0:0:0:ffff:7f00:2', 'IPv4-mapped'],
    ['::ffff:10.1.2.3', 'private'], ['::ffff:169.254.169.254', 'link-local'], ['::FFFF:192.168.0.1', 'private'],
    ['::ffff:0.0.0.0', 'this network'],
    ['::ffff:0:127.0.0.1', 'IPv4-translated'],
    ['::127.0.0.1', 'IPv4-compatible'],
    ['64:ff9b::127.0.0.1', 'NAT64'], ['64:ff9b::a00:1', 'private'], ['64:ff9b::192.168.1.1', 'private'],
    ['2002:7f00:1::1', '6to4'], ['2002:c0a8:101::1', 'private'],
    // Not addresses at all.
    ['localhost', 'not an IP address'], ['', 'not an IP address'], ['127.1', 'not an IP address'], ['1.2.3.4.5', 'not an IP address'],
  ])('refuses %s (%s)', (ip, what) => {
    expect(isPublicAddress(ip)).toBe(false);
    expect(specialRange(ip)).toContain(what);
  });

  it.each([
    '8.8.8.8', '1.1.1.1', '93.184.216.34', '9.255.255.255', '11.0.0.0', '100.63.255.255', '100.128.0.0',
    '126.255.255.255', '128.0.0.0', '169.253.255.255', '172.15.255.255', '172.32.0.0', '192.0.1.255', '192.0.3.0',
    '192.167.255.255', '192.169.0.0', '198.17.255.255', '198.20.0.0', '223.255.255.255',
    '2001:4860:4860::8888', '2a00:1450:4001:81c::200e', '2606:4700:4700::1111', '3ffe:ffff::25', '2001:200::1',
    // Embedded public IPv4 addresses pass: NAT64 networks reach IPv4-only MX hosts this way.
    '::ffff:8.8.8.8', '::ffff:808:808', '64:ff9b::8.8.8.8', '64:ff9b::808:808', '2002:808:808::1',
  ])('takes %s', (ip) => {
    expect(specialRange(ip)).toBeNull();
    expect(isPublicAddress(ip)).toBe(true);
  });
});
