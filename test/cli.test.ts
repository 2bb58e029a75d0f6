/**
 * The `sesame` command as users run it: first start, accounts created beside a running server,
 * configuration errors, graceful shutdown, crash durability, the master key.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestEnv, STORES, type TestEnv } from './helpers/app.js';
import { printedCredentials, runCli, startServe, type Served } from './helpers/process.js';
import { send, tc3Headers } from './helpers/raw.js';
import { b64, sdkClient } from './helpers/sdk.js';
import { MIGRATIONS } from '../src/store/migrations.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function env(store: 'sqlite' | 'postgres' = 'sqlite', extra: Record<string, string> = {}): Promise<TestEnv> {
  const e = await createTestEnv(store, extra);
  cleanups.push(() => e.cleanup());
  return e;
}

async function serve(e: TestEnv, extra: Record<string, string> = {}, args: string[] = [], ready?: RegExp): Promise<Served> {
  const s = await startServe({ ...e.env, ...extra }, args, ready);
  cleanups.push(() => s.kill('SIGKILL'));
  return s;
}

describe('first start and accounts', () => {
  it('creates and prints the first account once, and serves the SDK with it', async () => {
    const e = await env();
    const s = await serve(e);
    const creds = printedCredentials(s.output());
    expect(creds?.SecretId).toMatch(/^AKID[A-Za-z0-9]{32}$/);
    expect(creds?.SecretKey).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(String(creds?.AppId)).toMatch(/^\d{10}$/);
    const health = await send(`http://127.0.0.1:${s.port}/healthz`, { method: 'GET' });
    expect(health.status).toBe(200);
    const call = sdkClient('intl:HmacSHA256:POST', `127.0.0.1:${s.port}`, creds!);
    expect((await call('ListEmailTemplates', { Limit: 10, Offset: 0 })).TotalCount).toBe(0);
    // The log never carries the SecretKey.
    const logLines = s.output().split('\n').filter((l) => l.startsWith('{"level"'));
    expect(logLines.join('\n')).not.toContain(creds!.SecretKey);

    expect(await s.kill('SIGTERM')).toBe(0);
    const again = await serve(e);
    expect(printedCredentials(again.output())).toBeUndefined();
    // The SecretKey is stored sealed: the database file alone does not contain it.
    const { readFileSync } = await import('node:fs');
    const dbBytes = readFileSync(`${e.env.SESAME_DATA_DIR}/sesame.db`);
    expect(dbBytes.includes(Buffer.from(creds!.SecretKey))).toBe(false);
  });

  it('uses SESAME_SECRET_ID and SESAME_SECRET_KEY for the first account', async () => {
    const id = `AKID${'A1'.repeat(16)}`;
    const key = 'k3'.repeat(16);
    const e = await env('sqlite', { SESAME_SECRET_ID: id, SESAME_SECRET_KEY: key });
    const s = await serve(e);
    expect(printedCredentials(s.output())).toMatchObject({ SecretId: id, SecretKey: key });
    const call = sdkClient('v4:TC3', `127.0.0.1:${s.port}`, { SecretId: id, SecretKey: key });
    await expect(call('ListEmailTemplates', { Limit: 1, Offset: 0 })).resolves.toMatchObject({ TotalCount: 0 });
  });

  it.each(STORES)('account create works while the server runs (%s), and accounts are isolated', async (store) => {
    const e = await env(store);
    const s = await serve(e);
    const first = printedCredentials(s.output())!;
    const r = await runCli(['account', 'create', '--name', 'marketing'], e.env);
    expect(r.code, r.stderr).toBe(0);
    const second = JSON.parse(r.stdout) as { AppId: number; SecretId: string; SecretKey: string; Name: string };
    expect(second.Name).toBe('marketing');
    expect(second.SecretId).toMatch(/^AKID[A-Za-z0-9]{32}$/);
    expect(second.AppId).not.toBe(first.AppId);
    const a = sdkClient('v4:TC3', `127.0.0.1:${s.port}`, first);
    const b = sdkClient('intl:HmacSHA256:POST', `127.0.0.1:${s.port}`, second);
    const id = (await a('CreateEmailTemplate', { TemplateName: 'first only', TemplateContent: { Text: b64('x') } })).TemplateID;
    expect((await b('ListEmailTemplates', { Limit: 10, Offset: 0 })).TotalCount).toBe(0);
    await expect(b('GetEmailTemplate', { TemplateID: id })).rejects.toMatchObject({ code: 'InvalidParameterValue.TemplateNotExist' });

    const list = await runCli(['account', 'list'], e.env);
    const accounts = JSON.parse(list.stdout) as { AppId: number; Name: string }[];
    expect(accounts.map((x) => x.Name)).toEqual(['default', 'marketing']);
    expect(list.stdout).not.toContain(second.SecretKey);
  });

  it('reviews templates with the operator commands', async () => {
    const e = await env();
    const s = await serve(e);
    const created = JSON.parse((await runCli(['account', 'create', '--name', 'reviewed', '--template-review'], e.env)).stdout) as { AppId: number; SecretId: string; SecretKey: string };
    const call = sdkClient('v4:TC3', `127.0.0.1:${s.port}`, created);
    const id = (await call('CreateEmailTemplate', { TemplateName: 'promo', TemplateContent: { Text: b64('Sale {{item}}') } })).TemplateID;
    const pending = JSON.parse((await runCli(['template', 'pending', '--app-id', String(created.AppId)], e.env)).stdout) as { TemplateID: number; Variables: string[] }[];
    expect(pending).toEqual([{ TemplateID: id, TemplateName: 'promo', Variables: ['item'] }]);
    const rejected = await runCli(['template', 'reject', '--app-id', String(created.AppId), '--id', String(id), '--reason', 'Too vague'], e.env);
    expect(rejected.code, rejected.stderr).toBe(0);
    let meta = (await call('ListEmailTemplates', { Limit: 1, Offset: 0 })).TemplatesMetadata[0];
    expect(meta).toMatchObject({ TemplateStatus: 2, ReviewReason: 'Too vague' });
    expect((await runCli(['template', 'approve', '--app-id', String(created.AppId), '--id', String(id)], e.env)).code).toBe(0);
    meta = (await call('ListEmailTemplates', { Limit: 1, Offset: 0 })).TemplatesMetadata[0];
    expect(meta).toMatchObject({ TemplateStatus: 0 });
    const missing = await runCli(['template', 'approve', '--app-id', String(created.AppId), '--id', '999999'], e.env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('999999');
    // Tracking: on for new accounts (SESAME_TRACKING), changed per account.
    const listed = (): Promise<{ AppId: number; Tracking: string }[]> => runCli(['account', 'list'], e.env).then((r) => JSON.parse(r.stdout) as { AppId: number; Tracking: string }[]);
    expect((await listed()).find((a) => a.AppId === created.AppId)?.Tracking).toBe('on');
    expect((await runCli(['account', 'update', '--app-id', String(created.AppId), '--tracking', 'off'], e.env)).code).toBe(0);
    expect((await listed()).find((a) => a.AppId === created.AppId)?.Tracking).toBe('off');
    expect((await runCli(['account', 'update', '--app-id', String(created.AppId), '--tracking', 'maybe'], e.env)).code).not.toBe(0);
    // Kept inbound mail: none yet; an unknown one is said so.
    expect(JSON.parse((await runCli(['inbound', 'list'], e.env)).stdout)).toEqual([]);
    const unknown = await runCli(['inbound', 'show', '--id', '42'], e.env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('42');
    const noAccount = await runCli(['account', 'update', '--app-id', '1', '--template-review', 'off'], e.env);
    expect(noAccount.code).toBe(1);
    expect(noAccount.stderr).toContain('no account');
  });
});

describe('callbacks', () => {
  it('sets, lists and removes an account\'s callback from the command line; refuses a bad URL', async () => {
    const e = await env('sqlite', { SESAME_ALLOW_PRIVATE_NETWORKS: 'true' });
    const created = JSON.parse((await runCli(['account', 'create', '--name', 'hooks'], e.env)).stdout) as { AppId: number };
    const app = String(created.AppId);
    const set = await runCli(['callback', 'set', '--app-id', app, '--url', 'http://127.0.0.1:9/hook'], e.env);
    expect(set.code, set.stderr).toBe(0);
    const { Secret } = JSON.parse(set.stdout) as { Secret: string };
    expect(Secret).toMatch(/^whsec_/);
    const list = JSON.parse((await runCli(['callback', 'list', '--app-id', app], e.env)).stdout) as unknown[];
    expect(list).toEqual([{ Address: '', CallbackUrl: 'http://127.0.0.1:9/hook', Secret, Status: 1, CreatedTimestamp: expect.any(Number) }]);
    const refused = await runCli(['callback', 'set', '--app-id', app, '--url', 'ftp://x.test/'], e.env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('http');
    expect((await runCli(['callback', 'set', '--app-id', app, '--url', ''], e.env)).code).toBe(0);
    expect(JSON.parse((await runCli(['callback', 'list', '--app-id', app], e.env)).stdout)).toEqual([]);
  });
});

describe('API keys and suspended accounts', () => {
  type Key = { AppId: number; SecretId: string; SecretKey: string };
  const cli = async (e: TestEnv, args: string[]): Promise<string> => {
    const r = await runCli(args, e.env);
    expect(r.code, `sesame ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };

  it.each(STORES)('a key revoked or an account disabled by another process is refused from the very next request (%s)', async (store) => {
    const e = await env(store);
    const s = await serve(e);
    const first = printedCredentials(s.output())!;
    const appId = String(first.AppId);
    const second = JSON.parse(await cli(e, ['account', 'key', 'create', '--app-id', appId])) as Key;
    expect(second.AppId).toBe(first.AppId);
    expect(second.SecretId).toMatch(/^AKID[A-Za-z0-9]{32}$/);
    expect(second.SecretId).not.toBe(first.SecretId);
    const viaFirst = sdkClient('v4:TC3', `127.0.0.1:${s.port}`, first);
    const viaSecond = sdkClient('intl:HmacSHA256:POST', `127.0.0.1:${s.port}`, second);
    const list = { Limit: 10, Offset: 0 };
    // Both keys work, and the server has just used (and opened) each.
    await viaFirst('ListEmailTemplates', list);
    await viaSecond('ListEmailTemplates', list);

    const keys = await cli(e, ['account', 'key', 'list', '--app-id', appId]);
    expect((JSON.parse(keys) as { SecretId: string; CreatedAt: string }[]).map((k) => k.SecretId)).toEqual([first.SecretId, second.SecretId]);
    expect(keys).not.toContain(first.SecretKey);
    expect(keys).not.toContain(second.SecretKey);

    await cli(e, ['account', 'key', 'revoke', '--app-id', appId, '--secret-id', second.SecretId]);
    await expect(viaSecond('ListEmailTemplates', list)).rejects.toMatchObject({ code: 'AuthFailure.SecretIdNotFound' });
    await expect(viaFirst('ListEmailTemplates', list)).resolves.toMatchObject({ TotalCount: 0 });

    await cli(e, ['account', 'disable', '--app-id', appId]);
    await expect(viaFirst('ListEmailTemplates', list)).rejects.toMatchObject({ code: 'AuthFailure.UnauthorizedOperation' });
    const accounts = JSON.parse(await cli(e, ['account', 'list'])) as { AppId: number; Disabled: boolean }[];
    expect(accounts.find((a) => a.AppId === first.AppId)?.Disabled).toBe(true);
    await cli(e, ['account', 'enable', '--app-id', appId]);
    await expect(viaFirst('ListEmailTemplates', list)).resolves.toMatchObject({ TotalCount: 0 });
    expect((JSON.parse(await cli(e, ['account', 'list'])) as { Disabled: boolean }[]).every((a) => !a.Disabled)).toBe(true);
  });

  it('creates keys with a given SecretId, refuses malformed and used ones, and revokes only the account\'s own keys, the last one too', async () => {
    const e = await env();
    const a = JSON.parse(await cli(e, ['account', 'create', '--name', 'a'])) as Key;
    const b = JSON.parse(await cli(e, ['account', 'create', '--name', 'b'])) as Key;
    const chosen = `AKID${'Zz9'.repeat(10)}xy`;
    const made = JSON.parse(await cli(e, ['account', 'key', 'create', '--app-id', String(b.AppId), '--secret-id', chosen])) as Key;
    expect(made).toMatchObject({ AppId: b.AppId, SecretId: chosen });
    expect(made.SecretKey).toMatch(/^[A-Za-z0-9]{32}$/);
    const refusals: [string, RegExp][] = [
      [chosen, new RegExp(`^sesame: The SecretId ${chosen} is already in use\\.$`, 'm')],
      [a.SecretId, new RegExp(`^sesame: The SecretId ${a.SecretId} is already in use\\.$`, 'm')],
      [`AKID${'x'.repeat(31)}-`, /^sesame: A SecretId is AKID followed by 32 letters or digits\.$/m],
    ];
    for (const [bad, reason] of refusals) {
      const r = await runCli(['account', 'key', 'create', '--app-id', String(b.AppId), '--secret-id', bad], e.env);
      expect(r.code, bad).toBe(1);
      expect(r.stderr, bad).toMatch(reason);
    }
    // Another account's key is not found through this account.
    const other = await runCli(['account', 'key', 'revoke', '--app-id', String(b.AppId), '--secret-id', a.SecretId], e.env);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain(a.SecretId);
    expect((JSON.parse(await cli(e, ['account', 'key', 'list', '--app-id', String(a.AppId)])) as unknown[])).toHaveLength(1);
    // Every key of an account may go; the account stays, without API access until a key is made.
    await cli(e, ['account', 'key', 'revoke', '--app-id', String(b.AppId), '--secret-id', b.SecretId]);
    await cli(e, ['account', 'key', 'revoke', '--app-id', String(b.AppId), '--secret-id', chosen]);
    expect(JSON.parse(await cli(e, ['account', 'key', 'list', '--app-id', String(b.AppId)]))).toEqual([]);
    expect((JSON.parse(await cli(e, ['account', 'list'])) as { AppId: number }[]).map((x) => x.AppId)).toContain(b.AppId);
    for (const args of [['account', 'disable', '--app-id', '1'], ['account', 'key', 'list', '--app-id', '1']]) {
      const r = await runCli(args, e.env);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('no account');
    }
  });
});

describe('configuration', () => {
  it('refuses bad settings before anything starts, naming each one and what it allows', async () => {
    const e = await env();
    const r = await runCli(['serve'], { ...e.env, SESAME_HTTP_PORT: 'eighty', SESAME_DELIVERY: 'pigeon', SESAME_TIMEZONE: 'Mars/Olympus' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('SESAME_HTTP_PORT="eighty"');
    expect(r.stderr).toContain('a port number from 0 to 65535');
    expect(r.stderr).toContain('SESAME_DELIVERY="pigeon"');
    expect(r.stderr).toContain('one of mx, relay, capture');
    expect(r.stderr).toContain('SESAME_TIMEZONE');
    expect(r.stdout).not.toContain('listening');
    const { existsSync } = await import('node:fs');
    expect(existsSync(`${e.env.SESAME_DATA_DIR}/sesame.db`)).toBe(false);
  });

  it('prints the effective configuration with secrets masked', async () => {
    const e = await env();
    const r = await runCli(['config'], {
      ...e.env,
      SESAME_SECRET_ID: `AKID${'b'.repeat(32)}`,
      SESAME_SECRET_KEY: 'S'.repeat(32),
      SESAME_RELAY_URL: 'smtp://user:hunter2@relay.example.com:587',
      SESAME_MASTER_KEY: 'ab'.repeat(32),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('SESAME_REGIONS=ap-singapore,ap-hongkong,ap-guangzhou  (default)');
    expect(r.stdout).toContain('SESAME_SECRET_KEY=********');
    expect(r.stdout).toContain('SESAME_RELAY_URL=smtp://user:****@relay.example.com:587');
    expect(r.stdout).not.toContain('hunter2');
    expect(r.stdout).not.toContain('S'.repeat(32));
    expect(r.stdout).not.toContain('ab'.repeat(32));
  });

  it('reads an optional JSON config file, with the environment taking precedence', async () => {
    const e = await env();
    const { writeFileSync } = await import('node:fs');
    const file = `${e.env.SESAME_DATA_DIR}/sesame.json`;
    writeFileSync(file, JSON.stringify({ SESAME_TEMPLATE_LIMIT: 55, SESAME_TIMEZONE: 'Asia/Singapore' }));
    const r = await runCli(['config'], { ...e.env, SESAME_CONFIG: file, SESAME_TIMEZONE: 'UTC' });
    expect(r.stdout).toContain('SESAME_TEMPLATE_LIMIT=55\n');
    expect(r.stdout).toContain('SESAME_TIMEZONE=UTC');
    writeFileSync(file, JSON.stringify({ SESAME_NOPE: 1 }));
    const bad = await runCli(['config'], { ...e.env, SESAME_CONFIG: file });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('SESAME_NOPE');
  });

  it('refuses unknown roles, and runs only the roles asked for', async () => {
    const e = await env();
    const r = await runCli(['serve', '--roles', 'api,mailman'], e.env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('mailman');
    const s = await serve(e, {}, ['--roles', 'api']);
    expect(s.output()).not.toContain('"role":"smtp"');
    // The smtp role alone: submission (both ports) and the inbound listener, on a self-signed
    // certificate made at this first start, with a warning that says so.
    const smtp = await serve(e, {}, ['--roles', 'smtp']);
    expect(smtp.output()).toContain('SMTP submission listening');
    expect(smtp.output()).toContain('inbound SMTP listening');
    expect(smtp.output()).toContain('new self-signed certificate');
    expect(smtp.output()).not.toContain('HTTP API listening');
  });

  it('migrate applies the schema and reports it', async () => {
    const e = await env();
    const r = await runCli(['migrate'], e.env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ applied: MIGRATIONS.map((m) => m.version) });
    const again = await runCli(['migrate'], e.env);
    expect(JSON.parse(again.stdout)).toEqual({ applied: [] });
  });
});

describe('lifecycle', () => {
  it('finishes a request in flight on SIGTERM, then exits 0', async () => {
    const e = await env();
    const s = await serve(e);
    const creds = printedCredentials(s.output())!;
    // A signed request whose body arrives only after SIGTERM.
    const body = JSON.stringify({ TemplateName: 'in flight', TemplateContent: { Text: b64('still here') } });
    const signedResponse = sendTc3Split(s.port, creds, body, async () => {
      s.child.kill('SIGTERM');
      await s.waitFor(/draining: taking no new work/);
    });
    const answer = await signedResponse;
    expect(answer.Response.Error).toBeUndefined();
    expect(answer.Response.TemplateID).toBeGreaterThan(0);
    expect(await s.exited).toBe(0);
    // It was committed: a new start sees it.
    const again = await serve(e);
    const list = await sdkClient('v4:TC3', `127.0.0.1:${again.port}`, creds)('ListEmailTemplates', { Limit: 10, Offset: 0 });
    expect(list.TemplatesMetadata.map((m) => m.TemplateName)).toEqual(['in flight']);
  });

  it('logs JSON lines off a terminal, and lines for people when SESAME_LOG_FORMAT=pretty', async () => {
    const e = await env();
    const json = await serve(e);
    const jsonLines = json.output().split('\n').filter((l) => l.startsWith('{"level"'));
    expect(jsonLines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toContain('HTTP API listening');
    expect(await json.kill('SIGTERM')).toBe(0);
    const pretty = await serve(e, { SESAME_LOG_FORMAT: 'pretty' }, [], /INFO: ready/);
    const out = pretty.output();
    expect(out).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: HTTP API listening$/m);
    expect(out).toMatch(/^ {4}port: \d+$/m);
    expect(out.split('\n').some((l) => l.startsWith('{"level"'))).toBe(false);
    expect(await pretty.kill('SIGTERM')).toBe(0);
  });

  it.each(STORES)('keeps every acknowledged write through a SIGKILL (%s)', async (store) => {
    const e = await env(store);
    const s = await serve(e);
    const creds = printedCredentials(s.output())!;
    const call = sdkClient('v4:TC3', `127.0.0.1:${s.port}`, creds);
    const acknowledged: number[] = [];
    await Promise.all(Array.from({ length: 40 }, async (_, i) => {
      const r = await call('CreateEmailTemplate', { TemplateName: `t${i}`, TemplateContent: { Text: b64(`body ${i}`) } });
      acknowledged.push(r.TemplateID);
    }));
    await s.kill('SIGKILL');
    const again = await serve(e);
    const list = await sdkClient('v4:TC3', `127.0.0.1:${again.port}`, creds)('ListEmailTemplates', { Limit: 100, Offset: 0 });
    expect(list.TotalCount).toBe(40);
    expect(list.TemplatesMetadata.map((m) => m.TemplateID).sort()).toEqual(acknowledged.sort());
  });

  it('refuses a master key other than the one the store was created with', async () => {
    const e = await env();
    const s = await serve(e);
    await s.kill('SIGTERM');
    const r = await runCli(['serve'], { ...e.env, SESAME_MASTER_KEY: 'cd'.repeat(32) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('master key does not match');
  });

  it('reports the store unreachable on /healthz', async () => {
    const e = await env('postgres');
    const s = await serve(e);
    // A failure shows what the server printed (a crash would otherwise read as ECONNRESET).
    const withOutput = (err: Error): never => { throw new Error(`${err.message}; server output:\n${s.output()}`); };
    const ok = await send(`http://127.0.0.1:${s.port}/healthz`, { method: 'GET' }).catch(withOutput);
    expect(ok.status).toBe(200);
    // Drop the database under the running server.
    const pg = (await import('pg')).default;
    const name = new URL(e.env.SESAME_DATABASE_URL).pathname.slice(1);
    const drop = async (): Promise<void> => {
      const admin = new pg.Client({ connectionString: e.env.SESAME_DATABASE_URL.replace(/\/[^/]+$/, '/test') });
      admin.on('error', () => {});
      try {
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end().catch(() => undefined);
      }
    };
    // The test's own admin connection may be cut by a loaded PostgreSQL: that is not what is tested.
    await drop().catch(drop).catch((err: Error) => { throw new Error(`dropping the database failed: ${err.message}`); });
    const down = await send(`http://127.0.0.1:${s.port}/healthz`, { method: 'GET' }).catch(withOutput);
    expect(down.status).toBe(503);
  });
});

/** Sends a TC3 request whose body is written in two parts, running `between` in the middle. */
function sendTc3Split(port: number, creds: { SecretId: string; SecretKey: string }, body: string, between: () => Promise<void>): Promise<{ Response: Record<string, unknown> & { Error?: unknown; TemplateID?: number } }> {
  const url = `http://127.0.0.1:${port}/`;
  const bytes = Buffer.from(body);
  const headers = tc3Headers({ url, action: 'CreateEmailTemplate', body: bytes, secretId: creds.SecretId, secretKey: creds.SecretKey });
  return new Promise((resolve, reject) => {
    // Expect: 100-continue: the server answers "100 Continue" once it is handling the request,
    // which is the moment `between` runs; the body follows after.
    const req = request(url, { method: 'POST', headers: { ...headers, 'Content-Length': String(bytes.length), Expect: '100-continue' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString(); });
      res.on('end', () => resolve(JSON.parse(text) as { Response: Record<string, unknown> }));
    });
    req.on('error', reject);
    req.flushHeaders();
    req.once('continue', () => { between().then(() => req.end(bytes), reject); });
  });
}
