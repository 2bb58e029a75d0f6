/** Per-address unsubscribe settings through the official SDK, on both stores. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestAppWithDns, type DnsTestApp } from './helpers/app.js';
import { DomainPublisher } from './helpers/dns.js';
import { errorCode, sdkClient, type Caller } from './helpers/sdk.js';

describe.each(STORES)('unsubscribe settings on %s', (store) => {
  let t: DnsTestApp;
  let call: Caller;
  beforeAll(async () => {
    t = await startTestAppWithDns(store);
    call = sdkClient('intl:HmacSHA1:GET', t.endpoint, t.creds);
    await new DomainPublisher(t.dns).verified(call, 'letters.test');
    for (const a of ['weekly@letters.test', 'daily@letters.test', 'alerts@letters.test']) await call('CreateEmailAddress', { EmailAddress: a });
  });
  afterAll(async () => { await t?.stop(); });

  it('creates, lists, updates and deletes settings', async () => {
    await call('CreateAddressUnsubscribeConfig', { Address: 'weekly@letters.test', UnsubscribeConfig: '1', Status: 1 });
    await call('CreateAddressUnsubscribeConfig', { Address: 'Daily@Letters.test', UnsubscribeConfig: '7', Status: 0 });
    let list = await call('ListAddressUnsubscribeConfig', { Offset: 0, Limit: '10' });
    expect(list.Total).toBe(2);
    expect(list.AddressUnsubscribeConfigList).toEqual([
      { Address: 'weekly@letters.test', UnsubscribeConfig: '1', Status: 1 },
      { Address: 'daily@letters.test', UnsubscribeConfig: '7', Status: 0 },
    ]);
    await call('UpdateAddressUnsubscribeConfig', { Address: 'daily@letters.test', UnsubscribeConfig: '11', Status: 1 });
    list = await call('ListAddressUnsubscribeConfig', { Offset: 1, Limit: '1' });
    expect(list.AddressUnsubscribeConfigList).toEqual([{ Address: 'daily@letters.test', UnsubscribeConfig: '11', Status: 1 }]);
    expect(list.Total).toBe(2);
    await call('DeleteAddressUnsubscribeConfig', { Address: 'daily@letters.test' });
    expect((await call('ListAddressUnsubscribeConfig', {})).AddressUnsubscribeConfigList.map((s) => s.Address)).toEqual(['weekly@letters.test']);
  });

  it('answers each error with its code', async () => {
    expect(await errorCode(call('CreateAddressUnsubscribeConfig', { Address: 'weekly@letters.test', UnsubscribeConfig: '2', Status: 1 })))
      .toBe('InvalidParameterValue.RepeatCreation');
    expect(await errorCode(call('CreateAddressUnsubscribeConfig', { Address: 'nobody@letters.test', UnsubscribeConfig: '1', Status: 1 })))
      .toBe('InvalidParameterValue.NoSuchSender');
    expect(await errorCode(call('CreateAddressUnsubscribeConfig', { Address: 'alerts@letters.test', UnsubscribeConfig: '12', Status: 1 })))
      .toBe('InvalidParameterValue');
    expect(await errorCode(call('CreateAddressUnsubscribeConfig', { Address: 'alerts@letters.test', UnsubscribeConfig: '1', Status: 2 })))
      .toBe('InvalidParameterValue');
    expect(await errorCode(call('UpdateAddressUnsubscribeConfig', { Address: 'alerts@letters.test', UnsubscribeConfig: '1', Status: 1 })))
      .toBe('ResourceNotFound');
    expect(await errorCode(call('DeleteAddressUnsubscribeConfig', { Address: 'alerts@letters.test' }))).toBe('ResourceNotFound');
    expect(await errorCode(call('DeleteAddressUnsubscribeConfig', {}))).toBe('MissingParameter');
    expect(await errorCode(call('ListAddressUnsubscribeConfig', { Limit: '101' }))).toBe('FailedOperation.InvalidLimit');
    expect(await errorCode(call('ListAddressUnsubscribeConfig', { Limit: 'ten' }))).toBe('InvalidParameterValue');
  });

  it('combines with a send request: the request wins unless it says "0"', async () => {
    const accountId = (await t.app.services.accounts.byAppId(t.creds.AppId))!.id;
    const s = t.app.services.unsubscribeSettings;
    // weekly@ has English ("1") enabled.
    expect(await s.linkLanguage(accountId, 'weekly@letters.test', undefined)).toBe('1');
    expect(await s.linkLanguage(accountId, 'weekly@letters.test', '0')).toBe('1');
    expect(await s.linkLanguage(accountId, 'weekly@letters.test', '3')).toBe('3');
    // A disabled setting adds no link unless the request asks for one.
    await call('CreateAddressUnsubscribeConfig', { Address: 'alerts@letters.test', UnsubscribeConfig: '2', Status: 0 });
    expect(await s.linkLanguage(accountId, 'alerts@letters.test', undefined)).toBe('0');
    expect(await s.linkLanguage(accountId, 'alerts@letters.test', '5')).toBe('5');
    expect(await s.linkLanguage(accountId, 'daily@letters.test', undefined)).toBe('0');
  });

  it('deleting a sender address deletes its setting', async () => {
    await call('DeleteEmailAddress', { EmailAddress: 'alerts@letters.test' });
    expect((await call('ListAddressUnsubscribeConfig', {})).AddressUnsubscribeConfigList.map((x) => x.Address)).toEqual(['weekly@letters.test']);
  });

  it('shows another account none of these settings and lets it change none', async () => {
    const other = await t.app.services.accounts.create({ name: 'stranger' });
    const b = sdkClient('v4:TC3', t.endpoint, other);
    expect((await b('ListAddressUnsubscribeConfig', {})).Total).toBe(0);
    expect(await errorCode(b('UpdateAddressUnsubscribeConfig', { Address: 'weekly@letters.test', UnsubscribeConfig: '0', Status: 0 })))
      .toBe('InvalidParameterValue.NoSuchSender');
    expect(await errorCode(b('CreateAddressUnsubscribeConfig', { Address: 'weekly@letters.test', UnsubscribeConfig: '0', Status: 0 })))
      .toBe('InvalidParameterValue.NoSuchSender');
    expect(await errorCode(b('DeleteAddressUnsubscribeConfig', { Address: 'weekly@letters.test' }))).toBe('ResourceNotFound');
    expect((await call('ListAddressUnsubscribeConfig', {})).AddressUnsubscribeConfigList).toEqual([{ Address: 'weekly@letters.test', UnsubscribeConfig: '1', Status: 1 }]);
  });
});
