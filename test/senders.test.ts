/**
 * Sender addresses and SMTP passwords through the official SDK, on both stores, with domains
 * verified against a real DNS server.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestAppWithDns, type DnsTestApp } from './helpers/app.js';
import { DomainPublisher } from './helpers/dns.js';
import { errorCode, sdkClient, type Caller } from './helpers/sdk.js';

describe.each(STORES)('sender addresses on %s', (store) => {
  let t: DnsTestApp;
  let call: Caller;
  beforeAll(async () => {
    t = await startTestAppWithDns(store, { SESAME_SENDER_LIMIT: '3' });
    call = sdkClient('intl:HmacSHA256:POST', t.endpoint, t.creds);
    const domains = new DomainPublisher(t.dns);
    await domains.verified(call, 'mail.shop.test');
    await call('CreateEmailIdentity', { EmailIdentity: 'pending.shop.test' });
  });
  afterAll(async () => { await t?.stop(); });

  it('creates addresses on a verified domain and lists them', async () => {
    await call('CreateEmailAddress', { EmailAddress: 'News@Mail.Shop.test', EmailSenderName: 'Shop News' });
    await call('CreateEmailAddress', { EmailAddress: 'noreply@mail.shop.test' });
    const list = await call('ListEmailAddress', {});
    expect(list.EmailSenders.map((s) => [s.EmailAddress, s.EmailSenderName, s.SmtpPwdType])).toEqual([
      ['news@mail.shop.test', 'Shop News', 0],
      ['noreply@mail.shop.test', '', 0],
    ]);
    expect(Math.abs(list.EmailSenders[0].CreatedTimestamp - Date.now() / 1000)).toBeLessThan(60);
  });

  it('answers each error with its code', async () => {
    expect(await errorCode(call('CreateEmailAddress', { EmailAddress: 'hi@pending.shop.test' }))).toBe('OperationDenied.DomainNotVerified');
    expect(await errorCode(call('CreateEmailAddress', { EmailAddress: 'hi@elsewhere.test' }))).toBe('OperationDenied.DomainNotVerified');
    for (const bad of ['no-at-sign', 'a b@mail.shop.test', '@mail.shop.test', 'x@', 'x@mail..shop.test', `${'l'.repeat(65)}@mail.shop.test`]) {
      expect(await errorCode(call('CreateEmailAddress', { EmailAddress: bad })), bad).toBe('InvalidParameterValue.IllegalEmailAddress');
    }
    for (const name of ['Evil <x@y>', 'line\nbreak', 'a'.repeat(65), 'quote"s', 'colon:']) {
      expect(await errorCode(call('CreateEmailAddress', { EmailAddress: 'named@mail.shop.test', EmailSenderName: name })), name)
        .toBe('InvalidParameterValue.IllegalSenderName');
    }
    expect(await errorCode(call('CreateEmailAddress', { EmailAddress: 'NEWS@mail.shop.test' }))).toBe('InvalidParameterValue.RepeatEmailAddress');
    await call('CreateEmailAddress', { EmailAddress: 'third@mail.shop.test' });
    expect(await errorCode(call('CreateEmailAddress', { EmailAddress: 'fourth@mail.shop.test' }))).toBe('OperationDenied.ExceedSenderLimit');
    await call('DeleteEmailAddress', { EmailAddress: 'third@mail.shop.test' });
    expect(await errorCode(call('DeleteEmailAddress', { EmailAddress: 'third@mail.shop.test' }))).toBe('InvalidParameterValue.NoSuchSender');
    expect(await errorCode(call('UpdateEmailSmtpPassWord', { EmailAddress: 'ghost@mail.shop.test', Password: 'Abcdef12345' }))).toBe('InvalidParameterValue.NoSuchSender');
  });

  it('sets SMTP passwords by the rule, refuses the previous one, and shows SmtpPwdType 1', async () => {
    for (const weak of ['Short1A', 'alllowercase123', 'ALLUPPERCASE123', 'NoDigitsHereAtAll', 'Abc123456789012345678x', 'Has space 123A']) {
      expect(await errorCode(call('UpdateEmailSmtpPassWord', { EmailAddress: 'news@mail.shop.test', Password: weak })), weak)
        .toBe('InvalidParameterValue.InvalidSmtpPassWord');
    }
    await call('UpdateEmailSmtpPassWord', { EmailAddress: 'news@mail.shop.test', Password: 'Secret2026xyz' });
    expect(await errorCode(call('UpdateEmailSmtpPassWord', { EmailAddress: 'news@mail.shop.test', Password: 'Secret2026xyz' }))).toBe('OperationDenied.RepeatPassWord');
    await call('UpdateEmailSmtpPassWord', { EmailAddress: 'news@mail.shop.test', Password: 'Another2026Q' });
    const list = await call('ListEmailAddress', {});
    expect(list.EmailSenders.find((s) => s.EmailAddress === 'news@mail.shop.test')?.SmtpPwdType).toBe(1);
    expect(list.EmailSenders.find((s) => s.EmailAddress === 'noreply@mail.shop.test')?.SmtpPwdType).toBe(0);
    // Only a slow salted hash is stored.
    const row = await t.app.services.db.get<{ smtp_password_hash: string }>('SELECT smtp_password_hash FROM sender_addresses WHERE address = ?', ['news@mail.shop.test']);
    expect(row?.smtp_password_hash).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(row?.smtp_password_hash).not.toContain('Another2026Q');
  });

  it('keeps the SMTP password out of the data folder and the log', async () => {
    const password = 'Plaintext9Canary';
    await call('UpdateEmailSmtpPassWord', { EmailAddress: 'noreply@mail.shop.test', Password: password });
    const dir = t.config.dataDir;
    for (const f of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, f));
      expect(bytes.includes(Buffer.from(password)), f).toBe(false);
      expect(bytes.includes(Buffer.from(password, 'utf16le')), f).toBe(false);
    }
    expect(t.rawLog()).not.toContain(password);
    // On PostgreSQL the data lives in the server: no row of any table that could hold it has it.
    for (const table of ['sender_addresses', 'accounts', 'api_keys', 'domains', 'meta']) {
      const rows = await t.app.services.db.all(`SELECT * FROM ${table}`);
      expect(JSON.stringify(rows), table).not.toContain(password);
    }
  });

  it('shows another account none of these addresses and lets it change none', async () => {
    const other = await t.app.services.accounts.create({ name: 'stranger' });
    const b = sdkClient('v4:TC3', t.endpoint, other);
    expect((await b('ListEmailAddress', {})).EmailSenders).toEqual([]);
    expect(await errorCode(b('DeleteEmailAddress', { EmailAddress: 'news@mail.shop.test' }))).toBe('InvalidParameterValue.NoSuchSender');
    expect(await errorCode(b('UpdateEmailSmtpPassWord', { EmailAddress: 'news@mail.shop.test', Password: 'Hijack2026xx' }))).toBe('InvalidParameterValue.NoSuchSender');
    // Another account cannot add addresses on this account's domain either.
    expect(await errorCode(b('CreateEmailAddress', { EmailAddress: 'fake@mail.shop.test' }))).toBe('OperationDenied.DomainNotVerified');
    expect((await call('ListEmailAddress', {})).EmailSenders.map((s) => s.EmailAddress)).toEqual(['news@mail.shop.test', 'noreply@mail.shop.test']);
  });
});
