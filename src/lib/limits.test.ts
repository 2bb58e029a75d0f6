import { describe, expect, it } from 'vitest';
import { ByteBudget } from './byte-budget.js';
import { KeyedCounts } from './keyed-counts.js';
import { MarkedCache } from './marked-cache.js';
import { storableText } from './text.js';
import { TokenSigner } from './tokens.js';
import { TtlCache } from './ttl-cache.js';

describe('KeyedCounts', () => {
  it('counts by key and keeps only keys with something counted', () => {
    const c = new KeyedCounts<string>();
    expect(c.add('a')).toBe(1);
    expect(c.add('a', 4)).toBe(5);
    c.add('b');
    c.subtract('a', 2);
    expect([c.get('a'), c.get('b'), c.get('never')]).toEqual([3, 1, 0]);
    c.subtract('a', 3);
    c.subtract('b');
    // Taking more than is counted forgets the key too, and never leaves a negative count behind.
    c.subtract('c');
    expect([c.size, c.get('a'), c.get('c')]).toEqual([0, 0, 0]);
  });
});

describe('TtlCache', () => {
  it('forgets entries at their time, and keeps within its entry and weight bounds', () => {
    let now = 0;
    const c = new TtlCache<string, string>({ ttlMs: 100, maxEntries: 3, maxWeight: 10 }, () => now);
    c.set('a', 'A', 4);
    c.set('b', 'B', 4);
    expect(c.get('a')).toBe('A');
    // Over the weight: the oldest leaves.
    c.set('c', 'C', 4);
    expect(c.get('a')).toBeUndefined();
    expect(c.size).toEqual({ entries: 2, weight: 8 });
    // Heavier than the whole cache: not kept, nothing evicted for it.
    c.set('huge', 'H', 11);
    expect(c.get('huge')).toBeUndefined();
    expect(c.size.entries).toBe(2);
    // Expired entries leave when read, and whenever something is stored.
    now = 150;
    expect(c.get('b')).toBeUndefined();
    c.set('d', 'D', 1);
    expect(c.size).toEqual({ entries: 1, weight: 1 });
    // Entry count bound.
    for (const k of ['e', 'f', 'g']) c.set(k, k, 0);
    expect(c.size.entries).toBe(3);
    expect(c.get('d')).toBeUndefined();
    // A shorter life of its own.
    c.set('brief', 'x', 0, 10);
    now = 161;
    expect(c.get('brief')).toBeUndefined();
    expect(c.get('g')).toBe('g');
  });
  it('load: concurrent misses share one load; a failed load is not kept; keep sets the life, or keeps nothing', async () => {
    let now = 0;
    const c = new TtlCache<string, number>({ ttlMs: 1000, maxEntries: 10 }, () => now);
    let calls = 0;
    let finish!: (v: number) => void;
    const slow = () => { calls++; return new Promise<number>((r) => { finish = r; }); };
    const a = c.load('k', slow);
    const b = c.load('k', slow);
    finish(7);
    expect(await Promise.all([a, b])).toEqual([7, 7]);
    expect(calls).toBe(1);
    expect(await c.load('k', slow)).toBe(7);
    expect(calls).toBe(1);
    await expect(c.load('bad', () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect(await c.load('bad', async () => 3, () => ({ ttlMs: 10 }))).toBe(3);
    now = 10;
    expect(c.get('bad')).toBeUndefined();
    expect(c.get('k')).toBe(7);
    // `false`: what the load gave is returned, and not kept.
    expect(await c.load('once', async () => 5, () => false)).toBe(5);
    expect(c.get('once')).toBeUndefined();
    expect(c.size.entries).toBe(1);
  });
});

describe('ByteBudget', () => {
  it('lets work in while it fits, in order, and a piece larger than the budget alone', async () => {
    const b = new ByteBudget(100);
    const order: string[] = [];
    const g1 = await b.take(60);
    const w2 = b.take(60).then((g) => { order.push('second'); return g; });
    const w3 = b.take(10).then((g) => { order.push('third'); return g; });
    await Promise.resolve();
    expect(order).toEqual([]);
    expect(b.inUse).toBe(60);
    g1();
    g1(); // giving back twice changes nothing
    const g2 = await w2;
    const g3 = await w3;
    expect(order).toEqual(['second', 'third']);
    expect(b.inUse).toBe(70);
    g2();
    g3();
    const big = await b.take(500);
    expect(b.inUse).toBe(100);
    big();
    expect(b.inUse).toBe(0);
  });
});

describe('storableText', () => {
  it('turns control characters into spaces, keeps tabs and line breaks, and cuts', () => {
    expect(storableText('250 ok\u0000\u0007\u001b[31m\ttab\r\nnext\u007f')).toBe('250 ok   [31m\ttab\r\nnext ');
    expect(storableText('x'.repeat(2000))).toHaveLength(1000);
  });
});

describe('TokenSigner', () => {
  const key = Buffer.alloc(32, 7);
  it('links: base64url MAC; a token of another key, an altered id or MAC is refused', () => {
    const t = new TokenSigner(key);
    const token = t.sign(12345);
    expect(token).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]{22}$/);
    expect(t.verify(token)).toBe(12345);
    expect(new TokenSigner(Buffer.alloc(32, 8)).verify(token)).toBeNull();
    expect(t.verify(token.replace(/^[0-9a-z]+/, (12346).toString(36)))).toBeNull();
    expect(t.verify(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)).toBeNull();
    expect(t.verify('garbage')).toBeNull();
  });

  it('addresses: lower-case base32 MAC, accepted in any case', () => {
    const t = new TokenSigner(key, { macChars: 26, caseless: true });
    const token = t.sign(987654321);
    expect(token).toMatch(/^[0-9a-z]+\.[a-z2-7]{26}$/);
    expect(t.verify(token)).toBe(987654321);
    expect(t.verify(token.toUpperCase())).toBe(987654321);
    expect(t.verify(token.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')))).toBeNull();
  });
});

describe('MarkedCache', () => {
  it('keeps a value while the mark holds, and where there is no mark only as long as the caller accepts', async () => {
    let mark: string | null = 'a';
    let now = 0;
    let loads = 0;
    const cache = new MarkedCache<string, number | undefined>({ ttlMs: 60_000, maxEntries: 10 }, () => mark, () => now);
    const load = async (): Promise<number> => ++loads;
    expect(await cache.get('k', load)).toBe(1);
    expect(await cache.get('k', load)).toBe(1);
    mark = 'b';
    expect(await cache.get('k', load)).toBe(2);
    // No mark: read afresh, unless the caller accepts a value this old.
    mark = null;
    expect(await cache.get('k', load)).toBe(3);
    expect(await cache.get('k', load, 5_000)).toBe(4);
    now += 4_000;
    expect(await cache.get('k', load, 5_000)).toBe(4);
    expect(await cache.get('k', load)).toBe(5);
    now += 10_000;
    expect(await cache.get('k', load, 5_000)).toBe(6);
    // "None" is never kept.
    mark = 'c';
    expect(await cache.get('gone', async () => undefined)).toBeUndefined();
    expect(await cache.get('gone', load)).toBe(7);
    // Callers that miss together share one load, unless one must see what was committed before it asked.
    const together = await Promise.all([cache.get('new', load), cache.get('new', load)]);
    expect(together).toEqual([8, 8]);
    mark = null;
    const fresh = await Promise.all([cache.get('n', load, 5_000), cache.get('n', load, 5_000), cache.get('n', load)]);
    expect(fresh).toEqual([9, 9, 10]);
  });
});
