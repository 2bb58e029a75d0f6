import { describe, expect, it } from 'vitest';
import { AddressAllowList, parseAddressRange } from './address-allow.js';

describe('address allow lists', () => {
  it('parses addresses and CIDR ranges of both families, and nothing else', () => {
    expect(parseAddressRange('127.0.0.0/8')).toEqual({ address: '127.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseAddressRange('::1')).toEqual({ address: '::1', prefix: 128, family: 'ipv6' });
    expect(parseAddressRange('10.1.2.3')).toEqual({ address: '10.1.2.3', prefix: 32, family: 'ipv4' });
    for (const bad of ['localhost', '10.0.0.0/33', '::/129', '1.2.3.4/8/1', '1.2.3.4/', '1.2.3.4/x', '']) expect(parseAddressRange(bad)).toBeNull();
  });

  it('allows the ranges listed, IPv4-mapped IPv6 as its IPv4 address, and nothing else', () => {
    const l = new AddressAllowList(['127.0.0.0/8', '::1', '10.20.0.0/16']);
    for (const ok of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1', '10.20.255.1']) expect(l.allows(ok)).toBe(true);
    for (const no of ['128.0.0.1', '10.21.0.1', '::2', '::ffff:10.21.0.1', 'fe80::1', undefined, 'junk']) expect(l.allows(no)).toBe(false);
  });
});
