/**
 * The delivery engine against scripted MX hosts, on both stores: every outcome of the remote reply
 * (accepted, rejected, deferred, cut mid-DATA, cut after the final dot, slow), every kind of route
 * (MX fallback, implicit MX, null MX, a domain that does not exist, DNS failure, MX hosts of equal
 * preference), retries on the schedule, giving up at the maximum age, GetSendEmailStatus's filters
 * and errors, and the refusal of MX hosts on private networks when they are not allowed.
 */
import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDate } from '../src/lib/time.js';
import { openStore } from '../src/main.js';
import { STORES } from './helpers/app.js';
import { startRawSmtp } from './helpers/raw-smtp.js';
import { errorCode } from './helpers/sdk.js';
import { eventually, MX_BANNER, retryNow, startSending, statusesOf, type SendingFixture } from './helpers/sending.js';

describe.each(STORES)('delivery on %s', (store) => {
  let f: SendingFixture;
  let n = 0;
  const send = async (to: string): Promise<string> => (await f.call('SendEmail', {
    FromEmailAddress: f.sender, Destination: [to], Subject: `delivery test ${++n}`,
    Template: { TemplateID: f.templateId, TemplateData: '{"name":"Ann","code":"1"}' },
  })).MessageId;

  beforeAll(async () => {
    f = await startSending(store, { SESAME_FREQUENCY_LIMIT: '0', SESAME_MAX_QUEUE_HOURS: '2' });
    f.domains.extra = {
      mx: [
        ...(f.domains.extra.mx ?? []),
        { name: 'fallback.test', host: 'down.dest.test', priority: 10 },
        { name: 'fallback.test', host: 'mx2.dest.test', priority: 20 },
        { name: 'nullmx.test', host: '.', priority: 0 },
        { name: 'nohost.test', host: 'ghost.dest.test', priority: 10 },
      ],
      a: [
        ...(f.domains.extra.a ?? []),
        { name: 'down.dest.test', address: '127.0.0.9' },
        { name: 'implicit.test', address: '127.0.0.3' },
      ],
    };
    await f.domains.publish();
  });
  afterAll(async () => { await f?.stop(); });

  it('a 5xx reply bounces (DeliverStatus 3); one that says the address is bad blocklists it', async () => {
    f.mx1.mode = { kind: 'reject', code: 550, message: '5.1.1 The email account does not exist' };
    const id = await send('nobody@dest.test');
    const [s] = await statusesOf(f, id, (l) => l[0].DeliverStatus === 3);
    expect(s.DeliverMessage).toContain('5.1.1 The email account does not exist');
    const day = formatDate(Date.now(), 'UTC');
    const bl = await f.call('ListBlackEmailAddress', { StartDate: day, EndDate: day, Limit: 10, Offset: 0, EmailAddress: 'nobody@dest.test' });
    expect(bl.BlackList[0]).toMatchObject({ EmailAddress: 'nobody@dest.test' });
    expect(bl.BlackList[0].IspDesc).toContain('does not exist');
    expect(await errorCode(send('nobody@dest.test'))).toBe('FailedOperation.EmailAddrInBlacklist');
    // Refused at the end of DATA is a bounce too, but about the message: the address stays usable.
    f.mx1.mode = { kind: 'reject', at: 'data', code: 554, message: '5.7.1 Spam detected' };
    const id2 = await send('content@dest.test');
    const [s2] = await statusesOf(f, id2, (l) => l[0].DeliverStatus === 3);
    expect(s2.DeliverMessage).toContain('5.7.1 Spam detected');
    // A policy refusal at RCPT (our IP listed, say) bounces the message and blocklists nobody.
    f.mx1.mode = { kind: 'reject', code: 550, message: '5.7.1 Service unavailable; client host blocked using a DNSBL' };
    const id3 = await send('policy@dest.test');
    const [s3] = await statusesOf(f, id3, (l) => l[0].DeliverStatus === 3);
    expect(s3.DeliverMessage).toContain('DNSBL');
    f.mx1.mode = { kind: 'accept' };
    for (const who of ['content@dest.test', 'policy@dest.test']) {
      const listed = await f.call('ListBlackEmailAddress', { StartDate: day, EndDate: day, Limit: 10, Offset: 0, EmailAddress: who });
      expect(listed.BlackList, who).toEqual([]);
      await send(who);
    }
  });

  it('a 4xx reply defers (DeliverStatus 8), and the retry delivers', async () => {
    f.mx1.mode = { kind: 'defer', code: 451, message: '4.2.1 Mailbox busy' };
    f.mx2.mode = { kind: 'defer', code: 451, message: '4.2.1 Mailbox busy' };
    const id = await send('busy@dest.test');
    const [s] = await statusesOf(f, id, (l) => l[0].DeliverStatus === 8);
    expect(s.DeliverMessage).toContain('4.2.1 Mailbox busy');
    const row = await f.t.app.services.db.get<{ next_attempt_at: number; attempts: number }>(
      'SELECT next_attempt_at, attempts FROM deliveries WHERE recipient = ?', ['busy@dest.test']);
    // The first retry waits a minute (SESAME_RETRY_MINUTES starts at 1).
    expect(row!.next_attempt_at - Date.now()).toBeGreaterThan(50_000);
    expect(row!.attempts).toBe(1);
    f.mx1.mode = { kind: 'accept' };
    f.mx2.mode = { kind: 'accept' };
    const before = f.mx1.received.length;
    await retryNow(f);
    await statusesOf(f, id, (l) => l[0].DeliverStatus === 1);
    expect(f.mx1.received.slice(before).some((r) => r.to.includes('busy@dest.test'))).toBe(true);
  });


  it('drops mail whose recipient was unsubscribed by another process, or blocklisted, after acceptance', async () => {
    // A first delivery, so the worker has already looked at the lists before the next acceptances
    // (it reads them at delivery only when they may have changed since a message was accepted).
    f.mx1.mode = { kind: 'accept' };
    await statusesOf(f, await send('warm@dest.test'), (l) => l[0].DeliverStatus === 1);
    /** Two messages deferred, `change` made, then both retried: `victim`'s is dropped, `other`'s delivered. */
    const changedAfterAcceptance = async (victim: string, other: string, change: () => Promise<unknown>) => {
      f.mx1.mode = { kind: 'defer', code: 451, message: '4.2.1 Try later' };
      f.mx2.mode = { kind: 'defer', code: 451, message: '4.2.1 Try later' };
      const ids = [await send(victim), await send(other)];
      for (const id of ids) await statusesOf(f, id, (l) => l[0].DeliverStatus === 8);
      await change();
      f.mx1.mode = { kind: 'accept' };
      f.mx2.mode = { kind: 'accept' };
      const before = f.mx1.received.length + f.mx2.received.length;
      await retryNow(f);
      const [dropped] = await statusesOf(f, ids[0], (s) => s[0].DeliverStatus === 2);
      await statusesOf(f, ids[1], (s) => s[0].DeliverStatus === 1);
      const to = [...f.mx1.received, ...f.mx2.received].slice(before).flatMap((r) => r.to);
      expect(to).toContain(other);
      expect(to).not.toContain(victim);
      return dropped;
    };

    // Unsubscribed through a connection of its own, as another process would.
    const account = (await f.t.app.services.accounts.byAppId(f.t.creds.AppId))!;
    const gone = await changedAfterAcceptance('gone-late@dest.test', 'kept@dest.test', async () => {
      const other = await openStore(f.t.config);
      try {
        await other.run('INSERT INTO unsubscriptions (account_id, domain, email, created_at) VALUES (?, ?, ?, ?)',
          [account.id, f.sender.split('@')[1]!, 'gone-late@dest.test', Date.now()]);
      } finally {
        await other.close();
      }
    });
    expect(gone).toMatchObject({ SendStatus: 1013 });
    expect(gone.DeliverMessage).toContain('unsubscribed from');

    // Blocklisted through the API, by this process.
    const listed = await changedAfterAcceptance('listed-late@dest.test', 'kept2@dest.test',
      () => f.call('CreateCustomBlacklist', { Emails: ['listed-late@dest.test'] }));
    expect(listed).toMatchObject({ SendStatus: 3020 });
    expect(listed.DeliverMessage).toContain('blocklisted after the mail was accepted');
  });

  it('gives up at the maximum age (DeliverStatus 2)', async () => {
    f.mx1.mode = { kind: 'defer' };
    f.mx2.mode = { kind: 'defer' };
    const id = await send('forever@dest.test');
    await statusesOf(f, id, (l) => l[0].DeliverStatus === 8);
    // Accepted three hours ago (SESAME_MAX_QUEUE_HOURS=2): the next failure is the last.
    await f.t.app.services.db.run('UPDATE deliveries SET created_at = ? WHERE recipient = ?', [Date.now() - 3 * 3_600_000, 'forever@dest.test']);
    await retryNow(f);
    await eventually(async () => (await f.t.app.services.db.get<{ s: number }>('SELECT deliver_status AS s FROM deliveries WHERE recipient = ?', ['forever@dest.test']))?.s === 2);
    const row = await f.t.app.services.db.get<{ deliver_message: string; next_attempt_at: number | null }>(
      'SELECT deliver_message, next_attempt_at FROM deliveries WHERE recipient = ?', ['forever@dest.test']);
    expect(row?.deliver_message).toMatch(/^Gave up after \d+ attempts/);
    expect(row?.next_attempt_at).toBeNull();
    f.mx1.mode = { kind: 'accept' };
    f.mx2.mode = { kind: 'accept' };
  });

  it('a connection cut after the final dot is retried (it may arrive twice); one cut mid-DATA too', async () => {
    f.mx1.mode = { kind: 'drop', at: 'after-dot' };
    f.mx2.mode = { kind: 'drop', at: 'after-dot' };
    const before = f.mx1.received.length + f.mx2.received.length;
    const mx1Before = f.mx1.received.length;
    const mx2Before = { attempts: f.mx2.attempts, received: f.mx2.received.length };
    const id = await send('twice@dest.test');
    const [deferred] = await statusesOf(f, id, (l) => l[0].DeliverStatus === 8);
    // The message went through whole, but no reply came: Sesame cannot know it arrived, so it defers
    // at once with what the connection said, instead of passing on to the next host as it does for a
    // connection lost before the data (whose deferral names the last host tried).
    expect(deferred.DeliverMessage).toMatch(/^ECONNECTION: /);
    expect(deferred.DeliverMessage).not.toContain('dest.test [');
    expect({ attempts: f.mx2.attempts, received: f.mx2.received.length }).toEqual(mx2Before);
    expect(f.mx1.received.slice(mx1Before).filter((r) => r.to.includes('twice@dest.test'))).toHaveLength(1);
    expect((await f.t.app.services.db.get<{ attempts: number }>('SELECT attempts FROM deliveries WHERE recipient = ?', ['twice@dest.test']))!.attempts).toBe(1);
    f.mx1.mode = { kind: 'accept' };
    f.mx2.mode = { kind: 'accept' };
    await retryNow(f);
    await statusesOf(f, id, (l) => l[0].DeliverStatus === 1);
    const copies = [...f.mx1.received, ...f.mx2.received].slice(0).filter((r) => r.to.includes('twice@dest.test'));
    expect(copies.length).toBeGreaterThanOrEqual(2);
    expect(f.mx1.received.length + f.mx2.received.length).toBeGreaterThan(before);

    f.mx1.mode = { kind: 'drop', at: 'mid-data' };
    f.mx2.mode = { kind: 'drop', at: 'mid-data' };
    const id2 = await send('cut@dest.test');
    await statusesOf(f, id2, (l) => l[0].DeliverStatus === 8);
    f.mx1.mode = { kind: 'accept' };
    f.mx2.mode = { kind: 'accept' };
    await retryNow(f);
    await statusesOf(f, id2, (l) => l[0].DeliverStatus === 1);
  });

  it('waits for a slow server: one attempt, one copy, delivered', async () => {
    f.mx1.mode = { kind: 'accept', delayMs: 1500, reply: 'Queued after a pause 7c2' };
    const before = f.mx1.received.length;
    const id = await send('slow@dest.test');
    const [s] = await statusesOf(f, id, (l) => l[0].DeliverStatus === 1);
    f.mx1.mode = { kind: 'accept' };
    // Not given up on and retried: the reply to the final dot came after 1.5 s, and that attempt counted.
    expect(s.DeliverMessage).toContain('Queued after a pause 7c2');
    expect(f.mx1.received.slice(before).filter((r) => r.to.includes('slow@dest.test'))).toHaveLength(1);
    const row = await f.t.app.services.db.get<{ attempts: number }>('SELECT attempts FROM deliveries WHERE recipient = ?', ['slow@dest.test']);
    expect(row!.attempts).toBe(1);
  });

  it('routes: MX fallback, implicit MX, null MX, no such domain, a host without address', async () => {
    const fallbackBefore = f.mx2.received.length;
    const fb = await send('user@fallback.test');
    await statusesOf(f, fb, (l) => l[0].DeliverStatus === 1);
    expect(f.mx2.received.slice(fallbackBefore).some((r) => r.to.includes('user@fallback.test'))).toBe(true);

    const implicitBefore = f.mx2.received.length;
    const im = await send('user@implicit.test');
    await statusesOf(f, im, (l) => l[0].DeliverStatus === 1);
    expect(f.mx2.received.slice(implicitBefore).some((r) => r.to.includes('user@implicit.test'))).toBe(true);

    const nm = await send('user@nullmx.test');
    const [sn] = await statusesOf(f, nm, (l) => l[0].DeliverStatus === 3);
    expect(sn.DeliverMessage).toContain('null MX');

    const nx = await send('user@nonexistent.test');
    const [sx] = await statusesOf(f, nx, (l) => l[0].DeliverStatus === 3);
    expect(sx.DeliverMessage).toContain('does not exist');

    const nh = await send('user@nohost.test');
    const [sh] = await statusesOf(f, nh, (l) => l[0].DeliverStatus === 8);
    expect(sh.DeliverMessage).toContain('have no address');
  });

  it('shares mail between MX hosts of equal preference, at random; a preferred host takes it all', async () => {
    f.domains.extra.mx!.push({ name: 'equal.test', host: 'mx1.dest.test', priority: 10 }, { name: 'equal.test', host: 'mx2.dest.test', priority: 10 });
    await f.domains.publish();
    const to = (domain: string): string[] => Array.from({ length: 40 }, (_, i) => `share${i}@${domain}`);
    const mine = (domain: string) => (r: { to: string[] }): boolean => to(domain).includes(r.to[0]);
    const arrived = (domain: string): { mx1: number; mx2: number } => ({
      mx1: f.mx1.received.filter(mine(domain)).length,
      mx2: f.mx2.received.filter(mine(domain)).length,
    });
    for (const domain of ['equal.test', 'dest.test']) {
      const { MessageId } = await f.call('SendEmail', {
        FromEmailAddress: f.sender, Destination: to(domain), Subject: 'shared',
        Template: { TemplateID: f.templateId, TemplateData: '{"name":"Ann","code":"1"}' },
      });
      await statusesOf(f, MessageId, (l) => l.length === 40 && l.every((x) => x.DeliverStatus === 1));
    }
    // All 40 to one of two equal hosts would happen with odds of 2^-39.
    const equal = arrived('equal.test');
    expect(equal.mx1 + equal.mx2).toBe(40);
    expect(equal.mx1).toBeGreaterThan(0);
    expect(equal.mx2).toBeGreaterThan(0);
    expect(arrived('dest.test')).toEqual({ mx1: 40, mx2: 0 });
  });

  it('a DNS failure defers; the retry delivers once DNS answers', async () => {
    await f.t.dns.halt();
    const id = await send('dnsdown@other-domain.test');
    const [s] = await statusesOf(f, id, (l) => l[0].DeliverStatus === 8);
    expect(s.DeliverMessage).toContain('DNS lookup');
    f.domains.extra.mx!.push({ name: 'other-domain.test', host: 'mx1.dest.test', priority: 10 });
    await f.domains.publish();
    // The failed answer is cached for a few seconds only.
    await eventually(async () => {
      await retryNow(f);
      const r = await f.call('GetSendEmailStatus', { RequestDate: formatDate(Date.now(), 'UTC'), Offset: 0, Limit: 1, MessageId: id });
      return r.EmailStatusList[0]?.DeliverStatus === 1;
    }, 15_000);
  });

  it('survives a remote server that answers garbage or never stops answering', async () => {
    const port = f.mx1.port;
    const sockets = new Set<Socket>();
    const garbage = createServer((s) => { sockets.add(s); s.on('error', () => {}); s.write('hello, I am not SMTP\r\n'); });
    const endless = createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      // A greeting that never ends: continuation lines, forever.
      const line = Buffer.from(`220-${'x'.repeat(500)}\r\n`);
      const pump = (): void => { while (!s.destroyed && s.write(line)) { /* until the buffer is full */ } };
      s.on('drain', pump);
      pump();
    });
    await new Promise<void>((r) => garbage.listen(port, '127.0.0.5', r));
    await new Promise<void>((r) => endless.listen(port, '127.0.0.6', r));
    f.domains.extra.mx!.push({ name: 'garbage.test', host: 'evil1.dest.test' }, { name: 'endless.test', host: 'evil2.dest.test' });
    f.domains.extra.a!.push({ name: 'evil1.dest.test', address: '127.0.0.5' }, { name: 'evil2.dest.test', address: '127.0.0.6' });
    await f.domains.publish();
    try {
      const a = await send('user@garbage.test');
      const b = await send('user@endless.test');
      const [sa] = await statusesOf(f, a, (l) => l[0].DeliverStatus === 8);
      const [sb] = await statusesOf(f, b, (l) => l[0].DeliverStatus === 8);
      expect(sa.DeliverMessage.length).toBeGreaterThan(0);
      expect(sb.DeliverMessage.length).toBeLessThan(1100);
      // The worker is fine: ordinary mail still goes out.
      const c = await send('still-fine@dest.test');
      await statusesOf(f, c, (l) => l[0].DeliverStatus === 1);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => garbage.close(r));
      await new Promise((r) => endless.close(r));
    }
  });

  it('GetSendEmailStatus filters by MessageId and recipient, pages, and checks its date', async () => {
    const id = (await f.call('SendEmail', {
      FromEmailAddress: f.sender, Destination: ['p1@dest.test', 'p2@dest.test', 'p3@dest.test'], Subject: 'paging',
      Template: { TemplateID: f.templateId, TemplateData: '{"name":"Ann","code":"1"}' },
    })).MessageId;
    const day = formatDate(Date.now(), 'UTC');
    const all = await statusesOf(f, id, (l) => l.length === 3 && l.every((x) => x.DeliverStatus === 1));
    expect(all.map((s) => s.ToEmailAddress).sort()).toEqual(['p1@dest.test', 'p2@dest.test', 'p3@dest.test']);
    const page = await f.call('GetSendEmailStatus', { RequestDate: day, Offset: 1, Limit: 1, MessageId: id });
    expect(page.EmailStatusList).toHaveLength(1);
    const one = await f.call('GetSendEmailStatus', { RequestDate: day, Offset: 0, Limit: 100, ToEmailAddress: 'P2@dest.test' });
    expect(one.EmailStatusList.map((s) => s.ToEmailAddress)).toEqual(['p2@dest.test']);
    const yesterday = formatDate(Date.now() - 86_400_000, 'UTC');
    expect((await f.call('GetSendEmailStatus', { RequestDate: yesterday, Offset: 0, Limit: 100 })).EmailStatusList).toEqual([]);
    expect(await errorCode(f.call('GetSendEmailStatus', { RequestDate: day, Offset: 0, Limit: 101 }))).toBe('FailedOperation.InvalidLimit');
    expect(await errorCode(f.call('GetSendEmailStatus', { RequestDate: '2026-02-30', Offset: 0, Limit: 10 }))).toBe('InvalidParameterValue.WrongDate');
    expect(await errorCode(f.call('GetSendEmailStatus', { RequestDate: '2099-01-01', Offset: 0, Limit: 10 }))).toBe('InvalidParameterValue.WrongDate');
    expect(await errorCode(f.call('GetSendEmailStatus', { RequestDate: formatDate(Date.now() - 31 * 86_400_000, 'UTC'), Offset: 0, Limit: 10 })))
      .toBe('FailedOperation.NotSupportDate');
  });
});

describe.each(STORES)('delivery under pressure on %s', (store) => {
  let f: SendingFixture;
  let n = 0;
  const send = async (to: string): Promise<string> => (await f.call('SendEmail', {
    FromEmailAddress: f.sender, Destination: [to], Subject: `pressure ${++n}`,
    Template: { TemplateID: f.templateId, TemplateData: '{"name":"Ann","code":"1"}' },
  })).MessageId;
  const db = () => f.t.app.services.db;

  beforeAll(async () => {
    // Few slots, one connection per host (so at most two deliveries per destination), short leases.
    f = await startSending(store, {
      SESAME_FREQUENCY_LIMIT: '0', SESAME_DELIVERY_CONCURRENCY: '6', SESAME_CONNECTIONS_PER_HOST: '1', SESAME_DELIVERY_LEASE_SECONDS: '3',
    });
    f.domains.extra.mx!.push({ name: 'fast.test', host: 'mx2.dest.test', priority: 10 }, { name: 'odd.test', host: 'odd.dest.test', priority: 10 });
    f.domains.extra.a!.push({ name: 'odd.dest.test', address: '127.0.0.10' });
    await f.domains.publish();
  });
  afterAll(async () => { await f?.stop(); });

  it('a destination that stops answering holds a few slots at most: mail to others goes on', async () => {
    let release!: () => void;
    f.mx1.mode = { kind: 'hold', release: new Promise<void>((r) => { release = r; }) };
    try {
      const stuck = await Promise.all(Array.from({ length: 8 }, (_, i) => send(`stuck${i}@dest.test`)));
      await eventually(async () => f.mx1.holding === 1);
      const before = f.mx2.received.length;
      const fast = await send('urgent@fast.test');
      await statusesOf(f, fast, (l) => l[0].DeliverStatus === 1);
      expect(f.mx2.received.slice(before).map((r) => r.to[0])).toEqual(['urgent@fast.test']);
      expect(f.mx1.holding).toBe(1);
      // The cap itself (2 here): of the 6 slots the stuck destination holds at most 3, as a claim
      // takes up to a destination's worth before it knows the destination is full; without the cap
      // it would hold all 6.
      const held = await db().get<{ n: number }>("SELECT COUNT(*) AS n FROM deliveries WHERE recipient_domain = 'dest.test' AND lease_owner IS NOT NULL");
      expect(held!.n).toBeGreaterThanOrEqual(1);
      expect(held!.n).toBeLessThanOrEqual(3);
      f.mx1.mode = { kind: 'accept' };
      release();
      for (const id of stuck) await statusesOf(f, id, (l) => l[0].DeliverStatus === 1);
    } finally {
      // Whatever failed above, the next tests find the MX answering.
      f.mx1.mode = { kind: 'accept' };
      release();
    }
  });

  it('a delivery whose lease lapses while in flight is not sent a second time by its own worker', async () => {
    let release!: () => void;
    f.mx1.mode = { kind: 'hold', release: new Promise<void>((r) => { release = r; }) };
    const before = f.mx1.received.length;
    const id = await send('once@dest.test');
    await eventually(async () => f.mx1.holding === 1);
    // The lease lapses (as if renewals had failed): the row is due again while the send is under way.
    await db().run('UPDATE deliveries SET next_attempt_at = ? WHERE recipient = ?', [Date.now() - 1, 'once@dest.test']);
    f.t.app.services.accepted.notify();
    // The worker claims it again (the attempt count says so) but does not start a second send.
    await eventually(async () => (await db().get<{ attempts: number }>('SELECT attempts FROM deliveries WHERE recipient = ?', ['once@dest.test']))!.attempts >= 2);
    f.mx1.mode = { kind: 'accept' };
    release();
    await statusesOf(f, id, (l) => l[0].DeliverStatus === 1);
    expect(f.mx1.received.slice(before).filter((r) => r.to.includes('once@dest.test'))).toHaveLength(1);
  });

  it('a reply with control characters (NUL) is recorded cleaned, and the message is delivered once', async () => {
    const odd = await startRawSmtp('127.0.0.10', f.mx1.port, { dataReply: '250 ok \u0000\u0007 queued' });
    try {
      const id = await send('nul@odd.test');
      const [s] = await statusesOf(f, id, (l) => l[0].DeliverStatus === 1);
      expect(s.DeliverMessage).toBe('250 ok    queued');
      const row = await db().get<{ next_attempt_at: number | null }>('SELECT next_attempt_at FROM deliveries WHERE recipient = ?', ['nul@odd.test']);
      expect(row!.next_attempt_at).toBeNull();
      expect(odd.messages).toBe(1);
    } finally {
      await odd.stop();
    }
  });

  it('a refusal with control characters (NUL) bounces and blocklists, its reply cleaned', async () => {
    const odd = await startRawSmtp('127.0.0.10', f.mx1.port, { rcptReply: '550 5.1.1 no such user \u0000 here' });
    try {
      const id = await send('gone@odd.test');
      const [s] = await statusesOf(f, id, (l) => l[0].DeliverStatus === 3);
      expect(s.DeliverMessage).toBe('550 5.1.1 no such user   here');
      const listed = await f.call('ListBlackEmailAddress', { StartDate: new Date().toISOString().slice(0, 10), EndDate: new Date().toISOString().slice(0, 10), Limit: 10, Offset: 0, EmailAddress: 'gone@odd.test' });
      expect(listed.BlackList.map((b) => [b.EmailAddress, b.IspDesc])).toEqual([['gone@odd.test', '550 5.1.1 no such user   here']]);
    } finally {
      await odd.stop();
    }
  });
});

describe.each(STORES)('delivery to private networks, not allowed (the default) on %s', (store) => {
  let f: SendingFixture;
  let n = 0;
  const send = async (to: string): Promise<string> => (await f.call('SendEmail', {
    FromEmailAddress: f.sender, Destination: [to], Subject: `private ${++n}`,
    Template: { TemplateID: f.templateId, TemplateData: '{"name":"Ann","code":"1"}' },
  })).MessageId;
  /** The first outcome (anything but queued) of a message. */
  const outcome = async (id: string, timeoutMs?: number) => (await statusesOf(f, id, (l) => l[0].DeliverStatus !== 0, timeoutMs))[0];
  const connections = (): number => f.mx1.connections + f.mx2.connections;
  const day = formatDate(Date.now(), 'UTC');

  beforeAll(async () => {
    f = await startSending(store, { SESAME_ALLOW_PRIVATE_NETWORKS: 'false', SESAME_FREQUENCY_LIMIT: '0' });
    f.domains.extra.mx!.push(
      { name: 'mapped.test', host: 'mapped.dest.test', priority: 10 },
      { name: 'mixed.test', host: 'mx1.dest.test', priority: 10 },
      { name: 'mixed.test', host: 'public.dest.test', priority: 20 },
    );
    f.domains.extra.a!.push({ name: 'implicit-private.test', address: '127.0.0.3' });
    f.domains.extra.aaaa = [
      { name: 'mapped.dest.test', address: '::ffff:127.0.0.2' },
      // A public address that no test can reach: connecting to it fails (unreachable, refused or timed out).
      { name: 'public.dest.test', address: '3ffe:ffff::25' },
    ];
    await f.domains.publish();
    // Were anything to connect, it would read this refusal of the address, and a banner.
    for (const mx of [f.mx1, f.mx2]) mx.mode = { kind: 'reject', code: 550, message: '5.1.1 no such user on internal host 10.9.8.7' };
  });
  afterAll(async () => { await f?.stop(); });

  it('drops mail whose MX hosts are on loopback: nothing connects, nothing internal is shown, nobody is blocklisted', async () => {
    const id = await send('someone@dest.test');
    const s = await outcome(id);
    expect(s.DeliverStatus).toBe(2);
    expect(s.SendStatus).toBe(0);
    expect(s.DeliverMessage).toContain('not an allowed destination');
    expect(s.DeliverMessage).toContain('SESAME_ALLOW_PRIVATE_NETWORKS');
    for (const leak of ['127.0.0', 'mx1.dest.test', 'mx2.dest.test', '10.9.8.7', 'no such user', MX_BANNER, '550']) expect(s.DeliverMessage).not.toContain(leak);
    expect(connections()).toBe(0);
    // The operator's policy is not the address's fault: it stays off the blocklist, and can be sent to.
    const listed = await f.call('ListBlackEmailAddress', { StartDate: day, EndDate: day, Limit: 10, Offset: 0, EmailAddress: 'someone@dest.test' });
    expect(listed.BlackList).toEqual([]);
    expect(await send('someone@dest.test')).toMatch(/^qcloudses-/);
    // The domain's own address when it has no MX, likewise.
    const implicit = await outcome(await send('someone@implicit-private.test'));
    expect(implicit.DeliverStatus).toBe(2);
    expect(implicit.DeliverMessage).not.toContain('127.0.0');
    expect(connections()).toBe(0);
  });

  it('refuses an IPv6 address that is IPv4 loopback in disguise (::ffff:127.0.0.2)', async () => {
    const s = await outcome(await send('someone@mapped.test'));
    expect(s.DeliverStatus).toBe(2);
    expect(s.DeliverMessage).toContain('not an allowed destination');
    for (const leak of ['::ffff', '127.0.0', 'mapped.dest.test']) expect(s.DeliverMessage).not.toContain(leak);
    expect(connections()).toBe(0);
  });

  it('of a private and a public MX host, tries only the public one', async () => {
    const s = await outcome(await send('someone@mixed.test'), 50_000);
    // The public host could not be reached (nothing in a test can be), so: deferred, and said by it.
    expect(s.DeliverStatus).toBe(8);
    expect(s.DeliverMessage).toContain('public.dest.test');
    for (const leak of ['127.0.0', 'mx1.dest.test', 'no such user']) expect(s.DeliverMessage).not.toContain(leak);
    // The private one, preferred in DNS, was never connected to.
    expect(connections()).toBe(0);
  }, 60_000);
});

describe('graceful shutdown of the worker', () => {
  it('gives deliveries back to the queue at the deadline: those under way as an attempt, those never started uncounted', async () => {
    // One connection per host and two slots per destination, so a claim can hold a delivery that
    // waits for room and never starts.
    const f = await startSending('sqlite', {
      SESAME_DRAIN_SECONDS: '0.4', SESAME_DELIVERY_CONCURRENCY: '8', SESAME_CONNECTIONS_PER_HOST: '1', SESAME_LOG_LEVEL: 'debug',
    });
    let release!: () => void;
    try {
      // The MX never answers the final dot until the test is over: the send is in flight throughout.
      f.mx1.mode = { kind: 'hold', release: new Promise<void>((r) => { release = r; }) };
      const template = { TemplateID: f.templateId, TemplateData: '{"name":"Ann","code":"1"}' };
      await f.call('SendEmail', { FromEmailAddress: f.sender, Destination: ['inflight@dest.test'], Subject: 'in flight', Template: template });
      await eventually(async () => f.mx1.holding > 0);
      const db = f.t.app.services.db;
      const row = (): Promise<{ next_attempt_at: number | null } | undefined> =>
        db.get<{ next_attempt_at: number | null }>('SELECT next_attempt_at FROM deliveries WHERE recipient = ?', ['inflight@dest.test']);
      expect((await row())!.next_attempt_at).toBeGreaterThan(Date.now() + 10_000);
      // Three more: the next claim takes two (a destination's worth), of which one starts (waiting
      // for the connection) and one waits for room at the destination; the third stays queued.
      await f.call('SendEmail', { FromEmailAddress: f.sender, Destination: ['w1@dest.test', 'w2@dest.test', 'w3@dest.test'], Subject: 'waiting', Template: template });
      // Taken in by the worker (leased rows alone would not say so: a claim that returns after the
      // stop begins is given back whole, uncounted).
      await eventually(async () => f.t.logs().some((l) => l.msg === 'deliveries claimed' && l.inFlight === 3), 20_000, 'the claim of two taken in');
      expect((await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM deliveries WHERE lease_owner IS NOT NULL AND recipient LIKE 'w%'"))!.n).toBe(2);
      // The close gives up waiting at the drain limit, SESAME_DRAIN_SECONDS (the MX still holds the send),
      // and releases the leases (committed before close resolves), instead of leaving them to expire.
      await f.t.app.close();
      expect(f.mx1.holding).toBe(1);
      const reopened = await openStore(f.t.config);
      try {
        const rows = await reopened.all<{ recipient: string; next_attempt_at: number | null; lease_owner: number | null; deliver_status: number; attempts: number }>(
          'SELECT recipient, next_attempt_at, lease_owner, deliver_status, attempts FROM deliveries ORDER BY id');
        // Each is due again now, in nobody's name, and the send cut short by the stop did not
        // overwrite that with a deferral.
        for (const r of rows) {
          expect(r.lease_owner, r.recipient).toBeNull();
          expect(r.deliver_status, r.recipient).toBe(0);
          expect(r.next_attempt_at!, r.recipient).toBeLessThanOrEqual(Date.now());
        }
        // Two were under way (an attempt each, as they may have reached the MX); the one that never
        // started and the one never claimed count none.
        expect(rows.map((r) => r.attempts)).toEqual([1, 1, 0, 0]);
      } finally {
        await reopened.close();
      }
    } finally {
      release();
      await f.stop();
    }
  });
});
