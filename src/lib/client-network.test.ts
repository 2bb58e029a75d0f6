import { describe, expect, it } from 'vitest';
import { clientNetwork } from './client-network.js';

describe('clientNetwork', () => {
  it.each([
    ['203.0.113.77', '203.0.113.0/24'],
    ['::ffff:203.0.113.77', '203.0.113.0/24'],
    ['::FFFF:cb00:714d', '203.0.113.0/24'],
    ['2001:db8:a:b:1:2:3:4', '2001:db8:a:b::/64'],
    ['2001:0DB8:000a:000b::1', '2001:db8:a:b::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
  ])('%s is in %s', (address, network) => {
    expect(clientNetwork(address)).toBe(network);
  });

  it.each(['', 'not-an-address', '1.2.3.256', '1:2:3:4:5:6:7:8:9', '1::2::3'])('%j stays as it is', (address) => {
    expect(clientNetwork(address)).toBe(address);
  });
});
