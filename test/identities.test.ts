/**
 * Sender domains through the official SDK on both stores, verified against a real DNS server
 * (dnsmasq): no records, the records CreateEmailIdentity asked for, then a wrong DKIM key.
 */
import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestAppWithDns, type DnsTestApp } from './helpers/app.js';
import { zoneFor, type DnsServer } from './helpers/dns.js';
import { errorCode, sdkClient, type Caller } from './helpers/sdk.js';

describe.each(STORES)('sender domains on %s', (store) => {
  let t: DnsTestApp;
  let dns: DnsServer;
  let call: Caller;
  beforeAll(async () => {
    t = await startTestAppWithDns(store, { SESAME_DOMAIN_LIMIT: '4' });
    dns = t.dns;
    call = sdkClient('v4:TC3', t.endpoint, t.creds);
  });
  afterAll(async () => { await t?.stop(); });

  it('creates a domain with a 2048-bit DKIM key and the four records to publish', async () => {
    const r = await call('CreateEmailIdentity', { EmailIdentity: 'Mail.Example.test.', TagList: [{ TagKey: 'team', TagValue: 'growth' }] });
    expect(r).toMatchObject({ IdentityType: 'DOMAIN', VerifiedForSendingStatus: false, DKIMOption: 1 });
    expect(r.Attributes.map((a) => [a.Type, a.SendDomain])).toEqual([
      ['TXT', 'sesame._domainkey.mail.example.test'],
      ['TXT', 'mail.example.test'],
      ['MX', 'mail.example.test'],
      ['TXT', '_dmarc.mail.example.test'],
    ]);
    const [dkim, spf, mx, dmarc] = r.Attributes;
    expect(dkim.ExpectedValue).toMatch(/^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+=*$/);
    const key = createPublicKey({ key: Buffer.from(dkim.ExpectedValue.split('p=')[1], 'base64'), format: 'der', type: 'spki' });
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(spf.ExpectedValue).toBe('v=spf1 a:mta.sesame.test ~all');
    expect(mx.ExpectedValue).toBe('mta.sesame.test');
    expect(dmarc.ExpectedValue).toBe('v=DMARC1; p=none');
    expect(r.Attributes.every((a) => a.Status === false && a.CurrentValue === '')).toBe(true);
  });

  it('makes RSA-1024 and dual RSA-2048 + Ed25519 keys on request', async () => {
    const small = await call('CreateEmailIdentity', { EmailIdentity: 'small.example.test', DKIMOption: 0 });
    expect(small.DKIMOption).toBe(0);
    const p = small.Attributes[0].ExpectedValue.split('p=')[1];
    expect(createPublicKey({ key: Buffer.from(p, 'base64'), format: 'der', type: 'spki' }).asymmetricKeyDetails?.modulusLength).toBe(1024);
    const dual = await call('CreateEmailIdentity', { EmailIdentity: 'dual.example.test', DKIMOption: 2 });
    expect(dual.DKIMOption).toBe(2);
    const dkim = dual.Attributes.filter((a) => a.SendDomain.includes('._domainkey.'));
    expect(dkim.map((a) => a.SendDomain)).toEqual(['sesame._domainkey.dual.example.test', 'sesame-ed25519._domainkey.dual.example.test']);
    expect(dkim[1].ExpectedValue).toMatch(/^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(dkim[1].ExpectedValue.split('p=')[1], 'base64')).toHaveLength(32);
    await call('DeleteEmailIdentity', { EmailIdentity: 'small.example.test' });
    await call('DeleteEmailIdentity', { EmailIdentity: 'dual.example.test' });
    expect(await errorCode(call('CreateEmailIdentity', { EmailIdentity: 'x.example.test', DKIMOption: 3 }))).toBe('InvalidParameterValue');
  });

  it('verifies against DNS: nothing published, then the records, then a wrong DKIM key', async () => {
    const created = await call('CreateEmailIdentity', { EmailIdentity: 'news.example.test' });

    await dns.publish({});
    const none = await call('GetEmailIdentity', { EmailIdentity: 'news.example.test' });
    expect(none.VerifiedForSendingStatus).toBe(false);
    expect(none.Attributes.map((a) => [a.Status, a.CurrentValue])).toEqual([[false, ''], [false, ''], [false, ''], [false, '']]);

    await dns.publish(zoneFor(created.Attributes));
    const ok = await call('UpdateEmailIdentity', { EmailIdentity: 'news.example.test' });
    expect(ok.VerifiedForSendingStatus).toBe(true);
    expect(ok.Attributes.map((a) => a.Status)).toEqual([true, true, true, true]);
    expect(ok.Attributes[0].CurrentValue).toBe(created.Attributes[0].ExpectedValue);
    const listed = await call('ListEmailIdentities', {});
    expect(listed.EmailIdentities.find((d) => d.IdentityName === 'news.example.test')?.SendingEnabled).toBe(true);

    // Another key at the selector: DKIM fails, and DNS's value is shown.
    const wrong = `v=DKIM1; k=rsa; p=${Buffer.from('not the key Sesame holds').toString('base64')}`;
    await dns.publish({ ...zoneFor(created.Attributes), txt: [...zoneFor(created.Attributes).txt!.filter((r) => !r.name.includes('_domainkey')), { name: created.Attributes[0].SendDomain, value: wrong }] });
    const bad = await call('GetEmailIdentity', { EmailIdentity: 'news.example.test' });
    expect(bad.VerifiedForSendingStatus).toBe(false);
    expect(bad.Attributes[0]).toMatchObject({ Status: false, CurrentValue: wrong });
    expect(bad.Attributes[1].Status).toBe(true);
    const after = await call('ListEmailIdentities', {});
    expect(after.EmailIdentities.find((d) => d.IdentityName === 'news.example.test')?.SendingEnabled).toBe(false);
    await call('DeleteEmailIdentity', { EmailIdentity: 'news.example.test' });
  });

  it('compares the way mail servers do: SPF by mechanism, DKIM without spacing, MX and DMARC advisory', async () => {
    const created = await call('CreateEmailIdentity', { EmailIdentity: 'spf.example.test' });
    const [dkim, spf] = created.Attributes;
    const p = dkim.ExpectedValue.split('p=')[1];
    const spaced = `v=DKIM1;  k=rsa ;\tp=${p.slice(0, 100)} ${p.slice(100)}`;
    await dns.publish({
      txt: [
        { name: dkim.SendDomain, value: spaced },
        { name: spf.SendDomain, value: 'v=spf1 ip4:192.0.2.1 A:MTA.SESAME.TEST include:_spf.example.net -all' },
        { name: spf.SendDomain, value: 'google-site-verification=abc' },
      ],
    });
    const r = await call('GetEmailIdentity', { EmailIdentity: 'spf.example.test' });
    expect(r.Attributes.map((a) => a.Status)).toEqual([true, true, false, false]);
    expect(r.VerifiedForSendingStatus).toBe(true);
    expect(r.Attributes[1].CurrentValue).toBe('v=spf1 ip4:192.0.2.1 A:MTA.SESAME.TEST include:_spf.example.net -all');

    // Two SPF records are a permanent error for receivers (RFC 7208 §4.5): not verified.
    await dns.publish({ txt: [{ name: dkim.SendDomain, value: dkim.ExpectedValue }, { name: spf.SendDomain, value: spf.ExpectedValue }, { name: spf.SendDomain, value: 'v=spf1 -all' }] });
    expect((await call('GetEmailIdentity', { EmailIdentity: 'spf.example.test' })).VerifiedForSendingStatus).toBe(false);
    await call('DeleteEmailIdentity', { EmailIdentity: 'spf.example.test' });
  });

  it('the periodic re-check stops a domain whose records are gone, and does not act on a DNS failure', async () => {
    const created = await call('CreateEmailIdentity', { EmailIdentity: 'recheck.example.test' });
    await dns.publish(zoneFor(created.Attributes));
    expect((await call('UpdateEmailIdentity', { EmailIdentity: 'recheck.example.test' })).VerifiedForSendingStatus).toBe(true);
    const sending = async (): Promise<boolean | undefined> =>
      (await call('ListEmailIdentities', {})).EmailIdentities.find((d) => d.IdentityName === 'recheck.example.test')?.SendingEnabled;

    // DNS down: the check cannot tell, so nothing changes.
    await dns.halt();
    const later = Date.now() + 2 * 3_600_000;
    await t.app.services.identities.recheckDue(later);
    expect(await sending()).toBe(true);

    // Records removed: the next round notices.
    await dns.publish({});
    await t.app.services.identities.recheckDue(later + 2 * 3_600_000);
    expect(await sending()).toBe(false);

    // Published again: a pending domain starts sending without being asked.
    await dns.publish(zoneFor(created.Attributes));
    await t.app.services.identities.recheckDue(later + 4 * 3_600_000);
    expect(await sending()).toBe(true);
    await call('DeleteEmailIdentity', { EmailIdentity: 'recheck.example.test' });
  });

  it('lists with reputation, quota, tags and paging', async () => {
    await call('CreateEmailIdentity', { EmailIdentity: 'a.example.test', TagList: [{ TagKey: 'env', TagValue: 'prod' }] });
    await call('CreateEmailIdentity', { EmailIdentity: 'b.example.test', TagList: [{ TagKey: 'env', TagValue: 'dev' }] });
    const all = await call('ListEmailIdentities', {});
    expect(all.Total).toBe(3);
    expect(all.MaxReputationLevel).toBe(20);
    expect(all.MaxDailyQuota).toBe(1_000_000);
    expect(all.EmailIdentities.map((d) => d.IdentityName)).toEqual(['mail.example.test', 'a.example.test', 'b.example.test']);
    expect(all.EmailIdentities[0]).toMatchObject({
      IdentityType: 'DOMAIN', SendingEnabled: false, CurrentReputationLevel: 1, DailyQuota: 500, SendIp: [], DKIMOption: 1,
      TagList: [{ TagKey: 'team', TagValue: 'growth' }],
    });
    const prod = await call('ListEmailIdentities', { TagList: [{ TagKey: 'env', TagValue: 'prod' }] });
    expect(prod.EmailIdentities.map((d) => d.IdentityName)).toEqual(['a.example.test']);
    expect(prod.Total).toBe(1);
    const page = await call('ListEmailIdentities', { Limit: 1, Offset: 1 });
    expect(page.EmailIdentities.map((d) => d.IdentityName)).toEqual(['a.example.test']);
    expect(page.Total).toBe(3);
    const got = await call('GetEmailIdentity', { EmailIdentity: 'b.example.test' });
    expect(got.TagList).toEqual([{ TagKey: 'env', TagValue: 'dev' }]);
  });

  it('answers each error with its code', async () => {
    for (const bad of ['', 'nodot', 'bad_domain.test', '-x.example.test', 'a..b.test', `${'a'.repeat(64)}.test`, '1.2.3.4', 'user@example.test']) {
      expect(await errorCode(call('CreateEmailIdentity', { EmailIdentity: bad })), bad).toBe('InvalidParameterValue.InvalidEmailIdentity');
    }
    expect(await errorCode(call('CreateEmailIdentity', { EmailIdentity: 'a.example.test' }))).toBe('InvalidParameterValue.RepeatCreation');
    // A name another account holds verified is refused (CreatedByOther); one it merely claims is
    // not: test/domain-claims.test.ts.
    const other = await t.app.services.accounts.create({ name: 'other' });
    const b = sdkClient('intl:HmacSHA256:POST', t.endpoint, other);
    expect((await b('CreateEmailIdentity', { EmailIdentity: 'A.example.test' })).VerifiedForSendingStatus).toBe(false);
    await b('DeleteEmailIdentity', { EmailIdentity: 'a.example.test' });
    await call('CreateEmailIdentity', { EmailIdentity: 'c.example.test' });
    expect(await errorCode(call('CreateEmailIdentity', { EmailIdentity: 'd.example.test' }))).toBe('OperationDenied.ExceedDomainLimit');
    await call('DeleteEmailIdentity', { EmailIdentity: 'c.example.test' });
    for (const action of ['GetEmailIdentity', 'UpdateEmailIdentity', 'DeleteEmailIdentity'] as const) {
      expect(await errorCode(call(action, { EmailIdentity: 'missing.example.test' }))).toBe('InvalidParameterValue.NotExistDomain');
    }
  });

  it('refuses to delete a domain that still has sender addresses', async () => {
    const created = await call('CreateEmailIdentity', { EmailIdentity: 'busy.example.test' });
    await dns.publish(zoneFor(created.Attributes));
    await call('UpdateEmailIdentity', { EmailIdentity: 'busy.example.test' });
    await call('CreateEmailAddress', { EmailAddress: 'hello@busy.example.test' });
    expect(await errorCode(call('DeleteEmailIdentity', { EmailIdentity: 'busy.example.test' }))).toBe('OperationDenied.SenderWithDomainIsNotEmpty');
    await call('DeleteEmailAddress', { EmailAddress: 'hello@busy.example.test' });
    await call('DeleteEmailIdentity', { EmailIdentity: 'busy.example.test' });
    expect(await errorCode(call('GetEmailIdentity', { EmailIdentity: 'busy.example.test' }))).toBe('InvalidParameterValue.NotExistDomain');
  });

  it('keeps DKIM private keys sealed in the store', async () => {
    const rows = await t.app.services.db.all<{ dkim_keys: string }>('SELECT dkim_keys FROM domains');
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.dkim_keys).not.toContain('PRIVATE KEY');
      const keys = JSON.parse(r.dkim_keys) as { privateKeySealed: string }[];
      expect(keys.every((k) => k.privateKeySealed.startsWith('v1:'))).toBe(true);
    }
  });

  it('shows another account none of these domains and lets it change none', async () => {
    const other = await t.app.services.accounts.create({ name: 'stranger' });
    const b = sdkClient('intl:HmacSHA1:GET', t.endpoint, other);
    const list = await b('ListEmailIdentities', {});
    expect(list.Total).toBe(0);
    expect(list.EmailIdentities).toEqual([]);
    for (const action of ['GetEmailIdentity', 'UpdateEmailIdentity', 'DeleteEmailIdentity'] as const) {
      expect(await errorCode(b(action, { EmailIdentity: 'mail.example.test' }))).toBe('InvalidParameterValue.NotExistDomain');
    }
    expect((await call('GetEmailIdentity', { EmailIdentity: 'mail.example.test' })).TagList).toEqual([{ TagKey: 'team', TagValue: 'growth' }]);
  });
});
