/**
 * `sesame store copy --to URL` as an operator runs it: a SQLite store filled through the API (two
 * accounts, an extra API key, a DKIM-signed domain, templates, a recipient group with data, a batch
 * task that ran, sent and bounced mail with their events, both blocklists, a webhook) is stopped and
 * copied into a fresh PostgreSQL database; a server on that database with the same master key
 * answers the SDK exactly as the SQLite one did, ids included, and signs mail that verifies. A target
 * that holds data is refused and left alone; a copy that fails midway leaves the target as it was.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { createTestDatabase, type TestDatabase } from './helpers/pg.js';
import { runCli } from './helpers/process.js';
import { b64, extensionCall, sdkClient, type Caller } from './helpers/sdk.js';
import { eventually, RECIPIENT_DOMAIN, startSending, statusesOf, taskWhen, type SendingFixture } from './helpers/sending.js';

type Creds = { SecretId: string; SecretKey: string };

/** Everything the SDK shows of an account, RequestIds left out: what must read the same after the copy. */
async function snapshot(endpoint: string, creds: Creds, receiverId: number): Promise<Record<string, unknown>> {
  const call = sdkClient('v4:TC3', endpoint, creds);
  const ext = (action: 'ListEmailCallbacks' | 'ListApiKeys') => extensionCall(endpoint, creds, action, {});
  const day = new Date().toISOString().slice(0, 10);
  const reads: Record<string, Promise<unknown>> = {
    templates: call('ListEmailTemplates', { Offset: 0, Limit: 100 }),
    identities: call('ListEmailIdentities', {}),
    identity: call('GetEmailIdentity', { EmailIdentity: 'mail.shop.test' }),
    senders: call('ListEmailAddress', {}),
    receivers: call('ListReceivers', { Offset: 0, Limit: 100 }),
    receiverDetails: call('ListReceiverDetails', { ReceiverId: receiverId, Offset: 0, Limit: 100 }),
    tasks: call('ListSendTasks', { Offset: 0, Limit: 100 }),
    statuses: call('GetSendEmailStatus', { RequestDate: day, Offset: 0, Limit: 100 }),
    statistics: call('GetStatisticsReport', { StartDate: day, EndDate: day }),
    bounceBlocklist: call('ListBlackEmailAddress', { StartDate: day, EndDate: day, Offset: 0, Limit: 100 }),
    customBlocklist: call('ListCustomBlacklist', { Offset: 0, Limit: 100, Status: 0 }),
    callbacks: ext('ListEmailCallbacks'),
    apiKeys: ext('ListApiKeys'),
  };
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(reads)) {
    const { RequestId: _omit, ...rest } = (await p) as Record<string, unknown>;
    out[k] = rest;
  }
  return out;
}

async function pgCounts(url: string): Promise<Record<string, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const tables = await c.query<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
    const counts: Record<string, number> = {};
    for (const { t } of tables.rows) counts[t] = Number((await c.query<{ n: string }>(`SELECT COUNT(*) AS n FROM "${t}"`)).rows[0]!.n);
    return counts;
  } finally {
    await c.end();
  }
}

describe('sesame store copy', () => {
  let f: SendingFixture;
  let call: Caller;
  const databases: TestDatabase[] = [];
  const dirs: string[] = [];
  let pgApp: TestApp | undefined;
  let target: TestDatabase;
  let copy: { code: number | null; stdout: string; stderr: string };
  let before: Record<string, unknown>;
  let second: Creds;
  let extraKey: Creds;
  let receiverId: number;
  let deletedTemplateId: number;
  let keyHex: string;
  let sqliteCounts: Record<string, number>;

  const newDatabase = async (): Promise<TestDatabase> => {
    const d = await createTestDatabase();
    databases.push(d);
    return d;
  };
  const sqliteEnv = (): Record<string, string> => {
    // The copy reads SESAME_DATA_DIR; the SQLite server's settings are what an operator has at hand.
    const { SESAME_DATABASE_URL: _none, ...env } = f.t.env;
    return env;
  };

  beforeAll(async () => {
    f = await startSending('sqlite', { SESAME_DAILY_QUOTA: 'unlimited', SESAME_FREQUENCY_LIMIT: '0' });
    call = f.call;
    // A second account, and a second key of the first.
    second = await f.t.app.services.accounts.create({ name: 'second' });
    extraKey = await extensionCall(f.t.endpoint, f.t.creds, 'CreateApiKey', {});
    await call('CreateEmailTemplate', { TemplateName: 'receipt', TemplateContent: { Text: b64('Receipt {{code}}') } });
    // The newest template is deleted: PostgreSQL must not give its id again.
    deletedTemplateId = (await call('CreateEmailTemplate', { TemplateName: 'gone', TemplateContent: { Text: b64('x') } })).TemplateID;
    await call('DeleteEmailTemplate', { TemplateID: deletedTemplateId });
    // A batch task to a group with data, run to the end.
    receiverId = (await call('CreateReceiver', { ReceiversName: 'readers' })).ReceiverId;
    await call('CreateReceiverDetailWithData', {
      ReceiverId: receiverId,
      Datas: ['r1', 'r2', 'r3'].map((n, i) => ({ Email: `${n}@${RECIPIENT_DOMAIN}`, TemplateData: JSON.stringify({ name: n, code: `C${i}` }) })),
    });
    const { TaskId } = await call('BatchSendEmail', {
      FromEmailAddress: f.sender, ReceiverId: receiverId, Subject: 'News for {{name}}', TaskType: 1,
      Template: { TemplateID: f.templateId, TemplateData: '{}' },
    });
    await taskWhen(f, TaskId, (t) => t.TaskStatus === 10);
    // Sent mail (deliveries, events), and a hard bounce (the bounce blocklist).
    const sent = await call('SendEmail', {
      FromEmailAddress: f.sender, Destination: [`ann@${RECIPIENT_DOMAIN}`, `bob@${RECIPIENT_DOMAIN}`], Subject: 'Hello',
      Template: { TemplateID: f.templateId, TemplateData: '{"name":"Ann","code":"7"}' },
    });
    await statusesOf(f, sent.MessageId, (l) => l.length === 2 && l.every((s) => s.DeliverStatus === 1));
    f.mx1.mode = { kind: 'reject', code: 550, message: '5.1.1 The email account does not exist' };
    const bounced = await call('SendEmail', {
      FromEmailAddress: f.sender, Destination: [`nobody@${RECIPIENT_DOMAIN}`], Subject: 'Bounce',
      Template: { TemplateID: f.templateId, TemplateData: '{"name":"N","code":"0"}' },
    });
    await statusesOf(f, bounced.MessageId, (l) => l[0]!.DeliverStatus === 3);
    f.mx1.mode = { kind: 'accept' };
    await call('CreateCustomBlacklist', { Emails: [`blocked@${RECIPIENT_DOMAIN}`] });
    // A webhook (its secret is sealed with the master key); nothing is sent after it, so nothing waits in its outbox.
    await extensionCall(f.t.endpoint, f.t.creds, 'SetEmailCallback', { CallbackUrl: 'http://127.0.0.1:9/hook' });

    before = await snapshot(f.t.endpoint, f.t.creds, receiverId);
    keyHex = readFileSync(join(f.t.env.SESAME_DATA_DIR!, 'master.key'), 'utf8').trim();
    // Stopped, as the command asks (DNS and the MX hosts stay up for the PostgreSQL server).
    await f.t.app.close();
    const src = new Database(join(f.t.env.SESAME_DATA_DIR!, 'sesame.db'), { readonly: true });
    sqliteCounts = Object.fromEntries((src.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[])
      .map((t) => [t, Number(src.prepare(`SELECT COUNT(*) FROM "${t}"`).pluck().get())]));
    src.close();

    target = await newDatabase();
    copy = await runCli(['store', 'copy', '--to', target.url], sqliteEnv(), 120_000);
  }, 180_000);

  afterAll(async () => {
    await pgApp?.stop();
    await f?.stop();
    for (const d of databases) await d.drop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('copies every table with its rows, prints the counts and where the master key is', async () => {
    expect(copy.code, copy.stderr).toBe(0);
    const summary = JSON.parse(copy.stdout) as { tables: Record<string, number>; rows: number; masterKey: { source: string }; next: string; schemaVersion: number };
    const { schema_migrations: migrations, ...copied } = sqliteCounts;
    // Every table of the store, discovered from its schema, with its rows; the bookkeeping table is the target's own.
    expect(summary.tables).toEqual(copied);
    expect(summary.rows).toBe(Object.values(copied).reduce((a, b) => a + b, 0));
    expect(Object.keys(summary.tables).length).toBeGreaterThan(20);
    for (const t of ['accounts', 'api_keys', 'domains', 'templates', 'receivers', 'receiver_details', 'send_tasks', 'messages', 'deliveries', 'events', 'bounce_blocklist', 'custom_blocklist', 'callbacks', 'daily_volumes']) {
      expect(summary.tables[t], t).toBeGreaterThan(0);
    }
    expect(await pgCounts(target.url)).toEqual({ ...copied, schema_migrations: migrations });
    expect(summary.masterKey.source).toBe(join(f.t.env.SESAME_DATA_DIR!, 'master.key'));
    expect(summary.next).toContain('SESAME_MASTER_KEY');
    // Progress is logged (standard error), never mixed into the JSON on standard output.
    expect(copy.stderr).toContain('"msg":"table copied"');
    expect(copy.stderr).toContain('"msg":"store copy committed"');
  });

  it('serves the same data from PostgreSQL with the same master key, ids included, and sends DKIM-signed mail', async () => {
    expect(copy.code, copy.stderr).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'sesame-pg-node-'));
    dirs.push(dir);
    // A new node: its own data folder (no master.key in it), the key given by SESAME_MASTER_KEY.
    const env = { ...sqliteEnv(), SESAME_DATA_DIR: dir, SESAME_DATABASE_URL: target.url, SESAME_MASTER_KEY: keyHex };
    pgApp = await startTestApp('postgres', {}, { env, cleanup: async () => {} }, ['api', 'worker', 'smtp']);
    expect(pgApp.config.databaseUrl?.href).toBe(target.url);
    // Sealed API keys open: the first account's two keys and the second account's.
    expect(await snapshot(pgApp.endpoint, f.t.creds, receiverId)).toEqual(before);
    const viaExtra = sdkClient('intl:HmacSHA256:POST', pgApp.endpoint, extraKey);
    expect((await viaExtra('ListEmailTemplates', { Offset: 0, Limit: 10 })).TotalCount).toBe(2);
    expect((await sdkClient('v4:TC3', pgApp.endpoint, second)('ListEmailTemplates', { Offset: 0, Limit: 10 })).TotalCount).toBe(0);

    // New rows get ids SQLite never gave, the deleted template's included.
    const pgCall = sdkClient('v4:TC3', pgApp.endpoint, f.t.creds);
    const created = await pgCall('CreateEmailTemplate', { TemplateName: 'after the move', TemplateContent: { Text: b64('y') } });
    expect(created.TemplateID).toBeGreaterThan(deletedTemplateId);

    // The copied domain's DKIM key (sealed) signs, and the signature verifies against the published record.
    const from = f.mx1.received.length;
    await pgCall('SendEmail', {
      FromEmailAddress: f.sender, Destination: [`moved@${RECIPIENT_DOMAIN}`], Subject: 'From PostgreSQL',
      Template: { TemplateID: f.templateId, TemplateData: '{"name":"Moved","code":"42"}' },
    });
    const got = await eventually(async () => f.mx1.received.slice(from).find((r) => r.to.includes(`moved@${RECIPIENT_DOMAIN}`)), 20_000, 'the mail sent from PostgreSQL');
    expect(await f.verifyDkim(got.raw)).toEqual([expect.objectContaining({ result: 'pass', domain: 'mail.shop.test' })]);
    // The blocklists came along: they still refuse.
    await expect(pgCall('SendEmail', {
      FromEmailAddress: f.sender, Destination: [`nobody@${RECIPIENT_DOMAIN}`], Subject: 'x', Template: { TemplateID: f.templateId, TemplateData: '{"name":"N","code":"0"}' },
    })).rejects.toMatchObject({ code: 'FailedOperation.EmailAddrInBlacklist' });
  });

  it('refuses a target that already holds data, and leaves it untouched', async () => {
    expect(copy.code, copy.stderr).toBe(0);
    // Nothing else writes the target while it is watched (the server's webhook retries would).
    await pgApp?.stop();
    pgApp = undefined;
    const counts = await pgCounts(target.url);
    const again = await runCli(['store', 'copy', '--to', target.url], sqliteEnv());
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/The target database is not empty: .*accounts/);
    expect(again.stderr).not.toContain('    at ');
    expect(again.stdout).toBe('');
    expect(await pgCounts(target.url)).toEqual(counts);
  });

  it('leaves the target as it was when the copy fails midway (one transaction), and writes no key file', async () => {
    const d = await newDatabase();
    // An empty table of a Sesame name but another shape: the target counts as empty, and the
    // migrations fail on it after some tables were already created in the transaction.
    const c = new pg.Client({ connectionString: d.url });
    await c.connect();
    try {
      await c.query('CREATE TABLE templates (x INTEGER)');
    } finally {
      await c.end();
    }
    const keyOut = join(mkdtempSync(join(tmpdir(), 'sesame-key-')), 'master.key');
    dirs.push(join(keyOut, '..'));
    const r = await runCli(['store', 'copy', '--to', d.url, '--key-out', keyOut], sqliteEnv());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('rolled back');
    expect(r.stderr).toContain('templates');
    expect(await pgCounts(d.url)).toEqual({ templates: 0 });
    expect(() => statSync(keyOut)).toThrow();
  });

  it('writes the key for the new nodes with --key-out (mode 0600), and refuses a key other than the store\'s', async () => {
    const wrong = await newDatabase();
    const refused = await runCli(['store', 'copy', '--to', wrong.url], { ...sqliteEnv(), SESAME_MASTER_KEY: 'ab'.repeat(32) });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('is not the one this store was created with');
    expect(await pgCounts(wrong.url)).toEqual({});

    const d = await newDatabase();
    const keyDir = mkdtempSync(join(tmpdir(), 'sesame-key-'));
    dirs.push(keyDir);
    const keyOut = join(keyDir, 'for-the-nodes.key');
    // Two rows per INSERT: every table of more than two rows crosses batch boundaries.
    const r = await runCli(['store', 'copy', '--to', d.url, '--key-out', keyOut, '--batch-rows', '2'], sqliteEnv(), 120_000);
    expect(r.code, r.stderr).toBe(0);
    const { schema_migrations: migrations, ...copied } = sqliteCounts;
    expect(await pgCounts(d.url)).toEqual({ ...copied, schema_migrations: migrations });
    expect(readFileSync(keyOut, 'utf8').trim()).toBe(keyHex);
    expect(statSync(keyOut).mode & 0o777).toBe(0o600);
    expect((JSON.parse(r.stdout) as { masterKey: { keyFile: string } }).masterKey.keyFile).toBe(keyOut);
  });
});
