/**
 * SQLite adapter (better-sqlite3, WAL). One writer connection commits transactions in groups:
 * every transaction requested during one turn of the event loop runs in its own savepoint inside
 * one BEGIN IMMEDIATE … COMMIT. Reads outside a transaction use a second connection, so they only
 * ever see committed data.
 *
 * Durability: SQLite's own fsync at COMMIT (synchronous=FULL) would stop the event loop for the
 * length of a disk flush, a millisecond or more on cloud disks, once per group. Instead the writer
 * commits with synchronous=NORMAL (the log is written, not flushed) and the adapter flushes the log
 * file itself on libuv's thread pool; no caller is answered before the flush that covers its commit
 * has returned, which is the guarantee synchronous=FULL gives. Groups committed while a flush runs
 * share the next one. Checkpoints keep SQLite's own ordering (NORMAL flushes the log before copying
 * it into the database, and the database after).
 */
import Database from 'better-sqlite3';
import { closeSync, fsync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { DurabilityError, type Db, type Dialect, type Param, type Queryable } from './db.js';

const dialect: Dialect = {
  name: 'sqlite',
  idColumn: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  bigint: 'INTEGER',
  forUpdate: '',
  skipLocked: '',
  ilike: 'LIKE',
  txLockSql: () => null,
  alterConstraints: false,
};

/** Largest number of transactions committed by one fsync. */
const MAX_GROUP = 512;
/**
 * Under load, commits are spaced at least this far apart so each fsync carries more transactions
 * (PostgreSQL's commit_delay, in spirit); an idle store commits at once.
 */
const COMMIT_WINDOW_MS = 4;
const BUSY_TIMEOUT_MS = 5000;

interface Pending {
  fn: (q: Queryable) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * The tables a statement may write, read from its text: each one after INSERT INTO, UPDATE or
 * DELETE FROM (a plain query writes none). Null for anything else (DDL, PRAGMA): it may change
 * anything. A word that is not a table (the SET of an upsert's DO UPDATE) only moves a mark nobody
 * reads; a table missed would keep a stale value, so the patterns take every form the code writes.
 */
export function tablesWritten(sql: string): readonly string[] | null {
  const head = /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase();
  if (head === 'SELECT') return [];
  if (head !== 'INSERT' && head !== 'UPDATE' && head !== 'DELETE' && head !== 'REPLACE' && head !== 'WITH') return null;
  const tables = [...sql.matchAll(/\b(?:INTO|UPDATE|DELETE\s+FROM)\s+(?:OR\s+\w+\s+)?"?(\w+)/gi)].map((m) => m[1]!.toLowerCase());
  return tables.length ? tables : null;
}

/**
 * Counts the writer's writes by table, for Db.changeMark: once as each statement runs, and again
 * when its group commits or rolls back, so a value read while a write was neither committed nor
 * undone is never taken as current afterwards.
 */
class WriteMarks {
  private readonly counts = new Map<string, number>();
  /** Writes of statements that could have changed any table. */
  private any = 0;
  private readonly touched = new Set<string>();
  private touchedAny = false;

  wrote(tables: readonly string[] | null): void {
    if (tables === null) {
      this.any++;
      this.touchedAny = true;
      return;
    }
    for (const t of tables) {
      this.counts.set(t, (this.counts.get(t) ?? 0) + 1);
      this.touched.add(t);
    }
  }

  /** The group's writes are committed or undone. */
  settled(): void {
    this.wrote(this.touchedAny ? null : [...this.touched]);
    this.touched.clear();
    this.touchedAny = false;
  }

  /** Grows with every write of these tables. */
  sum(tables: readonly string[]): number {
    let n = this.any;
    for (const t of tables) n += this.counts.get(t) ?? 0;
    return n;
  }
}

interface Prepared { statement: Database.Statement; writes: readonly string[] | null }

/** A connection with a cache of prepared statements; the writer's counts what it writes. */
class Connection implements Queryable {
  private readonly statements = new Map<string, Prepared>();
  constructor(readonly raw: Database.Database, private readonly marks: WriteMarks | null = null) {}

  private prepare(sql: string): Database.Statement {
    let p = this.statements.get(sql);
    if (!p) {
      p = { statement: this.raw.prepare(sql), writes: this.marks ? tablesWritten(sql) : [] };
      if (this.statements.size > 1000) this.statements.clear();
      this.statements.set(sql, p);
    }
    if (this.marks && p.writes?.length !== 0) this.marks.wrote(p.writes);
    return p.statement;
  }
  all<T>(sql: string, params: readonly Param[] = []): Promise<T[]> {
    return Promise.resolve(this.prepare(sql).all(...params) as T[]);
  }
  get<T>(sql: string, params: readonly Param[] = []): Promise<T | undefined> {
    return Promise.resolve(this.prepare(sql).get(...params) as T | undefined);
  }
  run(sql: string, params: readonly Param[] = []): Promise<number> {
    return Promise.resolve(this.prepare(sql).run(...params).changes);
  }
  /** Synchronous variant for the adapter's own bookkeeping. */
  exec(sql: string): void {
    this.raw.exec(sql);
  }
}

/** Options of the SQLite adapter. */
export interface SqliteOptions {
  readonly file: string;
  readonly allowWeakDurability: boolean;
  /** Flushes the log file to disk (fs.fsync); replaceable only so tests can watch the ordering. */
  readonly flush?: (fd: number, done: (error: Error | null) => void) => void;
  /** Told how long each durable group commit took, from BEGIN to the log on disk (for the metrics). */
  readonly onCommit?: (seconds: number) => void;
}

/** Opens (creating if needed) the SQLite database file and checks its durability settings. */
export function openSqlite(opts: SqliteOptions): Db {
  mkdirSync(dirname(opts.file), { recursive: true });
  const marks = new WriteMarks();
  const writer = new Connection(new Database(opts.file), marks);
  configure(writer.raw);
  const wal = String(writer.raw.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
  // Some file systems (network mounts) cannot do WAL; we refuse rather than degrade.
  if (!wal && !opts.allowWeakDurability) throw new DurabilityError('SQLite could not switch to WAL mode.');
  // Without WAL (allowed only as weak durability) SQLite flushes at each commit itself.
  writer.raw.pragma(wal ? 'synchronous = NORMAL' : 'synchronous = FULL');
  const reader = new Connection(new Database(opts.file));
  configure(reader.raw);
  const log = wal ? new LogFlusher(`${opts.file}-wal`, opts.flush ?? fsync) : null;
  return new SqliteDb(writer, reader, log, marks, opts.onCommit);
}

function configure(db: Database.Database): void {
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
}

/**
 * Flushes the write-ahead log off the event loop and tells each waiter once a flush that started
 * after its commit has finished. One flush at a time; commits that arrive during a flush share the
 * next. The file is opened once and stays open until the store closes (SQLite locks the database
 * and the -shm file, never the log, so this descriptor cannot disturb its locks).
 */
class LogFlusher {
  private fd: number | null = null;
  private running = false;
  /**
   * The first failed flush. After one, the kernel may have dropped the pages it could not write
   * and a later flush could report success without them, so no later commit is called durable
   * either: the store fails closed (as PostgreSQL stops on a failed fsync) until restarted.
   */
  private failed: Error | null = null;
  private waiting: Array<(error: Error | null) => void> = [];

  constructor(private readonly path: string, private readonly flush: NonNullable<SqliteOptions['flush']>) {}

  /** Resolves once everything committed before the call is on disk. */
  durable(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push((error) => (error ? reject(error) : resolve()));
      this.next();
    });
  }

  private next(): void {
    if (this.running || this.waiting.length === 0) return;
    const batch = this.waiting;
    this.waiting = [];
    let fd: number;
    try {
      if (this.failed) throw this.failed;
      fd = this.open();
    } catch (error) {
      for (const w of batch) w(error as Error);
      return;
    }
    this.running = true;
    this.flush(fd, (error) => {
      this.running = false;
      if (error) this.failed ??= new Error(`the database log could not be flushed to disk (${error.message}); restart Sesame once the disk is sound`);
      for (const w of batch) w(this.failed);
      this.next();
    });
  }

  /** The log exists once the first transaction has run; its directory entry is flushed once. */
  private open(): number {
    if (this.fd !== null) return this.fd;
    const fd = openSync(this.path, 'r+');
    try {
      const dir = openSync(dirname(this.path), 'r');
      try { fsyncSync(dir); } finally { closeSync(dir); }
    } catch {
      // Some platforms cannot flush a directory; the log file's own flush still holds.
    }
    this.fd = fd;
    return fd;
  }

  /** Waits for the flush in progress, then closes the file. */
  async close(): Promise<void> {
    while (!this.failed && (this.running || this.waiting.length)) await this.durable().catch(() => undefined);
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

class SqliteDb implements Db {
  readonly dialect = dialect;
  private queue: Pending[] = [];
  private scheduled = false;
  private flushing: Promise<void> | null = null;
  private lastCommitAt = 0;
  private closed = false;
  /** One file shared by processes cannot signal them: workers poll. */
  readonly wakeups = null;
  private dataVersion: Database.Statement | null = null;

  /** data_version as read in this turn of the event loop (see externalChanges). */
  private version: number | null = null;

  constructor(
    private readonly writer: Connection, private readonly reader: Connection, private readonly log: LogFlusher | null, private readonly marks: WriteMarks,
    private readonly onCommit: ((seconds: number) => void) | undefined,
  ) {}

  all<T>(sql: string, params?: readonly Param[]): Promise<T[]> {
    return this.reader.all<T>(sql, params);
  }
  get<T>(sql: string, params?: readonly Param[]): Promise<T | undefined> {
    return this.reader.get<T>(sql, params);
  }
  /**
   * The writer connection's data_version: SQLite changes it when any other connection (in practice,
   * another process: this one's reader never writes) commits, and leaves it alone for the writer's
   * own commits. Read once per turn of the event loop: several lookups of one request share it, and
   * a commit of another process is seen from the next turn on.
   */
  private externalChanges(): number {
    if (this.version === null) {
      this.dataVersion ??= this.writer.raw.prepare('PRAGMA data_version').pluck();
      this.version = this.dataVersion.get() as number;
      setImmediate(() => { this.version = null; });
    }
    return this.version;
  }
  changeMark(tables: readonly string[]): string | null {
    return `${this.externalChanges()}:${this.marks.sum(tables)}`;
  }
  run(sql: string, params?: readonly Param[]): Promise<number> {
    return this.tx((q) => q.run(sql, params));
  }

  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushing) this.schedule();
    });
  }

  /** Flushes after the current turn of the event loop, gathering what else arrives in it. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = (): void => {
      this.scheduled = false;
      // commitGroup answers every caller itself; a flush never rejects.
      void this.flush();
    };
    const since = performance.now() - this.lastCommitAt;
    if (since >= COMMIT_WINDOW_MS) setImmediate(run);
    else setTimeout(run, COMMIT_WINDOW_MS - since);
  }

  /** Commits groups until the queue is empty; one flush at a time. */
  private flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.queue.length === 0) return Promise.resolve();
    const run = async (): Promise<void> => {
      while (this.queue.length) await this.commitGroup(this.queue.splice(0, MAX_GROUP));
    };
    // Assigned before `finally` can run: the finally callback is always a later microtask.
    this.flushing = run().finally(() => {
      this.flushing = null;
      // Queued while the last group was finishing: the loop had already looked.
      if (this.queue.length) this.schedule();
    });
    return this.flushing;
  }

  /**
   * One group commit: begin, run each transaction in its own savepoint, commit once, then answer
   * each once the log is on disk (without waiting for that here: the next group may commit
   * meanwhile). Every caller is answered exactly once, whatever fails; a failure of the group itself
   * (BEGIN, a savepoint, COMMIT) rolls it all back and fails every caller in it, and a failed flush
   * fails every caller whose commit it was to cover.
   */
  private async commitGroup(group: Pending[]): Promise<void> {
    const outcomes: Outcome[] = [];
    let groupError: unknown = null;
    const started = performance.now();
    try {
      this.writer.exec('BEGIN IMMEDIATE');
      for (const p of group) outcomes.push(await this.runInSavepoint(p));
      if (!this.writer.raw.inTransaction) throw new Error('SQLite ended the transaction after an error');
      this.writer.exec('COMMIT');
      this.lastCommitAt = performance.now();
    } catch (error) {
      groupError = error;
      if (this.writer.raw.inTransaction) {
        try { this.writer.exec('ROLLBACK'); } catch { /* the connection is gone; nothing more to undo */ }
      }
    } finally {
      this.marks.settled();
    }
    const answer = (): void => group.forEach((p, i) => {
      if (i === 0 && groupError === null) this.onCommit?.((performance.now() - started) / 1000);
      const o = outcomes[i];
      if (groupError !== null) p.reject(groupError);
      else if (o.ok) p.resolve(o.value);
      else p.reject(o.error);
    });
    if (groupError !== null || !this.log) answer();
    else this.log.durable().then(answer, (error: unknown) => { groupError = error; answer(); });
  }

  /** Runs one transaction in a savepoint; its own failure rolls back only its own work. */
  private async runInSavepoint(p: Pending): Promise<Outcome> {
    this.writer.exec('SAVEPOINT tx');
    try {
      const value = await p.fn(this.writer);
      this.writer.exec('RELEASE tx');
      return { ok: true, value };
    } catch (error) {
      // Throws (and so fails the group) if the savepoint is gone: nothing of the group can be trusted.
      this.writer.exec('ROLLBACK TO tx');
      this.writer.exec('RELEASE tx');
      return { ok: false, error };
    }
  }

  ping(): Promise<void> {
    this.reader.raw.prepare('SELECT 1').get();
    return Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // New transactions are refused from here; those already queued are committed first.
    while (this.queue.length || this.flushing) await this.flush();
    // Their callers are answered once the log is flushed; closing the last connection may then
    // checkpoint and remove the log file.
    await this.log?.close();
    this.reader.raw.close();
    this.writer.raw.close();
  }
}
