/**
 * The SQLite adapter's durability: a caller is answered only after the write-ahead log has been
 * flushed to disk past its commit, and a failed flush fails the callers it was to cover.
 */
import Database from 'better-sqlite3';
import { fsync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from './db.js';
import { openSqlite, tablesWritten } from './sqlite.js';

interface Flush { fd: number; done: (error: Error | null) => void }

describe('sqlite adapter: flushing the log', () => {
  let dir: string;
  let file: string;
  let db: Db;
  let flushes: Flush[];
  let waiter: (() => void) | null;
  const flushCalled = (): Promise<void> => new Promise((r) => { if (flushes.length) r(); else waiter = r; });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sesame-sqlite-'));
    file = join(dir, 'test.db');
    flushes = [];
    waiter = null;
    // The real fsync, held back until the test lets it run, so the order of events can be seen.
    db = openSqlite({ file, allowWeakDurability: false, flush: (fd, done) => { flushes.push({ fd, done }); waiter?.(); waiter = null; } });
    const created = db.run('CREATE TABLE t (k TEXT PRIMARY KEY)');
    await flushCalled();
    release();
    await created;
  });
  afterEach(async () => {
    const closing = db.close();
    // close() flushes whatever is left; let those through.
    for (let i = 0; i < 10 && flushes.length; i++) { release(); await new Promise((r) => setImmediate(r)); }
    await closing;
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the oldest held flush for real. */
  function release(error: Error | null = null): void {
    const f = flushes.shift();
    if (!f) throw new Error('no flush is waiting');
    if (error) f.done(error);
    else fsync(f.fd, f.done);
  }

  it('commits without flushing on the event loop, then answers once the log is flushed', async () => {
    expect(new Database(file).pragma('journal_mode', { simple: true })).toBe('wal');
    let answered = false;
    const insert = db.run("INSERT INTO t VALUES ('a')").then((n) => { answered = true; return n; });
    await flushCalled();
    // The commit has happened (another connection sees it), but nobody has been told yet.
    const other = new Database(file, { readonly: true });
    expect(other.prepare('SELECT k FROM t').all()).toEqual([{ k: 'a' }]);
    other.close();
    await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false);
    release();
    expect(await insert).toBe(1);
  });

  it('groups committed during a flush wait for the next one', async () => {
    const first = db.run("INSERT INTO t VALUES ('a')");
    await flushCalled();
    let secondAnswered = false;
    const second = db.run("INSERT INTO t VALUES ('b')").then(() => { secondAnswered = true; });
    // The second group commits while the first flush is still running...
    const other = new Database(file, { readonly: true });
    while (other.prepare("SELECT k FROM t WHERE k = 'b'").all().length === 0) await new Promise((r) => setImmediate(r));
    other.close();
    // ...and waits: no second flush starts before the first ends.
    expect(flushes).toHaveLength(1);
    release();
    await first;
    expect(secondAnswered).toBe(false);
    await flushCalled();
    release();
    await second;
    expect(secondAnswered).toBe(true);
  });

  it('a failed flush fails the callers it was to cover, and every later commit (fails closed)', async () => {
    const lost = db.run("INSERT INTO t VALUES ('a')");
    await flushCalled();
    release(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    await expect(lost).rejects.toThrow(/EIO/);
    // No flush is even tried: one that followed a failure could claim pages the kernel dropped.
    await expect(db.run("INSERT INTO t VALUES ('b')")).rejects.toThrow(/could not be flushed/);
    expect(flushes).toHaveLength(0);
  });
});

describe('sqlite adapter: change marks', () => {
  let dir: string;
  let db: Db;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sesame-sqlite-'));
    db = openSqlite({ file: join(dir, 'test.db'), allowWeakDurability: false });
    await db.run('CREATE TABLE a (k TEXT PRIMARY KEY)');
    await db.run('CREATE TABLE b (k TEXT PRIMARY KEY)');
  });
  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the tables a statement writes from its text', () => {
    expect(tablesWritten('SELECT * FROM a JOIN b')).toEqual([]);
    expect(tablesWritten('INSERT INTO a (k) VALUES (?) ON CONFLICT (k) DO UPDATE SET k = excluded.k')).toContain('a');
    expect(tablesWritten('INSERT OR IGNORE INTO "b" (k) VALUES (?)')).toEqual(['b']);
    expect(tablesWritten('  update a SET k = ? WHERE k IN (SELECT k FROM b)')).toEqual(['a']);
    expect(tablesWritten('DELETE FROM b WHERE k = ?')).toEqual(['b']);
    expect(tablesWritten('WITH x AS (SELECT k FROM a) UPDATE b SET k = 1 WHERE k IN x')).toEqual(['b']);
    // Anything else may change anything.
    expect(tablesWritten('CREATE TABLE c (k TEXT)')).toBeNull();
    expect(tablesWritten('ALTER TABLE a ADD COLUMN v TEXT')).toBeNull();
  });

  it("moves on this process's writes of the tables named (as they run and once they end), and on another connection's commits", async () => {
    const markA = () => db.changeMark(['a']);
    const first = markA();
    expect(markA()).toBe(first);
    // Another table leaves it alone.
    await db.run('INSERT INTO b (k) VALUES (?)', ['x']);
    expect(markA()).toBe(first);
    // Read while a write of `a` has run but not committed: the mark moves again at the commit, so
    // a value read then (still the old one, on the reader) is not taken as current afterwards.
    let during = '';
    await db.tx(async (q) => {
      await q.run('INSERT INTO a (k) VALUES (?)', ['x']);
      during = markA()!;
    });
    expect(during).not.toBe(first);
    expect(markA()).not.toBe(during);
    // A rolled-back write moves it too (its statement ran).
    const beforeFailure = markA();
    await expect(db.tx(async (q) => { await q.run('DELETE FROM a'); throw new Error('undone'); })).rejects.toThrow('undone');
    expect(markA()).not.toBe(beforeFailure);
    // Another connection (another process): seen from the next turn of the event loop.
    const settled = markA();
    const other = new Database(join(dir, 'test.db'));
    other.prepare('INSERT INTO b (k) VALUES (?)').run('y');
    other.close();
    await new Promise((r) => setImmediate(r));
    expect(markA()).not.toBe(settled);
  });
});
