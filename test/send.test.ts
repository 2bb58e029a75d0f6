/**
 * SendEmail end to end on both stores: the official SDK sends, real MX servers (smtp-server on
 * 127.0.0.x) receive, mailauth verifies the DKIM signature against the records in dnsmasq, and
 * mailparser reads what arrived. Every check of the request has its error code.
 */
import { createHash } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatDate } from '../src/lib/time.js';
import { STORES } from './helpers/app.js';
import { b64, errorCode, sdkClient } from './helpers/sdk.js';
import { SENDER_DOMAIN, signedHeaderNames, startSending, statusesOf, withHeader, type SendingFixture } from './helpers/sending.js';
import type { SendEmailRequest } from '../src/schema/ses.js';

const today = (): string => formatDate(Date.now(), 'UTC');

describe.each(STORES)('SendEmail on %s', (store) => {
  let f: SendingFixture;
  let n = 0;
  /** A fresh recipient each time (the frequency limit counts per recipient). */
  const rcpt = (): string => `user${++n}@dest.test`;
  const send = (over: Partial<SendEmailRequest>): ReturnType<SendingFixture['call']> => f.call('SendEmail', {
    FromEmailAddress: f.sender, Destination: [rcpt()], Subject: 'Hello {{name}}',
    Template: { TemplateID: f.templateId, TemplateData: '{"name":"Ann","code":"1"}' }, ...over,
  } as SendEmailRequest);

  beforeAll(async () => { f = await startSending(store, { SESAME_FREQUENCY_LIMIT: '3', SESAME_DAILY_QUOTA: '60' }); });
  afterAll(async () => { await f?.stop(); });
  beforeEach(() => { f.mx1.mode = { kind: 'accept' }; });

  it('delivers a DKIM-signed message with the headers it was asked for', async () => {
    const before = f.mx1.received.length;
    const { MessageId } = await f.call('SendEmail', {
      FromEmailAddress: `Shop <${f.sender}>`, Destination: ['ann@dest.test', 'bob@dest.test'], Cc: ['carol@dest.test'], Bcc: ['dave@dest.test'],
      Subject: 'Welcome {{name}}', ReplyToAddresses: 'help@shop.test', SmtpMessageId: '<order-1234@mail.shop.test>',
      SmtpHeaders: JSON.stringify({ 'X-Campaign': 'spring', 'In-Reply-To': '<prev@mail.shop.test>' }),
      Template: { TemplateID: f.templateId, TemplateData: JSON.stringify({ name: 'Ann <& Co>', code: '42' }) },
    });
    expect(MessageId).toMatch(/^qcloudses-30-\d{10}-date-\d{14}-[A-Za-z0-9]{12}$/);
    const got = (await f.mx1.waitFor(before + 4)).slice(before);
    expect(got.map((g) => g.to[0]).sort()).toEqual(['ann@dest.test', 'bob@dest.test', 'carol@dest.test', 'dave@dest.test']);
    for (const g of got) {
      expect(await f.verifyDkim(g.raw)).toEqual([{ result: 'pass', domain: SENDER_DOMAIN, algorithm: 'rsa-sha256' }]);
      // VERP: each delivery has its own bounce address on the sender's (bounce) domain.
      expect(g.from).toMatch(/^b-[0-9a-z]+\.[a-z2-7]{16}@mail\.shop\.test$/);
      expect(g.secure).toBe(true);
      const mail = await simpleParser(g.raw);
      expect(mail.from?.value).toEqual([{ name: 'Shop', address: f.sender }]);
      expect(mail.to && !Array.isArray(mail.to) ? mail.to.value.map((v) => v.address) : []).toEqual(['ann@dest.test', 'bob@dest.test']);
      expect(mail.cc && !Array.isArray(mail.cc) ? mail.cc.value.map((v) => v.address) : []).toEqual(['carol@dest.test']);
      expect(mail.headers.has('bcc')).toBe(false);
      expect(mail.subject).toBe('Welcome Ann <& Co>');
      expect(mail.messageId).toBe('<order-1234@mail.shop.test>');
      expect(mail.replyTo?.value[0].address).toBe('help@shop.test');
      expect(mail.headers.get('x-campaign')).toBe('spring');
      expect(mail.inReplyTo).toBe('<prev@mail.shop.test>');
      expect(mail.date).toBeInstanceOf(Date);
      expect(mail.html).toContain('Hello Ann &lt;&amp; Co&gt;, your code is <b>42</b>.');
      expect(mail.text).toContain('Hello Ann <& Co>, your code is 42.');
    }
    const statuses = await statusesOf(f, MessageId, (l) => l.length === 4 && l.every((s) => s.DeliverStatus === 1));
    for (const s of statuses) {
      expect(s).toMatchObject({ MessageId, FromEmailAddress: f.sender, SendStatus: 0, DeliverStatus: 1, UserOpened: false, UserUnsubscribed: false });
      expect(s.DeliverTime).toBeGreaterThanOrEqual(s.RequestTime);
      expect(s.DeliverMessage).toMatch(/^250/);
    }
  });

  it('over-signs: a From, Subject or Reply-To added in transit breaks the signature', async () => {
    const before = f.mx1.received.length;
    await send({});
    const [g] = (await f.mx1.waitFor(before + 1)).slice(before);
    expect(await f.verifyDkim(g.raw)).toEqual([{ result: 'pass', domain: SENDER_DOMAIN, algorithm: 'rsa-sha256' }]);
    const h = signedHeaderNames(g.raw);
    const header = g.raw.toString('latin1').slice(0, g.raw.indexOf('\r\n\r\n')).split('\r\n');
    const occurs = (name: string): number => header.filter((l) => l.toLowerCase().startsWith(`${name}:`)).length;
    const listed = (name: string): number => h.filter((n) => n === name).length;
    for (const name of ['from', 'to', 'subject', 'date', 'message-id', 'mime-version', 'content-type']) {
      expect(occurs(name), name).toBe(1);
      expect(listed(name), name).toBe(2);
    }
    // None in the message, so listed once: "there is none".
    expect(occurs('reply-to')).toBe(0);
    expect(listed('reply-to')).toBe(1);
    for (const added of ['From: Bank <security@bank.test>', 'Subject: Your account is locked', 'Reply-To: thief@evil.test']) {
      expect((await f.verifyDkim(withHeader(g.raw, added))).map((r) => r.result), added).not.toContain('pass');
    }
  });

  it('keeps every line clean on the wire and the signature valid: bare LF, long lines, dots', async () => {
    const before = f.mx1.received.length;
    const html = `<p>line one\nline two\rline three</p>\n.\n..leading dots\n${'x'.repeat(3000)}`;
    const text = `first\n.\n.. dot\nlast ${'y'.repeat(2500)}`;
    await f.call('SendEmail', { FromEmailAddress: f.sender, Destination: [rcpt()], Subject: 'Clean', Simple: { Html: b64(html), Text: b64(text) } });
    const [g] = (await f.mx1.waitFor(before + 1)).slice(before);
    expect(await f.verifyDkim(g.raw)).toEqual([{ result: 'pass', domain: SENDER_DOMAIN, algorithm: 'rsa-sha256' }]);
    // A plain FromEmailAddress shows the EmailSenderName registered with the address.
    expect((await simpleParser(g.raw)).from?.value).toEqual([{ name: 'Shop News', address: f.sender }]);
    const s = g.raw.toString('latin1');
    expect(/[^\r]\n|\r[^\n]/.test(s)).toBe(false);
    expect(s.split('\r\n').every((line) => line.length <= 998)).toBe(true);
    const mail = await simpleParser(g.raw);
    // Dot-stuffing was undone by the receiver: the lines arrive as written.
    expect(mail.text).toContain('first\n.\n.. dot');
    expect(mail.html).toContain('..leading dots');
    expect(mail.html).toContain('x'.repeat(3000));
  });

  it('keeps a header injection attempt inside the header it was put in', async () => {
    const before = f.mx1.received.length;
    await send({ Subject: 'Hi {{name}}', Template: { TemplateID: f.templateId, TemplateData: JSON.stringify({ name: 'x\r\nBcc: evil@evil.test\r\nX-Injected: 1', code: '1' }) } });
    const [g] = (await f.mx1.waitFor(before + 1)).slice(before);
    const mail = await simpleParser(g.raw);
    expect(mail.headers.has('bcc')).toBe(false);
    expect(mail.headers.has('x-injected')).toBe(false);
    expect(mail.subject).toBe('Hi x Bcc: evil@evil.test X-Injected: 1');
    expect(g.to).toEqual([expect.stringMatching(/@dest\.test$/)]);
    // Straight CR/LF in header-bound fields is refused outright.
    expect(await errorCode(send({ Subject: 'Hi\r\nBcc: evil@evil.test' }))).toBe('InvalidParameterValue.SubjectLengthError');
    expect(await errorCode(send({ SmtpHeaders: JSON.stringify({ 'X-A': 'b\r\nBcc: evil@evil.test' }) }))).toBe('InvalidParameterValue');
    expect(await errorCode(send({ SmtpHeaders: JSON.stringify({ Bcc: 'evil@evil.test' }) }))).toBe('InvalidParameterValue');
    expect(await errorCode(send({ SmtpHeaders: JSON.stringify({ 'DKIM-Signature': 'x' }) }))).toBe('InvalidParameterValue');
    expect(await errorCode(send({ SmtpHeaders: JSON.stringify({ 'X-Sesame-Account': '1' }) }))).toBe('InvalidParameterValue');
    expect(await errorCode(send({ SmtpHeaders: 'not json' }))).toBe('InvalidParameterValue');
    expect(await errorCode(send({ FromEmailAddress: `Evil\r\nBcc: x@y.test <${f.sender}>` }))).toBe('FailedOperation.IncorrectSender');
    expect(await errorCode(send({ ReplyToAddresses: 'a@b.test\r\nBcc: x@y.test' }))).toBe('FailedOperation.IncorrectEmail');
    expect(await errorCode(send({ SmtpMessageId: '<a@b>\r\nBcc: x@y.test' }))).toBe('InvalidParameterValue');
  });

  it('carries attachments intact', async () => {
    const before = f.mx1.received.length;
    const pdf = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 256));
    const csv = Buffer.from('a,b\n1,2\n', 'utf8');
    await send({ Attachments: [{ FileName: 'report.pdf', Content: pdf.toString('base64') }, { FileName: 'data.csv', Content: csv.toString('base64') }] });
    const [g] = (await f.mx1.waitFor(before + 1)).slice(before);
    expect(await f.verifyDkim(g.raw)).toEqual([{ result: 'pass', domain: SENDER_DOMAIN, algorithm: 'rsa-sha256' }]);
    const mail = await simpleParser(g.raw);
    const files = mail.attachments.map((a) => [a.filename, a.contentType, createHash('sha256').update(a.content).digest('hex')]);
    expect(files).toEqual([
      ['report.pdf', 'application/pdf', createHash('sha256').update(pdf).digest('hex')],
      ['data.csv', 'text/csv', createHash('sha256').update(csv).digest('hex')],
    ]);
  });

  it('refuses bad attachments with their codes', async () => {
    const one = { FileName: 'a.txt', Content: b64('x') };
    expect(await errorCode(send({ Attachments: Array.from({ length: 11 }, () => one) }))).toBe('FailedOperation.TooManyAttachments');
    for (const name of ['virus.exe', 'has space.pdf', 'noext', 'a:b.pdf', 'movie.mp4', 'x'.repeat(252) + '.pdf']) {
      expect(await errorCode(send({ Attachments: [{ FileName: name, Content: b64('x') }] })), name).toBe('FailedOperation.InvalidAttachName');
    }
    expect(await errorCode(send({ Attachments: [{ FileName: 'a.pdf', Content: 'not base64!' }] }))).toBe('InvalidParameterValue.AttachContentIsWrong');
    expect(await errorCode(send({ Attachments: [{ FileName: 'a.pdf', FileURL: 'https://x.test/a.pdf' }] }))).toBe('InvalidParameterValue.AttachContentIsWrong');
    const big = Buffer.alloc(4 * 1024 * 1024 + 1).toString('base64');
    expect(await errorCode(send({ Attachments: [{ FileName: 'a.pdf', Content: big }] }))).toBe('FailedOperation.AttachContentToolarge');
    // 8 MB of attachments cannot even travel in a 10 MB API request (base64 adds a third): the API
    // refuses the request first; the total is checked for the paths that can carry it (SMTP).
    const three = Buffer.alloc(3 * 1024 * 1024).toString('base64');
    const attachments = [1, 2, 3].map((i) => ({ FileName: `${i}.pdf`, Content: three }));
    expect(await errorCode(send({ Attachments: attachments }))).toBe('RequestSizeLimitExceeded');
    const app = await f.t.app.services.accounts.byAppId(f.t.creds.AppId);
    await expect(f.t.app.services.mail.send({ id: app!.id, appId: app!.app_id }, {
      from: f.sender, to: [rcpt()], cc: [], bcc: [], subject: 's', template: { id: f.templateId, data: '{"name":"a","code":"b"}' },
      attachments: attachments.map((a) => ({ fileName: a.FileName, content: a.Content })),
    })).rejects.toMatchObject({ code: 'FailedOperation.AttachContentToolarge' });
  });

  it('answers each check with its code', async () => {
    expect(await errorCode(send({ FromEmailAddress: 'nobody@mail.shop.test' }))).toBe('InvalidParameterValue.NoSuchSender');
    expect(await errorCode(send({ FromEmailAddress: 'not an address' }))).toBe('FailedOperation.IncorrectSender');
    expect(await errorCode(send({ FromEmailAddress: `a:b <${f.sender}>` }))).toBe('FailedOperation.IncorrectSender');
    expect(await errorCode(send({ HeaderFrom: 'x@other.test' }))).toBe('FailedOperation.IncorrectSender');
    expect(await errorCode(send({ Template: { TemplateID: 999999, TemplateData: '{}' } }))).toBe('FailedOperation.InvalidTemplateID');
    expect(await errorCode(send({ Template: { TemplateID: f.templateId, TemplateData: '{not json' } }))).toBe('FailedOperation.WrongContentJson');
    expect(await errorCode(send({ Template: { TemplateID: f.templateId, TemplateData: '{"name":{"a":1}}' } }))).toBe('FailedOperation.WrongContentJson');
    expect(await errorCode(send({ Template: { TemplateID: f.templateId, TemplateData: '{"name":"x"}' } }))).toBe('InvalidParameterValue.TemplateNotMatchData');
    expect(await errorCode(send({ Template: undefined }))).toBe('FailedOperation.MissingEmailContent');
    expect(await errorCode(send({ Destination: ['bad address'] }))).toBe('FailedOperation.IncorrectEmail');
    expect(await errorCode(send({ Destination: Array.from({ length: 51 }, (_, i) => `d${i}@dest.test`) }))).toBe('FailedOperation.TooManyRecipients');
    expect(await errorCode(send({ Cc: Array.from({ length: 21 }, (_, i) => `c${i}@dest.test`) }))).toBe('FailedOperation.TooManyRecipients');
    expect(await errorCode(send({ Bcc: Array.from({ length: 21 }, (_, i) => `b${i}@dest.test`) }))).toBe('FailedOperation.TooManyRecipients');
    expect(await errorCode(send({ Destination: ['same@dest.test'], Bcc: ['same@dest.test'] }))).toBe('InvalidParameterValue');
    expect(await errorCode(send({ Destination: [] }))).toBe('MissingParameter');
    expect(await errorCode(send({ Subject: '' }))).toBe('InvalidParameterValue.SubjectLengthError');
    expect(await errorCode(send({ Subject: 'x'.repeat(999) }))).toBe('InvalidParameterValue.SubjectLengthError');
    expect(await errorCode(send({ Unsubscribe: '12' }))).toBe('InvalidParameterValue');
    expect(await errorCode(send({ TriggerType: 2 }))).toBe('InvalidParameterValue');
    expect(await errorCode(send({ SmtpMessageId: 'no-brackets@x' }))).toBe('InvalidParameterValue');
    // A template waiting for review cannot be used.
    const accountId = (await f.t.app.services.accounts.byAppId(f.t.creds.AppId))!.id;
    const pending = (await f.call('CreateEmailTemplate', { TemplateName: 'pending', TemplateContent: { Text: b64('x') } })).TemplateID;
    await f.t.app.services.templates.review(accountId, pending, 'reject', 'no');
    expect(await errorCode(send({ Template: { TemplateID: pending, TemplateData: '{}' } }))).toBe('FailedOperation.InvalidTemplateID');
    // Simple content needs the account's permission.
    await f.t.app.services.accounts.update(f.t.creds.AppId, { freeContent: false });
    expect(await errorCode(send({ Template: undefined, Simple: { Text: b64('hi') } }))).toBe('FailedOperation.WithOutPermission');
    // By default, an account whose templates need review sends templates only; the operator may allow Simple.
    await f.t.app.services.accounts.update(f.t.creds.AppId, { freeContent: null, templateReview: true });
    expect(await errorCode(send({ Template: undefined, Simple: { Text: b64('hi') } }))).toBe('FailedOperation.WithOutPermission');
    await f.t.app.services.accounts.update(f.t.creds.AppId, { freeContent: true });
    await send({ Template: undefined, Simple: { Text: b64('hi') } });
    await f.t.app.services.accounts.update(f.t.creds.AppId, { freeContent: null, templateReview: false });
    expect(await errorCode(send({ Template: undefined, Simple: { Html: 'bad base64!' } }))).toBe('InvalidParameterValue.EmailContentIsWrong');
  });

  it('refuses blocklisted and unsubscribed recipients', async () => {
    await f.call('CreateCustomBlacklist', { Emails: ['blocked@dest.test'] });
    expect(await errorCode(send({ Destination: ['blocked@dest.test'] }))).toBe('FailedOperation.EmailAddrInBlacklist');
    expect(await errorCode(send({ Destination: ['ok@dest.test'], Cc: ['BLOCKED@dest.test'] }))).toBe('FailedOperation.EmailAddrInBlacklist');
    const accountId = (await f.t.app.services.accounts.byAppId(f.t.creds.AppId))!.id;
    await f.t.app.services.blocklists.recordHardBounce(accountId, 'bounced@dest.test', '550 5.1.1 no such user');
    expect(await errorCode(send({ Destination: ['bounced@dest.test'] }))).toBe('FailedOperation.EmailAddrInBlacklist');
    await f.t.app.services.stores.unsubscriptions.record(0, accountId, SENDER_DOMAIN, 'gone@dest.test', Date.now());
    expect(await errorCode(send({ Destination: ['gone@dest.test'] }))).toBe('FailedOperation.ReceiverHasUnsubscribed');
  });

  it('limits mails to one recipient per hour (SESAME_FREQUENCY_LIMIT=3)', async () => {
    for (let i = 0; i < 3; i++) await send({ Destination: ['often@dest.test'] });
    expect(await errorCode(send({ Destination: ['often@dest.test'] }))).toBe('FailedOperation.FrequencyLimit');
    // Concurrent sends cannot race past it.
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => send({ Destination: ['race@dest.test'] })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
  });

  it('holds the daily quota (SESAME_DAILY_QUOTA=60) and refuses the sender domain that stops verifying', async () => {
    const accountId = (await f.t.app.services.accounts.byAppId(f.t.creds.AppId))!.id;
    const domain = await f.t.app.services.stores.domains.get(accountId, SENDER_DOMAIN);
    const used = await f.t.app.services.stores.counts.sentOn(domain!.id, formatDate(Date.now(), 'UTC'));
    const left = 60 - used;
    expect(left).toBeGreaterThan(2);
    const batch = Array.from({ length: left - 1 }, (_, i) => `q${i}@dest.test`);
    for (let i = 0; i < batch.length; i += 50) await send({ Destination: batch.slice(i, i + 50) });
    expect(await errorCode(send({ Destination: ['q-a@dest.test', 'q-b@dest.test'] }))).toBe('FailedOperation.ExceedSendLimit');
    await send({ Destination: ['q-last@dest.test'] });
    expect(await errorCode(send({}))).toBe('FailedOperation.ExceedSendLimit');
    // The domain's records vanish: it stops verifying, and nothing more is accepted from it.
    await f.t.dns.publish({});
    await f.call('UpdateEmailIdentity', { EmailIdentity: SENDER_DOMAIN });
    expect(await errorCode(send({}))).toBe('FailedOperation.NotAuthenticatedSender');
    await f.domains.publish();
    await f.call('UpdateEmailIdentity', { EmailIdentity: SENDER_DOMAIN });
  });

  it('keeps each account to its own senders and statuses', async () => {
    const other = await f.t.app.services.accounts.create({ name: 'stranger' });
    const b = sdkClient('intl:HmacSHA256:POST', f.t.endpoint, other);
    expect(await errorCode(b('SendEmail', { FromEmailAddress: f.sender, Destination: ['x@dest.test'], Subject: 's', Template: { TemplateID: f.templateId, TemplateData: '{}' } })))
      .toBe('InvalidParameterValue.NoSuchSender');
    expect((await b('GetSendEmailStatus', { RequestDate: today(), Offset: 0, Limit: 100 })).EmailStatusList).toEqual([]);
  });
});
