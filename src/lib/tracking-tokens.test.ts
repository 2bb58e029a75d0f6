import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TRACKED_URL_MAX_BYTES, TrackingTokens } from './tracking-tokens.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Every token made from `t` by changing, removing or adding one character. */
function alterations(t: string): string[] {
  const out: string[] = [];
  for (let at = 0; at < t.length; at++) {
    const c = t[at];
    // Another character of the same alphabet, one outside it, and the other case.
    for (const other of [B64[(B64.indexOf(c) + 1) % 64] ?? 'a', '.', c.toUpperCase() === c ? c.toLowerCase() : c.toUpperCase()]) {
      if (other !== c) out.push(`${t.slice(0, at)}${other}${t.slice(at + 1)}`);
    }
    out.push(`${t.slice(0, at)}${t.slice(at + 1)}`, `${t.slice(0, at)}A${t.slice(at)}`);
  }
  return out;
}

describe('tracking tokens', () => {
  const tokens = new TrackingTokens(randomBytes(32));

  it('name back what they were signed with', () => {
    const open = tokens.signOpen(12345);
    expect(open).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]{22}$/);
    expect(tokens.verifyOpen(open)).toEqual({ deliveryId: 12345 });
    expect(tokens.verifyOpen(tokens.signOpen(Number.MAX_SAFE_INTEGER))).toEqual({ deliveryId: Number.MAX_SAFE_INTEGER });

    for (const [id, index, url] of [
      [1, 0, 'https://shop.test/'],
      [987654321, 41, 'http://shop.test/p?a=1&b="2"#frag'],
      [Number.MAX_SAFE_INTEGER, 99_999, 'https://boutique.test/été/日本?q=ü'],
    ] as const) {
      const click = tokens.signClick(id, index, url);
      expect(click).toMatch(/^[0-9a-z]+\.[0-9a-z]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
      expect(tokens.verifyClick(click)).toEqual({ deliveryId: id, index, url });
    }
  });

  it('carry a URL of 2048 bytes in under 4096 characters, and refuse to sign a longer one', () => {
    const url = `https://shop.test/${'x'.repeat(TRACKED_URL_MAX_BYTES - 18)}`;
    const click = tokens.signClick(Number.MAX_SAFE_INTEGER, 1_000_000, url);
    expect(click.length).toBeLessThan(4096);
    expect(tokens.verifyClick(click)?.url).toBe(url);
    expect(() => tokens.signClick(1, 0, `${url}é`)).toThrow(RangeError);
  });

  it('refuse to sign what they could not read back', () => {
    for (const id of [0, -1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN]) {
      expect(() => tokens.signOpen(id)).toThrow(RangeError);
      expect(() => tokens.signClick(id, 0, 'https://shop.test/')).toThrow(RangeError);
    }
    for (const index of [-1, 0.5, Number.POSITIVE_INFINITY]) expect(() => tokens.signClick(1, index, 'https://shop.test/')).toThrow(RangeError);
    for (const url of ['', 'javascript:alert(1)', 'mailto:a@b.test', '/relative', 'ftp://shop.test/']) {
      expect(() => tokens.signClick(1, 0, url), url).toThrow(RangeError);
    }
  });

  it('refuse every token one character away', () => {
    const open = tokens.signOpen(123456789);
    for (const bad of alterations(open)) expect(tokens.verifyOpen(bad), bad).toBeNull();
    const click = tokens.signClick(123456789, 7, 'https://shop.test/path?x=1');
    for (const bad of alterations(click)) expect(tokens.verifyClick(bad), bad).toBeNull();
  });

  it('are never valid as the other kind, nor under another key', () => {
    const open = tokens.signOpen(42);
    const click = tokens.signClick(42, 0, 'https://shop.test/');
    expect(tokens.verifyClick(open)).toBeNull();
    expect(tokens.verifyOpen(click)).toBeNull();
    // An open MAC on a click body, and a click MAC on an open body.
    const openMac = open.split('.')[1];
    const [id, index, url, clickMac] = click.split('.');
    expect(tokens.verifyClick(`${id}.${index}.${url}.${openMac}`)).toBeNull();
    expect(tokens.verifyOpen(`${id}.${clickMac}`)).toBeNull();
    const other = new TrackingTokens(randomBytes(32));
    expect(other.verifyOpen(open)).toBeNull();
    expect(other.verifyClick(click)).toBeNull();
  });

  it('read garbage as nothing, without throwing, and huge strings without reading them', () => {
    const click = tokens.signClick(5, 1, 'https://shop.test/');
    const garbage = [
      '', '.', '..', '...', 'a', 'a.', '.a', 'abc.def', '0.AAAAAAAAAAAAAAAAAAAAAA', `${click}.`, `.${click}`, `${click} `,
      'a'.repeat(4097), '.'.repeat(10_000), `${'a'.repeat(4090)}.${'A'.repeat(22)}`, '\u0000', 'é.é', '%2e',
    ];
    for (const bad of garbage) {
      expect(tokens.verifyOpen(bad), bad.slice(0, 40)).toBeNull();
      expect(tokens.verifyClick(bad), bad.slice(0, 40)).toBeNull();
    }
    // Typed as strings, but a token comes off a URL: anything else is nothing too.
    expect(tokens.verifyOpen(undefined as unknown as string)).toBeNull();
    const huge = `${click}${'A'.repeat(5_000_000)}`;
    const start = performance.now();
    expect(tokens.verifyClick(huge)).toBeNull();
    expect(tokens.verifyOpen(huge)).toBeNull();
    expect(performance.now() - start).toBeLessThan(50);
  });
});
