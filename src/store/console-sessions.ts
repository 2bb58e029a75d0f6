/** Console sessions: a signed-in browser, known by the hash of its cookie. */
import type { Db } from './db.js';

/** A session as stored. */
export interface SessionRow { account_id: number; secret_id: string; csrf: string; expires_at: number }

/** Reads and writes console sessions. */
export class ConsoleSessionStore {
  constructor(private readonly db: Db) {}

  /** Records a new session. */
  async create(s: { idHash: string; accountId: number; secretId: string; csrf: string; now: number; expiresAt: number }): Promise<void> {
    await this.db.run('INSERT INTO console_sessions (id_hash, account_id, secret_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      [s.idHash, s.accountId, s.secretId, s.csrf, s.now, s.expiresAt]);
  }

  /** The session with this hash, unless it has ended by `now`. */
  get(idHash: string, now: number): Promise<SessionRow | undefined> {
    return this.db.get<SessionRow>('SELECT account_id, secret_id, csrf, expires_at FROM console_sessions WHERE id_hash = ? AND expires_at > ?', [idHash, now]);
  }

  /** Ends a session; whether there was one. */
  async delete(idHash: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM console_sessions WHERE id_hash = ?', [idHash])) > 0;
  }
}
