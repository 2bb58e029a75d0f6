import { describe, expect, it } from 'vitest';
import { BoundedCounts } from './bounded-counts.js';

describe('BoundedCounts', () => {
  it('counts, forgives, and forgets a count its time to live after its last increase', () => {
    let now = 0;
    const c = new BoundedCounts<string>({ ttlMs: 100, maxEntries: 10, top: 5 }, () => now);
    expect(c.add('a')).toBe(1);
    now = 60;
    expect(c.add('a', 2)).toBe(3);
    c.subtract('a', 1);
    expect(c.get('a')).toBe(2);
    now = 159;
    expect(c.get('a')).toBe(2);
    now = 160;
    expect(c.get('a')).toBe(0);
    c.add('b');
    c.subtract('b', 5);
    expect(c.get('b')).toBe(0);
    expect(c.size).toBe(0);
  });

  it('when full, forgets expired entries first, then the lowest count, the longest at it first', () => {
    let now = 0;
    const c = new BoundedCounts<string>({ ttlMs: 1_000, maxEntries: 3, top: 3 }, () => now);
    c.add('high', 3);
    c.add('two', 2);
    c.add('one');
    now = 10;
    // A flood of fresh keys churns among the lowest counts.
    for (let i = 0; i < 50; i++) c.add(`fresh${i}`);
    expect([c.get('high'), c.get('two'), c.get('one'), c.get('fresh48'), c.get('fresh49')]).toEqual([3, 2, 0, 0, 1]);
    // Among equal counts, the one that reached its count first leaves first; counts past `top` are equal.
    c.add('fresh49', 5);
    c.add('newer', 1);
    expect([c.get('high'), c.get('two'), c.get('fresh49'), c.get('newer')]).toEqual([3, 0, 6, 1]);
    c.add('newer', 2);
    c.add('last');
    expect([c.get('high'), c.get('fresh49'), c.get('newer'), c.get('last')]).toEqual([0, 6, 3, 1]);
    // Expired entries make room before any live one goes.
    now = 1_000;
    c.add('x');
    now = 1_500;
    c.add('y');
    expect([c.get('x'), c.get('y'), c.size]).toEqual([1, 1, 2]);
  });
});
