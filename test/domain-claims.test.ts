/**
 * Who holds a sender domain, on both stores, verified against a real DNS server (dnsmasq): a claim
 * another account never verified blocks nobody; the first account to verify holds the name, and the
 * other accounts' unverified claims (with their sender addresses and unsubscribe settings) go.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestAppWithDns, type DnsTestApp } from './helpers/app.js';
import { zoneFor, type Zone } from './helpers/dns.js';
import { errorCode, sdkClient, type Caller } from './helpers/sdk.js';

type Attributes = { Type: string; SendDomain: string; ExpectedValue: string }[];

/** The records of several accounts' claims of one name, each record once (two equal SPF records would fail SPF). */
function zoneOfAll(...claims: Attributes[]): Zone {
  const zone: Required<Pick<Zone, 'txt' | 'mx'>> = { txt: [], mx: [] };
  for (const z of claims.map(zoneFor)) {
    for (const r of z.txt ?? []) if (!zone.txt.some((x) => x.name === r.name && x.value === r.value)) zone.txt.push(r);
    for (const r of z.mx ?? []) if (!zone.mx.some((x) => x.name === r.name && x.host === r.host)) zone.mx.push(r);
  }
  return zone;
}

describe.each(STORES)('sender domain claims on %s', (store) => {
  let t: DnsTestApp;
  /** The real owner of the names. */
  let a: Caller;
  /** Another account, claiming names it does not control. */
  let b: Caller;
  beforeAll(async () => {
    t = await startTestAppWithDns(store);
    a = sdkClient('v4:TC3', t.endpoint, t.creds);
    b = sdkClient('intl:HmacSHA256:POST', t.endpoint, await t.app.services.accounts.create({ name: 'squatter' }));
  });
  afterAll(async () => { await t?.stop(); });

  const listed = async (call: Caller, name: string): Promise<boolean | undefined> =>
    (await call('ListEmailIdentities', {})).EmailIdentities.find((d) => d.IdentityName === name)?.SendingEnabled;
  const verifiedRows = async (name: string): Promise<number> =>
    (await t.app.services.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM domains WHERE name = ? AND verified = 1', [name]))?.n ?? 0;

  it('an unverified claim blocks nobody; the owner verifies, the claim goes, and the name is then refused', async () => {
    expect((await b('CreateEmailIdentity', { EmailIdentity: 'victim.test' })).VerifiedForSendingStatus).toBe(false);
    const mine = await a('CreateEmailIdentity', { EmailIdentity: 'victim.test' });
    expect(mine.VerifiedForSendingStatus).toBe(false);
    // Each claim has its own DKIM key.
    const bKey = (await b('GetEmailIdentity', { EmailIdentity: 'victim.test' })).Attributes[0].ExpectedValue;
    expect(bKey).not.toBe(mine.Attributes[0].ExpectedValue);

    await t.dns.publish(zoneFor(mine.Attributes));
    expect((await a('UpdateEmailIdentity', { EmailIdentity: 'victim.test' })).VerifiedForSendingStatus).toBe(true);

    expect(await errorCode(b('GetEmailIdentity', { EmailIdentity: 'victim.test' }))).toBe('InvalidParameterValue.NotExistDomain');
    expect(await listed(b, 'victim.test')).toBeUndefined();
    expect(await errorCode(b('CreateEmailIdentity', { EmailIdentity: 'victim.test' }))).toBe('InvalidParameterValue.CreatedByOther');
    expect(await listed(a, 'victim.test')).toBe(true);
  });

  it('a claim that once verified loses its sender addresses and their unsubscribe settings too', async () => {
    const theirs = await b('CreateEmailIdentity', { EmailIdentity: 'lapsed.test' });
    await t.dns.publish(zoneFor(theirs.Attributes));
    expect((await b('UpdateEmailIdentity', { EmailIdentity: 'lapsed.test' })).VerifiedForSendingStatus).toBe(true);
    await b('CreateEmailAddress', { EmailAddress: 'hello@lapsed.test' });
    await b('CreateAddressUnsubscribeConfig', { Address: 'hello@lapsed.test', UnsubscribeConfig: '1', Status: 1 });
    // The name changes hands: B's records go, and B's domain stops verifying.
    await t.dns.publish({});
    expect((await b('UpdateEmailIdentity', { EmailIdentity: 'lapsed.test' })).VerifiedForSendingStatus).toBe(false);

    const mine = await a('CreateEmailIdentity', { EmailIdentity: 'lapsed.test' });
    await t.dns.publish(zoneFor(mine.Attributes));
    expect((await a('GetEmailIdentity', { EmailIdentity: 'lapsed.test' })).VerifiedForSendingStatus).toBe(true);

    expect(await errorCode(b('GetEmailIdentity', { EmailIdentity: 'lapsed.test' }))).toBe('InvalidParameterValue.NotExistDomain');
    expect((await b('ListEmailAddress', {})).EmailSenders.map((s) => s.EmailAddress)).not.toContain('hello@lapsed.test');
    const settings = await b('ListAddressUnsubscribeConfig', { Offset: 0, Limit: '100' });
    expect(settings.AddressUnsubscribeConfigList.map((c) => c.Address)).not.toContain('hello@lapsed.test');
    // The address is free for the new holder (addresses are unique across accounts).
    await a('CreateEmailAddress', { EmailAddress: 'hello@lapsed.test' });
    expect((await a('ListEmailAddress', {})).EmailSenders.map((s) => s.EmailAddress)).toContain('hello@lapsed.test');
  });

  it('two accounts verifying one name at once: exactly one holds it', async () => {
    for (const name of ['both1.test', 'both2.test', 'both3.test']) {
      const [ca, cb] = await Promise.all([a('CreateEmailIdentity', { EmailIdentity: name }), b('CreateEmailIdentity', { EmailIdentity: name })]);
      // Both keys are in DNS: both checks pass, only one may be recorded.
      await t.dns.publish(zoneOfAll(ca.Attributes, cb.Attributes));
      const results = await Promise.allSettled([
        a('UpdateEmailIdentity', { EmailIdentity: name }),
        b('UpdateEmailIdentity', { EmailIdentity: name }),
      ]);
      const outcomes = results.map((r) => (r.status === 'fulfilled' ? r.value.VerifiedForSendingStatus : (r.reason as { code: string }).code));
      expect(outcomes.filter((o) => o === true), name).toHaveLength(1);
      const holders = [await listed(a, name), await listed(b, name)];
      expect(holders.filter((h) => h === true), name).toHaveLength(1);
      // The other account's claim is gone, not silently unverified.
      expect(holders.filter((h) => h === undefined), name).toHaveLength(1);
      expect(await verifiedRows(name)).toBe(1);
    }
  });

  it('the periodic re-check verifies the owner and removes the other claims, and picks one when both pass', async () => {
    await b('CreateEmailIdentity', { EmailIdentity: 'periodic.test' });
    const mine = await a('CreateEmailIdentity', { EmailIdentity: 'periodic.test' });
    const [ca, cb] = await Promise.all([a('CreateEmailIdentity', { EmailIdentity: 'tie.test' }), b('CreateEmailIdentity', { EmailIdentity: 'tie.test' })]);
    await t.dns.publish(zoneOfAll(mine.Attributes, ca.Attributes, cb.Attributes));
    // Far enough ahead that every domain is due: both claims of each name are checked in one round.
    await t.app.services.identities.recheckDue(Date.now() + 24 * 3_600_000, 1000);

    expect(await listed(a, 'periodic.test')).toBe(true);
    expect(await errorCode(b('GetEmailIdentity', { EmailIdentity: 'periodic.test' }))).toBe('InvalidParameterValue.NotExistDomain');
    const tie = [await listed(a, 'tie.test'), await listed(b, 'tie.test')];
    expect(tie.filter((h) => h === true)).toHaveLength(1);
    expect(tie.filter((h) => h === undefined)).toHaveLength(1);
    expect(await verifiedRows('tie.test')).toBe(1);
  });
});
