import { describe, expect, it } from 'vitest';
import { FairGate, GateFullError } from './fair-gate.js';

/** A task the test finishes by hand; `started` lists tasks in the order they began. */
function tasks() {
  const started: string[] = [];
  const finish = new Map<string, () => void>();
  const task = (name: string) => () => new Promise<string>((resolve) => {
    started.push(name);
    finish.set(name, () => resolve(name));
  });
  const done = async (name: string): Promise<void> => {
    finish.get(name)!();
    // Let the gate hand the freed place on.
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { started, task, done };
}

const settle = async (): Promise<void> => { for (let i = 0; i < 5; i++) await Promise.resolve(); };

describe('FairGate', () => {
  it('runs at most `concurrency` at once, then the waiting ones round the keys, one turn each', async () => {
    const g = new FairGate({ concurrency: 2, maxWaiting: 10 });
    const { started, task, done } = tasks();
    const results = ['a1', 'a2', 'a3', 'a4', 'a5'].map((n) => g.run('a', task(n)));
    results.push(g.run('b', task('b1')), g.run('c', task('c1')), g.run('b', task('b2')));
    await settle();
    expect(started).toEqual(['a1', 'a2']);
    expect(g.load).toEqual({ running: 2, waiting: 6 });
    for (const n of ['a1', 'a2', 'a3', 'b1', 'c1', 'a4', 'b2', 'a5']) await done(n);
    // b1 and c1 came after all of a's tasks, but waited one of a's turns, not three.
    expect(started).toEqual(['a1', 'a2', 'a3', 'b1', 'c1', 'a4', 'b2', 'a5']);
    expect(await Promise.all(results)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5', 'b1', 'c1', 'b2']);
    expect(g.load).toEqual({ running: 0, waiting: 0 });
  });

  it('when the line is full, refuses without running: the fullest key\'s newest task, or the newcomer', async () => {
    const g = new FairGate({ concurrency: 1, maxWaiting: 3 });
    const { started, task, done } = tasks();
    const outcome = (p: Promise<string>) => p.then((v) => v, (e: unknown) => (e instanceof GateFullError ? 'refused' : 'error'));
    const a = ['a0', 'a1', 'a2', 'a3', 'a4'].map((n) => outcome(g.run('a', task(n))));
    expect(await a[4]).toBe('refused');
    // b takes a3's place; a second b would hold as many as a: refused itself.
    const b = [outcome(g.run('b', task('b1'))), outcome(g.run('b', task('b2')))];
    expect(await a[3]).toBe('refused');
    expect(await b[1]).toBe('refused');
    // A task that may not be refused always waits its turn, and takes no refusable place.
    const api = outcome(g.run('', task('api'), false));
    const c = outcome(g.run('c', task('c1')));
    expect(await a[2]).toBe('refused');
    for (const n of ['a0', 'a1', 'b1', 'api', 'c1']) await done(n);
    expect(started).toEqual(['a0', 'a1', 'b1', 'api', 'c1']);
    expect(await Promise.all([...a, ...b, api, c])).toEqual(['a0', 'a1', 'refused', 'refused', 'refused', 'b1', 'refused', 'api', 'c1']);
  });

  it('serves tasks marked first before the others, never refusing them, even with the line full of keys one task each', async () => {
    const g = new FairGate({ concurrency: 1, maxWaiting: 2 });
    const { started, task, done } = tasks();
    const running = g.run('x', task('x1'));
    const waiting = [g.run('y', task('y1')), g.run('z', task('z1'))];
    // Full, and no key holds more than a newcomer's would: a plain newcomer is refused…
    await expect(g.run('w', task('w1'))).rejects.toBeInstanceOf(GateFullError);
    // …one marked first is not, and goes ahead of the waiting ones.
    const known = g.run('k', task('k1'), true, true);
    for (const n of ['x1', 'k1', 'y1', 'z1']) await done(n);
    expect(started).toEqual(['x1', 'k1', 'y1', 'z1']);
    expect(await Promise.all([running, known, ...waiting])).toEqual(['x1', 'k1', 'y1', 'z1']);
  });

  it('gives tasks marked first every other turn, so a steady stream of them cannot keep the others waiting', async () => {
    const g = new FairGate({ concurrency: 1, maxWaiting: 4 });
    const { started, task, done } = tasks();
    void g.run('k', task('k0'), true, true);
    const others = [g.run('a', task('a1')), g.run('b', task('b1'))];
    await settle();
    // Whenever one finishes, the first line holds another (a client logging in again and again).
    for (let i = 1; i <= 4; i++) {
      void g.run('k', task(`k${i}`), true, true);
      await done(started[started.length - 1]);
    }
    expect(started).toEqual(['k0', 'k1', 'a1', 'k2', 'b1']);
    for (const n of ['b1', 'k3', 'k4']) await done(n);
    expect(await Promise.all(others)).toEqual(['a1', 'b1']);
    expect(g.load).toEqual({ running: 0, waiting: 0 });
  });

  it('a task that throws frees its place', async () => {
    const g = new FairGate({ concurrency: 1, maxWaiting: 1 });
    await expect(g.run('a', () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await g.run('a', () => Promise.resolve(1))).toBe(1);
  });
});
