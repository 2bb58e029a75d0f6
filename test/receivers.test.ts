/**
 * Recipient groups through the official SDK on both stores: creating, uploading with and without
 * template data (exact counts, invalid addresses kept with their reason), the group's status while
 * an upload runs, listing and filtering, deleting, every error code, and tenant isolation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDate } from '../src/lib/time.js';
import { STORES, startTestApp, type TestApp } from './helpers/app.js';
import { errorCode, sdkClient, type Caller } from './helpers/sdk.js';

const TZ = 'Asia/Singapore';

describe.each(STORES)('recipient groups on %s', (store) => {
  let t: TestApp;
  let call: Caller;
  beforeAll(async () => {
    t = await startTestApp(store, { SESAME_TIMEZONE: TZ, SESAME_RECEIVER_LIMIT: '6', SESAME_RECEIVER_MAX_RECIPIENTS: '25000' });
    call = sdkClient('v4:TC3', t.endpoint, t.creds);
  });
  afterAll(async () => { await t?.stop(); });

  const group = async (name: string): Promise<number> => (await call('CreateReceiver', { ReceiversName: name, Desc: `${name} list` })).ReceiverId;

  it('uploads addresses with exact counts, keeps invalid ones with their reason, and lists them in order', async () => {
    const id = await group('customers');
    const listed = await call('ListReceivers', { Offset: 0, Limit: 10, KeyWord: 'custom' });
    expect(listed.Data).toEqual([expect.objectContaining({ ReceiverId: id, ReceiversName: 'customers', Desc: 'customers list', Count: 0, InvalidCount: 0, ReceiversStatus: 1 })]);
    expect(listed.Data[0].CreateTime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

    const r = await call('CreateReceiverDetail', {
      ReceiverId: id,
      Emails: ['Ann@Example.test', 'bob@example.test', 'ann@example.test', '', '  ', 'not an address', `${'x'.repeat(250)}@example.test`, 'carl@exämple.test'],
    });
    expect(r).toMatchObject({ TotalCount: 8, ValidCount: 3, TooLongCount: 1, EmptyEmailCount: 2, RepeatCount: 1 });
    // Uploading again: what the group holds already counts as repeated, the rest is added.
    const again = await call('CreateReceiverDetail', { ReceiverId: id, Emails: ['bob@example.test', 'dora@example.test'] });
    expect(again).toMatchObject({ TotalCount: 2, ValidCount: 1, RepeatCount: 1 });

    const d = await call('ListReceiverDetails', { ReceiverId: id, Offset: 0, Limit: 10 });
    expect(d).toMatchObject({ TotalCount: 5, ValidCount: 4, InvalidCount: 1 });
    expect(d.Data.map((x) => [x.Email, x.Status])).toEqual([
      ['ann@example.test', 1], ['bob@example.test', 1], ['not an address', 2], ['carl@xn--exmple-cua.test', 1], ['dora@example.test', 1],
    ]);
    expect(d.Data[2].Reason).toBe('not a valid email address');
    expect(d.Data[0].EmailId).toBeGreaterThan(0);
    expect((await call('ListReceivers', { Offset: 0, Limit: 10, Status: 3 })).Data.find((g) => g.ReceiverId === id)).toMatchObject({ Count: 5, InvalidCount: 1, ReceiversStatus: 3 });
  });

  it('filters and pages a group\'s addresses', async () => {
    const id = await group('paged');
    await call('CreateReceiverDetail', { ReceiverId: id, Emails: Array.from({ length: 30 }, (_, i) => (i % 10 === 9 ? `bad${i}` : `p${i}@page.test`)) });
    const page = await call('ListReceiverDetails', { ReceiverId: id, Offset: 5, Limit: 3 });
    expect(page.Data.map((x) => x.Email)).toEqual(['p5@page.test', 'p6@page.test', 'p7@page.test']);
    expect(page.TotalCount).toBe(30);
    expect((await call('ListReceiverDetails', { ReceiverId: id, Offset: 0, Limit: 100, Status: 2 })).Data.map((x) => x.Email)).toEqual(['bad9', 'bad19', 'bad29']);
    const fuzzy = await call('ListReceiverDetails', { ReceiverId: id, Offset: 0, Limit: 100, Email: 'P1' });
    expect(fuzzy.TotalCount).toBe(10);
    // Wildcards in the filter are taken literally.
    expect((await call('ListReceiverDetails', { ReceiverId: id, Offset: 0, Limit: 100, Email: '_' })).TotalCount).toBe(0);
    const today = formatDate(Date.now(), TZ);
    expect((await call('ListReceiverDetails', { ReceiverId: id, Offset: 0, Limit: 1, CreateTimeBegin: today, CreateTimeEnd: today })).TotalCount).toBe(30);
    expect((await call('ListReceiverDetails', { ReceiverId: id, Offset: 0, Limit: 1, CreateTimeEnd: '2020-01-01' })).TotalCount).toBe(0);
    expect((await call('ListReceiverDetails', { ReceiverId: id, Offset: 0, Limit: 1, CreateTimeBegin: `${today} 00:00:00` })).TotalCount).toBe(30);
    expect(await errorCode(call('ListReceiverDetails', { ReceiverId: id, Offset: 0, Limit: 101 }))).toBe('FailedOperation.InvalidLimit');
    expect(await errorCode(call('ListReceiverDetails', { ReceiverId: id, Offset: 0, Limit: 1, CreateTimeBegin: 'yesterday' }))).toBe('InvalidParameterValue.WrongDate');
    expect(await errorCode(call('ListReceiverDetails', { ReceiverId: id, Offset: 0, Limit: 1, Email: 'x'.repeat(51) }))).toBe('InvalidParameterValue');
  });

  it('takes per-recipient template data: JSON objects of text, at most 800 bytes, no HTML, the same names throughout', async () => {
    const id = await group('with data');
    const r = await call('CreateReceiverDetailWithData', {
      ReceiverId: id,
      Datas: [
        { Email: 'eve@data.test', TemplateData: JSON.stringify({ name: 'Eve', code: '1' }) },
        { Email: 'fay@data.test', TemplateData: JSON.stringify({ code: 2, name: 'Fay' }) },
      ],
    });
    expect(r).toMatchObject({ TotalCount: 2, ValidCount: 2 });
    const d = await call('ListReceiverDetails', { ReceiverId: id, Offset: 0, Limit: 10 });
    expect(d.Data.map((x) => JSON.parse(x.TemplateData) as unknown)).toEqual([{ name: 'Eve', code: '1' }, { code: '2', name: 'Fay' }]);

    const one = (data: string) => call('CreateReceiverDetailWithData', { ReceiverId: id, Datas: [{ Email: 'gus@data.test', TemplateData: data }] });
    expect(await errorCode(one(JSON.stringify({ name: 'x'.repeat(800), code: '1' })))).toBe('InvalidParameterValue.TemplateDataLenLimit');
    expect(await errorCode(one(JSON.stringify({ name: '<b>Gus</b>', code: '1' })))).toBe('InvalidParameterValue.InValidTemplateData');
    expect(await errorCode(one('not json'))).toBe('InvalidParameterValue.TemplateDataError');
    expect(await errorCode(one(JSON.stringify({ name: { first: 'Gus' }, code: '1' })))).toBe('InvalidParameterValue.TemplateDataError');
    // Names other than the group's, within one request or against the group.
    expect(await errorCode(one(JSON.stringify({ name: 'Gus' })))).toBe('InvalidParameterValue.TemplateDataInconsistent');
    expect(await errorCode(call('CreateReceiverDetailWithData', { ReceiverId: id, Datas: [
      { Email: 'h1@data.test', TemplateData: '{"name":"H","code":"1"}' }, { Email: 'h2@data.test', TemplateData: '{"name":"H"}' },
    ] }))).toBe('InvalidParameterValue.TemplateDataInconsistent');
    expect(await errorCode(call('CreateReceiverDetail', { ReceiverId: id, Emails: ['plain@data.test'] }))).toBe('InvalidParameterValue.TemplateDataInconsistent');
    // None of the refused requests added anything, and the group is free for the next upload.
    expect(await one(JSON.stringify({ name: 'Gus', code: '3' }))).toMatchObject({ ValidCount: 1 });
    expect((await call('ListReceiverDetails', { ReceiverId: id, Offset: 0, Limit: 10 })).TotalCount).toBe(3);
  });

  it('takes 20,000 addresses in one request, refuses more, and caps the group', async () => {
    const id = await group('big');
    const emails = Array.from({ length: 20_000 }, (_, i) => `user${i}@big.test`);
    expect(await call('CreateReceiverDetail', { ReceiverId: id, Emails: emails })).toMatchObject({ TotalCount: 20_000, ValidCount: 20_000 });
    expect(await errorCode(call('CreateReceiverDetail', { ReceiverId: id, Emails: [...emails, 'one@more.test'] }))).toBe('LimitExceeded.ReceiverDetailRequestLimit');
    // The group may hold 25,000 here.
    expect(await errorCode(call('CreateReceiverDetail', { ReceiverId: id, Emails: Array.from({ length: 5001 }, (_, i) => `more${i}@big.test`) }))).toBe('LimitExceeded.ReceiverDetailCountLimit');
    expect(await call('CreateReceiverDetail', { ReceiverId: id, Emails: Array.from({ length: 5000 }, (_, i) => `more${i}@big.test`) })).toMatchObject({ ValidCount: 5000 });
    expect(await errorCode(call('CreateReceiverDetail', { ReceiverId: id, Emails: [] }))).toBe('MissingParameter.EmailsNecessary');
  });

  it('shows a group as uploading while an upload holds it, refuses a second upload and a delete meanwhile, and frees it after a crash', async () => {
    const id = await group('busy');
    await call('CreateReceiverDetail', { ReceiverId: id, Emails: ['first@busy.test'] });
    // An upload that marked the group and then died with its process (the mark lasts five minutes).
    const db = t.app.services.db;
    await db.run('UPDATE receivers SET status = 2, upload_until = ? WHERE id = ?', [Date.now() + 60_000, id]);
    expect((await call('ListReceivers', { Offset: 0, Limit: 100, Status: 2 })).Data.map((g) => g.ReceiverId)).toEqual([id]);
    expect(await errorCode(call('CreateReceiverDetail', { ReceiverId: id, Emails: ['late@busy.test'] }))).toBe('OperationDenied.ReceiverIsOperating');
    expect(await errorCode(call('DeleteReceiver', { ReceiverId: id }))).toBe('OperationDenied.ReceiverIsOperating');
    // Its time is up: the group is as its addresses say, and takes uploads again.
    await db.run('UPDATE receivers SET upload_until = ? WHERE id = ?', [Date.now() - 1, id]);
    expect((await call('ListReceivers', { Offset: 0, Limit: 100, Status: 2 })).Data).toEqual([]);
    expect((await call('ListReceivers', { Offset: 0, Limit: 100, Status: 3 })).Data.map((g) => g.ReceiverId)).toContain(id);
    expect(await call('CreateReceiverDetail', { ReceiverId: id, Emails: ['late@busy.test'] })).toMatchObject({ ValidCount: 1 });
    expect((await call('ListReceivers', { Offset: 0, Limit: 100, KeyWord: 'busy' })).Data[0]).toMatchObject({ ReceiversStatus: 3, Count: 2 });
  });

  it('answers each error with its code', async () => {
    expect(await errorCode(call('CreateReceiver', { ReceiversName: '' }))).toBe('InvalidParameterValue.ReceiverNameIllegal');
    expect(await errorCode(call('CreateReceiver', { ReceiversName: 'x'.repeat(201) }))).toBe('InvalidParameterValue.ReceiverNameIllegal');
    expect(await errorCode(call('CreateReceiver', { ReceiversName: 'ok', Desc: 'd'.repeat(301) }))).toBe('InvalidParameterValue.ReceiverDescIllegal');
    expect(await errorCode(call('CreateReceiver', { ReceiversName: 'ok', Desc: '<script>' }))).toBe('InvalidParameterValue.ReceiverDescIllegal');
    expect(await errorCode(call('CreateReceiver', { ReceiversName: 'customers' }))).toBe('InvalidParameterValue.RepeatReceiverName');
    expect(await errorCode(call('CreateReceiverDetail', { ReceiverId: 999_999, Emails: ['a@b.test'] }))).toBe('OperationDenied.ReceiverNotExist');
    expect(await errorCode(call('ListReceiverDetails', { ReceiverId: 999_999, Offset: 0, Limit: 1 }))).toBe('OperationDenied.ReceiverNotExist');
    expect(await errorCode(call('DeleteReceiver', { ReceiverId: 999_999 }))).toBe('OperationDenied.ReceiverNotExist');
    expect(await errorCode(call('ListReceivers', { Offset: 0, Limit: 101 }))).toBe('FailedOperation.InvalidLimit');
    expect(await errorCode(call('ListReceivers', { Offset: 0, Limit: 10, Status: 4 }))).toBe('InvalidParameterValue');
    // This account may have 6 groups.
    await group('sixth');
    expect(await errorCode(call('CreateReceiver', { ReceiversName: 'seventh' }))).toBe('LimitExceeded.ExceedReceiverLimit');
  });

  it('pages groups newest first, and deletes a group with its addresses', async () => {
    const all = await call('ListReceivers', { Offset: 0, Limit: 100 });
    expect(all.TotalCount).toBe(6);
    const ids = all.Data.map((g) => g.ReceiverId);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    const page = await call('ListReceivers', { Offset: 1, Limit: 2 });
    expect(page.Data.map((g) => g.ReceiverId)).toEqual(ids.slice(1, 3));
    const paged = all.Data.find((g) => g.ReceiversName === 'paged')!.ReceiverId;
    await call('DeleteReceiver', { ReceiverId: paged });
    expect(await errorCode(call('ListReceiverDetails', { ReceiverId: paged, Offset: 0, Limit: 1 }))).toBe('OperationDenied.ReceiverNotExist');
    expect((await call('ListReceivers', { Offset: 0, Limit: 100 })).TotalCount).toBe(5);
    // The name is free again.
    await group('paged');
  });

  it('shows another account none of the groups and lets it change none', async () => {
    const other = await t.app.services.accounts.create({ name: 'stranger' });
    const b = sdkClient('intl:HmacSHA256:POST', t.endpoint, other);
    expect((await b('ListReceivers', { Offset: 0, Limit: 100 })).TotalCount).toBe(0);
    const mine = (await call('ListReceivers', { Offset: 0, Limit: 100, KeyWord: 'customers' })).Data[0].ReceiverId;
    expect(await errorCode(b('ListReceiverDetails', { ReceiverId: mine, Offset: 0, Limit: 10 }))).toBe('OperationDenied.ReceiverNotExist');
    expect(await errorCode(b('CreateReceiverDetail', { ReceiverId: mine, Emails: ['spy@evil.test'] }))).toBe('OperationDenied.ReceiverNotExist');
    expect(await errorCode(b('DeleteReceiver', { ReceiverId: mine }))).toBe('OperationDenied.ReceiverNotExist');
    // The same name is free in another account.
    expect((await b('CreateReceiver', { ReceiversName: 'customers' })).ReceiverId).toBeGreaterThan(0);
    expect((await call('ListReceiverDetails', { ReceiverId: mine, Offset: 0, Limit: 10 })).TotalCount).toBe(5);
  });
});
