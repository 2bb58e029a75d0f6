/**
 * Copies a SQLite store into an empty PostgreSQL database (`sesame store copy`), as named steps:
 * read the source's schema → refuse a target that holds data → migrate the target → copy each table
 * after those it references, in batches, ids kept → move each identity sequence past the highest id
 * ever given → count every table on both sides. All of it in one transaction on the target (see
 * inOneTransaction), so a copy that fails anywhere leaves the target as it was.
 *
 * The source is read in one read transaction: a snapshot, even if something still writes the file
 * (which the operator should have stopped: what it writes after the snapshot is not copied).
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { StoreRefusal, type Db, type Param, type Queryable } from './db.js';
import { MIGRATIONS, migrate } from './migrations.js';
import { inOneTransaction, type PostgresOptions } from './postgres.js';
import { countRows, quoteIdent, referenceOrder, sqliteTables, type SqliteTable } from './sqlite-schema.js';

/** Rows per INSERT at most (fewer for wide tables, see MAX_PARAMS). */
const BATCH_ROWS = 5000;
/** PostgreSQL's limit on one statement's parameters is 65535; a batch stays under it. */
const MAX_PARAMS = 60_000;
/** Progress of a large table is logged at most this often. */
const PROGRESS_EVERY_MS = 2000;
/** Recorded by migrate() on the target itself: never copied. */
const MIGRATIONS_TABLE = 'schema_migrations';

/** What to copy where. */
export interface CopyOptions {
  /** The SQLite database file. */
  readonly sqliteFile: string;
  readonly target: PostgresOptions;
  /** Checks the source before anything is written; throwing refuses the copy. `meta` reads its meta table. */
  readonly check?: (meta: (key: string) => string | undefined) => void;
  readonly log: Logger;
  /** Rows per INSERT at most (default BATCH_ROWS). */
  readonly batchRows?: number;
}

/** What was copied. */
export interface CopyResult {
  readonly schemaVersion: number;
  /** Rows of each table, equal on both sides (checked). */
  readonly tables: Record<string, number>;
  readonly rows: number;
  /** The next id each identity sequence will give, by `table.column`. */
  readonly nextIds: Record<string, number>;
}

/** Copies the SQLite store into the empty database `target.url`, all or nothing. */
export async function copySqliteToPostgres(opts: CopyOptions): Promise<CopyResult> {
  const { log } = opts;
  const src = openSource(opts.sqliteFile);
  try {
    const tables = sourceTables(src);
    const schemaVersion = sourceSchemaVersion(src);
    opts.check?.((key) => src.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string | undefined);
    const highWater = sqliteSequences(src);
    const expected = new Map(tables.map((t) => [t.name, countRows(src, t.name)]));
    log.info({ from: opts.sqliteFile, tables: tables.length, rows: sum(expected.values()), schemaVersion }, 'store copy started');
    const result = await inOneTransaction(opts.target, async (db) => {
      await refuseNonEmpty(db);
      await migrate(db);
      await refuseSchemaDrift(db, tables);
      for (const t of tables) await copyTable(src, db, t, expected.get(t.name)!, opts.batchRows ?? BATCH_ROWS, log);
      const nextIds = await moveSequences(db, highWater);
      await verifyCounts(db, expected);
      const counts = Object.fromEntries(expected);
      log.info({ rows: sum(expected.values()) }, 'store copy checked; committing');
      return { schemaVersion, tables: counts, rows: sum(expected.values()), nextIds };
    }).catch((e: unknown) => {
      if (e instanceof StoreRefusal) throw e;
      throw new Error(`store copy failed and was rolled back, so the target database is as it was: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    });
    log.info({ rows: result.rows }, 'store copy committed');
    return result;
  } finally {
    if (src.inTransaction) src.exec('ROLLBACK');
    src.close();
  }
}

/** Opens the store and pins one snapshot of it: every read below sees the same moment. */
function openSource(file: string): Database.Database {
  if (!existsSync(file)) throw new StoreRefusal(`There is no SQLite store at ${file} (check SESAME_DATA_DIR).`);
  const src = new Database(file, { fileMustExist: true });
  src.pragma('busy_timeout = 5000');
  // Integers as BigInt: nothing above 2^53 is rounded on the way.
  src.defaultSafeIntegers(true);
  src.exec('BEGIN');
  src.prepare('SELECT COUNT(*) FROM sqlite_schema').get();
  return src;
}

/** The tables to copy, each after the tables it references. */
function sourceTables(src: Database.Database): SqliteTable[] {
  const all = sqliteTables(src);
  if (!all.some((t) => t.name === MIGRATIONS_TABLE)) throw new StoreRefusal('The SQLite file is not a Sesame store (it has no schema_migrations table).');
  return referenceOrder(all.filter((t) => t.name !== MIGRATIONS_TABLE));
}

/** The source must be at this program's schema: the target is migrated to it, and columns must match. */
function sourceSchemaVersion(src: Database.Database): number {
  const v = Number(src.prepare(`SELECT COALESCE(MAX(version), 0) FROM ${MIGRATIONS_TABLE}`).pluck().get());
  const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
  if (v < latest) throw new StoreRefusal(`The SQLite store's schema is at version ${v}, older than this Sesame's (${latest}). Run \`sesame migrate\` on it first (with SESAME_DATA_DIR set, SESAME_DATABASE_URL unset), then copy.`);
  if (v > latest) throw new StoreRefusal(`The SQLite store's schema is at version ${v}, newer than this Sesame knows (${latest}). Copy it with the Sesame version that last ran it.`);
  return v;
}

/**
 * The highest id each AUTOINCREMENT table ever gave (sqlite_sequence), which is above its highest
 * surviving id when the newest rows were deleted: PostgreSQL must not give those ids again, since
 * other rows (messages, send counts, events) may still name them.
 */
function sqliteSequences(src: Database.Database): Map<string, bigint> {
  const has = src.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_sequence'").get();
  if (!has) return new Map();
  const rows = src.prepare('SELECT name, seq FROM sqlite_sequence').all() as { name: string; seq: bigint }[];
  return new Map(rows.map((r) => [r.name, BigInt(r.seq)]));
}

/** Refuses a target with rows in any table of its schema (an empty schema left by `sesame migrate` is fine). */
async function refuseNonEmpty(db: Db): Promise<void> {
  const tables = await db.all<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
  );
  const holding: string[] = [];
  for (const { name } of tables) {
    if (name === MIGRATIONS_TABLE) continue;
    if (await db.get(`SELECT 1 AS x FROM ${quoteIdent(name)} LIMIT 1`)) holding.push(name);
  }
  if (holding.length) {
    throw new StoreRefusal(`The target database is not empty: ${holding.join(', ')} ${holding.length === 1 ? 'holds' : 'hold'} rows. `
      + 'store copy only fills an empty database, and changed nothing; create a new one (CREATE DATABASE …) and copy into it.');
  }
}

/** Every source table and column must exist on the migrated target (they come from the same migrations). */
async function refuseSchemaDrift(db: Db, tables: readonly SqliteTable[]): Promise<void> {
  const rows = await db.all<{ t: string; c: string }>(
    'SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = current_schema()',
  );
  const target = new Set(rows.map((r) => `${r.t}.${r.c}`));
  const missing = tables.flatMap((t) => t.columns.map((c) => `${t.name}.${c}`)).filter((tc) => !target.has(tc));
  if (missing.length) throw new StoreRefusal(`The SQLite store has columns the PostgreSQL schema lacks: ${missing.join(', ')}. It was changed outside Sesame's migrations; nothing was copied.`);
}

/** Copies one table in batches of multi-row INSERTs, ids and all. */
async function copyTable(src: Database.Database, db: Queryable, t: SqliteTable, expected: number, batchRows: number, log: Logger): Promise<void> {
  const cols = t.columns.map(quoteIdent).join(', ');
  const perBatch = Math.max(1, Math.min(batchRows, Math.floor(MAX_PARAMS / t.columns.length)));
  const rowSql = `(${t.columns.map(() => '?').join(', ')})`;
  const insertSql = (n: number): string => `INSERT INTO ${quoteIdent(t.name)} (${cols}) VALUES ${Array.from({ length: n }, () => rowSql).join(', ')}`;
  const fullBatch = insertSql(perBatch);
  const read = src.prepare(`SELECT ${cols} FROM ${quoteIdent(t.name)}${t.hasRowid ? ' ORDER BY rowid' : ''}`).raw(true);
  let copied = 0;
  let lastLog = Date.now();
  let batch: Param[] = [];
  let inBatch = 0;
  const flush = async (): Promise<void> => {
    if (!inBatch) return;
    copied += await db.run(inBatch === perBatch ? fullBatch : insertSql(inBatch), batch);
    batch = [];
    inBatch = 0;
    if (Date.now() - lastLog >= PROGRESS_EVERY_MS) {
      lastLog = Date.now();
      log.info({ table: t.name, copied, of: expected }, 'store copy progress');
    }
  };
  for (const row of read.iterate() as IterableIterator<Param[]>) {
    for (const v of row) batch.push(v);
    if (++inBatch === perBatch) await flush();
  }
  await flush();
  if (copied !== expected) throw new Error(`${t.name}: ${copied} rows were inserted where the SQLite store has ${expected}`);
  log.info({ table: t.name, rows: copied }, 'table copied');
}

/**
 * Moves every identity sequence past the highest id its table holds or ever gave, so the next row
 * PostgreSQL adds gets an id SQLite never gave.
 */
async function moveSequences(db: Queryable, highWater: ReadonlyMap<string, bigint>): Promise<Record<string, number>> {
  const identities = await db.all<{ t: string; c: string }>(
    "SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name",
  );
  const next: Record<string, number> = {};
  for (const { t, c } of identities) {
    const max = await db.get<{ m: number | null }>(`SELECT MAX(${quoteIdent(c)}) AS m FROM ${quoteIdent(t)}`);
    const high = [BigInt(max?.m ?? 0), highWater.get(t) ?? 0n].reduce((a, b) => (a > b ? a : b));
    if (high > 0n) {
      // is_called = true: the next value is high + 1.
      await db.get('SELECT setval(pg_get_serial_sequence(?, ?), ?, true)', [quoteIdent(t), c, high]);
    }
    next[`${t}.${c}`] = Number(high + 1n);
  }
  return next;
}

/** Fails (and so rolls everything back) unless every table holds as many rows as the source's. */
async function verifyCounts(db: Queryable, expected: ReadonlyMap<string, number>): Promise<void> {
  const wrong: string[] = [];
  for (const [table, n] of expected) {
    const got = Number((await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${quoteIdent(table)}`))?.n ?? -1);
    if (got !== n) wrong.push(`${table}: ${got} in PostgreSQL, ${n} in SQLite`);
  }
  if (wrong.length) throw new Error(`Row counts differ after the copy (${wrong.join('; ')}); the copy was rolled back and the target is unchanged.`);
}

function sum(values: Iterable<number>): number {
  let n = 0;
  for (const v of values) n += v;
  return n;
}
