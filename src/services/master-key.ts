/**
 * The master key that seals secrets in the store. It lives outside the database (SESAME_MASTER_KEY
 * or <data dir>/master.key) so that a copy of the database alone does not reveal any secret.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SecretBox } from '../lib/secret-box.js';
import type { AccountStore } from '../store/accounts.js';

const FILE = 'master.key';

/** Reads the master key from the setting or the data folder, creating the file on first use. */
export function loadMasterKey(setting: string | undefined, dataDir: string): SecretBox {
  const found = findMasterKey(setting, dataDir);
  if (found) return found.box;
  mkdirSync(dataDir, { recursive: true });
  const hex = randomBytes(32).toString('hex');
  try {
    // 'wx': never overwrite a key another process just wrote.
    writeFileSync(join(dataDir, FILE), `${hex}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return findMasterKey(setting, dataDir)!.box;
  }
  return new SecretBox(Buffer.from(hex, 'hex'));
}

/** Where a master key was found: the setting, or the file in the data folder. */
export interface FoundMasterKey {
  /** The key as written in master.key: 64 hexadecimal digits. */
  readonly hex: string;
  /** `SESAME_MASTER_KEY`, or the path of the key file. */
  readonly source: string;
  readonly box: SecretBox;
}

/**
 * Reads the master key from the setting or the data folder, never creating one (loadMasterKey
 * does, for a server; commands that move an existing store must not). Null when there is none.
 */
export function findMasterKey(setting: string | undefined, dataDir: string): FoundMasterKey | null {
  const path = join(dataDir, FILE);
  let hex: string;
  let source: string;
  if (setting) {
    hex = setting;
    source = 'SESAME_MASTER_KEY';
  } else {
    try {
      hex = readFileSync(path, 'utf8').trim();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    source = path;
  }
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new Error(`${source} does not hold a 64-digit hexadecimal key.`);
  return { hex: hex.toLowerCase(), source, box: new SecretBox(Buffer.from(hex, 'hex')) };
}

/** The meta key under which a store records its master key's fingerprint. */
export const MASTER_KEY_FINGERPRINT = 'master_key_fingerprint';

/** Refuses a master key other than the one the store was first used with. */
export async function checkMasterKey(box: SecretBox, accounts: AccountStore): Promise<void> {
  const stored = await accounts.putMetaOnce(MASTER_KEY_FINGERPRINT, box.fingerprint());
  if (stored !== box.fingerprint()) {
    throw new Error('The master key does not match the one this database was created with, so its secrets cannot be '
      + 'opened. Use the same SESAME_MASTER_KEY (or master.key file) on every process that shares the database.');
  }
}
