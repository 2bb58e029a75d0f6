/**
 * The online backup under constant writes from another connection: the copy starts over while
 * steps are small, finishes in one step after that, and holds one consistent moment of the store.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { backupSqlite } from './sqlite-backup.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('backupSqlite', () => {
  it('finishes under writes between every step, with a consistent copy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-backup-unit-'));
    dirs.push(dir);
    const source = join(dir, 'sesame.db');
    const writer = new Database(source);
    writer.pragma('journal_mode = WAL');
    writer.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
    writer.exec('CREATE TABLE a (v INTEGER NOT NULL); CREATE TABLE b (v INTEGER NOT NULL); INSERT INTO a VALUES (0); INSERT INTO b VALUES (0)');
    // About 12 MB: several steps of the backup's 4 MB.
    const insert = writer.prepare('INSERT INTO rows (body) VALUES (?)');
    writer.transaction(() => { for (let i = 0; i < 3000; i++) insert.run(Buffer.alloc(4000, 7)); })();
    // Each write moves both counters in one transaction, in place (the file does not grow): a
    // consistent copy has a = b.
    const bump = writer.transaction(() => {
      writer.prepare('UPDATE a SET v = v + 1').run();
      writer.prepare('UPDATE b SET v = v + 1').run();
    });

    let writing = true;
    let writes = 0;
    const keepWriting = (): void => {
      if (!writing) return;
      bump();
      writes++;
      setImmediate(keepWriting);
    };
    setImmediate(keepWriting);
    const target = join(dir, 'copy.db');
    try {
      const r = await backupSqlite({ source, target, keyHex: 'ab'.repeat(32), log: pino({ level: 'silent' }) });
      expect(r.restarts).toBeGreaterThanOrEqual(2);
      expect(writes).toBeGreaterThan(0);
      const copy = new Database(target, { readonly: true });
      const v = (t: string): number => copy.prepare(`SELECT v FROM ${t}`).pluck().get() as number;
      expect(v('a')).toBe(v('b'));
      expect(v('a')).toBeGreaterThan(0);
      expect(r.tables.rows).toBe(3000);
      copy.close();
    } finally {
      writing = false;
      writer.close();
    }
  }, 20_000);
});
