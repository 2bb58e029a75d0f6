/**
 * Online backup of the SQLite store through SQLite's backup API: a copy of the database as it was
 * at one moment, taken while `sesame serve` keeps writing the same file (WAL: the copy reads a
 * snapshot, writers go on).
 *
 * The backup API starts over whenever another connection writes the source between two of its
 * steps. Small steps keep each read short and let progress be logged, but a busy server writes
 * every few milliseconds and a large store could start over forever; so after RESTARTS_BEFORE_ONE_STEP
 * restarts the rest is copied in one step: one read transaction, which in WAL mode blocks no writer
 * (the log only grows until it ends).
 *
 * The backup is written beside FILE under a temporary name, checked (quick_check, rows counted),
 * and only then linked to FILE, which fails if FILE exists: FILE is never overwritten and never
 * seen half written. The master key goes beside it as FILE.key, as master.key holds it.
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, fsyncSync, linkSync, openSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { StoreRefusal } from './db.js';
import { countRows, sqliteTables } from './sqlite-schema.js';

/** Pages per step: 4 MB of 4 KB pages, a few milliseconds of reading. */
const STEP_PAGES = 1024;
/** Restarts (the source written during the copy) tolerated before the rest is copied in one step. */
const RESTARTS_BEFORE_ONE_STEP = 2;
/** Progress is logged at most this often. */
const PROGRESS_EVERY_MS = 2000;
/** The most pages better-sqlite3 lets one step copy: in effect, all that remain. */
const ALL_PAGES = 0x7fffffff;

/** What to back up, and where. */
export interface BackupOptions {
  /** The store's database file. */
  readonly source: string;
  /** The backup file to create. */
  readonly target: string;
  /** The master key as master.key holds it (64 hexadecimal digits), written to `target`.key. */
  readonly keyHex: string;
  /**
   * Checks the copy before it is published; throwing refuses the backup (the master key's
   * fingerprint against the one the store recorded, say). `meta` reads the copy's meta table.
   */
  readonly check?: (meta: (key: string) => string | undefined) => void;
  readonly log: Logger;
}

/** What was written. */
export interface BackupResult {
  readonly file: string;
  readonly keyFile: string;
  readonly bytes: number;
  readonly pages: number;
  /** Times the copy started over because the server wrote during it. */
  readonly restarts: number;
  /** Rows of each table, as the backup holds them. */
  readonly tables: Record<string, number>;
}

/** The file the master key of backup `file` is written to. */
export function keyFileOf(file: string): string {
  return `${file}.key`;
}

/** Backs the store up to `target` and its master key to `target`.key; refuses to overwrite either. */
export async function backupSqlite(opts: BackupOptions): Promise<BackupResult> {
  const { source, target, log } = opts;
  const keyFile = keyFileOf(target);
  refuseExisting(target, keyFile);
  const temp = join(dirname(target), `.${basename(target)}.partial-${process.pid}`);
  try {
    const { pages, restarts } = await copyPages(source, temp, log);
    const tables = checkCopy(temp, opts.check);
    flushFile(temp);
    // 'wx': the key is never written over one already there.
    writeKey(keyFile, opts.keyHex);
    try {
      publish(temp, target);
    } catch (e) {
      unlinkSync(keyFile);
      throw e;
    }
    const bytes = statSync(target).size;
    log.info({ file: target, keyFile, bytes, pages, restarts }, 'backup written');
    return { file: target, keyFile, bytes, pages, restarts, tables };
  } finally {
    for (const leftover of [temp, `${temp}-wal`, `${temp}-shm`, `${temp}-journal`]) {
      try { unlinkSync(leftover); } catch { /* not there: nothing to clean */ }
    }
  }
}

function refuseExisting(target: string, keyFile: string): void {
  if (!existsSync(dirname(target))) throw new StoreRefusal(`The folder of ${target} does not exist.`);
  for (const f of [target, keyFile]) {
    if (existsSync(f)) throw new StoreRefusal(`${f} already exists; a backup never overwrites a file. Choose another name or move it away.`);
  }
}

/** Copies every page of `source` into a new database `temp`, logging progress. */
async function copyPages(source: string, temp: string, log: Logger): Promise<{ pages: number; restarts: number }> {
  if (!existsSync(source)) throw new StoreRefusal(`There is no SQLite store at ${source}.`);
  const db = new Database(source, { fileMustExist: true });
  try {
    // The server holds the write lock for a few milliseconds at a time; a step waits for it.
    db.pragma('busy_timeout = 5000');
    let restarts = 0;
    let lowest = Infinity;
    let lastLog = Date.now();
    log.info({ source, target: temp }, 'backup started');
    const done = await db.backup(temp, {
      progress({ totalPages, remainingPages }) {
        // Each step copies pages, so as many left as after the last step (or more) means the copy
        // started over: the source was written (its size need not change for that).
        if (remainingPages >= lowest) {
          restarts++;
          log.info({ restarts, totalPages }, 'the store was written during the backup; the copy starts over');
        }
        lowest = remainingPages;
        if (Date.now() - lastLog >= PROGRESS_EVERY_MS) {
          lastLog = Date.now();
          log.info({ copiedPages: totalPages - remainingPages, totalPages }, 'backup progress');
        }
        return restarts >= RESTARTS_BEFORE_ONE_STEP ? ALL_PAGES : STEP_PAGES;
      },
    });
    return { pages: done.totalPages, restarts };
  } finally {
    db.close();
  }
}

/** Checks the copy is a sound database and counts its rows. */
function checkCopy(temp: string, check: BackupOptions['check']): Record<string, number> {
  const db = new Database(temp, { fileMustExist: true });
  try {
    const problems = db.pragma('quick_check', { simple: false }) as { quick_check: string }[];
    if (problems.length !== 1 || problems[0]?.quick_check !== 'ok') {
      throw new Error(`the backup failed SQLite's quick_check: ${problems.map((p) => p.quick_check).join('; ')}`);
    }
    if (check) {
      const read = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
      check((key) => read.get(key) as string | undefined);
    }
    const tables: Record<string, number> = {};
    for (const t of sqliteTables(db)) tables[t.name] = countRows(db, t.name);
    return tables;
  } finally {
    // The last connection to close checkpoints the copy's log into it and removes the log.
    db.close();
  }
}

function writeKey(keyFile: string, hex: string): void {
  writeFileSync(keyFile, `${hex}\n`, { mode: 0o600, flag: 'wx' });
  flushFile(keyFile);
}

/** Gives the finished copy its name; link(2) fails if the name is taken, where rename would replace it. */
function publish(temp: string, target: string): void {
  try {
    linkSync(temp, target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new StoreRefusal(`${target} appeared while the backup ran; it was left alone.`);
    throw e;
  }
  flushFile(dirname(target));
}

/** Flushes a file (or a folder's entries) to disk, so a backup reported written survives a power cut. */
function flushFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // Some platforms cannot flush a folder; the files themselves were flushed.
  } finally {
    closeSync(fd);
  }
}
