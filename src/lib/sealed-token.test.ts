import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SealedTokens } from './sealed-token.js';

describe('sealed tokens', () => {
  const tokens = new SealedTokens(randomBytes(32));

  it('open to the fields they were sealed with, and read as nothing in between', () => {
    const t = tokens.seal(['1z', '9', 'mail.shop.test', 'ann@dest.test']);
    expect(t).toMatch(/^[A-Za-z0-9_-]+$/);
    // Its bytes show none of the fields (base64url alone would).
    const bytes = Buffer.from(t, 'base64url').toString('latin1');
    for (const clear of ['ann@dest.test', 'mail.shop.test', '1z\n9\n']) expect(bytes).not.toContain(clear);
    expect(tokens.open(t)).toEqual(['1z', '9', 'mail.shop.test', 'ann@dest.test']);
    // Sealed twice, two different tokens (a fresh IV each time).
    expect(tokens.seal(['a'])).not.toBe(tokens.seal(['a']));
  });

  it('refuse anything altered, cut, lengthened, sealed under another key, or absurd', () => {
    const t = tokens.seal(['42', '7', 'shop.test', 'bob@dest.test']);
    // A different character in its two top bits (base64url's last character may carry only padding in its low bits).
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const flip = (at: number): string => `${t.slice(0, at)}${B64[B64.indexOf(t[at]) ^ 48]}${t.slice(at + 1)}`;
    for (const bad of [flip(0), flip(14), flip(30), flip(t.length - 1), t.slice(0, -2), `${t}AA`, 'AAAA', '', 'not a token!', 'A'.repeat(5000)]) {
      expect(tokens.open(bad), bad.slice(0, 40)).toBeNull();
    }
    expect(new SealedTokens(randomBytes(32)).open(t)).toBeNull();
  });

  it('will not seal a field that would read as two', () => {
    expect(() => tokens.seal(['a\nb'])).toThrow(/line feed/);
  });
});
