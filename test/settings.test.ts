/**
 * The account's own API keys and settings (extension actions for the console's Settings screen),
 * on both stores, through the SDK and the console: keys listed with the one in use, created up to
 * the cap and working at once, deleted and refused from the next request on; the key in use and
 * another account's keys never deleted; a console session bound to its key; tracking turned off and
 * on by the account, as the mail that arrives shows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from './helpers/app.js';
import { consoleClient } from './helpers/console.js';
import { errorCode, errorOf, extensionCall, sdkClient } from './helpers/sdk.js';
import { eventually, receivedMail, startSending, type SendingFixture } from './helpers/sending.js';
import { API_KEY_LIMIT } from '../src/services/accounts.js';

type Creds = { SecretId: string; SecretKey: string };

describe.each(STORES)('account settings and API keys on %s', (store) => {
  let f: SendingFixture;
  const keys = (creds: Creds) => extensionCall(f.t.endpoint, creds, 'ListApiKeys', {});
  const createKey = (creds: Creds) => extensionCall(f.t.endpoint, creds, 'CreateApiKey', {});
  const deleteKey = (creds: Creds, SecretId: string) => extensionCall(f.t.endpoint, creds, 'DeleteApiKey', { SecretId });
  /** A standard action signed with `creds`: it succeeds while the key stands. */
  const works = (creds: Creds) => sdkClient('v4:TC3', f.t.endpoint, creds)('ListEmailTemplates', { Limit: 1, Offset: 0 });
  /** An account of its own with its first key. */
  const account = (name: string) => f.t.app.services.accounts.create({ name });

  beforeAll(async () => { f = await startSending(store); });
  afterAll(async () => { await f?.stop(); });

  it('ListApiKeys shows the account\'s keys with the one signing as Current, and no secret', async () => {
    const before = Math.floor(Date.now() / 1000);
    const a = await account('lister');
    const r = await keys(a);
    expect(r.TotalCount).toBe(1);
    expect(r.ApiKeyList).toEqual([{ SecretId: a.SecretId, CreatedTimestamp: expect.any(Number), Current: true }]);
    expect(r.ApiKeyList[0].CreatedTimestamp).toBeGreaterThanOrEqual(before);
    expect(r.ApiKeyList[0].CreatedTimestamp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(JSON.stringify(r)).not.toContain(a.SecretKey);
  });

  it('CreateApiKey answers a key that works at once; its SecretKey is never listed', async () => {
    const a = await account('creator');
    const b = await createKey(a);
    expect(b.SecretId).toMatch(/^AKID[A-Za-z0-9]{32}$/);
    expect(b.SecretKey.length).toBeGreaterThanOrEqual(32);
    await works(b);
    const seenByB = await keys(b);
    expect(seenByB.ApiKeyList.map((k) => [k.SecretId, k.Current])).toEqual([[a.SecretId, false], [b.SecretId, true]]);
    const seenByA = await keys(a);
    expect(seenByA.ApiKeyList.map((k) => [k.SecretId, k.Current])).toEqual([[a.SecretId, true], [b.SecretId, false]]);
    for (const listed of [seenByA, seenByB]) expect(JSON.stringify(listed)).not.toContain(b.SecretKey);
  });

  it('DeleteApiKey refuses the deleted key from the next request on; the key signing it is refused; rotation works', async () => {
    const a = await account('rotator');
    const b = await createKey(a);
    await works(b);
    expect(await deleteKey(a, b.SecretId)).toEqual({ RequestId: expect.any(String) });
    expect(await errorCode(works(b))).toBe('AuthFailure.SecretIdNotFound');
    expect(await errorCode(keys(b))).toBe('AuthFailure.SecretIdNotFound');
    // Gone: a second delete finds nothing.
    expect(await errorCode(deleteKey(a, b.SecretId))).toBe('ResourceNotFound');

    const self = await errorOf(deleteKey(a, a.SecretId));
    expect(self.code).toBe('ResourceInUse');
    expect(self.message).toMatch(/another key/);
    await works(a);

    // Rotation: a new key, used to delete the old one.
    const c = await createKey(a);
    await deleteKey(c, a.SecretId);
    expect(await errorCode(works(a))).toBe('AuthFailure.SecretIdNotFound');
    expect((await keys(c)).ApiKeyList).toEqual([{ SecretId: c.SecretId, CreatedTimestamp: expect.any(Number), Current: true }]);
  });

  it('DeleteApiKey answers another account\'s key as it answers a key that does not exist, and leaves it working', async () => {
    const a = await account('deleter');
    const neighbour = await account('neighbour');
    const theirs = await errorOf(deleteKey(a, neighbour.SecretId));
    const none = await errorOf(deleteKey(a, `AKID${'x'.repeat(32)}`));
    expect(theirs.code).toBe('ResourceNotFound');
    expect(none.code).toBe('ResourceNotFound');
    expect(theirs.message.replace(neighbour.SecretId, '…')).toBe(none.message.replace(`AKID${'x'.repeat(32)}`, '…'));
    await works(neighbour);
    expect((await keys(neighbour)).TotalCount).toBe(1);
    expect(await errorCode(deleteKey(a, ''))).toBe('ResourceNotFound');
  });

  it(`CreateApiKey stops at ${API_KEY_LIMIT} keys (LimitExceeded); deleting one makes room`, async () => {
    const a = await account('collector');
    const made = [];
    for (let i = 1; i < API_KEY_LIMIT; i++) made.push(await createKey(a));
    const full = await errorOf(createKey(a));
    expect(full.code).toBe('LimitExceeded');
    expect(full.message).toContain(String(API_KEY_LIMIT));
    expect((await keys(a)).TotalCount).toBe(API_KEY_LIMIT);
    await deleteKey(a, made[0].SecretId);
    await works(await createKey(a));
    expect(await errorCode(createKey(a))).toBe('LimitExceeded');
  });

  it('a console session: Current is the key it signed in with, which it cannot delete, and it ends once another key deletes it', async () => {
    const c = consoleClient(f.t.url);
    const a = await account('console user');
    const b = await createKey(a);
    const s = await c.signIn(b);
    const listed = await c.action(s, 'ListApiKeys');
    expect((listed.body.Response.ApiKeyList as { SecretId: string; Current: boolean }[]).map((k) => [k.SecretId, k.Current])).toEqual([[a.SecretId, false], [b.SecretId, true]]);
    const self = await c.action(s, 'DeleteApiKey', { SecretId: b.SecretId });
    expect(self.body.Response.Error?.Code).toBe('ResourceInUse');
    // The session deletes another key: refused from the next request on.
    expect((await c.action(s, 'DeleteApiKey', { SecretId: a.SecretId })).body.Response.Error).toBeUndefined();
    expect(await errorCode(works(a))).toBe('AuthFailure.SecretIdNotFound');
    // A key it creates deletes the session's own: the session ends.
    const created = (await c.action(s, 'CreateApiKey')).body.Response as Creds;
    await deleteKey(created, b.SecretId);
    const after = await c.action(s, 'ListApiKeys');
    expect(after.status).toBe(401);
    expect(after.body.Response.Error?.Code).toBe('AuthFailure.TokenFailure');
  });

  it('GetAccountSettings shows tracking, template review and Simple; UpdateAccountSettings refuses what is not 0 or 1', async () => {
    const a = await account('settings');
    const get = () => extensionCall(f.t.endpoint, a, 'GetAccountSettings', {});
    expect(await get()).toEqual({ Tracking: 1, TemplateReview: 0, Simple: 1, RequestId: expect.any(String) });
    await f.t.app.services.accounts.update(a.AppId, { templateReview: true });
    expect(await get()).toMatchObject({ Tracking: 1, TemplateReview: 1, Simple: 0 });
    const update = (req: unknown) => extensionCall(f.t.endpoint, a, 'UpdateAccountSettings', req as { Tracking: number });
    for (const bad of ['yes', 2, -1, 0.5, true]) expect(await errorCode(update({ Tracking: bad })), String(bad)).toBe('InvalidParameterValue');
    for (const absent of [{}, { Tracking: null }]) expect(await errorCode(update(absent))).toBe('MissingParameter');
    expect(await get()).toMatchObject({ Tracking: 1 });
    await update({ Tracking: 0 });
    expect(await get()).toMatchObject({ Tracking: 0 });
  });

  it('UpdateAccountSettings turns tracking off (no pixel, links as written) and on again (the pixel is back)', async () => {
    const { services } = f.t.app;
    const accountId = (await services.accounts.byAppId(f.t.creds.AppId))!.id;
    const html = async (to: string): Promise<string> => {
      const before = f.mx1.received.length;
      await f.call('SendEmail', {
        FromEmailAddress: f.sender, Destination: [to], Subject: 'Settings',
        Template: { TemplateID: f.templateId, TemplateData: '{"name":"Ann","code":"42"}' },
      });
      return String((await receivedMail(f, to, before)).html);
    };
    const setTracking = (Tracking: number) => extensionCall(f.t.endpoint, f.t.creds, 'UpdateAccountSettings', { Tracking });

    await setTracking(0);
    expect((await extensionCall(f.t.endpoint, f.t.creds, 'GetAccountSettings', {})).Tracking).toBe(0);
    const off = await html('untracked@dest.test');
    expect(off).toContain('your code is <b>42</b>');
    expect(off).not.toMatch(/\/t\/[oc]\//);

    await setTracking(1);
    // The worker keeps an account's standing up to 5 s where the store cannot say it changed
    // (PostgreSQL): the bound of `sesame account update --tracking` too.
    await eventually(async () => (await services.rules.standing(accountId, 5_000)).tracking, 10_000, 'the worker to see tracking on');
    expect(await html('tracked@dest.test')).toMatch(/<img src="[^"]+\/t\/o\/[^"]+"/);
  });
});
