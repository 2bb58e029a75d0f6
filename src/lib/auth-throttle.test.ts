import { describe, expect, it } from 'vitest';
import { AuthThrottle } from './auth-throttle.js';

const MINUTE = 60_000;

describe('AuthThrottle', () => {
  it('slows each failure of a network more, locks the network out after the limit, forgets a period after its last failure', () => {
    let now = 0;
    const t = new AuthThrottle({ maxFailures: 3, lockoutMs: MINUTE, now: () => now });
    expect(t.standing('192.0.2.4', 'u@x.test')).toEqual({ kind: 'ok', delayMs: 0 });
    t.failed('192.0.2.4', 'u@x.test');
    // Another address of the same /24, another login: the same network.
    expect(t.standing('192.0.2.200', 'other@x.test')).toEqual({ kind: 'ok', delayMs: 250 });
    t.failed('192.0.2.200', 'other@x.test');
    expect(t.standing('::ffff:192.0.2.9', 'new@x.test')).toEqual({ kind: 'ok', delayMs: 500 });
    now += 30_000;
    t.failed('::ffff:192.0.2.9', 'new@x.test');
    expect(t.standing('192.0.2.4', 'u@x.test')).toEqual({ kind: 'locked', who: 'network' });
    // The next /24 has not failed.
    expect(t.standing('192.0.3.4', 'u@x.test')).toEqual({ kind: 'ok', delayMs: 0 });
    // The period runs from the last failure.
    now += 59_000;
    expect(t.standing('192.0.2.1', 'x@x.test')).toEqual({ kind: 'locked', who: 'network' });
    now += 1_000;
    expect(t.standing('192.0.2.1', 'u@x.test')).toEqual({ kind: 'ok', delayMs: 0 });
  });

  it('counts attempts under way: many sent at once get no more checks than one after another', () => {
    const t = new AuthThrottle({ maxFailures: 3, lockoutMs: MINUTE });
    const begun = [];
    for (let i = 0; i < 3; i++) {
      const s = t.standing('192.0.2.7', 'news@shop.test');
      expect(s).toEqual({ kind: 'ok', delayMs: i === 0 ? 0 : 250 * 2 ** (i - 1) });
      begun.push(t.begin('192.0.2.7', 'news@shop.test'));
    }
    // A fourth at once, from the same network: refused before any password is checked.
    expect(t.standing('192.0.2.8', 'other@shop.test')).toEqual({ kind: 'locked', who: 'network' });
    // Ends counted once, whatever is called after.
    begun[0].abandoned();
    begun[0].failed();
    expect(t.standing('192.0.2.8', 'other@shop.test').kind).toBe('ok');
    begun[1].failed();
    begun[2].failed();
    expect(t.standing('192.0.2.8', 'other@shop.test')).toEqual({ kind: 'ok', delayMs: 500 });
  });

  it('counts an IPv6 client by its /48 (a site\'s block: its 65,536 /64s are one network)', () => {
    const t = new AuthThrottle({ maxFailures: 2, lockoutMs: MINUTE });
    t.failed('2001:db8:1:2::1', 'u@x.test');
    t.failed('2001:db8:1:ffff:1:2:3:4', 'v@x.test');
    expect(t.standing('2001:0db8:0001:0003::99', 'w@x.test')).toEqual({ kind: 'locked', who: 'network' });
    expect(t.standing('2001:db8:2::1', 'u@x.test')).toEqual({ kind: 'ok', delayMs: 0 });
  });

  it('failures for a login from one network leave that login working from any other', () => {
    const t = new AuthThrottle({ maxFailures: 3, lockoutMs: MINUTE });
    for (let i = 0; i < 3; i++) t.failed(`203.0.113.${i + 1}`, 'news@shop.test');
    expect(t.standing('203.0.113.50', 'news@shop.test')).toEqual({ kind: 'locked', who: 'network' });
    expect(t.standing('198.51.100.7', 'NEWS@shop.test')).toEqual({ kind: 'ok', delayMs: 0 });
  });

  it('a success forgives that login\'s failures from that network, not the network\'s failures for other logins', () => {
    const t = new AuthThrottle({ maxFailures: 3, lockoutMs: MINUTE });
    t.failed('192.0.2.1', 'app@x.test');
    t.failed('192.0.2.1', 'victim@x.test');
    t.succeeded('192.0.2.1', 'app@x.test');
    expect(t.standing('192.0.2.1', 'app@x.test')).toEqual({ kind: 'ok', delayMs: 250 });
    t.failed('192.0.2.1', 'victim@x.test');
    t.succeeded('192.0.2.1', 'app@x.test');
    // An attacker's own valid login does not wipe its guesses at another's.
    t.failed('192.0.2.1', 'third@x.test');
    expect(t.standing('192.0.2.1', 'app@x.test')).toEqual({ kind: 'locked', who: 'network' });
  });

  it('locks a login from a network even when the network\'s own count was forgotten first', () => {
    // Tables of two: the victim's count of 2 survives in the login table, spread guesses of
    // another network push its network's count out of the network table.
    const t = new AuthThrottle({ maxFailures: 2, lockoutMs: MINUTE, maxEntries: 2 });
    t.failed('192.0.2.1', 'victim@x.test');
    t.failed('192.0.2.1', 'victim@x.test');
    t.failed('198.51.100.1', 'a@x.test');
    t.failed('198.51.100.1', 'b@x.test');
    t.failed('203.0.113.1', 'c@x.test');
    expect(t.standing('192.0.2.1', 'victim@x.test')).toEqual({ kind: 'locked', who: 'login' });
    expect(t.standing('192.0.2.1', 'other@x.test')).toEqual({ kind: 'ok', delayMs: 0 });
  });

  it('a flood of fresh logins and networks does not push out the counts that lock an attacker out', () => {
    let now = 0;
    const t = new AuthThrottle({ maxFailures: 3, lockoutMs: 15 * MINUTE, maxEntries: 8, now: () => now });
    for (let i = 0; i < 3; i++) t.failed('203.0.113.7', 'news@shop.test');
    expect(t.standing('203.0.113.7', 'news@shop.test').kind).toBe('locked');
    // Fresh logins from fresh networks, and then from one network, far more than the tables hold.
    for (let i = 0; i < 200; i++) {
      now += 1_000;
      t.failed(`198.${i >> 8}.${i & 0xff}.1`, `fresh${i}@shop.test`);
    }
    expect(t.standing('203.0.113.7', 'news@shop.test').kind).toBe('locked');
    expect(t.standing('203.0.113.8', 'anyone@shop.test').kind).toBe('locked');
    for (let i = 0; i < 3; i++) t.failed('192.0.2.1', `spray${i}@shop.test`);
    expect(t.standing('192.0.2.1', 'spray99@shop.test').kind).toBe('locked');
    // Still a period after its last failure, and no longer.
    now = 15 * MINUTE;
    expect(t.standing('203.0.113.7', 'news@shop.test').kind).toBe('ok');
  });
});
