/**
 * What a SQLite store holds, read from its own schema rather than from a list kept by hand: the
 * tables, their columns and the tables they reference. Used by the commands that copy a whole store
 * (backup, store copy), so a table added by a later migration is copied without anyone remembering
 * to add it.
 */
import type Database from 'better-sqlite3';

/** One table of the store. */
export interface SqliteTable {
  readonly name: string;
  /** Column names, in the table's order. */
  readonly columns: readonly string[];
  /** Other tables this one has foreign keys to (its rows need theirs first). */
  readonly references: readonly string[];
  /** False for a WITHOUT ROWID table, which has no rowid to read in order. */
  readonly hasRowid: boolean;
}

/** Double-quotes an identifier (names come from the schema, but are quoted all the same). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The store's own tables: SQLite's internal ones (sqlite_sequence, sqlite_stat1) left out. */
export function sqliteTables(db: Database.Database): SqliteTable[] {
  const list = db.prepare("SELECT name, wr FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
    .all() as { name: string; wr: number | bigint }[];
  return list.map(({ name, wr }) => {
    const columns = (db.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').all(name) as { name: string }[]).map((c) => c.name);
    const refs = (db.prepare('SELECT DISTINCT "table" AS t FROM pragma_foreign_key_list(?)').all(name) as { t: string }[]).map((r) => r.t);
    return { name, columns, references: refs, hasRowid: Number(wr) === 0 };
  });
}

/**
 * The tables in an order where each comes after every table it references (Kahn's algorithm,
 * alphabetical among equals so the order is the same on every run). A table's reference to itself
 * is left to the order of its rows; a cycle between tables is refused: no order could satisfy it.
 */
export function referenceOrder(tables: readonly SqliteTable[]): SqliteTable[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const waitingOn = new Map(tables.map((t) => [t.name, new Set(t.references.filter((r) => r !== t.name && byName.has(r)))]));
  const order: SqliteTable[] = [];
  while (waitingOn.size) {
    const ready = [...waitingOn].filter(([, deps]) => deps.size === 0).map(([name]) => name).sort();
    if (!ready.length) throw new Error(`the tables ${[...waitingOn.keys()].join(', ')} reference each other in a cycle`);
    for (const name of ready) {
      waitingOn.delete(name);
      for (const deps of waitingOn.values()) deps.delete(name);
      order.push(byName.get(name)!);
    }
  }
  return order;
}

/** Rows of one table. */
export function countRows(db: Database.Database, table: string): number {
  return Number((db.prepare(`SELECT COUNT(*) AS n FROM ${quoteIdent(table)}`).get() as { n: number | bigint }).n);
}
