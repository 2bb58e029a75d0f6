/**
 * The console's HTTP API on both stores, as a browser uses it: sign-in with SecretId and SecretKey
 * (a session cookie with its attributes, a CSRF token), the account's actions through the same
 * handlers as the SDK (same results, same error codes), CSRF and cross-site refusals, sign-out, a
 * stale session, a revoked key, throttled failed sign-ins, and one account never seeing another's data.
 */
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestApp, type TestApp } from './helpers/app.js';
import { consoleClient, type ConsoleAnswer, type ConsoleClient } from './helpers/console.js';
import { b64, sdkClient } from './helpers/sdk.js';

describe.each(STORES)('console API on %s', (store) => {
  let t: TestApp;
  let c: ConsoleClient;

  // Three failures lock a network out (the default is ten), so the throttle's delays stay short.
  // The server's time zone is told to the page, which shows the API's times in it.
  beforeAll(async () => {
    t = await startTestApp(store, { SESAME_SMTP_AUTH_MAX_FAILURES: '3', SESAME_TIMEZONE: 'Europe/Berlin' });
    c = consoleClient(t.url);
  });
  afterAll(async () => { await t?.stop(); });

  it('signs in with SecretId and SecretKey: an HttpOnly, SameSite=Strict session cookie and a CSRF token; wrong keys are refused', async () => {
    const wrong = await c.request('sign-in', { body: { SecretId: t.creds.SecretId, SecretKey: `${t.creds.SecretKey}x` } });
    expect(wrong.status).toBe(401);
    expect(wrong.body.Response.Error?.Code).toBe('AuthFailure.SecretIdNotFound');
    expect(wrong.cookie).toBeNull();
    const s = await c.signIn(t.creds);
    expect(s.setCookie).toMatch(/^sesame_console=[A-Za-z0-9_-]{43}; Path=\/console; HttpOnly; SameSite=Strict; Max-Age=43\d{3}$/);
    expect(s.csrf).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const again = await c.request('session', { method: 'GET', cookie: s.cookie });
    expect(again.body.Response).toMatchObject({ AppId: t.creds.AppId, CsrfToken: s.csrf, TimeZone: 'Europe/Berlin' });
  });

  it('runs the account\'s actions through the same handlers as the SDK, with the same error codes', async () => {
    const s = await c.signIn(t.creds);
    const created = await c.action(s, 'CreateEmailTemplate', { TemplateName: 'from the console', TemplateContent: { Text: b64('Hi {{name}}') } });
    expect(created.status).toBe(200);
    const id = created.body.Response.TemplateID as number;
    expect(id).toBeGreaterThan(0);
    const viaSdk = await sdkClient('v4:TC3', t.endpoint, t.creds)('GetEmailTemplate', { TemplateID: id });
    expect(viaSdk.TemplateName).toBe('from the console');
    const missing = await c.action(s, 'CreateEmailTemplate', { TemplateName: 'x' });
    expect(missing.body.Response.Error?.Code).toBe('MissingParameter');
    const unknown = await c.action(s, 'DropEverything');
    expect(unknown.body.Response.Error?.Code).toBe('InvalidAction');
    expect(typeof missing.body.Response.RequestId).toBe('string');
  });

  it('refuses a request without the CSRF token, a cross-site form post, another origin, and no session', async () => {
    const s = await c.signIn(t.creds);
    const list = { Action: 'ListEmailTemplates', Params: { Limit: 10, Offset: 0 } };
    expect((await c.request('action', { cookie: s.cookie, body: list })).status).toBe(403);
    expect((await c.request('action', { cookie: s.cookie, csrf: 'x'.repeat(32), body: list })).status).toBe(403);
    // What an HTML form on another site can send: urlencoded, no custom header.
    expect((await c.request('action', { cookie: s.cookie, type: 'application/x-www-form-urlencoded', body: 'Action=DeleteEmailTemplate&TemplateID=1' })).status).toBe(415);
    expect((await c.request('action', { cookie: s.cookie, csrf: s.csrf, origin: 'https://evil.example', body: list })).status).toBe(403);
    expect((await c.request('action', { csrf: s.csrf, body: list })).status).toBe(401);
    expect((await c.request('action', { cookie: s.cookie, csrf: s.csrf, origin: t.url.replace(/\/$/, ''), body: list })).status).toBe(200);
  });

  it('ends a session at sign-out, at its expiry, and when its key is revoked', async () => {
    const s = await c.signIn(t.creds);
    expect((await c.request('sign-out', { cookie: s.cookie, csrf: s.csrf })).cookie).toMatch(/^sesame_console=; .*Max-Age=0/);
    expect((await c.action(s, 'ListEmailTemplates', { Limit: 1, Offset: 0 })).status).toBe(401);

    const stale = await c.signIn(t.creds);
    await t.app.services.db.run('UPDATE console_sessions SET expires_at = ?', [Date.now() - 1]);
    const r = await c.action(stale, 'ListEmailTemplates', { Limit: 1, Offset: 0 });
    expect(r.status).toBe(401);
    expect(r.body.Response.Error?.Code).toBe('AuthFailure.TokenFailure');

    const other = await t.app.services.accounts.create({ name: 'revoked' });
    const account = (await t.app.services.accounts.byAppId(other.AppId))!;
    const id = account.id;
    const fresh = await t.app.services.accounts.createKey(account);
    const s2 = await c.signIn({ SecretId: fresh.SecretId, SecretKey: fresh.SecretKey });
    expect((await c.action(s2, 'ListEmailTemplates', { Limit: 1, Offset: 0 })).status).toBe(200);
    await t.app.services.accounts.revokeKey(id, fresh.SecretId);
    expect((await c.action(s2, 'ListEmailTemplates', { Limit: 1, Offset: 0 })).status).toBe(401);
  });

  it('keeps each account to its own data', async () => {
    const a = await c.signIn(t.creds);
    const mine = (await c.action(a, 'CreateEmailTemplate', { TemplateName: 'only mine', TemplateContent: { Text: b64('secret') } })).body.Response.TemplateID as number;
    const otherCreds = await t.app.services.accounts.create({ name: 'neighbour' });
    const b = await c.signIn(otherCreds);
    const listed = (await c.action(b, 'ListEmailTemplates', { Limit: 100, Offset: 0 })).body.Response;
    expect(listed.TotalCount).toBe(0);
    expect((await c.action(b, 'GetEmailTemplate', { TemplateID: mine })).body.Response.Error?.Code).toBe('InvalidParameterValue.TemplateNotExist');
    // A's CSRF token does not work with B's session.
    expect((await c.request('action', { cookie: b.cookie, csrf: a.csrf, body: { Action: 'ListEmailTemplates', Params: { Limit: 1, Offset: 0 } } })).status).toBe(403);
  });

  it('says at sign-in and in the session whether the server keeps mail instead of sending it (SESAME_DELIVERY=capture)', async () => {
    const s = await c.signIn(t.creds);
    for (const r of [await c.request('sign-in', { body: { SecretId: t.creds.SecretId, SecretKey: t.creds.SecretKey } }), await c.request('session', { method: 'GET', cookie: s.cookie })]) {
      expect(r.body.Response.Capture).toBe(false);
    }
    // Mail is sent, not kept: nothing to list, and a missing one says why.
    expect((await c.action(s, 'ListCapturedEmails', { Offset: 0, Limit: 20 })).body.Response).toMatchObject({ CapturedEmailList: [], TotalCount: 0 });
    const none = (await c.action(s, 'GetCapturedEmail', { Id: 1 })).body.Response.Error;
    expect(none?.Code).toBe('ResourceNotFound');
    expect(none?.Message).toContain('SESAME_DELIVERY is not capture');
    const capturing = await startTestApp(store, { SESAME_DELIVERY: 'capture' });
    try {
      const cc = consoleClient(capturing.url);
      const signedIn = await cc.request('sign-in', { body: { SecretId: capturing.creds.SecretId, SecretKey: capturing.creds.SecretKey } });
      expect(signedIn.body.Response).toMatchObject({ AppId: capturing.creds.AppId, Capture: true });
      const cookie = signedIn.cookie!.split(';')[0];
      expect((await cc.request('session', { method: 'GET', cookie })).body.Response).toMatchObject({ AppId: capturing.creds.AppId, Capture: true });
    } finally {
      await capturing.stop();
    }
  });

  it('throttles failed sign-ins from a network: refused even with the right key once locked', async () => {
    const victim = await t.app.services.accounts.create({ name: 'guessed' });
    let last: ConsoleAnswer | undefined;
    for (let i = 0; i < 4; i++) last = await c.request('sign-in', { body: { SecretId: victim.SecretId, SecretKey: `guess-${i}` } });
    expect(last!.status).toBe(429);
    expect(last!.body.Response.Error?.Code).toBe('RequestLimitExceeded');
    expect((await c.request('sign-in', { body: { SecretId: victim.SecretId, SecretKey: victim.SecretKey } })).status).toBe(429);
  });

  it('serves the built console gzipped to a browser that takes it, and only what was built', async () => {
    const get = (path: string, encoding: string) => new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      httpGet(`${t.url}${path}`, { headers: { 'Accept-Encoding': encoding } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (x: Buffer) => chunks.push(x));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      }).on('error', reject);
    });
    const plain = await get('console/', 'identity');
    const script = /src="\/console\/(assets\/[^"]+\.js)"/.exec(plain.body.toString())![1];
    const raw = await get(`console/${script}`, 'identity');
    const zipped = await get(`console/${script}`, 'gzip, deflate, br');
    expect(raw.headers['content-encoding']).toBeUndefined();
    expect(zipped.headers).toMatchObject({ 'content-encoding': 'gzip', vary: 'Accept-Encoding', 'cache-control': 'public, max-age=31536000, immutable' });
    expect(gunzipSync(zipped.body).equals(raw.body)).toBe(true);
    expect(zipped.body.length).toBeLessThan(raw.body.length / 2);
    expect(zipped.headers['content-security-policy']).toContain("script-src 'self'");
    // A name that was not built is not found; any other path is the page (its screens are in the hash).
    expect((await get('console/assets/made-up.js', 'gzip')).status).toBe(404);
    expect((await get('console/anything/else', 'identity')).body.equals(plain.body)).toBe(true);
  });
});
