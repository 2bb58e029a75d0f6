/**
 * The operator's commands that move a whole store: `sesame backup --to FILE` (an online copy of
 * the SQLite store and its master key) and `sesame store copy --to URL` (SQLite into an empty
 * PostgreSQL). Both carry the master key along, since the store's secrets (API SecretKeys, DKIM
 * private keys, webhook secrets) are sealed with it and open under no other; docs/OPERATIONS.md
 * says how to restore and verify.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { createLogger, SQLITE_FILE } from '../main.js';
import { findMasterKey, MASTER_KEY_FINGERPRINT, type FoundMasterKey } from '../services/master-key.js';
import { copySqliteToPostgres } from '../store/copy-to-postgres.js';
import { StoreRefusal } from '../store/db.js';
import { backupSqlite } from '../store/sqlite-backup.js';

/** Progress goes to standard error, so standard output carries only the JSON summary. */
function commandLog(config: Config): Logger {
  return createLogger(config.logLevel, pino.destination({ dest: 2, sync: true }));
}

/** The SQLite store's file, which must exist: these commands never create a store. */
function sqliteStore(config: Config): string {
  const file = join(config.dataDir, SQLITE_FILE);
  if (!existsSync(file)) throw new StoreRefusal(`There is no SQLite store at ${file}; set SESAME_DATA_DIR to the server's data folder.`);
  return file;
}

/** The master key the store was used with, or a refusal saying why it cannot go along. */
function storeKey(config: Config): FoundMasterKey {
  const key = findMasterKey(config.masterKey, config.dataDir);
  if (!key) {
    throw new StoreRefusal(`No master key found: SESAME_MASTER_KEY is unset and ${join(config.dataDir, 'master.key')} does not exist. `
      + 'The store\'s secrets are sealed with the key it ran with; set SESAME_MASTER_KEY to that key and try again.');
  }
  return key;
}

/** Refuses a key other than the one the store recorded at its first start: the copy would not open. */
function sameKey(key: FoundMasterKey): (meta: (k: string) => string | undefined) => void {
  return (meta) => {
    const recorded = meta(MASTER_KEY_FINGERPRINT);
    if (recorded !== undefined && recorded !== key.box.fingerprint()) {
      throw new StoreRefusal(`The master key from ${key.source} is not the one this store was created with, so its secrets would not open `
        + 'in the copy. Run the command with the store\'s own key (SESAME_MASTER_KEY or master.key in SESAME_DATA_DIR).');
    }
  };
}

/** `sesame backup --to FILE`: prints what was written and how to restore it. */
export async function backupCommand(config: Config, to: string): Promise<Record<string, unknown>> {
  if (config.databaseUrl) {
    throw new StoreRefusal('The store is PostgreSQL (SESAME_DATABASE_URL is set): back it up with PostgreSQL\'s own tools '
      + '(pg_dump, or a base backup with WAL archiving), and keep the master key (SESAME_MASTER_KEY) with it.');
  }
  const source = sqliteStore(config);
  const key = storeKey(config);
  const file = resolve(to);
  const r = await backupSqlite({
    source, target: file, keyHex: key.hex, check: sameKey(key), log: commandLog(config),
  });
  return {
    file: r.file,
    bytes: r.bytes,
    pages: r.pages,
    restarts: r.restarts,
    tables: r.tables,
    rows: Object.values(r.tables).reduce((a, b) => a + b, 0),
    keyFile: r.keyFile,
    keySource: key.source,
    restore: `Into an empty data folder D (no sesame.db-wal or sesame.db-shm in it): copy ${r.file} to D/${SQLITE_FILE} `
      + `and ${r.keyFile} to D/master.key (mode 0600), then start Sesame with SESAME_DATA_DIR=D.`,
  };
}

/** `sesame store copy --to URL [--key-out FILE]`: prints the counts and what the PostgreSQL nodes need. */
export async function storeCopyCommand(config: Config, opts: { to: string; keyOut?: string; batchRows?: number }): Promise<Record<string, unknown>> {
  if (config.databaseUrl) {
    throw new StoreRefusal('SESAME_DATABASE_URL is set, but store copy reads the SQLite store in SESAME_DATA_DIR: unset it for this '
      + 'command and give the PostgreSQL database with --to.');
  }
  const target = parseTarget(opts.to);
  const sqliteFile = sqliteStore(config);
  const key = storeKey(config);
  const r = await copySqliteToPostgres({
    sqliteFile,
    target: { url: target.href, allowWeakDurability: config.allowWeakDurability },
    check: sameKey(key),
    log: commandLog(config),
    batchRows: opts.batchRows || undefined,
  });
  // Written after the commit: a copy that failed leaves no key file behind to mislead anyone.
  const keyFile = opts.keyOut ? resolve(opts.keyOut) : null;
  if (keyFile) writeFileSync(keyFile, `${key.hex}\n`, { mode: 0o600, flag: 'wx' });
  return {
    from: sqliteFile,
    to: redacted(target),
    schemaVersion: r.schemaVersion,
    tables: r.tables,
    rows: r.rows,
    masterKey: { source: key.source, ...(keyFile ? { keyFile } : {}) },
    next: `Run every PostgreSQL node with SESAME_DATABASE_URL set to the target and ${keyAdvice(key, keyFile)} `
      + 'Keep the SQLite store stopped: what it accepts from now on is not in PostgreSQL.',
  };
}

/** What the PostgreSQL nodes must be given for the key. */
function keyAdvice(key: FoundMasterKey, keyFile: string | null): string {
  const from = keyFile ?? (key.source === 'SESAME_MASTER_KEY' ? null : key.source);
  if (!from) return 'the same SESAME_MASTER_KEY as this command ran with.';
  return `SESAME_MASTER_KEY set to the 64 hexadecimal digits in ${from} (or that file copied to master.key in each node's SESAME_DATA_DIR).`;
}

/** The --to URL, which must name a PostgreSQL database. */
function parseTarget(to: string): URL {
  let url: URL;
  try {
    url = new URL(to);
  } catch {
    throw new StoreRefusal(`--to must be a PostgreSQL URL (postgres://user@host:5432/database), not "${to}".`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new StoreRefusal(`--to must be a postgres:// URL, not ${url.protocol}//…`);
  return url;
}

/** The URL without its password, for output that may end up in a terminal log. */
function redacted(url: URL): string {
  const u = new URL(url.href);
  if (u.password) u.password = '***';
  return u.href;
}
