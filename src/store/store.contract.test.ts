/**
 * The store contract: one suite, run against every adapter (SQLite file, PostgreSQL database).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/helpers/pg.js';
import { eventually } from '../../test/helpers/sending.js';
import { AccountStore } from './accounts.js';
import type { Db, Param } from './db.js';
import { migrate, MIGRATIONS, schemaVersion } from './migrations.js';
import { openPostgres } from './postgres.js';
import { openSqlite } from './sqlite.js';
import { TemplateStore, type TemplateContentRow } from './templates.js';
import { DomainStore } from './domains.js';
import { BlocklistStore } from './blocklists.js';
import { AcceptanceStore } from './acceptance.js';
import { DeliveryQueue } from './queue.js';
import { SendCounts } from './send-counts.js';
import { RetentionStore } from './retention.js';
import { WebhookOutbox, type OutboxItem } from './outbox.js';
import { CapturedMailStore, keepCaptures } from './captured-mail.js';
import { DeliveryHistoryStore } from './delivery-history.js';
import { appendEvents } from './events.js';
import { JobLeases } from './job-leases.js';
import { EventKind } from '../domain/events.js';

interface Adapter { name: string; open(): Promise<{ db: Db; reopen(): Promise<Db>; cleanup(): Promise<void> }> }

const ADAPTERS: Adapter[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'sesame-store-'));
      const file = join(dir, 'test.db');
      return {
        db: openSqlite({ file, allowWeakDurability: false }),
        reopen: async () => openSqlite({ file, allowWeakDurability: false }),
        cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'postgres',
    async open() {
      const t = await createTestDatabase();
      return {
        db: await openPostgres({ url: t.url, allowWeakDurability: false }),
        reopen: () => openPostgres({ url: t.url, allowWeakDurability: false }),
        cleanup: () => t.drop(),
      };
    },
  },
];

/** What every message accepted in these tests shares. */
const message = { subject: 'Hello', templateId: null, headerId: '<m@x.test>', day: '2026-01-01' };
const dayOfUtc = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

const content = (name: string, now = Date.now()): TemplateContentRow => ({
  name, html: null, text: `text of ${name}`, variables: '[]', status: () => 0, now,
});

describe('postgres adapter', () => {
  it('closes even after the database vanished under a transaction', async () => {
    const t = await createTestDatabase();
    const db = await openPostgres({ url: t.url, allowWeakDurability: false });
    await t.drop();
    await expect(db.tx(async (q) => q.get('SELECT 1'))).rejects.toThrow();
    await db.close();
  });
});

describe('domain claims on postgres, interleaved', () => {
  it('a claim added while a verification waits for the name\'s locks goes with the others', async () => {
    const t = await createTestDatabase();
    const db = await openPostgres({ url: t.url, allowWeakDurability: false });
    const other = new pg.Client({ connectionString: t.url });
    try {
      await migrate(db);
      const accounts = new AccountStore(db);
      const domains = new DomainStore(db, accounts);
      const base = { templateReview: false, apiRateLimit: null, tracking: true, secretKeySealed: 'sealed', now: 1 };
      const owner = (await accounts.create({ ...base, appId: 1300000001, name: 'owner', secretId: 'AKID-owner' })).id;
      const squatter = (await accounts.create({ ...base, appId: 1300000002, name: 'squatter', secretId: 'AKID-squat' })).id;
      const mine = await domains.create(owner, { name: 'race.test', dkimOption: 1, selector: 's', dkimKeys: '[]', tags: '[]', reputationLevel: 1, now: 1 }, 5);
      if (mine.kind !== 'created') throw new Error(`not created: ${mine.kind}`);
      // Another account's create, caught between locking the name's claims and committing its own.
      await other.connect();
      await other.query('BEGIN');
      await other.query("SELECT id FROM domains WHERE name = 'race.test' FOR UPDATE");
      const check = domains.recordCheck(owner, mine.row.id, { verified: true, keysChecked: '[]', startedAt: 10, nextCheckAt: 20 });
      await eventually(async () => (await other.query(
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rowCount === 1, 10_000, 'the check to wait for the locks');
      await other.query(
        "INSERT INTO domains (account_id, name, dkim_option, selector, dkim_keys, tags, reputation_level, next_check_at, created_at) VALUES ($1, 'race.test', 1, 's', '[]', '[]', 1, 1, 1)",
        [squatter]);
      await other.query('COMMIT');
      expect(await check).toMatchObject({ kind: 'recorded', verified: true, removed: [{ accountId: squatter }] });
      expect(await domains.get(squatter, 'race.test')).toBeUndefined();
    } finally {
      await other.end();
      await db.close();
      await t.drop();
    }
  });
});

describe.each(ADAPTERS)('upgrading a database made by the first release: $name', (adapter) => {
  it('counts the templates it already holds into the account', async () => {
    const env = await adapter.open();
    try {
      await migrate(env.db, MIGRATIONS.slice(0, 1));
      const t = Date.now();
      await env.db.run("INSERT INTO accounts (app_id, name, template_review, created_at) VALUES (1300000009, 'old', 0, ?)", [t]);
      const acc = (await env.db.get<{ id: number }>('SELECT id FROM accounts WHERE app_id = 1300000009'))!.id;
      for (const name of ['a', 'b']) {
        await env.db.run("INSERT INTO templates (account_id, name, text, variables, status, created_at, updated_at) VALUES (?, ?, 'x', '[]', 0, ?, ?)", [acc, name, t, t]);
      }
      await migrate(env.db);
      expect((await new TemplateStore(env.db, new AccountStore(env.db)).list(acc, 10, 0)).total).toBe(2);
    } finally {
      await env.db.close();
      await env.cleanup();
    }
  });
});

describe.each(ADAPTERS)('upgrading a database at version 6: $name', (adapter) => {
  it('keeps domains, their ids and sender addresses, lets a name be claimed by several accounts, and keeps Simple off where it was', async () => {
    const env = await adapter.open();
    try {
      await migrate(env.db, MIGRATIONS.slice(0, 6));
      const db = env.db;
      const t = Date.now();
      const account = async (appId: number): Promise<number> => (await db.get<{ id: number }>(
        "INSERT INTO accounts (app_id, name, template_review, created_at) VALUES (?, 'old', 0, ?) RETURNING id", [appId, t]))!.id;
      const acc1 = await account(1300000011);
      const acc2 = await account(1300000012);
      // An account the operator had kept to templates only.
      await db.run('UPDATE accounts SET simple_allowed = 0 WHERE id = ?', [acc2]);
      const domain = async (accountId: number, name: string, verified: number): Promise<number> => (await db.get<{ id: number }>(
        `INSERT INTO domains (account_id, name, dkim_option, selector, dkim_keys, tags, reputation_level, verified, next_check_at, created_at)
         VALUES (?, ?, 1, 's', '[]', '[]', 1, ?, ?, ?) RETURNING id`, [accountId, name, verified, t, t]))!.id;
      const kept = await domain(acc1, 'kept.test', 1);
      const other = await domain(acc2, 'other.test', 0);
      // The newest domain is deleted: its id must not come back.
      const deleted = await domain(acc1, 'deleted.test', 0);
      await db.run('DELETE FROM domains WHERE id = ?', [deleted]);
      await db.run("INSERT INTO sender_addresses (account_id, domain_id, address, created_at) VALUES (?, ?, 'hi@kept.test', ?)", [acc1, kept, t]);
      await db.run("INSERT INTO unsubscribe_settings (account_id, address, language, enabled, created_at, updated_at) VALUES (?, 'hi@kept.test', '1', 1, ?, ?)", [acc1, t, t]);

      expect(await migrate(db)).toEqual(MIGRATIONS.slice(6).map((m) => m.version));

      const domains = new DomainStore(db, new AccountStore(db));
      expect(await domains.get(acc1, 'kept.test')).toMatchObject({ id: kept, verified: 1 });
      expect(await domains.get(acc2, 'other.test')).toMatchObject({ id: other, verified: 0 });
      expect(await domains.listSenders(acc1)).toMatchObject([{ address: 'hi@kept.test', domain_id: kept }]);
      // The sender addresses still reference domains: a domain with senders cannot be dropped from under them.
      await expect(db.run('DELETE FROM domains WHERE id = ?', [kept])).rejects.toThrow();
      await expect(db.run("INSERT INTO sender_addresses (account_id, domain_id, address, created_at) VALUES (?, ?, 'x@nowhere.test', ?)", [acc1, deleted, t])).rejects.toThrow();
      const d = (name: string) => ({ name, dkimOption: 1, selector: 's', dkimKeys: '[]', tags: '[]', reputationLevel: 1, now: t });
      const next = await domains.create(acc1, d('new.test'), 10);
      expect(next.kind === 'created' && next.row.id).toBeGreaterThan(deleted);
      // The new rules hold on the upgraded table.
      expect((await domains.create(acc1, d('other.test'), 10)).kind).toBe('created');
      expect((await domains.create(acc2, d('kept.test'), 10)).kind).toBe('taken');
      expect((await domains.create(acc1, d('kept.test'), 10)).kind).toBe('exists');
      await expect(db.run("UPDATE domains SET verified = 1 WHERE name = 'other.test'")).rejects.toThrow();
      expect((await new AccountStore(db).get(acc1))?.disabled_at).toBeNull();
      // Free content: what was off stays off; what was the default becomes "unless templates need review".
      expect((await new AccountStore(db).get(acc2))?.free_content).toBe(0);
      expect((await new AccountStore(db).get(acc1))?.free_content).toBeNull();
    } finally {
      await env.db.close();
      await env.cleanup();
    }
  });
});

describe.each(ADAPTERS)('store contract: $name', (adapter) => {
  let db: Db;
  let env: Awaited<ReturnType<Adapter['open']>>;
  let accounts: AccountStore;
  let templates: TemplateStore;
  let acc1: number;
  let acc2: number;

  beforeAll(async () => {
    env = await adapter.open();
    db = env.db;
    await migrate(db);
    accounts = new AccountStore(db);
    templates = new TemplateStore(db, accounts);
    const base = { templateReview: false, apiRateLimit: null, tracking: true, secretKeySealed: 'sealed', now: Date.now() };
    acc1 = (await accounts.create({ ...base, appId: 1300000001, name: 'one', secretId: 'AKID-one' })).id;
    acc2 = (await accounts.create({ ...base, appId: 1300000002, name: 'two', secretId: 'AKID-two' })).id;
  });
  afterAll(async () => {
    await db?.close();
    await env?.cleanup();
  });

  it('applies migrations once, and refuses a newer schema', async () => {
    expect(await migrate(db)).toEqual([]);
    expect(await schemaVersion(db)).toBe(MIGRATIONS[MIGRATIONS.length - 1].version);
    await db.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [9999, 'future', 0]);
    await expect(migrate(db)).rejects.toThrow(/newer than this Sesame/);
    await db.run('DELETE FROM schema_migrations WHERE version = ?', [9999]);
  });

  it('keeps commits durable: WAL (flushed by the adapter, see sqlite.test.ts), or synchronous_commit on', async () => {
    if (db.dialect.name === 'sqlite') {
      expect(await db.get<{ journal_mode: string }>('PRAGMA journal_mode')).toEqual({ journal_mode: 'wal' });
    } else {
      expect(await db.get<{ synchronous_commit: string }>('SHOW synchronous_commit')).toEqual({ synchronous_commit: 'on' });
    }
  });

  it('commits a transaction, and rolls one back entirely on error', async () => {
    await db.tx(async (q) => {
      await q.run('INSERT INTO meta (key, value) VALUES (?, ?)', ['a', '1']);
      await q.run('INSERT INTO meta (key, value) VALUES (?, ?)', ['b', '2']);
    });
    await expect(db.tx(async (q) => {
      await q.run('INSERT INTO meta (key, value) VALUES (?, ?)', ['c', '3']);
      await q.run('INSERT INTO meta (key, value) VALUES (?, ?)', ['a', 'duplicate']);
    })).rejects.toThrow();
    const keys = (await db.all<{ key: string }>("SELECT key FROM meta WHERE key IN ('a', 'b', 'c') ORDER BY key")).map((r) => r.key);
    expect(keys).toEqual(['a', 'b']);
  });

  it('commits concurrent transactions independently (one failing does not sink the others)', async () => {
    const n = 200;
    const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => db.tx(async (q) => {
      await q.run('INSERT INTO meta (key, value) VALUES (?, ?)', [`k${i}`, String(i)]);
      if (i % 10 === 7) throw new Error(`fail ${i}`);
      return i;
    })));
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(20);
    const count = await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM meta WHERE key LIKE 'k%'");
    expect(count?.n).toBe(180);
    expect(await db.get('SELECT value FROM meta WHERE key = ?', ['k17'])).toBeUndefined();
    expect(await db.get('SELECT value FROM meta WHERE key = ?', ['k18'])).toEqual({ value: '18' });
  });

  it('reads outside a transaction see only committed data', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let written!: () => void;
    const didWrite = new Promise<void>((r) => { written = r; });
    const pending = db.tx(async (q) => {
      await q.run('INSERT INTO meta (key, value) VALUES (?, ?)', ['uncommitted', 'x']);
      written();
      await gate;
    });
    await didWrite;
    expect(await db.get('SELECT value FROM meta WHERE key = ?', ['uncommitted'])).toBeUndefined();
    release();
    await pending;
    expect(await db.get('SELECT value FROM meta WHERE key = ?', ['uncommitted'])).toEqual({ value: 'x' });
  });

  it('answers every caller and keeps working when a transaction breaks its own savepoint', async () => {
    const good = db.tx(async (q) => { await q.run('INSERT INTO meta (key, value) VALUES (?, ?)', ['good', '1']); return 'good'; });
    // Releasing the store's own savepoint (or, on PostgreSQL, one that does not exist) is an
    // internal failure the store must survive.
    const bad = db.tx(async (q) => { await q.run('RELEASE tx'); });
    const settled = await Promise.allSettled([good, bad]);
    expect(settled[1].status).toBe('rejected');
    const row = await db.get('SELECT value FROM meta WHERE key = ?', ['good']);
    // Atomic either way: committed if its caller was told so, absent if not.
    expect(row !== undefined).toBe(settled[0].status === 'fulfilled');
    await expect(db.tx((q) => q.run('INSERT INTO meta (key, value) VALUES (?, ?)', ['after', '1']))).resolves.toBe(1);
  });

  it('returns 64-bit integers as numbers and NULL as null', async () => {
    const row = await db.get<{ app_id: number; api_rate_limit: number | null }>('SELECT app_id, api_rate_limit FROM accounts WHERE id = ?', [acc1]);
    expect(row).toEqual({ app_id: 1300000001, api_rate_limit: null });
  });

  it('accounts: key lookup, unique AppId and SecretId, settings, metadata', async () => {
    const key = await accounts.findKey('AKID-one');
    expect(key).toEqual({ account_id: acc1, app_id: 1300000001, api_rate_limit: null, disabled_at: null, secret_id: 'AKID-one', secret_key_sealed: 'sealed' });
    expect(await accounts.findKey('AKID-none')).toBeUndefined();
    const base = { templateReview: false, apiRateLimit: null, tracking: true, secretKeySealed: 's', now: 1, name: 'dup' };
    await expect(accounts.create({ ...base, appId: 1300000001, secretId: 'AKID-new' })).rejects.toThrow();
    await expect(accounts.create({ ...base, appId: 1300000009, secretId: 'AKID-one' })).rejects.toThrow();
    expect(await accounts.byAppId(1300000009)).toBeUndefined();
    expect(await accounts.update(1300000002, { templateReview: true, apiRateLimit: 7 })).toBe(true);
    expect(await accounts.byAppId(1300000002)).toMatchObject({ template_review: 1, api_rate_limit: 7 });
    expect(await accounts.update(1, { templateReview: true })).toBe(false);
    // Keys: added up to a cap, listed without secrets, unique across accounts, revoked only by their account.
    expect(await accounts.createKey(acc2, 'AKID-two-b', 'sealed-b', 5, 2)).toBe('created');
    expect(await accounts.createKey(acc2, 'AKID-two-c', 'sealed-c', 5, 2)).toBe('full');
    expect(await accounts.createKey(acc2, 'AKID-one', 'x', 6)).toBe('taken');
    expect(await accounts.listKeys(acc2)).toEqual([{ secret_id: 'AKID-two', created_at: expect.any(Number) }, { secret_id: 'AKID-two-b', created_at: 5 }]);
    expect(await accounts.revokeKey(acc1, 'AKID-two-b')).toBe(false);
    expect(await accounts.revokeKey(acc2, 'AKID-two-b')).toBe(true);
    expect(await accounts.findKey('AKID-two-b')).toBeUndefined();
    // Suspension: seen by the key lookup and on the account; the first suspension time is kept.
    expect(await accounts.get(acc2)).toMatchObject({ disabled_at: null });
    expect(await accounts.setDisabled(1300000002, true, 100)).toBe(true);
    expect(await accounts.setDisabled(1300000002, true, 200)).toBe(true);
    expect(await accounts.findKey('AKID-two')).toMatchObject({ account_id: acc2, disabled_at: 100 });
    expect(await accounts.get(acc2)).toMatchObject({ disabled_at: 100 });
    expect(await accounts.setDisabled(1300000002, false, 300)).toBe(true);
    expect(await accounts.get(acc2)).toMatchObject({ disabled_at: null });
    expect(await accounts.setDisabled(1, true, 1)).toBe(false);
    expect(await accounts.putMetaOnce('fp', 'first')).toBe('first');
    expect(await accounts.putMetaOnce('fp', 'second')).toBe('first');
    expect(await accounts.getMeta('fp')).toBe('first');
  });

  it('templates: every read and write stays inside its account', async () => {
    const id = await templates.create(acc1, content('mine'), 10);
    expect(id).toBeTypeOf('number');
    expect(await templates.get(acc2, id!)).toBeUndefined();
    expect(await templates.update(acc2, id!, content('stolen'))).toBe(false);
    expect(await templates.delete(acc2, id!)).toBe(false);
    expect(await templates.review(acc2, id!, 2, 'no', 1)).toBe(false);
    expect((await templates.list(acc2, 10, 0)).total).toBe(0);
    expect(await templates.get(acc1, id!)).toMatchObject({ name: 'mine', account_id: acc1 });
    expect(await templates.update(acc1, id!, content('mine 2'))).toBe(true);
    expect((await templates.get(acc1, id!))?.name).toBe('mine 2');
    expect(await templates.delete(acc1, id!)).toBe(true);
    expect(await templates.get(acc1, id!)).toBeUndefined();
  });

  it('templates: the limit holds under concurrency and ids are never reused', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => templates.create(acc2, content(`c${i}`), 4)));
    expect(results.filter((r) => r !== null)).toHaveLength(4);
    const ids = results.filter((r): r is number => r !== null);
    const max = Math.max(...ids);
    await templates.delete(acc2, max);
    const next = await templates.create(acc2, content('after'), 4);
    expect(next).toBeGreaterThan(max);
    const page = await templates.list(acc2, 2, 0);
    expect(page.total).toBe(4);
    expect(page.rows.map((r) => r.id)).toEqual([next, ...ids.filter((i) => i !== max).sort((a, b) => b - a).slice(0, 1)]);
  });

  it('domains: one claim per account, one verified holder per name, per-account limit, claims of due re-checks never overlap', async () => {
    const domains = new DomainStore(db, accounts);
    const d = (name: string) => ({ name, dkimOption: 1, selector: 's', dkimKeys: '[]', tags: '[]', reputationLevel: 1, now: 1000 });
    const one1 = await domains.create(acc1, d('one.test'), 5);
    expect(one1.kind).toBe('created');
    expect((await domains.create(acc1, d('one.test'), 5)).kind).toBe('exists');
    // An unverified claim blocks nobody.
    const one2 = await domains.create(acc2, d('one.test'), 5);
    expect(one2.kind).toBe('created');
    if (one1.kind !== 'created' || one2.kind !== 'created') throw new Error('unreachable');
    // The database itself refuses a second verified holder.
    await db.run('UPDATE domains SET verified = 1 WHERE id = ?', [one2.row.id]);
    await expect(db.run('UPDATE domains SET verified = 1 WHERE id = ?', [one1.row.id])).rejects.toThrow();
    await db.run('UPDATE domains SET verified = 0 WHERE id = ?', [one2.row.id]);
    // acc1 verifies: acc2's claim goes; acc2 may no longer claim the name.
    const check = (verified: boolean) => ({ verified, keysChecked: '[]', startedAt: 1500, nextCheckAt: 1000 });
    const won = await domains.recordCheck(acc1, one1.row.id, check(true));
    expect(won).toEqual({ kind: 'recorded', verified: true, heldByOther: false, removed: [{ accountId: acc2, appId: 1300000002, senders: [] }] });
    expect(await domains.get(acc2, 'one.test')).toBeUndefined();
    expect(await domains.recordCheck(acc2, one2.row.id, check(true))).toEqual({ kind: 'gone' });
    expect((await domains.create(acc2, d('one.test'), 5)).kind).toBe('taken');
    // A claim made while the name was being verified (a race) cannot verify while acc1 holds it,
    // and goes at acc1's next verified check.
    const late = await db.get<{ id: number }>(
      "INSERT INTO domains (account_id, name, dkim_option, selector, dkim_keys, tags, reputation_level, next_check_at, created_at) VALUES (?, 'one.test', 1, 's', '[]', '[]', 1, 1000, 1000) RETURNING id", [acc2]);
    expect(await domains.recordCheck(acc2, late!.id, check(true))).toEqual({ kind: 'recorded', verified: false, heldByOther: true, removed: [] });
    expect((await domains.get(acc1, 'one.test'))?.verified).toBe(1);
    expect((await domains.recordCheck(acc1, one1.row.id, { ...check(true), startedAt: 1600 }))).toMatchObject({ kind: 'recorded', removed: [{ accountId: acc2 }] });
    expect(await domains.get(acc2, 'one.test')).toBeUndefined();
    // A check that started before the last one written is stale.
    expect(await domains.recordCheck(acc1, one1.row.id, check(false))).toEqual({ kind: 'stale' });
    const results = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((n) => domains.create(acc1, d(`${n}.test`), 5)));
    expect(results.filter((r) => r.kind === 'created')).toHaveLength(4);
    expect(results.filter((r) => r.kind === 'limit')).toHaveLength(2);
    const [x, y] = await Promise.all([domains.claimDue(2000, 3, 60_000), domains.claimDue(2000, 3, 60_000)]);
    const claimed = [...x, ...y].map((r) => r.name);
    expect(claimed).toHaveLength(5);
    expect(new Set(claimed).size).toBe(5);
    expect(await domains.claimDue(2000, 3, 60_000)).toEqual([]);
    expect((await domains.claimDue(62_000, 10, 60_000)).length).toBe(5);
    expect(await domains.get(acc2, 'one.test')).toBeUndefined();
    expect(await domains.delete(acc2, 'one.test')).toBe('missing');
  });

  it('blocklists: upserted bounces, expiry, and conflicts decided by the unique index', async () => {
    const bl = new BlocklistStore(db);
    await bl.recordBounce(acc1, 'b@x.test', 'first', 1000, 5000);
    await bl.recordBounce(acc1, 'b@x.test', 'second', 2000, 9000);
    expect([...await bl.blocked(acc1, ['b@x.test'], 8000, '2026-01-01')]).toEqual(['b@x.test']);
    expect((await bl.blocked(acc1, ['b@x.test'], 9000, '2026-01-01')).size).toBe(0);
    expect((await bl.blocked(acc2, ['b@x.test'], 8000, '2026-01-01')).size).toBe(0);
    const [p, q] = await Promise.all([bl.addCustom(acc1, ['c@x.test', 'd@x.test'], null, 1), bl.addCustom(acc1, ['d@x.test', 'e@x.test'], '2026-06-01', 1)]);
    expect(p.size + q.size).toBe(3);
    // On 2026-06-02 only the entries without an expiry still apply: c, and d if the first call listed it.
    const stillBlocked = p.has('d@x.test') ? ['c@x.test', 'd@x.test'] : ['c@x.test'];
    expect([...await bl.blocked(acc1, ['c@x.test', 'd@x.test', 'e@x.test'], 0, '2026-06-02')].sort()).toEqual(stillBlocked);
    expect(await bl.deleteCustom(acc2, ['c@x.test'])).toBe(0);
    expect(await bl.deleteCustom(acc1, ['c@x.test', 'zzz@x.test'])).toBe(1);
  });

  it('queue: triggered mail is claimed before bulk mail, and a claim is leased', async () => {
    const counts = new SendCounts(db);
    const acceptance = new AcceptanceStore(db, counts);
    const queue = new DeliveryQueue(db, dayOfUtc);
    const base = { domainId: 1, sender: 's@x.test', content: '{}', now: 1000, ...message };
    const accept = (id: string, priority: number, to: string) =>
      acceptance.accept(acc1, { ...base, messageId: id, priority }, [{ recipient: to, recipientDomain: 'y.test' }], { daily: { day: '2026-01-01', quota: null }, frequency: null });
    await accept('bulk-1', 0, 'b1@y.test');
    await accept('bulk-2', 0, 'b2@y.test');
    await accept('code-1', 1, 'c1@y.test');
    const [first] = await queue.claim(5000, 1, 60_000, 7);
    expect(first.recipient).toBe('c1@y.test');
    const rest = await queue.claim(5000, 10, 60_000, 7);
    expect(rest.map((r) => r.recipient)).toEqual(['b1@y.test', 'b2@y.test']);
    // All leased: nothing more until the lease ends.
    expect(await queue.claim(5000, 10, 60_000, 7)).toEqual([]);
    expect((await queue.claim(65_001, 10, 60_000, 8)).map((r) => [r.recipient, r.attempts])).toEqual([
      ['c1@y.test', 2], ['b1@y.test', 2], ['b2@y.test', 2],
    ]);
  });

  // The race it guards against exists on PostgreSQL only: SQLite runs one writer at a time.
  it('frequency limit holds under concurrent sends, with or without a daily quota', async () => {
    const counts = new SendCounts(db);
    const acceptance = new AcceptanceStore(db, counts);
    for (const quota of [null, 1000]) {
      const to = `often-${quota ?? 'unlimited'}@y.test`;
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => acceptance.accept(acc1,
        { domainId: 9, sender: 'f@x.test', content: '{}', now: 10_000 + i, messageId: `freq-${quota}-${i}`, priority: 1, ...message },
        [{ recipient: to, recipientDomain: 'y.test' }],
        { daily: { day: '2026-02-02', quota }, frequency: { since: 0, limit: 3 } })));
      expect(results.filter((r) => r.kind === 'accepted'), `quota ${quota}`).toHaveLength(3);
      expect(results.filter((r) => r.kind === 'frequency')).toHaveLength(17);
    }
  });

  it('queue: leases belong to their worker; skipped domains; put back without counting', async () => {
    const counts = new SendCounts(db);
    const acceptance = new AcceptanceStore(db, counts);
    const queue = new DeliveryQueue(db, dayOfUtc);
    const sentBefore = await counts.sentOn(1, '2026-01-01');
    const r = await acceptance.accept(acc1, { domainId: 1, sender: 's@x.test', content: '{}', now: 1000, messageId: 'lease-1', priority: 0, ...message },
      [{ recipient: 'a@busy.test', recipientDomain: 'busy.test' }, { recipient: 'b@calm.test', recipientDomain: 'calm.test' }],
      { daily: { day: '2026-01-01', quota: null }, frequency: null });
    if (r.kind !== 'accepted') throw new Error('not accepted');
    const [a, b] = r.deliveryIds;
    // A worker at its cap for busy.test skips it.
    expect((await queue.claim(2000, 10, 1000, 1, ['busy.test'])).map((c) => c.id)).toEqual([b]);
    // Worker 1's lease on b lapses; worker 2 takes it over (and a with it).
    expect((await queue.claim(3001, 10, 60_000, 2)).map((c) => c.id).sort()).toEqual([a, b].sort());
    // Worker 1 can neither renew nor record what it no longer holds; worker 2 can.
    expect([...await queue.renewLeases([b], 1, 99_000)]).toEqual([]);
    expect(await queue.recordOutcomes([{ id: b, outcome: { kind: 'delivered', reply: '250 late', at: 4000 } }], 1)).toEqual([b]);
    expect([...await queue.renewLeases([a, b], 2, 90_000)].sort()).toEqual([a, b].sort());
    // A reply with NUL and other control characters is stored cleaned (PostgreSQL refuses NUL).
    expect(await queue.recordOutcomes([{ id: b, outcome: { kind: 'delivered', reply: '250 ok\u0000 \u0007done', at: 5000 } }], 2)).toEqual([]);
    const row = await db.get<{ deliver_message: string; lease_owner: number | null; next_attempt_at: number | null }>(
      'SELECT deliver_message, lease_owner, next_attempt_at FROM deliveries WHERE id = ?', [b]);
    expect(row).toEqual({ deliver_message: '250 ok   done', lease_owner: null, next_attempt_at: null });
    // A settled delivery is not renewed back into the queue.
    expect([...await queue.renewLeases([b], 2, 99_000)]).toEqual([]);
    // Put back without counting the claim: due at the given time, attempts as before, no owner.
    await queue.release([a], 2, 7000, true);
    const ra = await db.get<{ attempts: number; lease_owner: number | null; next_attempt_at: number }>(
      'SELECT attempts, lease_owner, next_attempt_at FROM deliveries WHERE id = ?', [a]);
    expect(ra).toEqual({ attempts: 0, lease_owner: null, next_attempt_at: 7000 });
    // Two more counted for the day; putting a delivery back does not count it again.
    expect(await counts.sentOn(1, '2026-01-01')).toBe(sentBefore + 2);
  });

  it('webhook outbox: workers claiming at once get disjoint events; settling touches only what a worker holds', async () => {
    const outbox = new WebhookOutbox(db);
    const cb = (await db.get<{ id: number }>(
      "INSERT INTO callbacks (account_id, address, url, secret_sealed, created_at) VALUES (?, 'outbox@contract.test', 'http://x.test/', 's', 1) RETURNING id", [acc1]))!.id;
    for (let i = 0; i < 50; i++) {
      await db.run('INSERT INTO webhook_outbox (account_id, event_id, callback_id, next_attempt_at, created_at) VALUES (?, ?, ?, 1, 1)', [acc1, 9_000_000 + i, cb]);
    }
    const mine = (items: OutboxItem[]): OutboxItem[] => items.filter((i) => i.callback_id === Number(cb));
    const [a, b] = await Promise.all([outbox.claim(1000, 30, 60_000, 1), outbox.claim(1000, 30, 60_000, 2)]).then(([x, y]) => [mine(x), mine(y)]);
    const ids = [...a, ...b].map((i) => i.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(50);
    expect(a.every((i) => i.attempts === 1 && i.event === null)).toBe(true);
    // Worker 2 cannot settle worker 1's events; worker 1 can: one posted, one to retry.
    await outbox.settle([{ id: a[0].id, kind: 'posted' }, { id: a[1].id, kind: 'retry', at: 5000 }], [], 2, 0);
    expect(await db.get('SELECT id FROM webhook_outbox WHERE id = ?', [a[0].id])).toBeDefined();
    await outbox.settle([{ id: a[0].id, kind: 'posted' }, { id: a[1].id, kind: 'retry', at: 5000 }], [], 1, 0);
    expect(await db.get('SELECT id FROM webhook_outbox WHERE id = ?', [a[0].id])).toBeUndefined();
    expect(await db.get('SELECT next_attempt_at, lease_owner FROM webhook_outbox WHERE id = ?', [a[1].id])).toEqual({ next_attempt_at: 5000, lease_owner: null });
    // Leased rows are not claimed again until their lease lapses; the retried one when it is due.
    expect(mine(await outbox.claim(4000, 100, 60_000, 3))).toEqual([]);
    expect(mine(await outbox.claim(5000, 100, 60_000, 3)).map((i) => i.id)).toEqual([a[1].id]);
    await db.run('DELETE FROM webhook_outbox WHERE callback_id = ?', [cb]);
    await db.run('DELETE FROM callbacks WHERE id = ?', [cb]);
  });

  it('retention: content is freed with the last final outcome, never while one is queued or a batch run is on; the sweep frees the rest, once', async () => {
    const acceptance = new AcceptanceStore(db, new SendCounts(db));
    const queue = new DeliveryQueue(db, dayOfUtc);
    const retention = new RetentionStore(db);
    const owner = 4242;
    const accept = async (messageId: string, recipients: { recipient: string; dropped?: boolean }[]): Promise<number> => {
      const r = await acceptance.accept(acc1, { messageId, domainId: 1, sender: 'news@ret.test', priority: 0, content: '{"kind":"x"}', now: Date.now(), ...message },
        recipients.map((x) => ({ recipient: x.recipient, recipientDomain: 'ret.test', dropped: x.dropped ? { sendStatus: 3020, reason: 'blocklisted' } : undefined })),
        { daily: { day: '2030-01-01', quota: null }, frequency: null });
      if (r.kind !== 'accepted') throw new Error(r.kind);
      // As if this worker had claimed them all.
      await db.run('UPDATE deliveries SET lease_owner = ? WHERE message_row = ? AND next_attempt_at IS NOT NULL', [owner, r.messageRow]);
      return r.messageRow;
    };
    const idsOf = async (row: number) => (await db.all<{ id: number }>('SELECT id FROM deliveries WHERE message_row = ? ORDER BY id', [row])).map((d) => d.id);
    const contentOf = async (row: number) => (await db.get<{ content: string }>('SELECT content FROM messages WHERE id = ?', [row]))!.content;
    const at = Date.now();

    const two = await accept('<two@ret.test>', [{ recipient: 'a@ret.test' }, { recipient: 'b@ret.test' }]);
    const [a, b] = await idsOf(two);
    await queue.recordOutcomes([{ id: a, outcome: { kind: 'delivered', reply: '250 ok', at } }, { id: b, outcome: { kind: 'deferred', reply: '451 later', retryAt: at + 60_000 } }], owner);
    expect(await contentOf(two)).not.toBe('');
    await db.run('UPDATE deliveries SET lease_owner = ? WHERE id = ?', [owner, b]);
    await queue.recordOutcomes([{ id: b, outcome: { kind: 'bounced', reply: '550 no', at, blocklist: false } }], owner);
    expect(await contentOf(two)).toBe('');
    await expect(queue.content(two)).rejects.toThrow(/freed/);

    // A batch run in progress: its later chunks still need the content, whatever its first ones did.
    const run = await accept('<run@ret.test>', [{ recipient: 'c@ret.test' }]);
    await db.run(`INSERT INTO send_tasks (account_id, receiver_id, receivers_name, from_address, subject, task_type, status, content, run_message_row, created_at, updated_at)
      VALUES (?, 0, 'g', 'news@ret.test', 's', 1, 5, '{}', ?, ?, ?)`, [acc1, run, at, at]);
    await queue.recordOutcomes([{ id: (await idsOf(run))[0], outcome: { kind: 'delivered', reply: '250 ok', at } }], owner);
    const dropped = await accept('<dropped@ret.test>', [{ recipient: 'd@ret.test', dropped: true }]);
    const sweep = async () => { let n = 0; for (let from: number | null = 0; from !== null;) { const s = await retention.freeContent(from, 2); n += s.changed; from = s.next; } return n; };
    // (Earlier tests' finished messages are freed by it too.)
    expect(await sweep()).toBeGreaterThanOrEqual(1);
    expect(await contentOf(run)).not.toBe('');
    expect(await contentOf(dropped)).toBe('');
    // The run ends: the next sweeps (two at once, as two workers would) free its message once.
    await db.run('UPDATE send_tasks SET run_message_row = NULL WHERE run_message_row = ?', [run]);
    expect((await Promise.all([sweep(), sweep()])).reduce((x, y) => x + y)).toBe(1);
    expect(await contentOf(run)).toBe('');
    // Statuses stay: the message row and its deliveries are all there.
    expect(await idsOf(two)).toEqual([a, b]);
  });

  it('captured mail: kept with its delivered outcome only, once per delivery, read by its account only, cut back per account', async () => {
    const acceptance = new AcceptanceStore(db, new SendCounts(db));
    const queue = new DeliveryQueue(db, dayOfUtc);
    const captured = new CapturedMailStore(db);
    const retention = new RetentionStore(db);
    const r = await acceptance.accept(acc2, { domainId: 1, sender: 'news@cap.test', content: '{}', now: 1000, messageId: 'cap-1', priority: 0, ...message },
      [{ recipient: 'a@cap.test', recipientDomain: 'cap.test' }, { recipient: 'b@cap.test', recipientDomain: 'cap.test' }, { recipient: 'c@cap.test', recipientDomain: 'cap.test' }],
      { daily: { day: '2026-03-03', quota: null }, frequency: null });
    if (r.kind !== 'accepted') throw new Error(r.kind);
    const [a, b, c] = r.deliveryIds;
    await db.run(`UPDATE deliveries SET lease_owner = 11 WHERE id IN (?, ?, ?)`, [a, b, c]);
    const capture = (to: string) => ({ subject: `Hello ${to}`, message: Buffer.from(`To: ${to}\r\nSubject: x\r\n\r\n\xff 8-bit\r\n`, 'latin1') });
    // A capture goes with a delivered outcome the worker still holds; another worker's, none.
    expect(await queue.recordOutcomes([
      { id: a, outcome: { kind: 'delivered', reply: '250 captured', at: 5000, capture: capture('a@cap.test') } },
      { id: b, outcome: { kind: 'deferred', reply: '451 later', retryAt: 9000 } },
    ], 11)).toEqual([]);
    expect(await queue.recordOutcomes([{ id: c, outcome: { kind: 'delivered', reply: '250 captured', at: 5000, capture: capture('c@cap.test') } }], 12)).toEqual([c]);
    // Kept again for the same delivery (it cannot be: its outcome is recorded once), it stays one row.
    await db.tx((q) => keepCaptures(q, [{ deliveryId: a, capture: capture('a@cap.test'), at: 6000 }]));
    const list = await captured.list(acc2, { limit: 10, offset: 0 });
    expect(list).toEqual({ total: 1, rows: [{ id: expect.any(Number), message_id: 'cap-1', sender: 'news@cap.test', recipient: 'a@cap.test', subject: 'Hello a@cap.test', size: capture('a@cap.test').message.length, captured_at: 5000 }] });
    const id = list.rows[0].id;
    expect((await captured.get(acc2, id))?.message).toEqual(capture('a@cap.test').message);
    expect(await captured.get(acc1, id)).toBeUndefined();
    expect(await captured.list(acc1, { limit: 10, offset: 0 })).toEqual({ total: 0, rows: [] });
    expect((await captured.list(acc2, { limit: 10, offset: 0, recipient: 'b@cap.test' })).total).toBe(0);

    // Five more; the account is cut back to its newest two, a chunk of two at a time.
    await db.tx((q) => keepCaptures(q, [b, c, 101, 102, 103].map((deliveryId) => ({ deliveryId, capture: capture('x@cap.test'), at: 7000 }))));
    expect((await captured.list(acc2, { limit: 0, offset: 0 })).total).toBe(3);
    await db.run(`INSERT INTO captured_mail (account_id, delivery_id, message_id, sender, recipient, subject, size, raw, captured_at)
      VALUES (?, -1, 'm', 's', 'r', 's', 0, '', 1), (?, -2, 'm', 's', 'r', 's', 0, '', 1)`, [acc2, acc2]);
    expect(await retention.nextCapturingAccount(0)).toBe(acc2);
    expect(await retention.nextCapturingAccount(acc2 + 1)).toBeNull();
    const newest = (await captured.list(acc2, { limit: 2, offset: 0 })).rows.map((x) => x.id);
    const cut = (await retention.capturedCut(acc2, 2))!;
    expect(cut).toBeLessThan(Math.min(...newest));
    expect(await retention.capturedCut(acc2, 5)).toBeNull();
    expect(await retention.deleteCapturedUpTo(acc2, cut, 2)).toBe(2);
    expect(await retention.deleteCapturedUpTo(acc2, cut, 2)).toBe(1);
    expect((await captured.list(acc2, { limit: 10, offset: 0 })).rows.map((x) => x.id)).toEqual(newest);
  });

  it('delivery history: one delivery of the account, its newest events by time then as written; read by index only', async () => {
    const acceptance = new AcceptanceStore(db, new SendCounts(db));
    const r = await acceptance.accept(acc2, { domainId: 1, sender: 'news@hist.test', content: '{}', now: 1000, messageId: 'hist-1', priority: 0, ...message },
      [{ recipient: 'a@hist.test', recipientDomain: 'hist.test' }, { recipient: 'b@hist.test', recipientDomain: 'hist.test' }],
      { daily: { day: '2026-03-04', quota: null }, frequency: null });
    if (r.kind !== 'accepted') throw new Error(r.kind);
    const [a, b] = r.deliveryIds;
    const at = (deliveryId: number, kind: EventKind, time: number, more: { link?: string; bounceType?: 'hard_bounce' } = {}) => ({ accountId: acc2, deliveryId, kind, at: time, ...more });
    // Written out of time order (an open written after the delivery it came after), and two at one time.
    await db.tx((q) => appendEvents(q, [
      at(a, EventKind.Deferred, 2000), at(a, EventKind.Delivered, 4000), at(a, EventKind.Open, 3500), at(a, EventKind.Click, 4000, { link: 'https://x.test/' }),
      at(b, EventKind.Bounce, 2500, { bounceType: 'hard_bounce' }),
    ]));
    // Every statement the store runs, to look at its plan below.
    const statements: { sql: string; params: readonly Param[] }[] = [];
    const spy = new Proxy(db, {
      get(target, key) {
        const v = Reflect.get(target, key) as unknown;
        if (key !== 'all' && key !== 'get') return typeof v === 'function' ? v.bind(target) : v;
        return (sql: string, params: readonly Param[] = []) => { statements.push({ sql, params }); return (v as Db['all']).call(target, sql, params); };
      },
    });
    const history = new DeliveryHistoryStore(spy);
    const kinds = (h: Awaited<ReturnType<DeliveryHistoryStore['history']>>) => h?.events.map((e) => [e.event, e.created_at]);
    const all = await history.history(acc2, 'hist-1', 'a@hist.test', 200);
    expect(all?.requestedAt).toBe(1000);
    expect(kinds(all)).toEqual([[EventKind.Deferred, 2000], [EventKind.Open, 3500], [EventKind.Delivered, 4000], [EventKind.Click, 4000]]);
    expect(all?.events[3]).toMatchObject({ link: 'https://x.test/', bounce_type: '', reason: '', user_agent: '', prefetch: '' });
    expect(kinds(await history.history(acc2, 'hist-1', 'a@hist.test', 2))).toEqual([[EventKind.Delivered, 4000], [EventKind.Click, 4000]]);
    expect((await history.history(acc2, 'hist-1', 'b@hist.test', 200))?.events).toMatchObject([{ event: EventKind.Bounce, bounce_type: 'hard_bounce' }]);
    expect(await history.history(acc1, 'hist-1', 'a@hist.test', 200)).toBeNull();
    expect(await history.history(acc2, 'hist-1', 'c@hist.test', 200)).toBeNull();
    expect(await history.history(acc2, 'hist-2', 'a@hist.test', 200)).toBeNull();

    // The plans: the message by its MessageId, the delivery among the message's, the events by
    // delivery; never an account-wide index. PostgreSQL is kept off sequential scans, which it would
    // rightly take of tables this small, so that the indexes it would use on large ones show.
    const explained = await db.tx(async (q) => {
      if (db.dialect.name === 'postgres') await q.run('SET LOCAL enable_seqscan = off');
      const prefix = db.dialect.name === 'sqlite' ? 'EXPLAIN QUERY PLAN ' : 'EXPLAIN ';
      const unique = [...new Map(statements.map((s) => [s.sql, s])).values()];
      return Promise.all(unique.map(async (s) => (await q.all<Record<string, unknown>>(prefix + s.sql, s.params)).map((row) => Object.values(row).join(' ')).join('\n')));
    });
    expect(explained).toHaveLength(2);
    expect(explained[0]).toMatch(/deliveries_message/);
    expect(explained[1]).toMatch(/events_delivery/);
    for (const plan of explained) expect(plan).not.toMatch(/events_account|deliveries_frequency|deliveries_account_time|SCAN (events|deliveries)\b/);
  });

  it('periodic job leases: one holder at a time among concurrent takers; renewed by its holder only; a lapsed lease is taken over; a round is due after the last', async () => {
    const leases = new JobLeases(db);
    const t0 = 1_000_000;
    // Eight takers at once: exactly one gets the lease.
    const takes = await Promise.all(Array.from({ length: 8 }, (_, i) => leases.take('retention', `w${i}`, t0, 1000)));
    const winners = takes.flatMap((t, i) => (t.taken ? [i] : []));
    expect(winners).toHaveLength(1);
    const holder = `w${winners[0]}`;
    const other = holder === 'w0' ? 'w1' : 'w0';
    expect(takes.find((t) => !t.taken)).toEqual({ taken: false, retryAt: t0 + 1000 });
    // Another job's lease is its own.
    expect((await leases.take('reputation', other, t0, 1000)).taken).toBe(true);
    expect(await leases.renew('retention', other, t0 + 5000)).toBe(false);
    expect(await leases.renew('retention', holder, t0 + 2000)).toBe(true);
    expect((await leases.take('retention', other, t0 + 1500, 1000)).taken).toBe(false);
    // The holder died: once its lease lapses, another takes the job over (the holder's release is then ignored).
    expect(await leases.take('retention', other, t0 + 2000, 1000)).toEqual({ taken: true, round: 2 });
    await leases.release('retention', holder, t0 + 9_000_000);
    expect(await leases.renew('retention', other, t0 + 2500)).toBe(true);
    // Released: the next round is due `nextAt`, for anyone.
    await leases.release('retention', other, t0 + 10_000);
    expect(await leases.take('retention', holder, t0 + 9_999, 1000)).toEqual({ taken: false, retryAt: t0 + 10_000 });
    expect(await leases.take('retention', holder, t0 + 10_000, 1000)).toEqual({ taken: true, round: 3 });
    expect((await leases.list()).map((r) => [r.job, r.holder, r.rounds])).toEqual([['reputation', other, 1], ['retention', holder, 3]]);
  });

  it('survives close and reopen with everything committed, even a transaction queued at close', async () => {
    const id = await templates.create(acc1, content('persisted'), 100);
    const queued = templates.create(acc1, content('queued at close'), 100);
    await db.close();
    const queuedId = await queued;
    await expect(db.tx(async () => 1)).rejects.toThrow(/closed/);
    db = await env.reopen();
    accounts = new AccountStore(db);
    templates = new TemplateStore(db, accounts);
    expect((await templates.get(acc1, id!))?.name).toBe('persisted');
    expect((await templates.get(acc1, queuedId!))?.name).toBe('queued at close');
    await expect(db.ping()).resolves.toBeUndefined();
  });
});
