import { describe, expect, it } from 'vitest';
import { retrying } from './retry.js';

const failing = (times: number) => {
  let calls = 0;
  return { calls: () => calls, attempt: async () => { calls++; if (calls <= times) throw new Error(`failure ${calls}`); return 'done'; } };
};

describe('retrying', () => {
  it('tries again with doubling pauses, capped, until the attempt succeeds', async () => {
    const f = failing(4);
    const pauses: number[] = [];
    const waited: number[] = [];
    const value = await retrying(f.attempt, { forMs: 60_000, firstMs: 1, maxMs: 4 }, {
      giveUp: () => false, onRetry: (_e, ms) => pauses.push(ms), wait: async (ms) => { waited.push(ms); },
    });
    expect(value).toBe('done');
    expect(f.calls()).toBe(5);
    expect(pauses).toEqual([1, 2, 4, 4]);
    expect(waited).toEqual(pauses);
  });

  it('throws the last failure when the caller gives up, or when the time is spent', async () => {
    const stopped = failing(10);
    await expect(retrying(stopped.attempt, { forMs: 60_000, firstMs: 1, maxMs: 1 }, { giveUp: () => stopped.calls() >= 2, onRetry: () => {} }))
      .rejects.toThrow('failure 2');
    const slow = failing(10);
    await expect(retrying(slow.attempt, { forMs: 0, firstMs: 1, maxMs: 1 }, { giveUp: () => false, onRetry: () => {} })).rejects.toThrow('failure 1');
  });
});
