/**
 * The bounce MX end to end on both stores, with nodemailer (and a hand-driven client) as the
 * mailbox provider: a DSN to the VERP address of delivered mail bounces it and blocklists the
 * address; a delayed DSN is a deferred event; an ARF complaint to fbl@ (matched by Return-Path, or
 * by Message-ID alone) sets UserComplained, suppresses the recipient and shows in GetAbuseReport;
 * callouts to VERP addresses are answered; strangers and relays are refused; auto-replies are
 * dropped; what cannot be read is kept for the operator; a bare LF ends the session.
 */
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from './helpers/app.js';
import { errorCode } from './helpers/sdk.js';
import { eventually, SENDER_DOMAIN, startSending, statusesOf, type SendingFixture } from './helpers/sending.js';
import { SmtpTalk } from './helpers/smtp-talk.js';

/** A Postfix-style DSN for `rcpt` with `action` and `status`, quoting the original's headers. */
function dsn(rcpt: string, action: 'failed' | 'delayed', status: string, diagnostic: string, original: string): string {
  const b = 'dsn-boundary-1';
  return [
    'From: MAILER-DAEMON@mx.isp.test', 'To: bounce@mail.shop.test', 'Subject: Undelivered Mail Returned to Sender',
    // Postfix's own notices carry this too: the content type decides, not this field.
    'Auto-Submitted: auto-replied', 'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${b}"`, '',
    `--${b}`, 'Content-Type: text/plain; charset=us-ascii', '', 'This is the mail system at host mx.isp.test.', '',
    `--${b}`, 'Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; mx.isp.test', 'Arrival-Date: Sun,  6 Dec 2026 10:00:00 +0000', '',
    `Final-Recipient: rfc822; ${rcpt}`, `Original-Recipient: rfc822;${rcpt}`, `Action: ${action}`, `Status: ${status}`,
    'Remote-MTA: dns; store.isp.test', `Diagnostic-Code: smtp; ${diagnostic}`, '',
    `--${b}`, 'Content-Type: text/rfc822-headers', '', original.trim(), '',
    `--${b}--`, '',
  ].join('\r\n');
}

/** An ARF report (RFC 5965) about the original `original`. */
function arf(original: string, o: { mailFrom?: string; rcpt: string }): string {
  const b = 'arf-boundary-1';
  return [
    'From: feedback@fbl.isp.test', 'To: fbl@mail.shop.test', 'Subject: Abuse report', 'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=feedback-report; boundary="${b}"`, '',
    `--${b}`, 'Content-Type: text/plain', '', 'A user of ours reported this message as spam.', '',
    `--${b}`, 'Content-Type: message/feedback-report', '', 'Feedback-Type: abuse', 'User-Agent: IspFeedback/2.1', 'Version: 1',
    ...(o.mailFrom ? [`Original-Mail-From: <${o.mailFrom}>`] : []), `Original-Rcpt-To: <${o.rcpt}>`,
    'Arrival-Date: Sun, 06 Dec 2026 09:30:00 +0000', 'Source-IP: 192.0.2.45', 'Reported-Domain: mail.shop.test', '',
    `--${b}`, 'Content-Type: message/rfc822', 'Content-Disposition: inline', '', original.trim(), '',
    `--${b}--`, '',
  ].join('\r\n');
}

describe.each(STORES)('the bounce MX on %s', (store) => {
  let f: SendingFixture;
  let provider: ReturnType<typeof nodemailer.createTransport>;
  const today = (): string => new Date().toISOString().slice(0, 10);

  /** Sends to `to`; answers the MessageId, the VERP envelope sender the mail went out with, and its header. */
  async function delivered(to: string): Promise<{ id: string; verp: string; header: string }> {
    const before = f.mx1.received.length;
    const id = (await f.call('SendEmail', {
      FromEmailAddress: f.sender, Destination: [to], Subject: 'Your code',
      Template: { TemplateID: f.templateId, TemplateData: '{"name":"Ann","code":"7"}' },
    })).MessageId;
    const got = await eventually(async () => f.mx1.received.slice(before).find((g) => g.to.includes(to)), 20_000, `the mail to ${to}`);
    await statusesOf(f, id, (l) => l[0].DeliverStatus === 1);
    const raw = got.raw.toString('latin1');
    return { id, verp: got.from, header: `Return-Path: <${got.from}>\r\n${raw.slice(0, raw.indexOf('\r\n\r\n'))}` };
  }
  const deliver = (to: string, raw: string, from = '') => provider.sendMail({ envelope: { from, to }, raw });
  const eventsOf = (id: string) => f.t.app.services.db.all<{ event: number; bounce_type: string; reason: string; source_ip: string }>(
    'SELECT e.event, e.bounce_type, e.reason, e.source_ip FROM events e JOIN deliveries d ON d.id = e.delivery_id JOIN messages m ON m.id = d.message_row WHERE m.message_id = ? ORDER BY e.id', [id]);

  beforeAll(async () => {
    f = await startSending(store);
    provider = nodemailer.createTransport({ host: '127.0.0.1', port: f.t.app.mxPort, secure: false, tls: { rejectUnauthorized: false } });
  });
  afterAll(async () => { provider?.close(); await f?.stop(); });

  it('a DSN to the VERP address of delivered mail bounces it, blocklists the address and moves the counters', async () => {
    const base = (await f.call('GetStatisticsReport', { StartDate: today(), EndDate: today() })).OverallVolume;
    const m = await delivered('gone@dest.test');
    expect(m.verp).toMatch(new RegExp(`^b-[0-9a-z]+\\.[a-z2-7]+@${SENDER_DOMAIN.replace(/\./g, '\\.')}$`));
    const diagnostic = '550 5.1.1 <gone@dest.test>: Recipient address rejected: User unknown in virtual mailbox table';
    const r = await deliver(m.verp, dsn('gone@dest.test', 'failed', '5.1.1', diagnostic, m.header));
    expect(r.response).toMatch(/^250 .*bounced/);
    const [s] = await statusesOf(f, m.id, (l) => l[0].DeliverStatus === 3);
    expect(s.DeliverMessage).toContain('User unknown');
    const list = await f.call('ListBlackEmailAddress', { StartDate: today(), EndDate: today(), Limit: 10, Offset: 0, EmailAddress: 'gone@dest.test' });
    expect(list.BlackList).toEqual([expect.objectContaining({ EmailAddress: 'gone@dest.test', IspDesc: expect.stringContaining('User unknown') })]);
    expect(await eventsOf(m.id)).toEqual([
      expect.objectContaining({ event: 1 }),
      expect.objectContaining({ event: 3, bounce_type: 'hard_bounce', reason: `5.1.1 ${diagnostic}` }),
    ]);
    const after = (await f.call('GetStatisticsReport', { StartDate: today(), EndDate: today() })).OverallVolume;
    expect([after.DeliveredCount - base.DeliveredCount, after.BounceCount - base.BounceCount]).toEqual([0, 1]);
    expect(await errorCode(f.call('SendEmail', {
      FromEmailAddress: f.sender, Destination: ['gone@dest.test'], Subject: 'Again', Template: { TemplateID: f.templateId, TemplateData: '{"name":"A","code":"1"}' },
    }))).toBe('FailedOperation.EmailAddrInBlacklist');
  });

  it('a 5.7.1 DSN is a soft bounce (no blocklist); a delayed DSN is a deferred event and changes nothing', async () => {
    const soft = await delivered('spamfilter@dest.test');
    await deliver(soft.verp, dsn('spamfilter@dest.test', 'failed', '5.7.1', '550 5.7.1 Message rejected as spam', soft.header));
    await statusesOf(f, soft.id, (l) => l[0].DeliverStatus === 3);
    expect((await eventsOf(soft.id))[1]).toMatchObject({ event: 3, bounce_type: 'soft_bounce' });
    expect((await f.call('ListBlackEmailAddress', { StartDate: today(), EndDate: today(), Limit: 10, Offset: 0, EmailAddress: 'spamfilter@dest.test' })).BlackList).toEqual([]);

    const slow = await delivered('slow@dest.test');
    const r = await deliver(slow.verp, dsn('slow@dest.test', 'delayed', '4.4.1', '421 4.4.1 Connection timed out; will keep trying', slow.header));
    expect(r.response).toMatch(/deferred/);
    expect((await eventsOf(slow.id)).map((e) => e.event)).toEqual([1, 8]);
    const [s] = await statusesOf(f, slow.id, () => true);
    expect(s.DeliverStatus).toBe(1);
  });

  it('an ARF complaint sets UserComplained, suppresses the recipient for the account and shows in GetAbuseReport', async () => {
    const m = await delivered('annoyed@dest.test');
    const r = await deliver(`fbl@${SENDER_DOMAIN}`, arf(`${m.header}\r\n\r\nthe body`, { mailFrom: m.verp, rcpt: 'annoyed@dest.test' }), 'feedback@fbl.isp.test');
    expect(r.response).toMatch(/complaint/);
    const [s] = await statusesOf(f, m.id, (l) => (l[0] as { UserComplained?: boolean }).UserComplained === true);
    expect(s.DeliverStatus).toBe(1);
    expect(await errorCode(f.call('SendEmail', {
      FromEmailAddress: f.sender, Destination: ['annoyed@dest.test'], Subject: 'Again', Template: { TemplateID: f.templateId, TemplateData: '{"name":"A","code":"1"}' },
    }))).toBe('FailedOperation.ReceiverHasUnsubscribed');
    const report = await f.call('GetAbuseReport', { StartTime: today(), EndTime: today(), ToAddress: 'annoyed@dest.test' });
    expect(report.TotalCount).toBe(1);
    expect(report.Data[0]).toMatchObject({
      OriginalMailFrom: f.sender, OriginalRcptTo: 'annoyed@dest.test', FromDomain: SENDER_DOMAIN, Mta: 'dest.test', SourceIp: '192.0.2.45',
      TemplateId: String(f.templateId), BulkId: m.id, Subject: 'Your code', AbuseTime: '2026-12-06 09:30:00',
    });
    expect(report.Data[0].MessageId).toMatch(/^<.+@mail\.shop\.test>$/);
    // Filters: another template, domain or recipient finds nothing; a bad time is refused in its own code.
    expect((await f.call('GetAbuseReport', { StartTime: today(), EndTime: today(), TemplateId: '999999' })).TotalCount).toBe(0);
    expect((await f.call('GetAbuseReport', { StartTime: today(), EndTime: today(), FromDomain: 'other.test' })).TotalCount).toBe(0);
    expect(await errorCode(f.call('GetAbuseReport', { StartTime: 'yesterday', EndTime: today() }))).toBe('InvalidParameter.InvalidStartTimeFormat');
    expect(await errorCode(f.call('GetAbuseReport', { StartTime: today(), EndTime: today(), Limit: 5000 }))).toBe('FailedOperation.InvalidLimit');
  });

  it('matches a complaint by Message-ID when the provider left out the envelope sender', async () => {
    const m = await delivered('nomailfrom@dest.test');
    const headerOnly = m.header.split('\r\n').filter((l) => !/^return-path:/i.test(l)).join('\r\n');
    await deliver(`abuse@${SENDER_DOMAIN}`, arf(`${headerOnly}\r\n\r\nbody`, { rcpt: 'nomailfrom@dest.test' }), 'feedback@fbl.isp.test');
    await statusesOf(f, m.id, (l) => (l[0] as { UserComplained?: boolean }).UserComplained === true);
  });

  it('answers callouts for its VERP addresses and refuses strangers, forged tokens and relaying', async () => {
    const m = await delivered('callout@dest.test');
    const t = await SmtpTalk.open(f.t.app.mxPort!);
    try {
      expect(await t.cmd('EHLO verifier.isp.test')).toMatch(/^250/);
      expect(await t.cmd('MAIL FROM:<>')).toMatch(/^250/);
      expect(await t.cmd(`RCPT TO:<${m.verp}>`)).toMatch(/^250/);
      for (const stranger of ['postmaster@mail.shop.test', 'someone@gmail.com', m.verp.replace(/\.[a-z2-7]+@/, '.aaaaaaaaaaaaaaaa@'), 'fbl@unverified.test', 'b-1.abc@mail.shop.test']) {
        expect(await t.cmd(`RCPT TO:<${stranger}>`), stranger).toMatch(/^550 5\.1\.1/);
      }
    } finally {
      t.end();
    }
  });

  it('drops auto-replies, keeps what it cannot read for the operator, and answers 250 to both', async () => {
    const m = await delivered('vacation@dest.test');
    const auto = await provider.sendMail({ envelope: { from: 'vacation@dest.test', to: m.verp }, raw: 'From: vacation@dest.test\r\nTo: x@y\r\nSubject: Out of Office: back Monday\r\nAuto-Submitted: auto-replied\r\n\r\nI am away.\r\n' });
    expect(auto.response).toMatch(/^250 .*ignored/);
    const odd = await provider.sendMail({ envelope: { from: 'someone@dest.test', to: m.verp }, raw: 'From: someone@dest.test\r\nSubject: hello\r\n\r\nJust saying hi.\r\n' });
    expect(odd.response).toMatch(/^250 .*kept/);
    expect((await eventsOf(m.id)).map((e) => e.event)).toEqual([1]);
    const kept = await f.t.app.services.feedback.listKept(10);
    expect(kept[0]).toMatchObject({ mail_from: 'someone@dest.test', rcpt_to: m.verp });
    expect((await f.t.app.services.feedback.keptContent(kept[0].id))!.toString()).toContain('Just saying hi.');
  });

  it('takes malformed reports without falling over: each is answered, kept or ignored, and the next DSN still counts', async () => {
    const m = await delivered('fuzzed@dest.test');
    const good = dsn('fuzzed@dest.test', 'failed', '5.1.1', '550 5.1.1 unknown user', m.header);
    // Seeded, so a failure replays: cut anywhere, a boundary broken, bytes flipped, huge lines, nested parts.
    let seed = 7;
    const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed / 2 ** 31; };
    const variants: string[] = [];
    for (let i = 0; i < 12; i++) variants.push(good.slice(0, Math.floor(rnd() * good.length)));
    variants.push(good.replace(/dsn-boundary-1/g, (x, at: number) => (at % 2 ? x : 'other')));
    variants.push(good.replace('Content-Type: message/delivery-status', 'Content-Type: message/delivery-status; charset="'));
    variants.push(good.replace(/Status: 5\.1\.1/, `Status: ${'5.'.repeat(5000)}`));
    variants.push(good.replace('Final-Recipient', `X-Long: ${'a'.repeat(500_000)}\r\nFinal-Recipient`));
    variants.push(`Content-Type: multipart/report; report-type=delivery-status; boundary=a\r\n\r\n${'--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n'.repeat(300)}`);
    variants.push(Buffer.from(Array.from({ length: 4000 }, () => Math.floor(rnd() * 256))).toString('latin1').replace(/\r|\n/g, ' '));
    for (const v of variants) {
      const r = await provider.sendMail({ envelope: { from: '', to: m.verp }, raw: Buffer.from(v.endsWith('\r\n') ? v : `${v}\r\n`, 'latin1') });
      expect(r.response).toMatch(/^250 /);
    }
    // Whatever those did (a cut that keeps the status part whole is a report in its own right), the listener still takes a real one.
    const r = await deliver(m.verp, good);
    expect(r.response).toMatch(/bounced/);
    await statusesOf(f, m.id, (l) => l[0].DeliverStatus === 3);
  });

  it('ends a session that sends a bare LF (SMTP smuggling)', async () => {
    const m = await delivered('smuggle@dest.test');
    const t = await SmtpTalk.open(f.t.app.mxPort!);
    await t.cmd('EHLO x.test');
    await t.cmd('MAIL FROM:<>');
    await t.cmd(`RCPT TO:<${m.verp}>`);
    expect(await t.cmd('DATA')).toMatch(/^354/);
    t.write('Subject: x\r\n\r\nline\n.\nMAIL FROM:<evil@x.test>\r\n');
    expect(await t.closed()).toMatch(/521 5\.5\.2/);
    expect((await eventsOf(m.id)).map((e) => e.event)).toEqual([1]);
  });
});
