/**
 * The periodic DNS re-check racing the API on both stores: a check in flight must never write back
 * a stale result (a failed lookup, or keys replaced meanwhile), and the worker loop itself runs.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityService } from '../src/main.js';
import { createDnsClient, type DnsClient } from '../src/net/dns.js';
import { DomainRecheck } from '../src/scheduler/domain-recheck.js';
import { loadMasterKey } from '../src/services/master-key.js';
import type { IdentityService } from '../src/services/identities.js';
import { AccountStore } from '../src/store/accounts.js';
import { DomainStore } from '../src/store/domains.js';
import { STORES, startTestAppWithDns, type DnsTestApp } from './helpers/app.js';
import { eventually } from './helpers/sending.js';
import { zoneFor } from './helpers/dns.js';
import { sdkClient, type Caller } from './helpers/sdk.js';

/** A DNS client whose answers wait until `open()`; then they fail, or come from the real server. */
function gatedDns(real: DnsClient, fail: boolean): { client: DnsClient; open: () => void; asked: Promise<void> } {
  let open!: () => void;
  const gate = new Promise<void>((r) => { open = r; });
  let asked!: () => void;
  const askedP = new Promise<void>((r) => { asked = r; });
  const gated = <T>(answer: () => Promise<T>, failure: T) => async (): Promise<T> => {
    asked();
    await gate;
    return fail ? failure : answer();
  };
  const timeout = { ok: false as const, error: 'ETIMEOUT' };
  return {
    client: {
      txt: (n) => gated(() => real.txt(n), timeout)(),
      mx: (n) => gated(() => real.mx(n), timeout)(),
      addresses: (n) => gated(() => real.addresses(n), timeout)(),
    },
    open: () => open(),
    asked: askedP,
  };
}

describe.each(STORES)('re-check races on %s', (store) => {
  let t: DnsTestApp;
  let call: Caller;
  let worker: (dns: DnsClient) => IdentityService;
  beforeAll(async () => {
    t = await startTestAppWithDns(store);
    call = sdkClient('v4:TC3', t.endpoint, t.creds);
    const db = t.app.services.db;
    const box = loadMasterKey(t.config.masterKey, t.config.dataDir);
    worker = (dns) => identityService(t.config, new DomainStore(db, new AccountStore(db)), box, pino({ level: 'silent' }), dns);
  });
  afterAll(async () => { await t?.stop(); });

  const sending = async (name: string): Promise<boolean | undefined> =>
    (await call('ListEmailIdentities', {})).EmailIdentities.find((d) => d.IdentityName === name)?.SendingEnabled;
  const later = (hours: number): number => Date.now() + hours * 3_600_000;

  it('a re-check whose lookups fail keeps a verification made while it waited', async () => {
    const created = await call('CreateEmailIdentity', { EmailIdentity: 'r1.race.test' });
    await t.dns.publish(zoneFor(created.Attributes));
    const g = gatedDns(createDnsClient([t.dns.address]), true);
    const round = worker(g.client).recheckDue(later(1));
    await g.asked;
    expect((await call('UpdateEmailIdentity', { EmailIdentity: 'r1.race.test' })).VerifiedForSendingStatus).toBe(true);
    g.open();
    await round;
    expect(await sending('r1.race.test')).toBe(true);
  });

  it('a re-check whose lookups fail keeps an unverification made while it waited', async () => {
    await t.dns.publish({});
    const g = gatedDns(createDnsClient([t.dns.address]), true);
    const round = worker(g.client).recheckDue(later(3));
    await g.asked;
    expect((await call('UpdateEmailIdentity', { EmailIdentity: 'r1.race.test' })).VerifiedForSendingStatus).toBe(false);
    g.open();
    await round;
    expect(await sending('r1.race.test')).toBe(false);
  });

  it('a re-check of the old keys does not verify a domain re-keyed while it waited', async () => {
    const created = await call('CreateEmailIdentity', { EmailIdentity: 'r2.race.test' });
    await t.dns.publish(zoneFor(created.Attributes));
    expect((await call('UpdateEmailIdentity', { EmailIdentity: 'r2.race.test' })).VerifiedForSendingStatus).toBe(true);
    const g = gatedDns(createDnsClient([t.dns.address]), false);
    const round = worker(g.client).recheckDue(later(5));
    await g.asked;
    const rekeyed = await call('UpdateEmailIdentity', { EmailIdentity: 'r2.race.test', DKIMOption: 0 });
    expect(rekeyed.VerifiedForSendingStatus).toBe(false);
    g.open();
    await round;
    // The worker saw the old key published and would have verified: its write must not land.
    expect(await sending('r2.race.test')).toBe(false);
  });

  it('the worker loop verifies a domain whose records appear, without being asked', async () => {
    const created = await call('CreateEmailIdentity', { EmailIdentity: 'loop.race.test' });
    await t.dns.publish(zoneFor(created.Attributes));
    const loop = new DomainRecheck(t.app.services.identities, pino({ level: 'silent' }));
    loop.start();
    try {
      await eventually(() => sending('loop.race.test'), 10_000, 'the worker to verify the domain');
    } finally {
      await loop.stop();
    }
  });

  it('creating a sender address while its domain is deleted answers an error code, never InternalError', async () => {
    const created = await call('CreateEmailIdentity', { EmailIdentity: 'gone.race.test' });
    await t.dns.publish(zoneFor(created.Attributes));
    expect((await call('UpdateEmailIdentity', { EmailIdentity: 'gone.race.test' })).VerifiedForSendingStatus).toBe(true);
    const [del, add] = await Promise.allSettled([
      call('DeleteEmailIdentity', { EmailIdentity: 'gone.race.test' }),
      call('CreateEmailAddress', { EmailAddress: 'late@gone.race.test' }),
    ]);
    const code = (r: PromiseSettledResult<unknown>): string => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code: string }).code);
    // Whichever commits first, the other gets its own business error.
    expect([['ok', 'OperationDenied.DomainNotVerified'], ['OperationDenied.SenderWithDomainIsNotEmpty', 'ok']]).toContainEqual([code(del), code(add)]);
  });

  it('an unsubscribe setting created while its sender is deleted never outlives the sender', async () => {
    const created = await call('CreateEmailIdentity', { EmailIdentity: 'setting.race.test' });
    await t.dns.publish(zoneFor(created.Attributes));
    expect((await call('UpdateEmailIdentity', { EmailIdentity: 'setting.race.test' })).VerifiedForSendingStatus).toBe(true);
    for (let i = 0; i < 5; i++) {
      const address = `s${i}@setting.race.test`;
      await call('CreateEmailAddress', { EmailAddress: address });
      await Promise.allSettled([
        call('DeleteEmailAddress', { EmailAddress: address }),
        call('CreateAddressUnsubscribeConfig', { Address: address, UnsubscribeConfig: '1', Status: 1 }),
      ]);
    }
    const list = await call('ListAddressUnsubscribeConfig', { Offset: 0, Limit: '100' });
    expect(list.AddressUnsubscribeConfigList.filter((c) => c.Address.endsWith('@setting.race.test'))).toEqual([]);
  });
});
