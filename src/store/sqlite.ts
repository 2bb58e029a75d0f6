/**
 * SQLite adapter (better-sqlite3, WAL, synchronous=FULL). One writer connection commits
 * transactions in groups: every transaction requested during one turn of the event loop runs in
 * its own savepoint inside one BEGIN IMMEDIATE … COMMIT, so one fsync covers them all. Reads outside
 * a transaction use a second connection, so they only ever see committed data.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DurabilityError, type Db, type Dialect, type Param, type Queryable } from './db.js';

const dialect: Dialect = {
  name: 'sqlite',
  idColumn: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  bigint: 'INTEGER',
  forUpdate: '',
  skipLocked: false,
  ilike: 'LIKE',
  txLockSql: () => null,
};

/** Largest number of transactions committed by one fsync. */
const MAX_GROUP = 512;
const BUSY_TIMEOUT_MS = 5000;

interface Pending {
  fn: (q: Queryable) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A connection with a cache of prepared statements. */
class Connection implements Queryable {
  private readonly statements = new Map<string, Database.Statement>();
  constructor(readonly raw: Database.Database) {}

  private prepare(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.raw.prepare(sql);
      if (this.statements.size > 1000) this.statements.clear();
      this.statements.set(sql, s);
    }
    return s;
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
}

/** Opens (creating if needed) the SQLite database file and checks its durability settings. */
export function openSqlite(opts: SqliteOptions): Db {
  mkdirSync(dirname(opts.file), { recursive: true });
  const writer = new Connection(new Database(opts.file));
  configure(writer.raw);
  checkDurability(writer.raw, opts.allowWeakDurability);
  const reader = new Connection(new Database(opts.file));
  configure(reader.raw);
  return new SqliteDb(writer, reader);
}

function configure(db: Database.Database): void {
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
}

function checkDurability(db: Database.Database, allowWeak: boolean): void {
  const mode = String(db.pragma('journal_mode', { simple: true })).toLowerCase();
  const sync = Number(db.pragma('synchronous', { simple: true }));
  if (allowWeak) return;
  // WAL with synchronous=FULL (2) fsyncs the log at every commit: a commit that returned survives
  // a power cut. Some file systems (network mounts) cannot do WAL; we refuse rather than degrade.
  if (mode !== 'wal') throw new DurabilityError(`SQLite could not switch to WAL mode (journal_mode=${mode}).`);
  if (sync < 2) throw new DurabilityError(`SQLite synchronous=${sync} is below FULL (2).`);
}

class SqliteDb implements Db {
  readonly dialect = dialect;
  private queue: Pending[] = [];
  private scheduled = false;
  private flushing: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly writer: Connection, private readonly reader: Connection) {}

  all<T>(sql: string, params?: readonly Param[]): Promise<T[]> {
    return this.reader.all<T>(sql, params);
  }
  get<T>(sql: string, params?: readonly Param[]): Promise<T | undefined> {
    return this.reader.get<T>(sql, params);
  }
  run(sql: string, params?: readonly Param[]): Promise<number> {
    return this.tx((q) => q.run(sql, params));
  }

  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled && !this.flushing) {
        this.scheduled = true;
        setImmediate(() => { this.scheduled = false; void this.flush(); });
      }
    });
  }

  private flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = (async () => {
      try {
        while (this.queue.length) await this.commitGroup(this.queue.splice(0, MAX_GROUP));
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  /** Steps of one group commit: begin, run each in a savepoint, commit once, then answer each. */
  private async commitGroup(group: Pending[]): Promise<void> {
    try {
      this.writer.exec('BEGIN IMMEDIATE');
    } catch (error) {
      for (const p of group) p.reject(error);
      return;
    }
    const outcomes: Outcome[] = [];
    for (const p of group) outcomes.push(await this.runInSavepoint(p));
    try {
      if (!this.writer.raw.inTransaction) throw new Error('SQLite ended the transaction after an error');
      this.writer.exec('COMMIT');
    } catch (error) {
      if (this.writer.raw.inTransaction) this.writer.exec('ROLLBACK');
      for (const p of group) p.reject(error);
      return;
    }
    group.forEach((p, i) => {
      const o = outcomes[i];
      if (o.ok) p.resolve(o.value); else p.reject(o.error);
    });
  }

  private async runInSavepoint(p: Pending): Promise<Outcome> {
    if (!this.writer.raw.inTransaction) return { ok: false, error: new Error('transaction aborted') };
    this.writer.exec('SAVEPOINT tx');
    try {
      const value = await p.fn(this.writer);
      this.writer.exec('RELEASE tx');
      return { ok: true, value };
    } catch (error) {
      if (this.writer.raw.inTransaction) {
        this.writer.exec('ROLLBACK TO tx');
        this.writer.exec('RELEASE tx');
      }
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
    while (this.queue.length || this.flushing || this.scheduled) await (this.flushing ?? this.flush());
    this.reader.raw.close();
    this.writer.raw.close();
  }
}
