import { describe, expect, it } from 'vitest';
import { AuthThrottle } from './auth-throttle.js';

describe('AuthThrottle', () => {
  it('slows each failure more, locks out after the limit, forgets after the lockout', () => {
    let now = 0;
    const t = new AuthThrottle({ maxFailures: 3, lockoutMs: 60_000, now: () => now });
    expect(t.standing('1.2.3.4', 'u@x.test')).toEqual({ kind: 'ok', delayMs: 0 });
    t.failed('1.2.3.4', 'u@x.test');
    expect(t.standing('1.2.3.4', 'other@x.test')).toEqual({ kind: 'ok', delayMs: 250 });
    t.failed('1.2.3.4', 'u@x.test');
    expect(t.standing('5.6.7.8', 'U@x.test')).toEqual({ kind: 'ok', delayMs: 500 });
    t.failed('9.9.9.9', 'u@x.test');
    expect(t.standing('5.6.7.8', 'u@x.test')).toEqual({ kind: 'locked', who: 'user' });
    expect(t.standing('1.2.3.4', 'new@x.test')).toEqual({ kind: 'ok', delayMs: 500 });
    t.failed('1.2.3.4', 'new@x.test');
    expect(t.standing('1.2.3.4', 'new@x.test')).toEqual({ kind: 'locked', who: 'address' });
    now += 60_000;
    expect(t.standing('1.2.3.4', 'u@x.test')).toEqual({ kind: 'ok', delayMs: 0 });
  });
  it('a success clears the address, not the user; a bounded number of entries is remembered', () => {
    const t = new AuthThrottle({ maxFailures: 2, lockoutMs: 60_000, maxEntries: 4 });
    t.failed('a', 'u');
    t.succeeded('a');
    expect(t.standing('a', 'other')).toEqual({ kind: 'ok', delayMs: 0 });
    expect(t.standing('b', 'u')).toEqual({ kind: 'ok', delayMs: 250 });
    for (let i = 0; i < 10; i++) t.failed(`ip${i}`, `user${i}`);
    expect(t.standing('ip0', 'user0')).toEqual({ kind: 'ok', delayMs: 0 });
    expect(t.standing('ip9', 'user9')).toEqual({ kind: 'ok', delayMs: 250 });
  });
});
