/**
 * `sesame backup --to FILE` as an operator runs it: a separate process copies the SQLite store of a
 * server that keeps accepting and sending mail meanwhile; the backup and its key file are restored
 * into a fresh data folder exactly as docs/OPERATIONS.md says, and a server started there
 * answers the SDK with the data (API keys, templates, the verified domain, statuses) and signs mail
 * with the domain's DKIM key so that it verifies. A backup never overwrites a file, and a
 * PostgreSQL store is refused.
 */
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { runCli } from './helpers/process.js';
import { b64, sdkClient } from './helpers/sdk.js';
import { eventually, RECIPIENT_DOMAIN, SENDER_DOMAIN, startSending, statusesOf, type SendingFixture } from './helpers/sending.js';

describe('sesame backup', () => {
  let f: SendingFixture;
  let restored: TestApp | undefined;
  const dirs: string[] = [];
  const tempDir = (prefix: string): string => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };

  beforeAll(async () => {
    f = await startSending('sqlite', { SESAME_DAILY_QUOTA: 'unlimited', SESAME_FREQUENCY_LIMIT: '0' });
  }, 60_000);
  afterAll(async () => {
    await restored?.stop();
    await f?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const send = (via: SendingFixture['call'], to: string) => via('SendEmail', {
    FromEmailAddress: f.sender, Destination: [to], Subject: 'Hello {{name}}',
    Template: { TemplateID: f.templateId, TemplateData: '{"name":"Ann","code":"1"}' },
  });

  it('copies the store while the server sends; the documented restore serves the data and signs mail that verifies', async () => {
    await f.call('CreateEmailTemplate', { TemplateName: 'receipt', TemplateContent: { Html: b64('<p>Receipt {{code}}</p>') } });
    const early = (await send(f.call, `early@${RECIPIENT_DOMAIN}`)).MessageId;
    await statusesOf(f, early, (l) => l[0]!.DeliverStatus === 1);

    // Mail keeps being accepted (and delivered) for as long as the backup process runs.
    let sending = true;
    const during: string[] = [];
    const load = (async () => {
      for (let i = 0; sending; i++) during.push((await send(f.call, `during${i}@${RECIPIENT_DOMAIN}`)).MessageId);
    })();
    await eventually(async () => during.length >= 3, 20_000, 'mail to be sending');
    const acceptedBefore = during.length;
    const out = tempDir('sesame-backup-');
    const file = join(out, 'sesame-backup.db');
    const r = await runCli(['backup', '--to', file], f.t.env);
    const acceptedWhileRunning = during.length - acceptedBefore;
    sending = false;
    await load;
    expect(r.code, r.stderr).toBe(0);
    expect(acceptedWhileRunning).toBeGreaterThan(0);

    const summary = JSON.parse(r.stdout) as { file: string; bytes: number; pages: number; keyFile: string; keySource: string; tables: Record<string, number>; rows: number; restore: string };
    expect(summary).toMatchObject({ file, keyFile: `${file}.key`, keySource: join(f.t.env.SESAME_DATA_DIR!, 'master.key') });
    expect(summary.bytes).toBe(statSync(file).size);
    expect(summary.pages).toBeGreaterThan(0);
    expect(summary.tables).toMatchObject({ templates: 2, domains: 1, sender_addresses: 1 });
    expect(summary.tables.messages).toBeGreaterThanOrEqual(1 + acceptedBefore);
    expect(summary.restore).toContain('master.key');
    // The key goes with it, as master.key holds it, readable by its owner only.
    expect(readFileSync(summary.keyFile, 'utf8')).toBe(readFileSync(join(f.t.env.SESAME_DATA_DIR!, 'master.key'), 'utf8'));
    expect(statSync(summary.keyFile).mode & 0o777).toBe(0o600);
    // One self-contained file: no log or partial file beside it.
    expect(readdirSync(out).sort()).toEqual(['sesame-backup.db', 'sesame-backup.db.key']);
    expect(r.stderr).toContain('"msg":"backup written"');

    // A second run never overwrites the backup.
    const { mtimeMs, size } = statSync(file);
    const again = await runCli(['backup', '--to', file], f.t.env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists');
    expect(statSync(file)).toMatchObject({ mtimeMs, size });

    // The restore, as documented: the file as sesame.db and the key as master.key in an empty data folder.
    const data = tempDir('sesame-restored-');
    copyFileSync(file, join(data, 'sesame.db'));
    copyFileSync(summary.keyFile, join(data, 'master.key'));
    chmodSync(join(data, 'master.key'), 0o600);
    restored = await startTestApp('sqlite', {}, { env: { ...f.t.env, SESAME_DATA_DIR: data }, cleanup: async () => {} }, ['api', 'worker', 'smtp']);
    // The first account's SecretKey (sealed in the store) opens under the restored key.
    const call = sdkClient('v4:TC3', restored.endpoint, f.t.creds);
    const { RequestId: _a, ...templates } = await call('ListEmailTemplates', { Offset: 0, Limit: 100 });
    const { RequestId: _b, ...original } = await f.call('ListEmailTemplates', { Offset: 0, Limit: 100 });
    expect(templates).toEqual(original);
    expect((await call('ListEmailIdentities', {})).EmailIdentities).toEqual([expect.objectContaining({ IdentityName: SENDER_DOMAIN, SendingEnabled: true })]);
    const day = new Date().toISOString().slice(0, 10);
    // Everything accepted before the backup began is in it.
    for (const id of [early, during[acceptedBefore - 1]!]) {
      expect((await call('GetSendEmailStatus', { RequestDate: day, Offset: 0, Limit: 10, MessageId: id })).EmailStatusList.length, id).toBeGreaterThan(0);
    }

    // The restored server signs with the domain's DKIM key, and the signature verifies.
    const from = f.mx1.received.length;
    await send(call, `restored@${RECIPIENT_DOMAIN}`);
    const got = await eventually(async () => f.mx1.received.slice(from).find((g) => g.to.includes(`restored@${RECIPIENT_DOMAIN}`)), 20_000, 'the mail sent from the restored store');
    expect(await f.verifyDkim(got.raw)).toEqual([expect.objectContaining({ result: 'pass', domain: SENDER_DOMAIN })]);
  });

  it('refuses a PostgreSQL store, pointing at pg_dump', async () => {
    const out = tempDir('sesame-backup-pg-');
    const r = await runCli(['backup', '--to', join(out, 'x.db')], { ...f.t.env, SESAME_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('pg_dump');
    expect(readdirSync(out)).toEqual([]);
  });
});
