/**
 * SMTP submission end to end: real clients (nodemailer over implicit TLS and STARTTLS, and a
 * hand-driven client for the protocol cases) against Sesame's listeners, with what arrives at the
 * test MX checked, DKIM included.
 */
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth/lib/dkim/sign.js';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from './helpers/app.js';
import { SmtpTalk } from './helpers/smtp-talk.js';
import { send as httpSend } from './helpers/raw.js';
import { eventually, RECIPIENT_DOMAIN, SENDER_DOMAIN, signedHeaderNames, startSending, statusesOf, unsubscribeLinkFor, withHeader, type SendingFixture } from './helpers/sending.js';

const PASSWORD = 'Submit2026pass';

async function withPassword(f: SendingFixture): Promise<{ smtp: number; smtps: number }> {
  await f.call('UpdateEmailSmtpPassWord', { EmailAddress: f.sender, Password: PASSWORD });
  const ports = f.t.app.smtpPorts;
  if (!ports) throw new Error('the smtp role is not running');
  return ports;
}

const transport = (port: number, secure: boolean, user: string, pass = PASSWORD) => nodemailer.createTransport({
  host: '127.0.0.1', port, secure, requireTLS: !secure, auth: { user, pass }, tls: { rejectUnauthorized: false },
});

describe.each(STORES)('SMTP submission on %s', (store) => {
  let f: SendingFixture;
  let ports: { smtp: number; smtps: number };
  beforeAll(async () => {
    f = await startSending(store);
    ports = await withPassword(f);
  }, 60_000);
  afterAll(async () => { await f?.stop(); });

  it.each([['implicit TLS', true], ['STARTTLS', false]] as const)('nodemailer over %s: stored, DKIM-signed, delivered, Bcc gone, statuses per recipient', async (_, secure) => {
    const before = f.mx1.received.length;
    const info = await transport(secure ? ports.smtps : ports.smtp, secure, f.sender).sendMail({
      from: `Shop <${f.sender}>`,
      to: `ann@${RECIPIENT_DOMAIN}`,
      bcc: `hidden@${RECIPIENT_DOMAIN}`,
      subject: 'Grüße from the shop',
      text: 'Hello over SMTP',
      attachments: [{ filename: 'a.txt', content: 'attached text' }],
    });
    const messageId = /queued as (\S+)/.exec(info.response)?.[1];
    expect(messageId).toBeTruthy();
    expect(info.accepted.sort()).toEqual([`ann@${RECIPIENT_DOMAIN}`, `hidden@${RECIPIENT_DOMAIN}`]);
    const got = (await f.mx1.waitFor(before + 2)).slice(before);
    expect(got.map((g) => g.to[0]).sort()).toEqual([`ann@${RECIPIENT_DOMAIN}`, `hidden@${RECIPIENT_DOMAIN}`]);
    for (const g of got) {
      const text = g.raw.toString('utf8');
      expect(text).not.toMatch(/^bcc:/im);
      expect(text).toContain('Hello over SMTP');
      expect(g.from).toMatch(/^b-\d+\.[a-z2-7]+@/);
      expect(await f.verifyDkim(g.raw)).toEqual([expect.objectContaining({ result: 'pass', domain: SENDER_DOMAIN })]);
    }
    // Both recipients, each delivered, under the MessageId the 250 reply named.
    await statusesOf(f, messageId!, (s) => s.length === 2 && s.every((x) => x.DeliverStatus === 1));
  });
});

describe('SMTP submission: the protocol', () => {
  let f: SendingFixture;
  let ports: { smtp: number; smtps: number };
  beforeAll(async () => {
    f = await startSending('sqlite', { SESAME_SMTP_AUTH_MAX_FAILURES: '3', SESAME_SMTP_MAX_MESSAGE_BYTES: '4096', SESAME_SMTP_RATE_LIMIT: '0' });
    ports = await withPassword(f);
  }, 60_000);
  afterAll(async () => { await f?.stop(); });

  /** A session from `from` (each 127.0.x.0/24 is a client network of its own for the login throttle). */
  const session = async (from = '127.0.0.1'): Promise<SmtpTalk> => {
    const s = await SmtpTalk.open(ports.smtps, { tls: true, from });
    expect(await s.cmd('EHLO client.test')).toMatch(/^250/);
    return s;
  };
  const loggedIn = async (): Promise<SmtpTalk> => {
    const s = await session();
    expect(await s.auth(f.sender, PASSWORD)).toMatch(/^235/);
    return s;
  };
  const message = (extra = '') => `From: <${f.sender}>\r\nTo: <bob@${RECIPIENT_DOMAIN}>\r\nSubject: hi\r\n${extra}\r\nbody\r\n`;

  it('refuses AUTH before STARTTLS on the plain port, and takes it after', async () => {
    const s = await SmtpTalk.open(ports.smtp);
    expect(await s.cmd('EHLO client.test')).toMatch(/STARTTLS/);
    expect(await s.auth(f.sender, PASSWORD)).toMatch(/^538 /);
    await s.starttls();
    expect(await s.cmd('EHLO client.test')).toMatch(/^250/);
    expect(await s.auth(f.sender, PASSWORD)).toMatch(/^235 /);
    s.end();
  });

  it('gives a wrong password and an unknown user the same 535 5.7.8', async () => {
    // From a network of its own, so the other tests' logins are not slowed by these failures.
    const a = await session('127.0.2.1');
    const wrong = await a.auth(f.sender, 'Wrong2026pass');
    a.end();
    const b = await session('127.0.2.1');
    const unknown = await b.auth(`nobody@${SENDER_DOMAIN}`, PASSWORD);
    b.end();
    expect(wrong).toBe('535 5.7.8 Authentication credentials invalid');
    expect(unknown).toBe(wrong);
  });

  it('relays nothing without AUTH', async () => {
    const s = await session();
    expect(await s.cmd(`MAIL FROM:<${f.sender}>`)).toMatch(/^530 /);
    s.end();
  });

  it('takes MAIL FROM only for the address logged in as', async () => {
    const s = await loggedIn();
    expect(await s.cmd(`MAIL FROM:<other@${SENDER_DOMAIN}>`)).toMatch(/^553 5\.7\.1 /);
    expect(await s.cmd(`MAIL FROM:<${f.sender.toUpperCase()}>`)).toMatch(/^250/);
    s.end();
  });

  it('refuses the 51st recipient and an oversize message', async () => {
    const s = await loggedIn();
    expect(await s.cmd(`MAIL FROM:<${f.sender}>`)).toMatch(/^250/);
    for (let i = 0; i < 50; i++) expect(await s.cmd(`RCPT TO:<r${i}@${RECIPIENT_DOMAIN}>`)).toMatch(/^250/);
    expect(await s.cmd(`RCPT TO:<r50@${RECIPIENT_DOMAIN}>`)).toMatch(/^452 4\.5\.3 /);
    expect(await s.cmd('RSET')).toMatch(/^250/);
    expect(await s.cmd(`MAIL FROM:<${f.sender}> SIZE=5000`)).toMatch(/^552 /);
    expect(await s.cmd(`MAIL FROM:<${f.sender}>`)).toMatch(/^250/);
    expect(await s.cmd(`RCPT TO:<big@${RECIPIENT_DOMAIN}>`)).toMatch(/^250/);
    expect(await s.cmd('DATA')).toMatch(/^354/);
    expect(await s.cmd(`${message()}${'x'.repeat(70)}\r\n`.repeat(80) + '.')).toMatch(/^552 5\.3\.4 /);
    s.end();
  });

  it('refuses a message with a line over 998 characters (RFC 5322) with 554 5.6.0, and takes one of 998', async () => {
    const s = await loggedIn();
    for (const [length, reply] of [[999, /^554 5\.6\.0 /], [998, /^250 /]] as const) {
      expect(await s.cmd(`MAIL FROM:<${f.sender}>`)).toMatch(/^250/);
      expect(await s.cmd(`RCPT TO:<long@${RECIPIENT_DOMAIN}>`)).toMatch(/^250/);
      expect(await s.cmd('DATA')).toMatch(/^354/);
      expect(await s.cmd(`${message()}${'y'.repeat(length)}\r\n.`)).toMatch(reply);
    }
    s.end();
  });

  it('answers business errors in Tencent\'s form: a blocklisted recipient, a From on a domain not verified', async () => {
    await f.call('CreateCustomBlacklist', { Emails: [`blocked@${RECIPIENT_DOMAIN}`] });
    const s = await loggedIn();
    expect(await s.cmd(`MAIL FROM:<${f.sender}>`)).toMatch(/^250/);
    const refused = await s.cmd(`RCPT TO:<blocked@${RECIPIENT_DOMAIN}>`);
    expect(refused).toMatch(/^554 5\.0\.0 Error: .*##SES-response-json: /);
    const json = JSON.parse(refused.slice(refused.indexOf('{'))) as { Response: { QcloudError: { Error: { Code: string } } } };
    expect(json.Response.QcloudError.Error.Code).toBe('FailedOperation.EmailAddrInBlacklist');
    expect(await s.cmd(`RCPT TO:<fine@${RECIPIENT_DOMAIN}>`)).toMatch(/^250/);
    expect(await s.cmd('DATA')).toMatch(/^354/);
    const spoof = await s.cmd(`From: <ceo@bank.test>\r\nTo: <fine@${RECIPIENT_DOMAIN}>\r\nSubject: x\r\n\r\nx\r\n.`);
    expect(spoof).toMatch(/^554 5\.0\.0 .*FailedOperation\.NotAuthenticatedSender/);
    s.end();
  });

  it('refuses submission from an account whose content the operator controls (Simple off, or templates under review), unless allowed', async () => {
    const accounts = f.t.app.services.accounts;
    const appId = f.t.creds.AppId;
    const mailFrom = async (): Promise<string> => {
      const s = await loggedIn();
      const reply = await s.cmd(`MAIL FROM:<${f.sender}>`);
      s.end();
      return reply;
    };
    const refusedCode = (reply: string): string => {
      expect(reply).toMatch(/^554 5\.0\.0 Error: .*##SES-response-json: /);
      return (JSON.parse(reply.slice(reply.indexOf('{'))) as { Response: { QcloudError: { Error: { Code: string } } } }).Response.QcloudError.Error.Code;
    };
    try {
      await accounts.update(appId, { freeContent: false });
      expect(refusedCode(await mailFrom())).toBe('FailedOperation.WithOutPermission');
      // By default an account whose templates need review may not go around the review either.
      await accounts.update(appId, { freeContent: null, templateReview: true });
      expect(refusedCode(await mailFrom())).toBe('FailedOperation.WithOutPermission');
      // Unless the operator allows it explicitly.
      await accounts.update(appId, { freeContent: true });
      expect(await mailFrom()).toMatch(/^250/);
    } finally {
      await accounts.update(appId, { freeContent: null, templateReview: false });
    }
    expect(await mailFrom()).toMatch(/^250/);
  });

  it('keeps 8-bit and UTF-8 headers intact, with a signature that verifies', async () => {
    const before = f.mx1.received.length;
    const s = await loggedIn();
    expect(await s.cmd(`MAIL FROM:<${f.sender}> SMTPUTF8 BODY=8BITMIME`)).toMatch(/^250/);
    expect(await s.cmd(`RCPT TO:<utf@${RECIPIENT_DOMAIN}>`)).toMatch(/^250/);
    expect(await s.cmd('DATA')).toMatch(/^354/);
    const subject = 'Ünïcödé 主题 ✓';
    expect(await s.cmd(`From: Zoë <${f.sender}>\r\nTo: <utf@${RECIPIENT_DOMAIN}>\r\nSubject: ${subject}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n.`)).toMatch(/^250 /);
    s.end();
    const [g] = (await f.mx1.waitFor(before + 1)).slice(before);
    expect(g.raw.toString('utf8')).toContain(`Subject: ${subject}`);
    expect(g.raw.toString('utf8')).toContain('Grüße');
    expect(await f.verifyDkim(g.raw)).toEqual([expect.objectContaining({ result: 'pass' })]);
  });

  // Each ends the first message in a way some server might take for the end, then starts a second,
  // smuggled envelope. Sesame must end the session and keep neither.
  it.each([
    ['\\n.\\n', '\n.\n'],
    ['\\r.\\r', '\r.\r'],
    ['\\r\\n.\\n', '\r\n.\n'],
    ['\\n.\\r\\n', '\n.\r\n'],
  ])('ends the session on the smuggling end-of-data %s, and keeps nothing', async (_, end) => {
    const statusesBefore = (await f.t.app.services.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM deliveries'))!.n;
    const s = await loggedIn();
    expect(await s.cmd(`MAIL FROM:<${f.sender}>`)).toMatch(/^250/);
    expect(await s.cmd(`RCPT TO:<first@${RECIPIENT_DOMAIN}>`)).toMatch(/^250/);
    expect(await s.cmd('DATA')).toMatch(/^354/);
    s.write(`${message()}${end}MAIL FROM:<${f.sender}>\r\nRCPT TO:<smuggled@${RECIPIENT_DOMAIN}>\r\nDATA\r\n${message('X-Smuggled: yes\r\n')}\r\n.\r\n`);
    expect(await s.reply()).toMatch(/^521 5\.5\.2 /);
    await s.closed();
    s.write('.\r\n');
    const after = (await f.t.app.services.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM deliveries'))!.n;
    expect(after).toBe(statusesBefore);
  });

  it('ends the session on a bare LF in a command (a header-injection attempt in the envelope)', async () => {
    const s = await loggedIn();
    s.write(`MAIL FROM:<${f.sender}>\nRCPT TO:<x@${RECIPIENT_DOMAIN}>\r\n`);
    expect(await s.reply()).toMatch(/^521 5\.5\.2 /);
    await s.closed();
  });

  it('throws away what was pipelined after STARTTLS (CVE-2011-0411)', async () => {
    const s = await SmtpTalk.open(ports.smtp);
    expect(await s.cmd('EHLO client.test')).toMatch(/^250/);
    await s.starttls('NOOP\r\nNOOP\r\n');
    // The first reply inside TLS is the one to EHLO, nothing of the injected NOOPs.
    expect(await s.cmd('EHLO client.test')).toMatch(/^250-/);
    expect(await s.cmd('NOOP')).toMatch(/^250/);
    expect(s.unread).toBe('');
    s.end();
  });

  it('refuses a client that talks before the greeting', async () => {
    const s = await SmtpTalk.open(ports.smtp, { readGreeting: false });
    s.write('EHLO early.test\r\n');
    expect(await s.reply()).toMatch(/^421 /);
    s.end();
  });

  it('takes a From on another verified domain of the account, signed by that domain, and checks unsubscribes against it', async () => {
    await f.domains.verified(f.call, 'brand.test');
    await f.call('CreateEmailAddress', { EmailAddress: 'hi@brand.test' });
    // leaver@ unsubscribes from brand.test (through the link of a SendEmail from there), not from the login's domain.
    const before = f.mx1.received.length;
    await f.call('SendEmail', { FromEmailAddress: 'hi@brand.test', Destination: [`leaver@${RECIPIENT_DOMAIN}`], Subject: 'Brand news', Unsubscribe: '1', Template: { TemplateID: f.templateId, TemplateData: '{"name":"L","code":"1"}' } });
    const { url } = await unsubscribeLinkFor(f, `leaver@${RECIPIENT_DOMAIN}`, before);
    expect((await httpSend(url, { method: 'POST', body: 'List-Unsubscribe=One-Click' })).status).toBe(200);

    const s = await loggedIn();
    const brandMessage = (to: string): string => `From: Brand <hi@brand.test>\r\nTo: <${to}>\r\nSubject: from the brand\r\n\r\nbody\r\n.`;
    // RCPT checks against the login's domain, where leaver@ is still subscribed; DATA, against the From's.
    expect(await s.cmd(`MAIL FROM:<${f.sender}>`)).toMatch(/^250/);
    expect(await s.cmd(`RCPT TO:<leaver@${RECIPIENT_DOMAIN}>`)).toMatch(/^250/);
    expect(await s.cmd('DATA')).toMatch(/^354/);
    expect(await s.cmd(brandMessage(`leaver@${RECIPIENT_DOMAIN}`))).toMatch(/^554 5\.0\.0 .*FailedOperation\.ReceiverHasUnsubscribed/);
    const sent = f.mx1.received.length;
    expect(await s.cmd(`MAIL FROM:<${f.sender}>`)).toMatch(/^250/);
    expect(await s.cmd(`RCPT TO:<stays@${RECIPIENT_DOMAIN}>`)).toMatch(/^250/);
    expect(await s.cmd('DATA')).toMatch(/^354/);
    expect(await s.cmd(brandMessage(`stays@${RECIPIENT_DOMAIN}`))).toMatch(/^250 2\.0\.0 /);
    s.end();
    const [g] = (await f.mx1.waitFor(sent + 1)).slice(sent);
    expect(g.to).toEqual([`stays@${RECIPIENT_DOMAIN}`]);
    expect(await f.verifyDkim(g.raw)).toEqual([expect.objectContaining({ result: 'pass', domain: 'brand.test' })]);
  });

  it('logs in with an address on an internationalised domain, in Unicode or in its A-label form', async () => {
    await f.domains.verified(f.call, 'bücher.test');
    await f.call('CreateEmailAddress', { EmailAddress: 'info@bücher.test' });
    await f.call('UpdateEmailSmtpPassWord', { EmailAddress: 'info@bücher.test', Password: PASSWORD });
    const before = f.mx1.received.length;
    for (const [login, from] of [['info@bücher.test', 'info@xn--bcher-kva.test'], ['INFO@xn--bcher-kva.test', 'info@bücher.test']]) {
      const s = await session();
      expect(await s.auth(login, PASSWORD)).toMatch(/^235/);
      expect(await s.cmd(`MAIL FROM:<${from}> SMTPUTF8`)).toMatch(/^250/);
      expect(await s.cmd(`RCPT TO:<idn@${RECIPIENT_DOMAIN}>`)).toMatch(/^250/);
      expect(await s.cmd('DATA')).toMatch(/^354/);
      expect(await s.cmd(`From: <info@xn--bcher-kva.test>\r\nTo: <idn@${RECIPIENT_DOMAIN}>\r\nSubject: books\r\n\r\nbody\r\n.`)).toMatch(/^250 2\.0\.0 /);
      s.end();
    }
    const got = (await f.mx1.waitFor(before + 2)).slice(before);
    for (const g of got) expect(await f.verifyDkim(g.raw)).toEqual([expect.objectContaining({ result: 'pass', domain: 'xn--bcher-kva.test' })]);
  });

  it('over-signs submitted mail by what it holds: a header it has twice is listed three times; additions break the signature', async () => {
    const before = f.mx1.received.length;
    const s = await loggedIn();
    expect(await s.cmd(`MAIL FROM:<${f.sender}>`)).toMatch(/^250/);
    expect(await s.cmd(`RCPT TO:<twice@${RECIPIENT_DOMAIN}>`)).toMatch(/^250/);
    expect(await s.cmd('DATA')).toMatch(/^354/);
    expect(await s.cmd(`From: <${f.sender}>\r\nTo: <twice@${RECIPIENT_DOMAIN}>\r\nTo: <again@${RECIPIENT_DOMAIN}>\r\nSubject: submitted\r\n\r\nbody\r\n.`)).toMatch(/^250 2\.0\.0 /);
    s.end();
    const [g] = (await f.mx1.waitFor(before + 1)).slice(before);
    expect(await f.verifyDkim(g.raw)).toEqual([expect.objectContaining({ result: 'pass', domain: SENDER_DOMAIN })]);
    const h = signedHeaderNames(g.raw);
    const listed = (name: string): number => h.filter((n) => n === name).length;
    expect(listed('to')).toBe(3);
    expect(listed('from')).toBe(2);
    expect(listed('subject')).toBe(2);
    // Added by Sesame when the client left them out (RFC 6409 §8), and signed like the rest.
    expect(listed('date')).toBe(2);
    expect(listed('message-id')).toBe(2);
    expect(listed('reply-to')).toBe(1);
    for (const added of [withHeader(g.raw, 'From: Bank <security@bank.test>'), withHeader(g.raw, 'Subject: Your account is locked'),
      withHeader(g.raw, 'Reply-To: thief@evil.test', 'last'), withHeader(g.raw, `To: <third@${RECIPIENT_DOMAIN}>`)]) {
      expect((await f.verifyDkim(added)).map((r) => r.result)).not.toContain('pass');
    }
  });

  it('keeps a DKIM signature the client added, next to its own, and both verify', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pub = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    f.domains.extra = { ...f.domains.extra, txt: [...(f.domains.extra.txt ?? []), { name: `app._domainkey.${SENDER_DOMAIN}`, value: `v=DKIM1; k=rsa; p=${pub}` }] };
    await f.domains.publish();
    const message = Buffer.from(`From: <${f.sender}>\r\nTo: <signed@${RECIPIENT_DOMAIN}>\r\nSubject: signed by the app\r\nDate: Thu, 26 Nov 2026 09:00:00 +0000\r\nMessage-ID: <app-1@${SENDER_DOMAIN}>\r\n\r\nThe application signed this.\r\n`);
    const key = { signingDomain: SENDER_DOMAIN, selector: 'app', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    // mailauth signs with the entries of signatureData (the top-level key alone signs nothing).
    const signed = await dkimSign(message, { ...key, canonicalization: 'relaxed/relaxed', signatureData: [key] });
    expect(signed.signatures).toMatch(/^DKIM-Signature: /);
    const before = f.mx1.received.length;
    const s = await loggedIn();
    expect(await s.cmd(`MAIL FROM:<${f.sender}>`)).toMatch(/^250/);
    expect(await s.cmd(`RCPT TO:<signed@${RECIPIENT_DOMAIN}>`)).toMatch(/^250/);
    expect(await s.cmd('DATA')).toMatch(/^354/);
    expect(await s.cmd(`${signed.signatures}${message.toString()}.`)).toMatch(/^250 2\.0\.0 /);
    s.end();
    const [g] = (await f.mx1.waitFor(before + 1)).slice(before);
    const results = await f.verifyDkim(g.raw);
    expect(results).toHaveLength(2);
    expect(results.every((r) => r.result === 'pass' && r.domain === SENDER_DOMAIN)).toBe(true);
    expect(g.raw.toString()).toMatch(/s=app;/);
  });

  it('slows failed logins down, then locks the network out', async () => {
    const times: number[] = [];
    const s = await session('127.0.3.1');
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      expect(await s.auth(`guess${i}@${SENDER_DOMAIN}`, 'Wrong2026pass')).toMatch(/^535 /);
      times.push(Date.now() - t0);
    }
    // The second waits 250 ms, the third 500 ms, before its answer.
    expect(times[2]).toBeGreaterThanOrEqual(500);
    expect(await s.auth(f.sender, PASSWORD)).toMatch(/^421 4\.7\.0 /);
    await s.closed();
    // Another address of the same /24 is the same network.
    const again = await session('127.0.3.77');
    expect(await again.auth(f.sender, PASSWORD)).toMatch(/^421 4\.7\.0 /);
    again.end();
    // Another network is not locked out.
    const other = await session('127.0.4.1');
    expect(await other.auth(f.sender, PASSWORD)).toMatch(/^235 /);
    other.end();
  });
});

describe('SMTP submission: connection limits', () => {
  let f: SendingFixture;
  let ports: { smtp: number; smtps: number };
  beforeAll(async () => {
    f = await startSending('sqlite', { SESAME_SMTP_MAX_CONNECTIONS_PER_IP: '2', SESAME_SMTP_SESSION_SECONDS: '2', SESAME_SMTP_IDLE_SECONDS: '1' });
    ports = await withPassword(f);
  }, 60_000);
  afterAll(async () => { await f?.stop(); });

  /** Opens a session once the server has let go of earlier ones (it counts a close when it sees it). */
  const admitted = (): Promise<SmtpTalk> => eventually(async () => {
    const s = await SmtpTalk.open(ports.smtp);
    if (s.greeting.startsWith('220')) return s;
    s.end();
    return undefined;
  }, 10_000, 'a free connection slot');

  it('refuses a connection over the per-address limit with 421 4.7.0, and takes one again once a slot is free', async () => {
    const a = await admitted();
    const b = await admitted();
    // Both just spoke, so neither is near the idle limit when the third one comes.
    expect(await a.cmd('NOOP')).toMatch(/^250/);
    expect(await b.cmd('NOOP')).toMatch(/^250/);
    const c = await SmtpTalk.open(ports.smtp);
    expect(c.greeting).toMatch(/^421 4\.7\.0 /);
    await c.closed();
    a.end();
    const d = await admitted();
    expect(await d.cmd('EHLO client.test')).toMatch(/^250/);
    b.end();
    d.end();
  });

  it('a failed STARTTLS handshake frees its slot', async () => {
    const s = await admitted();
    expect(await s.cmd('EHLO client.test')).toMatch(/^250/);
    expect(await s.cmd('STARTTLS')).toMatch(/^220/);
    // Not a TLS ClientHello: the handshake fails and the server drops the connection.
    s.write('this is not TLS\r\n'.repeat(8));
    await s.closed();
    const [x, y] = [await admitted(), await admitted()];
    expect(await x.cmd('NOOP')).toMatch(/^250/);
    expect(await y.cmd('NOOP')).toMatch(/^250/);
    x.end();
    y.end();
  });

  it('takes at most SESAME_SMTP_RATE_LIMIT messages per second from an account: 451 4.7.1 with RequestLimitExceeded.SmtpRateLimit', async () => {
    const s = await SmtpTalk.open(ports.smtps, { tls: true });
    expect(await s.cmd('EHLO client.test')).toMatch(/^250/);
    expect(await s.auth(f.sender, PASSWORD)).toMatch(/^235/);
    const replies: string[] = [];
    // The default is 20 per second, with a burst of as many: 40 at once cannot all pass.
    for (let i = 0; i < 40; i++) {
      replies.push(await s.cmd(`MAIL FROM:<${f.sender}>`));
      await s.cmd('RSET');
    }
    s.end();
    expect(replies.filter((r) => r.startsWith('250')).length).toBeGreaterThanOrEqual(20);
    const refused = replies.find((r) => !r.startsWith('250'));
    expect(refused).toMatch(/^451 4\.7\.1 Error: ##SES-response-json: /);
    const json = JSON.parse(refused!.slice(refused!.indexOf('{'))) as { Response: { QcloudError: { Error: { Code: string } } } };
    expect(json.Response.QcloudError.Error.Code).toBe('RequestLimitExceeded.SmtpRateLimit');
  });

  it('closes a connection that stays silent past the idle limit', async () => {
    const s = await admitted();
    const opened = Date.now();
    expect(await s.cmd('EHLO client.test')).toMatch(/^250/);
    expect(await s.reply()).toMatch(/^421 4\.4\.2 /);
    await s.closed();
    expect(Date.now() - opened).toBeGreaterThanOrEqual(900);
  });

  it('ends a session that outlasts the total limit, busy or not, with 421 4.4.2', async () => {
    const s = await SmtpTalk.open(ports.smtps, { tls: true });
    const started = Date.now();
    expect(await s.cmd('EHLO client.test')).toMatch(/^250/);
    expect(await s.auth(f.sender, PASSWORD)).toMatch(/^235/);
    // A client that keeps talking is never idle, but its session still ends.
    let last = '';
    while (Date.now() - started < 10_000) {
      last = await s.cmd('NOOP').catch(() => '');
      if (!last.startsWith('250')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const end = last || (await s.closed()).trim();
    expect(end).toMatch(/^421 4\.4\.2 /);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    await s.closed();
  });
});
