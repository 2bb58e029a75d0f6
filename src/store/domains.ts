/** Sender domains and their sender addresses, always within one account (but for the re-check claim). */
import type { AccountStore } from './accounts.js';
import type { Db, Queryable } from './db.js';

/** A sender domain as stored. */
export interface DomainRow {
  id: number;
  account_id: number;
  name: string;
  dkim_option: number;
  selector: string;
  /** JSON array of StoredDkimKey. */
  dkim_keys: string;
  /** JSON array of {TagKey, TagValue}. */
  tags: string;
  reputation_level: number;
  /** The day (YYYY-MM-DD) the reputation rules blocked the domain for, or ''. */
  blocked_day: string;
  verified: number;
  verified_at: number | null;
  checked_at: number | null;
  next_check_at: number;
  created_at: number;
}

/** A sender address as stored. */
export interface SenderRow {
  id: number;
  account_id: number;
  domain_id: number;
  address: string;
  sender_name: string;
  smtp_password_hash: string | null;
  created_at: number;
}

/** A new domain. */
export interface NewDomain {
  name: string;
  dkimOption: number;
  selector: string;
  dkimKeys: string;
  tags: string;
  reputationLevel: number;
  now: number;
}

const DOMAIN_COLUMNS = 'id, account_id, name, dkim_option, selector, dkim_keys, tags, reputation_level, blocked_day, verified, verified_at, checked_at, next_check_at, created_at';
const SENDER_COLUMNS = 'id, account_id, domain_id, address, sender_name, smtp_password_hash, created_at';

/** Outcome of creating a domain. */
export type CreateDomainResult = { kind: 'created'; row: DomainRow } | { kind: 'exists' } | { kind: 'taken' } | { kind: 'limit' };
/** Outcome of creating a sender address. */
export type CreateSenderResult = { kind: 'created'; row: SenderRow } | { kind: 'exists' } | { kind: 'limit' } | { kind: 'domain-not-verified' };
/** Where a name stands for an account: claimed by it already, held verified by another account, or free to claim. */
export type NameStanding = 'exists' | 'taken' | 'free';

/** A claim of another account removed when a domain was verified. */
export interface RemovedClaim { accountId: number; appId: number | undefined; senders: string[] }

/** Outcome of recording a DNS check. */
export type RecordedCheck =
  /** Written. `verified` false while `heldByOther` although DNS matched: another account holds the name. */
  | { kind: 'recorded'; verified: boolean; heldByOther: boolean; removed: RemovedClaim[] }
  /** Not written: the keys were replaced or a later check wrote meanwhile. */
  | { kind: 'stale' }
  /** The domain is no longer the account's (deleted, or removed when another account verified it). */
  | { kind: 'gone' };

/**
 * Reads and writes domains and sender addresses.
 *
 * A name may be claimed by several accounts, each with its own DKIM keys; only the one whose key is
 * in the name's DNS can verify it. The first to verify holds it: at most one account has it
 * verified at a time (a partial unique index, and verifications of one name serialised by row
 * locks), the others' unverified claims are removed when it verifies, and no account may claim a
 * name another holds verified (CreatedByOther). A name that is merely claimed blocks nobody.
 */
export class DomainStore {
  constructor(private readonly db: Db, private readonly accounts: AccountStore) {}

  /** Moves whenever these rows may have changed (Db.changeMark). */
  changeMark(): string | null {
    return this.db.changeMark(['domains', 'sender_addresses']);
  }

  /** Creates the domain unless this account has it, another holds it verified, or the account is at `limit`. */
  async create(accountId: number, d: NewDomain, limit: number): Promise<CreateDomainResult> {
    try {
      return await this.db.tx(async (q): Promise<CreateDomainResult> => {
        await this.accounts.lockAccount(q, accountId);
        const standing = await this.standing(accountId, d.name, q);
        if (standing !== 'free') return { kind: standing };
        const count = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM domains WHERE account_id = ?', [accountId]);
        if ((count?.n ?? 0) >= limit) return { kind: 'limit' };
        const row = await q.get<DomainRow>(
          `INSERT INTO domains (account_id, name, dkim_option, selector, dkim_keys, tags, reputation_level, verified, next_check_at, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?) RETURNING ${DOMAIN_COLUMNS}`,
          [accountId, d.name, d.dkimOption, d.selector, d.dkimKeys, d.tags, d.reputationLevel, d.now, d.now],
        );
        if (!row) throw new Error('domain insert returned nothing');
        return { kind: 'created', row };
      });
    } catch (e) {
      // The same account created the same name at the same moment: the unique index decided.
      const again = await this.standing(accountId, d.name);
      if (again !== 'free') return { kind: again };
      throw e;
    }
  }

  /**
   * Where `name` stands for the account (to refuse early; `create` decides). Looks across accounts
   * by design: whether another account holds a name verified is a question about every account.
   */
  async standing(accountId: number, name: string, q: Queryable = this.db): Promise<NameStanding> {
    // In a transaction, the claims are locked (PostgreSQL): a verification of the name under way
    // (recordCheck locks them too) is waited for, so a claim is never added beside a name just
    // verified by another account.
    const lock = q === this.db ? '' : this.db.dialect.forUpdate;
    const claims = await q.all<{ account_id: number; verified: number }>(`SELECT account_id, verified FROM domains WHERE name = ? ORDER BY id${lock}`, [name]);
    if (claims.some((c) => c.account_id === accountId)) return 'exists';
    return claims.some((c) => c.verified === 1) ? 'taken' : 'free';
  }

  /** Whether some account holds `name` verified (the inbound listener's feedback addresses). */
  async isVerifiedName(name: string): Promise<boolean> {
    return (await this.db.get('SELECT 1 AS x FROM domains WHERE name = ? AND verified = 1', [name])) !== undefined;
  }

  /** One domain of the account. */
  get(accountId: number, name: string): Promise<DomainRow | undefined> {
    return this.db.get<DomainRow>(`SELECT ${DOMAIN_COLUMNS} FROM domains WHERE account_id = ? AND name = ?`, [accountId, name]);
  }

  /** A domain by id (the delivery worker signs for the domain a message was accepted from). */
  byId(id: number): Promise<DomainRow | undefined> {
    return this.db.get<DomainRow>(`SELECT ${DOMAIN_COLUMNS} FROM domains WHERE id = ?`, [id]);
  }

  /** Every domain of the account, oldest first. */
  list(accountId: number): Promise<DomainRow[]> {
    return this.db.all<DomainRow>(`SELECT ${DOMAIN_COLUMNS} FROM domains WHERE account_id = ? ORDER BY id`, [accountId]);
  }

  /** Deletes the domain unless it still has sender addresses. */
  delete(accountId: number, name: string): Promise<'deleted' | 'missing' | 'has-senders'> {
    return this.db.tx(async (q) => {
      const d = await q.get<{ id: number }>(`SELECT id FROM domains WHERE account_id = ? AND name = ?${this.db.dialect.forUpdate}`, [accountId, name]);
      if (!d) return 'missing';
      const senders = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM sender_addresses WHERE account_id = ? AND domain_id = ?', [accountId, d.id]);
      if ((senders?.n ?? 0) > 0) return 'has-senders';
      await q.run('DELETE FROM domains WHERE account_id = ? AND id = ?', [accountId, d.id]);
      return 'deleted';
    });
  }

  /** Replaces the domain's DKIM keys; it must verify again. */
  async replaceKeys(accountId: number, id: number, dkimOption: number, dkimKeys: string, now: number): Promise<void> {
    await this.db.run(
      'UPDATE domains SET dkim_option = ?, dkim_keys = ?, verified = 0, verified_at = NULL, checked_at = ?, next_check_at = ? WHERE account_id = ? AND id = ?',
      [dkimOption, dkimKeys, now, now, accountId, id],
    );
  }

  /**
   * Records a DNS check: whether the domain may send, and when to look again. The write is skipped
   * when it would be stale: the keys it checked were replaced meanwhile, or a check that started
   * later has already written (the latest-started check wins).
   *
   * Every claim of the name is locked first, in id order: verifications of one name run one after
   * the other (in the same order everywhere, so they never wait for each other in a cycle). A check
   * that passes is not recorded as verified while another account holds the name verified (that
   * one keeps it until it stops verifying); once recorded, the other accounts' unverified claims
   * are removed in the same transaction, with their sender addresses and those addresses'
   * unsubscribe settings.
   */
  recordCheck(accountId: number, id: number, c: { verified: boolean; keysChecked: string; startedAt: number; nextCheckAt: number }): Promise<RecordedCheck> {
    return this.db.tx(async (q): Promise<RecordedCheck> => {
      const own = await q.get<{ name: string }>('SELECT name FROM domains WHERE account_id = ? AND id = ?', [accountId, id]);
      if (!own) return { kind: 'gone' };
      const claims = await q.all<{ id: number; account_id: number; verified: number }>(
        `SELECT id, account_id, verified FROM domains WHERE name = ? ORDER BY id${this.db.dialect.forUpdate}`, [own.name]);
      // Removed while this transaction waited for the locks.
      if (!claims.some((r) => r.id === id && r.account_id === accountId)) return { kind: 'gone' };
      const others = claims.filter((r) => r.account_id !== accountId);
      const heldByOther = others.some((r) => r.verified === 1);
      const verified = c.verified && !heldByOther;
      const written = await q.run(
        `UPDATE domains SET verified = ?, verified_at = CASE WHEN ? = 1 THEN COALESCE(verified_at, ?) ELSE NULL END,
           checked_at = ?, next_check_at = ?
         WHERE account_id = ? AND id = ? AND dkim_keys = ? AND (checked_at IS NULL OR checked_at <= ?)`,
        [verified ? 1 : 0, verified ? 1 : 0, c.startedAt, c.startedAt, c.nextCheckAt, accountId, id, c.keysChecked, c.startedAt],
      );
      if (written === 0) {
        const still = await q.get('SELECT id FROM domains WHERE account_id = ? AND id = ?', [accountId, id]);
        return still ? { kind: 'stale' } : { kind: 'gone' };
      }
      const removed: RemovedClaim[] = [];
      if (verified) {
        // Read again rather than taken from `claims`: on PostgreSQL a locking read sees only the rows
        // there when it began, and a claim another account's create added while this one waited for
        // its locks (create holds them until it commits) would be missed and stay beside the name.
        const late = await q.all<{ id: number; account_id: number }>(
          `SELECT id, account_id FROM domains WHERE name = ? AND account_id <> ? ORDER BY id${this.db.dialect.forUpdate}`, [own.name, accountId]);
        for (const claim of late) removed.push(await this.removeClaim(q, claim.account_id, claim.id));
      }
      return { kind: 'recorded', verified, heldByOther: c.verified && heldByOther, removed };
    });
  }

  /**
   * Deletes another account's unverified claim of a name just verified, with what hangs on it.
   * Senders go first: a setting being created locks its sender row, so once the sender is deleted
   * no setting of its address can appear after the settings are deleted.
   */
  private async removeClaim(q: Queryable, accountId: number, domainId: number): Promise<RemovedClaim> {
    const senders = await q.all<{ address: string }>(
      'DELETE FROM sender_addresses WHERE account_id = ? AND domain_id = ? RETURNING address', [accountId, domainId]);
    for (const s of senders) await q.run('DELETE FROM unsubscribe_settings WHERE account_id = ? AND address = ?', [accountId, s.address]);
    await q.run('DELETE FROM domains WHERE account_id = ? AND id = ?', [accountId, domainId]);
    const account = await q.get<{ app_id: number }>('SELECT app_id FROM accounts WHERE id = ?', [accountId]);
    return { accountId, appId: account?.app_id, senders: senders.map((s) => s.address) };
  }

  /**
   * Claims up to `limit` domains due for a re-check by pushing their next check `leaseMs` ahead, so
   * another worker does not take them too. A worker job: it spans accounts by design.
   */
  claimDue(now: number, limit: number, leaseMs: number): Promise<DomainRow[]> {
    return this.db.tx((q: Queryable) => q.all<DomainRow>(
      `UPDATE domains SET next_check_at = ? WHERE id IN (
         SELECT id FROM domains WHERE next_check_at <= ? ORDER BY next_check_at LIMIT ?${this.db.dialect.skipLocked})
       RETURNING ${DOMAIN_COLUMNS}`,
      [now + leaseMs, now, limit],
    ));
  }

  /** Creates a sender address on one of the account's domains, unless it exists or the domain is at `limit`. */
  async createSender(accountId: number, domainId: number, address: string, senderName: string, limit: number, now: number): Promise<CreateSenderResult> {
    try {
      return await this.db.tx(async (q): Promise<CreateSenderResult> => {
        await this.accounts.lockAccount(q, accountId);
        // Checked again here: the domain may have been deleted or stopped verifying since it was read.
        const domain = await q.get<{ verified: number }>(
          `SELECT verified FROM domains WHERE account_id = ? AND id = ?${this.db.dialect.forUpdate}`, [accountId, domainId]);
        if (!domain || domain.verified !== 1) return { kind: 'domain-not-verified' };
        if (await q.get('SELECT id FROM sender_addresses WHERE address = ?', [address])) return { kind: 'exists' };
        const count = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM sender_addresses WHERE account_id = ? AND domain_id = ?', [accountId, domainId]);
        if ((count?.n ?? 0) >= limit) return { kind: 'limit' };
        const row = await q.get<SenderRow>(
          `INSERT INTO sender_addresses (account_id, domain_id, address, sender_name, created_at) VALUES (?, ?, ?, ?, ?) RETURNING ${SENDER_COLUMNS}`,
          [accountId, domainId, address, senderName, now],
        );
        if (!row) throw new Error('sender insert returned nothing');
        return { kind: 'created', row };
      });
    } catch (e) {
      if (await this.db.get('SELECT id FROM sender_addresses WHERE address = ?', [address])) return { kind: 'exists' };
      throw e;
    }
  }

  /** One sender address of the account. */
  getSender(accountId: number, address: string): Promise<SenderRow | undefined> {
    return this.db.get<SenderRow>(`SELECT ${SENDER_COLUMNS} FROM sender_addresses WHERE account_id = ? AND address = ?`, [accountId, address]);
  }

  /** Every sender address of the account, oldest first. */
  listSenders(accountId: number): Promise<SenderRow[]> {
    return this.db.all<SenderRow>(`SELECT ${SENDER_COLUMNS} FROM sender_addresses WHERE account_id = ? ORDER BY id`, [accountId]);
  }

  /** Deletes a sender address and its unsubscribe setting; false when the account has no such address. */
  deleteSender(accountId: number, address: string): Promise<boolean> {
    return this.db.tx(async (q) => {
      const gone = await q.run('DELETE FROM sender_addresses WHERE account_id = ? AND address = ?', [accountId, address]);
      if (gone) await q.run('DELETE FROM unsubscribe_settings WHERE account_id = ? AND address = ?', [accountId, address]);
      return gone > 0;
    });
  }

  /**
   * The sender address an SMTP client logs in as, with its account: addresses are unique across
   * accounts, so the address alone names the account (SMTP AUTH, before any account is known).
   */
  senderForLogin(address: string): Promise<{ account_id: number; app_id: number; address: string; smtp_password_hash: string | null; disabled_at: number | null } | undefined> {
    return this.db.get(
      'SELECT s.account_id, a.app_id, s.address, s.smtp_password_hash, a.disabled_at FROM sender_addresses s JOIN accounts a ON a.id = s.account_id WHERE s.address = ?',
      [address],
    );
  }

  /** Stores a new SMTP password hash; false when the account has no such address. */
  async setSmtpPasswordHash(accountId: number, address: string, hash: string): Promise<boolean> {
    return (await this.db.run('UPDATE sender_addresses SET smtp_password_hash = ? WHERE account_id = ? AND address = ?', [hash, accountId, address])) > 0;
  }
}
