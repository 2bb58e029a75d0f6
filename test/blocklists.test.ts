/**
 * The bounce blocklist (filled through the service delivery will call, read and cleared through the
 * SDK) and the custom blocklist, on both stores.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDate } from '../src/lib/time.js';
import { STORES, startTestApp, type TestApp } from './helpers/app.js';
import { errorCode, sdkClient, type Caller } from './helpers/sdk.js';

const DAY = 86_400_000;
const TZ = 'Asia/Singapore';

describe.each(STORES)('blocklists on %s', (store) => {
  let t: TestApp;
  let call: Caller;
  let accountId: number;
  const today = formatDate(Date.now(), TZ);
  beforeAll(async () => {
    t = await startTestApp(store, { SESAME_TIMEZONE: TZ, SESAME_BLOCKLIST_DAYS: '14' });
    call = sdkClient('v4:TC3', t.endpoint, t.creds);
    accountId = (await t.app.services.accounts.byAppId(t.creds.AppId))!.id;
  });
  afterAll(async () => { await t?.stop(); });

  describe('bounce blocklist', () => {
    beforeAll(async () => {
      const bl = t.app.services.blocklists;
      const now = Date.now();
      await bl.recordHardBounce(accountId, 'Gone@Example.test', '550 5.1.1 The email account that you tried to reach does not exist', now - 2 * DAY);
      await bl.recordHardBounce(accountId, 'old@example.test', '550 5.1.1 no such user', now - 20 * DAY);
      for (let i = 0; i < 5; i++) await bl.recordHardBounce(accountId, `user${i}@bounce.test`, `550 user ${i} unknown`, now - i * 60_000);
    });

    it('lists hard bounces in a date range, newest first, with the ISP text', async () => {
      const r = await call('ListBlackEmailAddress', { StartDate: formatDate(Date.now() - 7 * DAY, TZ), EndDate: today, Limit: 10, Offset: 0 });
      expect(r.TotalCount).toBe(6);
      expect(r.BlackList[0]).toMatchObject({ EmailAddress: 'user0@bounce.test', IspDesc: '550 user 0 unknown' });
      expect(r.BlackList[0].BounceTime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      expect(r.BlackList[5]).toMatchObject({ EmailAddress: 'gone@example.test' });
      // The expired entry (20 days ago, blocklisted for 14) is gone.
      expect(r.BlackList.map((b) => b.EmailAddress)).not.toContain('old@example.test');
    });

    it('filters, pages and bounds the range', async () => {
      const start = formatDate(Date.now() - 7 * DAY, TZ);
      const f = await call('ListBlackEmailAddress', { StartDate: start, EndDate: today, Limit: 10, Offset: 0, EmailAddress: 'BOUNCE.test' });
      expect(f.TotalCount).toBe(5);
      const page = await call('ListBlackEmailAddress', { StartDate: start, EndDate: today, Limit: 2, Offset: 2 });
      expect(page.BlackList.map((b) => b.EmailAddress)).toEqual(['user2@bounce.test', 'user3@bounce.test']);
      expect(page.TotalCount).toBe(6);
      const onlyToday = await call('ListBlackEmailAddress', { StartDate: formatDate(Date.now() - 2 * DAY, TZ), EndDate: formatDate(Date.now() - 2 * DAY, TZ), Limit: 10, Offset: 0 });
      expect(onlyToday.BlackList.map((b) => b.EmailAddress)).toEqual(['gone@example.test']);
      // A LIKE wildcard in the filter is a literal character.
      expect((await call('ListBlackEmailAddress', { StartDate: start, EndDate: today, Limit: 10, Offset: 0, EmailAddress: '%' })).TotalCount).toBe(0);
    });

    it('refuses a bad range or page size', async () => {
      expect(await errorCode(call('ListBlackEmailAddress', { StartDate: '2026-02-30', EndDate: today, Limit: 10, Offset: 0 }))).toBe('InvalidParameterValue.WrongDate');
      expect(await errorCode(call('ListBlackEmailAddress', { StartDate: today, EndDate: '2020-01-01', Limit: 10, Offset: 0 }))).toBe('InvalidParameterValue.WrongDate');
      expect(await errorCode(call('ListBlackEmailAddress', { StartDate: 'yesterday', EndDate: today, Limit: 10, Offset: 0 }))).toBe('InvalidParameterValue.WrongDate');
      expect(await errorCode(call('ListBlackEmailAddress', { StartDate: today, EndDate: today, Limit: 101, Offset: 0 }))).toBe('FailedOperation.InvalidLimit');
    });

    it('blocks sending while listed, and DeleteBlackList lifts it', async () => {
      const bl = t.app.services.blocklists;
      expect([...await bl.blocked(accountId, ['gone@example.test', 'old@example.test', 'fine@example.test'])]).toEqual(['gone@example.test']);
      await call('DeleteBlackList', { EmailAddressList: ['GONE@example.test', 'never@listed.test'] });
      expect((await bl.blocked(accountId, ['gone@example.test'])).size).toBe(0);
      expect(await errorCode(call('DeleteBlackList', { EmailAddressList: [] }))).toBe('MissingParameter');
    });
  });

  describe('custom blocklist', () => {
    it('adds addresses and counts each outcome exactly', async () => {
      const r = await call('CreateCustomBlacklist', {
        Emails: ['spam@trap.test', 'SPAM@trap.test', 'not-an-address', `${'x'.repeat(250)}@trap.test`, 'other@trap.test', 'spam@trap.test'],
      });
      expect(r).toMatchObject({ TotalCount: 6, ValidCount: 2, RepeatCount: 2, InvalidCount: 1, TooLongCount: 1 });
      const again = await call('CreateCustomBlacklist', { Emails: ['other@trap.test', 'third@trap.test'], ExpireDate: today });
      expect(again).toMatchObject({ TotalCount: 2, ValidCount: 1, RepeatCount: 1, InvalidCount: 0, TooLongCount: 0 });
    });

    it('lists active, expired and all entries, with filter and paging', async () => {
      // An entry that expired yesterday (the API refuses past dates, so it is written as time would leave it).
      await t.app.services.db.run('INSERT INTO custom_blocklist (account_id, email, expire_date, created_at) VALUES (?, ?, ?, ?)',
        [accountId, 'expired@trap.test', formatDate(Date.now() - DAY, TZ), Date.now()]);
      const all = await call('ListCustomBlacklist', { Offset: 0, Limit: 10, Status: 2 });
      expect(all.TotalCount).toBe(4);
      // Newest first; the addresses of one call are listed in address order.
      expect(all.Data.map((d) => [d.Email, d.Status])).toEqual([
        ['expired@trap.test', 0], ['third@trap.test', 1], ['spam@trap.test', 1], ['other@trap.test', 1],
      ]);
      expect(all.Data[1].ExpireDate).toBe(today);
      expect(all.Data[3].ExpireDate).toBe('');
      expect(all.Data[0].CreateTime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      expect((await call('ListCustomBlacklist', { Offset: 0, Limit: 10, Status: 1 })).TotalCount).toBe(3);
      expect((await call('ListCustomBlacklist', { Offset: 0, Limit: 10, Status: 0 })).Data.map((d) => d.Email)).toEqual(['expired@trap.test']);
      expect((await call('ListCustomBlacklist', { Offset: 0, Limit: 10, Status: 2, Email: 'SPAM' })).Data.map((d) => d.Email)).toEqual(['spam@trap.test']);
      expect((await call('ListCustomBlacklist', { Offset: 1, Limit: 1, Status: 2 })).Data.map((d) => d.Email)).toEqual(['third@trap.test']);
      expect(await errorCode(call('ListCustomBlacklist', { Offset: 0, Limit: 101, Status: 2 }))).toBe('FailedOperation.InvalidLimit');
      expect(await errorCode(call('ListCustomBlacklist', { Offset: 0, Limit: 10, Status: 3 }))).toBe('InvalidParameterValue');
      const bl = t.app.services.blocklists;
      expect([...await bl.blocked(accountId, ['spam@trap.test', 'expired@trap.test', 'third@trap.test'])].sort()).toEqual(['spam@trap.test', 'third@trap.test']);
    });

    it('updates and deletes entries', async () => {
      const list = await call('ListCustomBlacklist', { Offset: 0, Limit: 10, Status: 2, Email: 'other@' });
      const id = list.Data[0].Id;
      await call('UpdateCustomBlackList', { Id: id, Email: 'renamed@trap.test', ExpireDate: '2099-12-31' });
      const after = await call('ListCustomBlacklist', { Offset: 0, Limit: 10, Status: 2, Email: 'renamed' });
      expect(after.Data[0]).toMatchObject({ Id: id, Email: 'renamed@trap.test', ExpireDate: '2099-12-31', Status: 1 });
      await call('UpdateCustomBlackList', { Id: id, Email: 'renamed@trap.test' });
      expect((await call('ListCustomBlacklist', { Offset: 0, Limit: 10, Status: 2, Email: 'renamed' })).Data[0].ExpireDate).toBe('');
      expect(await errorCode(call('UpdateCustomBlackList', { Id: id, Email: 'bad address' }))).toBe('InvalidParameterValue.IllegalEmailAddress');
      expect(await errorCode(call('UpdateCustomBlackList', { Id: id, Email: 'renamed@trap.test', ExpireDate: '2020-01-01' }))).toBe('InvalidParameterValue.WrongDate');
      expect(await errorCode(call('UpdateCustomBlackList', { Id: id, Email: 'spam@trap.test' }))).toBe('InvalidParameterValue.RepeatEmailAddress');
      expect(await errorCode(call('UpdateCustomBlackList', { Id: 99_999_999, Email: 'x@trap.test' }))).toBe('InvalidParameterValue');
      await call('DeleteCustomBlackList', { Emails: ['renamed@trap.test', 'SPAM@trap.test'] });
      expect((await call('ListCustomBlacklist', { Offset: 0, Limit: 10, Status: 2 })).Data.map((d) => d.Email)).toEqual(['expired@trap.test', 'third@trap.test']);
    });

    it('answers each error with its code', async () => {
      expect(await errorCode(call('CreateCustomBlacklist', { Emails: [] }))).toBe('MissingParameter.EmailsNecessary');
      expect(await errorCode(call('CreateCustomBlacklist', { Emails: ['a@b.test'], ExpireDate: '2026-13-01' }))).toBe('InvalidParameterValue.WrongDate');
      expect(await errorCode(call('CreateCustomBlacklist', { Emails: ['a@b.test'], ExpireDate: '2001-01-01' }))).toBe('InvalidParameterValue.WrongDate');
      expect(await errorCode(call('CreateCustomBlacklist', { Emails: Array.from({ length: 20_001 }, (_, i) => `u${i}@b.test`) })))
        .toBe('LimitExceeded.ReceiverDetailRequestLimit');
      expect(await errorCode(call('DeleteCustomBlackList', { Emails: [] }))).toBe('MissingParameter.EmailsNecessary');
    });

    it('takes 20,000 addresses in one request', async () => {
      const emails = Array.from({ length: 20_000 }, (_, i) => `bulk${i}@bulk.test`);
      const r = await call('CreateCustomBlacklist', { Emails: emails });
      expect(r).toMatchObject({ TotalCount: 20_000, ValidCount: 20_000, RepeatCount: 0 });
      expect((await call('ListCustomBlacklist', { Offset: 0, Limit: 1, Status: 1, Email: 'bulk.test' })).TotalCount).toBe(20_000);
      await call('DeleteCustomBlackList', { Emails: emails });
    });
  });

  it('shows another account none of either list and lets it change none', async () => {
    const other = await t.app.services.accounts.create({ name: 'stranger' });
    const b = sdkClient('intl:HmacSHA256:POST', t.endpoint, other);
    const otherId = (await t.app.services.accounts.byAppId(other.AppId))!.id;
    const start = formatDate(Date.now() - 30 * DAY, TZ);
    expect((await b('ListBlackEmailAddress', { StartDate: start, EndDate: today, Limit: 10, Offset: 0 })).TotalCount).toBe(0);
    expect((await b('ListCustomBlacklist', { Offset: 0, Limit: 10, Status: 2 })).TotalCount).toBe(0);
    const mine = await call('ListCustomBlacklist', { Offset: 0, Limit: 10, Status: 2 });
    expect(await errorCode(b('UpdateCustomBlackList', { Id: mine.Data[0].Id, Email: 'stolen@trap.test' }))).toBe('InvalidParameterValue');
    await b('DeleteCustomBlackList', { Emails: ['third@trap.test'] });
    await b('DeleteBlackList', { EmailAddressList: ['user1@bounce.test'] });
    expect((await call('ListCustomBlacklist', { Offset: 0, Limit: 10, Status: 2 })).Data.map((d) => d.Email)).toContain('third@trap.test');
    expect([...await t.app.services.blocklists.blocked(accountId, ['user1@bounce.test', 'third@trap.test'])].sort()).toEqual(['third@trap.test', 'user1@bounce.test']);
    // One account's lists never block another's sending.
    expect((await t.app.services.blocklists.blocked(otherId, ['user1@bounce.test', 'third@trap.test'])).size).toBe(0);
  });
});
