/**
 * The storage port: a small SQL interface both adapters (SQLite, PostgreSQL) implement. SQL is
 * written once with `?` placeholders; where the engines differ, the difference is a named capability
 * of the dialect, never an `if (sqlite)` in the code that uses the store.
 */

/** A value bound to a `?` placeholder. Booleans are stored as 0/1 integers on both engines. */
export type Param = string | number | bigint | null | Buffer;

/** Runs statements; a transaction and the database itself are both Queryables. */
export interface Queryable {
  /** All rows of a query. */
  all<T>(sql: string, params?: readonly Param[]): Promise<T[]>;
  /** The first row of a query, or undefined. */
  get<T>(sql: string, params?: readonly Param[]): Promise<T | undefined>;
  /** Runs a statement and returns the number of rows it changed. */
  run(sql: string, params?: readonly Param[]): Promise<number>;
}

/** Column types and engine features that differ between SQLite and PostgreSQL. */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /** Column type of an auto-increment primary key that never reuses a value. */
  readonly idColumn: string;
  /** 64-bit integer column type. */
  readonly bigint: string;
  /** Suffix that locks the selected rows until commit ('' where writers are already serialised). */
  readonly forUpdate: string;
  /** Suffix of a queue claim's inner SELECT: lock the rows and skip those another claim holds ('' where writers are serialised). */
  readonly skipLocked: string;
  /** Case-insensitive LIKE operator. */
  readonly ilike: string;
  /** Statement that takes a transaction-scoped lock on `key`, or null where transactions are already exclusive. */
  txLockSql(key: number): string | null;
  /**
   * Whether ALTER TABLE can drop a table's constraints in place (PostgreSQL). Where it cannot
   * (SQLite), a migration that changes a constraint rebuilds the table.
   */
  readonly alterConstraints: boolean;
}

/** A database: queries outside a transaction read committed data only. */
export interface Db extends Queryable {
  readonly dialect: Dialect;
  /**
   * Runs `fn` in one transaction and resolves after the commit is durable. `fn` must only use `q`
   * and must not open another transaction. On SQLite, concurrent transactions are committed
   * together (group commit); each still succeeds or fails on its own.
   */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /**
   * A mark that changes whenever the rows of these tables may have changed: another process
   * committed (SQLite's data_version), or this one wrote one of them (counted as each statement runs
   * and again when its transaction ends, so a value read while a write was in flight is not kept).
   * It lets a process keep what it reads for every request and still see a change made anywhere from
   * the next request on. Null where the engine cannot say cheaply (PostgreSQL, shared by many
   * processes that all commit): what depends on them must then be read afresh.
   */
  changeMark(tables: readonly string[]): string | null;
  /**
   * Wake-ups between processes on this database (PostgreSQL's LISTEN/NOTIFY), so work accepted by
   * one process starts on another at once; null where the engine has none (SQLite), and there, as
   * everywhere as a fallback, workers poll.
   */
  readonly wakeups: Wakeups | null;
  /** Waits for transactions in flight, then closes every connection. */
  close(): Promise<void>;
}

/** Named signals every process on a database can send and hear. Best effort: a lost one costs a poll interval. */
export interface Wakeups {
  /** Tells every process listening on `channel` (this one included) that something changed. */
  notify(channel: string): void;
  /** Calls `fn` on each notification of `channel`, and once after a lost connection is back (what was sent meanwhile is unknown); the returned function stops it. */
  listen(channel: string, fn: () => void): () => void;
}

/** Thrown when the database would not keep an acknowledged write through a crash. */
export class DurabilityError extends Error {
  constructor(message: string) {
    super(`${message} Sesame refuses to start because acknowledged writes could be lost in a crash or power cut. `
      + 'Fix the database setting, or set SESAME_ALLOW_WEAK_DURABILITY=true to start anyway (never in production).');
    this.name = 'DurabilityError';
  }
}

/**
 * An operation on a whole store (backup, copy) refused before it changed anything: a target that
 * already holds data, a schema of another version, a missing master key. The operator's to fix;
 * the command prints the message without a stack trace.
 */
export class StoreRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreRefusal';
  }
}
