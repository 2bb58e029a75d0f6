import { describe, expect, it } from 'vitest';
import { ChangeWatch } from './change-watch.js';

describe('ChangeWatch', () => {
  it('trusts a check begun after the mark was first seen, until the mark moves or the clock steps back', () => {
    let mark: string | null = 'm1';
    let now = 1_000;
    const w = new ChangeWatch(() => mark, () => now);
    // First look: nothing is known about what came before.
    expect(w.unchangedSince(999)).toBe(false);
    now = 1_010;
    expect(w.unchangedSince(1_005)).toBe(true);
    expect(w.unchangedSince(1_000)).toBe(false);
    // The mark moved: only checks begun after it was seen moving are trusted.
    mark = 'm2';
    now = 1_020;
    expect(w.unchangedSince(1_015)).toBe(false);
    now = 1_030;
    expect(w.unchangedSince(1_015)).toBe(false);
    expect(w.unchangedSince(1_025)).toBe(true);
    // The clock stepped back: a change, and times are compared with the latest ever shown.
    now = 900;
    expect(w.unchangedSince(1_025)).toBe(false);
    now = 950;
    expect(w.unchangedSince(940)).toBe(false);
    expect(w.unchangedSince(1_031)).toBe(true);
    // No mark (PostgreSQL): never.
    mark = null;
    now = 2_000;
    expect(w.unchangedSince(1_999)).toBe(false);
    now = 3_000;
    expect(w.unchangedSince(2_500)).toBe(false);
  });
});
