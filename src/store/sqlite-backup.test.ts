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
    writer.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL); CREATE TABLE total (n INTEGER NOT NULL)');
    writer.exec('INSERT INTO total (n) VALUES (0)');
    // Each write adds a row and counts it, in one transaction: a consistent copy has n = COUNT(*).
    const add = writer.transaction((size: number) => {
      writer.prepare('INSERT INTO rows (body) VALUES (?)').run(Buffer.alloc(size, 7));
      writer.prepare('UPDATE total SET n = n + 1').run();
    });
    // About 12 MB: several steps of the backup's 4 MB.
    for (let i = 0; i < 3000; i++) add(4000);

    let writing = true;
    let writes = 0;
    const keepWriting = (): void => {
      if (!writing) return;
      add(100);
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
      const n = copy.prepare('SELECT n FROM total').pluck().get() as number;
      expect(copy.prepare('SELECT COUNT(*) FROM rows').pluck().get()).toBe(n);
      expect(r.tables.rows).toBe(n);
      expect(n).toBeGreaterThanOrEqual(3000);
      copy.close();
    } finally {
      writing = false;
      writer.close();
    }
  }, 20_000);
});
