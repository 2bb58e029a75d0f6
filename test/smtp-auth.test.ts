/**
 * SMTP logins under attack, end to end: real sessions whose sockets are bound to different
 * loopback source addresses (a server on 127.0.0.1 takes any of 127/8), so each 127.0.x.0/24 is a
 * client network of its own. Sender addresses are public, so wrong passwords for one must not keep
 * its application out; a flood of AUTH must neither starve the store's fsyncs (scrypt shares
 * libuv's thread pool with them) nor shut out the other networks' logins.
 */
import nodemailer from 'nodemailer';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smtpCertificate } from '../src/smtp/certificate.js';
import { startSubmission } from '../src/smtp/submission.js';
import { b64 } from './helpers/sdk.js';
import { RECIPIENT_DOMAIN, SENDER_DOMAIN, startSending, type SendingFixture } from './helpers/sending.js';
import { SmtpTalk } from './helpers/smtp-talk.js';

const PASSWORD = 'Submit2026pass';
const WRONG = 'Wrong2026pass';
/** AUTH attempts fired at once: more than the checks run (2) and waiting (32) together. */
const FLOOD = 60;

describe('SMTP submission: logins under attack', () => {
  let f: SendingFixture;
  let ports: { smtp: number; smtps: number };
  beforeAll(async () => {
    f = await startSending('sqlite', { SESAME_SMTP_AUTH_MAX_FAILURES: '3', SESAME_SMTP_RATE_LIMIT: '0' });
    await f.call('UpdateEmailSmtpPassWord', { EmailAddress: f.sender, Password: PASSWORD });
    const p = f.t.app.smtpPorts;
    if (!p) throw new Error('the smtp role is not running');
    ports = p;
  }, 60_000);
  afterAll(async () => { await f?.stop(); });

  /** A session over implicit TLS from `from`, past EHLO. */
  const session = async (from: string, port = ports.smtps, replyTimeoutMs?: number): Promise<SmtpTalk> => {
    const s = await SmtpTalk.open(port, { tls: true, from, replyTimeoutMs });
    expect(await s.cmd('EHLO client.test')).toMatch(/^250/);
    return s;
  };
  /** One AUTH in a session of its own; the reply (the session is ended). */
  const attempt = async (from: string, login: string, password: string, port = ports.smtps): Promise<string> => {
    const s = await session(from, port);
    const reply = await s.auth(login, password);
    s.end();
    return reply;
  };

  it('wrong passwords for the public sender address from one network leave its application on another network working; that network gets 421 for any login', async () => {
    for (let i = 1; i <= 3; i++) expect(await attempt(`127.0.5.${i}`, f.sender, WRONG)).toMatch(/^535 5\.7\.8 /);
    // The application, on 127.0.6.0/24, logs in and sends as ever.
    const app = nodemailer.createTransport({
      host: '127.0.0.1', port: ports.smtps, secure: true, localAddress: '127.0.6.1',
      auth: { user: f.sender, pass: PASSWORD }, tls: { rejectUnauthorized: false },
    });
    const info = await app.sendMail({ from: f.sender, to: `ann@${RECIPIENT_DOMAIN}`, subject: 'still sending', text: 'hello' });
    expect(info.response).toMatch(/^250 2\.0\.0 Ok: queued as /);
    // The attacker's network, from any of its addresses, with any login, the right password too.
    for (const [from, login, password] of [['127.0.5.1', f.sender, PASSWORD], ['127.0.5.200', `other@${SENDER_DOMAIN}`, PASSWORD]]) {
      const s = await session(from);
      expect(await s.auth(login, password)).toMatch(/^421 4\.7\.0 /);
      await s.closed();
    }
  });

  it('a flood of fresh logins from fresh networks does not wipe the count that locks an attacker network out', async () => {
    // A second listener on the same store whose throttle remembers 4 networks and 4 logins by
    // network, so a few fresh ones are more than its tables hold.
    const small = await startSubmission({
      host: '127.0.0.1', smtpPort: 0, smtpsPort: 0, hostname: f.t.config.hostname,
      tls: await smtpCertificate({ dataDir: f.t.config.dataDir, hostname: f.t.config.hostname, log: pino({ level: 'silent' }) }),
      limits: { maxMessageBytes: 1 << 20, maxRecipients: 50, maxLineLength: 998, maxConnectionsPerAddress: 50, idleMs: 30_000, sessionMs: 60_000 },
      rateLimit: 0,
      auth: { maxFailures: 3, lockoutMs: 15 * 60_000, maxEntries: 4 },
      domains: f.t.app.services.stores.domains,
      mail: f.t.app.services.mail,
      log: pino({ level: 'silent' }),
    });
    try {
      for (let i = 0; i < 3; i++) expect(await attempt('127.0.10.1', f.sender, WRONG, small.smtpsPort)).toMatch(/^535 /);
      expect(await attempt('127.0.10.1', f.sender, PASSWORD, small.smtpsPort)).toMatch(/^421 4\.7\.0 /);
      for (let i = 0; i < 8; i++) expect(await attempt(`127.0.${20 + i}.1`, `fresh${i}@${SENDER_DOMAIN}`, WRONG, small.smtpsPort)).toMatch(/^535 /);
      expect(await attempt('127.0.10.1', f.sender, PASSWORD, small.smtpsPort)).toMatch(/^421 4\.7\.0 /);
      // Fresh logins from one network only add to that network's count.
      for (let i = 0; i < 3; i++) expect(await attempt('127.0.11.1', `spray${i}@${SENDER_DOMAIN}`, WRONG, small.smtpsPort)).toMatch(/^535 /);
      expect(await attempt('127.0.11.2', `spray9@${SENDER_DOMAIN}`, WRONG, small.smtpsPort)).toMatch(/^421 4\.7\.0 /);
    } finally {
      await small.close();
    }
  });

  it('caps password checks: a flood of AUTH from many networks gets 454 4.7.0 at once, while an API write and a login from a known network are answered promptly', async () => {
    // A login of its own, which no earlier test has failed for.
    const ops = `ops@${SENDER_DOMAIN}`;
    await f.call('CreateEmailAddress', { EmailAddress: ops });
    await f.call('UpdateEmailSmtpPassWord', { EmailAddress: ops, Password: PASSWORD });
    // The application has logged in from its network before (as it does every day): a flood that
    // fills the line of waiting checks cannot turn its checks away.
    const earlier = await session('127.0.9.1');
    expect(await earlier.auth(ops, PASSWORD)).toMatch(/^235/);
    earlier.end();
    // 60 sessions, each from a network of its own (127.0.100.0/24 on: one network gets no more
    // attempts at once than its failures allow), and the application's, all ready before the
    // burst. The last of the flood's checks waits 16 rounds: seconds on a busy machine, so they
    // wait up to a minute for their answers.
    const flood = await Promise.all(Array.from({ length: FLOOD }, (_, i) => session(`127.0.${100 + i}.1`, ports.smtps, 60_000)));
    const app = await session('127.0.9.1');
    // An answer that does not come in time counts as what it is.
    const answer = (p: Promise<string>) => p.catch((e: unknown) => `no answer: ${String(e)}`).then((reply) => ({ reply, at: Date.now() }));
    const replies = flood.map((s, i) => answer(s.auth(`guess${i}@${SENDER_DOMAIN}`, WRONG)));
    // Once the first answer comes, the checks the server took on are under way (or waiting).
    await Promise.race(replies);
    const w0 = Date.now();
    const [writeAt, login] = await Promise.all([
      f.call('CreateEmailTemplate', { TemplateName: 'during the flood', TemplateContent: { Text: b64('Hello {{name}}') } }).then(() => Date.now()),
      answer(app.auth(ops, PASSWORD)),
    ]);
    const answers = await Promise.all(replies);
    for (const s of [...flood, app]) s.end();
    const busy = answers.filter((a) => a.reply.startsWith('454 4.7.0 '));
    const failed = answers.filter((a) => a.reply.startsWith('535 5.7.8 '));
    const checkedAfter = (at: number): number => failed.filter((a) => a.at > at).length;
    // Committed and fsynced at once, and the login checked within a turn or two, while most of the
    // flood's checks were still to come. (With every scrypt on the thread pool at once, both
    // waited behind all of them: seconds, with the last of the flood's answers.) The login's time is
    // not bounded outright: its own check takes half a second on a loaded machine. The flood's
    // checks span several seconds even alone (about 7 on a 2-core machine): a write behind them
    // would take that long; a second is room for a loaded machine.
    expect(writeAt - w0).toBeLessThan(1_000);
    expect(checkedAfter(writeAt)).toBeGreaterThan(failed.length / 2);
    expect(login.reply).toMatch(/^235 /);
    expect(checkedAfter(login.at)).toBeGreaterThan(failed.length / 2);
    // More attempts than checks running and waiting: the rest refused at once, with no check made.
    expect(busy.length + failed.length).toBe(FLOOD);
    expect(busy.length).toBeGreaterThanOrEqual(FLOOD - 2 - 32);
    expect(Math.min(...busy.map((a) => a.at))).toBeLessThan(Math.min(...failed.map((a) => a.at)));
  }, 90_000);
});
