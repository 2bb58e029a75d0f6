import { describe, expect, it } from 'vitest';
import { clientKey, clientNetwork } from './client-network.js';

describe('clientNetwork', () => {
  it.each([
    ['203.0.113.77', '203.0.113.0/24'],
    ['::ffff:203.0.113.77', '203.0.113.0/24'],
    ['::FFFF:cb00:714d', '203.0.113.0/24'],
    ['2001:db8:a:b:1:2:3:4', '2001:db8:a::/48'],
    ['2001:0DB8:000a:ffff::1', '2001:db8:a::/48'],
    ['2001:db8::1', '2001:db8:0::/48'],
    ['::1', '0:0:0::/48'],
    ['fe80::1%eth0', 'fe80:0:0::/48'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0::/48'],
  ])('%s is in %s', (address, network) => {
    expect(clientNetwork(address)).toBe(network);
  });

  it.each(['', 'not-an-address', '1.2.3.256', '1:2:3:4:5:6:7:8:9', '1::2::3'])('%j stays as it is', (address) => {
    expect(clientNetwork(address)).toBe(address);
  });
});

describe('clientKey', () => {
  it('keeps an IPv4 address, mapped or not', () => {
    expect(clientKey('127.0.0.2')).toBe('127.0.0.2');
    expect(clientKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(clientKey('::FFFF:203.0.113.9')).toBe('203.0.113.9');
  });

  it('counts an IPv6 address as its /64, however it is written', () => {
    const key = '2001:db8:0:1::/64';
    for (const a of ['2001:db8:0:1::1', '2001:db8:0:1:ffff:ffff:ffff:ffff', '2001:0DB8:0000:0001:0:0:0:2', '2001:db8::1:1:2:3:4', '2001:db8:0:1::9%eth0']) {
      expect(clientKey(a), a).toBe(key);
    }
    expect(clientKey('2001:db8:0:2::1')).toBe('2001:db8:0:2::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
  });

  it('answers something for what is not an address', () => {
    expect(clientKey(undefined)).toBe('');
    expect(clientKey('')).toBe('');
    expect(clientKey('not an address')).toBe('not an address');
  });
});
