/**
 * Inbound reports, read from samples written for these tests on the model of the RFC 3464 and RFC
 * 5965 examples and of what Postfix, qmail, Exim and Exchange send; then mutated at random (the
 * reader must never throw), and timed on the inputs that hurt scanners most.
 */
import { describe, expect, it } from 'vitest';
import { findEnhancedCode, readFieldGroups, untyped, bareAddress } from './report-fields.js';
import { INTERNAL_FAULT, parseInboundReport, type InboundReport } from './reports.js';
import { addressesIn } from './text-addresses.js';

/** A message written with LF, sent with CRLF as SMTP carries it. */
const crlf = (s: string): Buffer => Buffer.from(s.replace(/\n/g, '\r\n'), 'utf8');
const parse = (s: string): Promise<InboundReport> => parseInboundReport(crlf(s));

const POSTFIX_FAILED = `Return-Path: <>
Received: by mx.shop.example (Postfix) id 3F2A1C0; Thu, 26 Nov 2026 08:00:05 +0000 (UTC)
Date: Thu, 26 Nov 2026 08:00:05 +0000 (UTC)
From: MAILER-DAEMON@mx.shop.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: b-abc.def@bounce.example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="3F2A1C0.1795680005/mx.shop.example"
Content-Transfer-Encoding: 8bit
Message-Id: <20261126080005.3F2A1C0@mx.shop.example>

This is a MIME-encapsulated message.

--3F2A1C0.1795680005/mx.shop.example
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.shop.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<nobody@example.org>: host mx1.example.org[192.0.2.25] said: 550 5.1.1
    <nobody@example.org>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)

--3F2A1C0.1795680005/mx.shop.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.shop.example
X-Postfix-Queue-ID: 3F2A1C0
X-Postfix-Sender: rfc822; b-abc.def@bounce.example.com
Arrival-Date: Thu, 26 Nov 2026 08:00:01 +0000 (UTC)

Final-Recipient: rfc822; Nobody@Example.org
Original-Recipient: rfc822;nobody@example.org
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx1.example.org
Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.org>: Recipient address
    rejected: User unknown in virtual mailbox table

--3F2A1C0.1795680005/mx.shop.example
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <b-abc.def@bounce.example.com>
Received: from sesame.shop.example (sesame.shop.example [198.51.100.7])
\tby mx.shop.example (Postfix) with ESMTPS id 3F2A1C0
\tfor <nobody@example.org>; Thu, 26 Nov 2026 08:00:01 +0000 (UTC)
From: Shop News <news@shop.example>
To: nobody@example.org
Subject: =?UTF-8?Q?Your_order_has_shipped_=E2=9C=93?=
Message-ID: <20261126080000.abc123@shop.example>
Date: Thu, 26 Nov 2026 08:00:00 +0000

--3F2A1C0.1795680005/mx.shop.example--
`;

// Parameter names and values in other cases, the report-type quoted; the original whole.
const POSTFIX_DELAYED = `Return-Path: <>
From: MAILER-DAEMON@mx.shop.example (Mail Delivery System)
Subject: Delayed Mail (still being retried)
To: b-xyz.uvw@bounce.example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: Multipart/Report; Report-Type="Delivery-Status";
  Boundary="dly-7781"

--dly-7781
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.shop.example.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for 4.0 hours.
It will be retried until it is 5.0 days old.

<slow@example.net>: connect to mx.example.net[203.0.113.5]:25: Connection
    timed out

--dly-7781
Content-Type: Message/Delivery-Status

Reporting-MTA: dns; mx.shop.example
Arrival-Date: Thu, 26 Nov 2026 04:00:00 +0000 (UTC)

Final-Recipient: rfc822; slow@example.net
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.example.net[203.0.113.5]:25:
    Connection timed out
Will-Retry-Until: Tue, 1 Dec 2026 04:00:00 +0000 (UTC)

--dly-7781
Content-Type: message/rfc822

Return-Path: <B-Xyz.Uvw@Bounce.Example.com>
From: news@shop.example
To: Slow Reader <slow@example.net>
Subject: Weekly news
Message-ID:
 <20261126040000.xyz@shop.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

The news of the week.

--dly-7781--
`;

// Exim's layout: Action first, a recipient with no Action, a line of comment, the original inline.
const MULTI_DSN = `From: Mail Delivery System <Mailer-Daemon@mail.example.net>
To: b-multi.1@bounce.example.com
Subject: Mail delivery failed: returning message to sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary=exim-1795680005-1

--exim-1795680005-1
Content-Type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients.

--exim-1795680005-1
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.net

Action: failed
Final-Recipient: rfc822;alice@example.net
Status: 5.0.0 (permanent failure)
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; 550 5.2.1 Mailbox disabled for this recipient

Action: delayed
Final-Recipient: rfc822;bob@example.net
Status: 4.2.2
Diagnostic-Code: smtp; 452 4.2.2 Mailbox full

Final-Recipient: rfc822;carol@example.net
Status: 5.7.1
Diagnostic-Code: smtp; 554 5.7.1 Message refused

Original-Recipient: rfc822;list@example.net
Final-Recipient: rfc822;dave@example.net
Action: relayed (to a server that does not speak DSN)
Status: 2.0.0

--exim-1795680005-1
Content-Type: message/rfc822
Content-Disposition: inline

Return-Path: <b-multi.1@bounce.example.com>
From: news@shop.example
To: alice@example.net, bob@example.net, carol@example.net, list@example.net
Subject: Hello all
Message-ID: <multi.1@shop.example>

Hi.

--exim-1795680005-1--
`;

const ARF = `From: <abuse-reports@mail.example.com>
Date: Thu, 26 Nov 2026 09:14:00 +0000
Subject: Complaint about a message from 198.51.100.7
To: <fbl@bounce.example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="fbl_26a9.7c41_boundary"

--fbl_26a9.7c41_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
198.51.100.7 on Thu, 26 Nov 2026 08:00:02 +0000.

--fbl_26a9.7c41_boundary
Content-Type: message/feedback-report

Feedback-Type: Abuse
User-Agent: ExampleMail-FBL/2.1
Version: 1
Original-Mail-From: <B-abc.def@bounce.example.com>
Original-Rcpt-To: <reader@mail.example.com>
Original-Rcpt-To: <Second@mail.example.com>
Arrival-Date: Thu, 26 Nov 2026 08:00:02 +0000
Reporting-MTA: dns; mx.mail.example.com
Source-IP: 198.51.100.7
Authentication-Results: mx.mail.example.com;
  spf=pass smtp.mailfrom=bounce.example.com;
  dkim=pass header.d=shop.example
Reported-Domain: Shop.Example
Reported-URI: https://shop.example/unsubscribe

--fbl_26a9.7c41_boundary
Content-Type: message/rfc822
Content-Disposition: inline

Return-Path: <b-abc.def@bounce.example.com>
From: Shop News <news@shop.example>
To: reader@mail.example.com
Subject: Your order has shipped
Message-ID: <20261126080000.def456@shop.example>
Date: Thu, 26 Nov 2026 08:00:00 +0000
MIME-Version: 1.0
Content-Type: text/plain

Your order is on its way.

--fbl_26a9.7c41_boundary--
`;

const QMAIL = `Return-Path: <>
Received: (qmail 12345 invoked for bounce); 26 Nov 2026 08:01:00 -0000
Date: 26 Nov 2026 08:01:00 -0000
From: MAILER-DAEMON@mail.example.com
To: b-q.1@bounce.example.com
Subject: failure notice

Hi. This is the qmail-send program at mail.example.com.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<gone@example.com>:
Sorry, no mailbox here by that name. (#5.1.1)

<full@example.com>:
198.51.100.20 does not like recipient.
Remote host said: 552 mailbox full
Giving up on 198.51.100.20.

--- Below this line is a copy of the message.

Return-Path: <b-q.1@bounce.example.com>
Received: (qmail 12001 invoked from network); 26 Nov 2026 08:00:59 -0000
From: Shop News <news@shop.example>
To: gone@example.com, full@example.com
Subject: Your order
Message-ID: <q.1@shop.example>

Your order is on its way.
`;

const EXCHANGE = `From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@corp.example>
To: <b-x.2@bounce.example.com>
Date: Thu, 26 Nov 2026 08:02:00 +0000
Subject: Undeliverable: Your order has shipped
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="ndr_b91"
X-MS-Exchange-Message-Is-Ndr:

--ndr_b91
Content-Type: text/plain; charset="us-ascii"

Delivery has failed to these recipients or groups:

Jane Roe (jane.roe@corp.example)
The email address you entered couldn't be found. Please check the recipient's email address and try to resend the message. If the problem continues, please contact your helpdesk.

Diagnostic information for administrators:

Generating server: EX01.corp.example

jane.roe@corp.example
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'

Original message headers:

Received: from sesame.shop.example (198.51.100.7) by EX01.corp.example
Message-ID: <x.2@shop.example>

--ndr_b91
Content-Type: message/rfc822

Return-Path: <b-x.2@bounce.example.com>
From: Shop News <news@shop.example>
To: Jane Roe <jane.roe@corp.example>
Subject: Your order has shipped
Message-ID: <x.2@shop.example>

Your order is on its way.

--ndr_b91--
`;

const OUTLOOK_NEW = `From: postmaster@outlook.example
To: b-o.3@bounce.example.com
Subject: Undeliverable: Weekly news
Content-Type: text/plain; charset=utf-8

Your message to someone@outlook.example couldn't be delivered.
someone wasn't found at outlook.example.

Remote Server returned '550 5.5.0 Requested action not taken: mailbox unavailable'

Original message headers:

Return-Path: <b-o.3@bounce.example.com>
From: news@shop.example
To: someone@outlook.example
Subject: Weekly news
Message-ID: <o.3@shop.example>
`;

const EXIM_PLAIN = `Return-Path: <>
From: Mail Delivery System <Mailer-Daemon@relay.example.org>
To: b-e.4@bounce.example.com
Subject: Mail delivery failed: returning message to sender
Auto-Submitted: auto-replied

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  lost@example.org
    host mx.example.org [192.0.2.40]
    SMTP error from remote mail server after RCPT TO:<lost@example.org>:
    550 5.1.1 User unknown

------ This is a copy of the message, including all the headers. ------

Return-path: <b-e.4@bounce.example.com>
From: news@shop.example
To: lost@example.org
Subject: Hello
Message-ID: <e.4@shop.example>

Hello.
`;

const AUTO_REPLY = `From: Jane Roe <jane@example.org>
To: news@shop.example
Subject: Automatic reply: Your order has shipped
Auto-Submitted: auto-replied
X-Autoreply: yes
Date: Thu, 26 Nov 2026 08:03:00 +0000

I am out of the office until Monday and will read your message then.
`;

const PLAIN = `From: Jane Roe <jane@example.org>
To: news@shop.example
Subject: Re: Your order has shipped
Date: Thu, 26 Nov 2026 08:03:00 +0000
Message-ID: <reply.1@example.org>

Thank you, it arrived today.
`;

const FIXTURES = [POSTFIX_FAILED, POSTFIX_DELAYED, MULTI_DSN, ARF, QMAIL, EXCHANGE, OUTLOOK_NEW, EXIM_PLAIN, AUTO_REPLY, PLAIN];

describe('parseInboundReport: RFC 3464 reports', () => {
  it('reads a Postfix bounce as a DSN, though it is marked auto-replied', async () => {
    const r = await parse(POSTFIX_FAILED);
    expect(r).toEqual({
      kind: 'dsn',
      bestEffort: false,
      recipients: [{
        action: 'failed',
        status: '5.1.1',
        diagnostic: '550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in virtual mailbox table',
        finalRecipient: 'nobody@example.org',
        originalRecipient: 'nobody@example.org',
        remoteMta: 'mx1.example.org',
      }],
      original: {
        returnPath: 'b-abc.def@bounce.example.com',
        messageId: '<20261126080000.abc123@shop.example>',
        subject: 'Your order has shipped ✓',
        to: 'nobody@example.org',
        from: 'news@shop.example',
      },
    });
  });

  it('reads the same report with LF line endings', async () => {
    expect(await parseInboundReport(Buffer.from(POSTFIX_FAILED))).toEqual(await parse(POSTFIX_FAILED));
  });

  it('reads a delay warning, its parameters in any case, its original whole', async () => {
    const r = await parse(POSTFIX_DELAYED);
    expect(r.kind).toBe('dsn');
    if (r.kind !== 'dsn') return;
    expect(r.recipients).toEqual([{
      action: 'delayed',
      status: '4.4.1',
      diagnostic: 'connect to mx.example.net[203.0.113.5]:25: Connection timed out',
      finalRecipient: 'slow@example.net',
      originalRecipient: null,
      remoteMta: null,
    }]);
    // Return-Path lower-cased; a Message-ID folded onto its own line kept as written.
    expect(r.original).toEqual({
      returnPath: 'b-xyz.uvw@bounce.example.com',
      messageId: '<20261126040000.xyz@shop.example>',
      subject: 'Weekly news',
      to: 'slow@example.net',
      from: 'news@shop.example',
    });
  });

  it('reads every recipient of a report, and its original kept inline', async () => {
    const r = await parse(MULTI_DSN);
    expect(r.kind === 'dsn' && r.bestEffort).toBe(false);
    if (r.kind !== 'dsn') return;
    expect(r.recipients.map((x) => [x.finalRecipient, x.action, x.status, x.diagnostic])).toEqual([
      ['alice@example.net', 'failed', '5.0.0', '550 5.2.1 Mailbox disabled for this recipient'],
      ['bob@example.net', 'delayed', '4.2.2', '452 4.2.2 Mailbox full'],
      // No Action: the status's class says it.
      ['carol@example.net', 'failed', '5.7.1', '554 5.7.1 Message refused'],
      ['dave@example.net', 'relayed', '2.0.0', ''],
    ]);
    expect(r.recipients[3].originalRecipient).toBe('list@example.net');
    expect(r.recipients[0].remoteMta).toBe('mx.example.net');
    expect(r.original.returnPath).toBe('b-multi.1@bounce.example.com');
    expect(r.original.messageId).toBe('<multi.1@shop.example>');
    expect(r.original.to).toBe('alice@example.net, bob@example.net, carol@example.net, list@example.net');
  });

  it('keeps at most 100 recipients', async () => {
    const groups = Array.from({ length: 150 }, (_, i) => `Final-Recipient: rfc822; r${i}@example.org\nAction: failed\nStatus: 5.1.1\n`).join('\n');
    const r = await parse(POSTFIX_FAILED.replace(/Final-Recipient: rfc822; Nobody[\s\S]*?mailbox table\n/, groups));
    expect(r.kind === 'dsn' && r.recipients.length).toBe(100);
    expect(r.kind === 'dsn' && r.recipients[99].finalRecipient).toBe('r99@example.org');
  });

  it('falls back to the notice when the delivery-status part is missing', async () => {
    const noStatus = POSTFIX_FAILED.replace(/Content-Type: message\/delivery-status\n[\s\S]*?mailbox table\n/, 'Content-Type: application/octet-stream\n\nx\n');
    const r = await parse(noStatus);
    expect(r.kind === 'dsn' && r.bestEffort).toBe(true);
    expect(r.kind === 'dsn' && r.recipients.map((x) => [x.finalRecipient, x.status])).toEqual([['nobody@example.org', '5.1.1']]);
    const nothing = await parse(noStatus.replace(/<nobody@example.org>/g, 'the recipient'));
    expect(nothing).toEqual({ kind: 'unrecognised', reason: 'a delivery-status report with no recipient in it' });
  });
});

describe('parseInboundReport: RFC 5965 feedback reports', () => {
  it('reads a complaint and the original it returns', async () => {
    expect(await parse(ARF)).toEqual({
      kind: 'arf',
      feedbackType: 'abuse',
      userAgent: 'ExampleMail-FBL/2.1',
      sourceIp: '198.51.100.7',
      arrivalDate: Date.UTC(2026, 10, 26, 8, 0, 2),
      originalMailFrom: 'b-abc.def@bounce.example.com',
      originalRcptTo: ['reader@mail.example.com', 'second@mail.example.com'],
      reportedDomain: 'shop.example',
      original: {
        returnPath: 'b-abc.def@bounce.example.com',
        messageId: '<20261126080000.def456@shop.example>',
        subject: 'Your order has shipped',
        to: 'reader@mail.example.com',
        from: 'news@shop.example',
      },
    });
  });

  it('takes a report without its feedback part for unrecognised', async () => {
    const r = await parse(ARF.replace('Content-Type: message/feedback-report', 'Content-Type: text/plain'));
    expect(r).toEqual({ kind: 'unrecognised', reason: 'a feedback report with no message/feedback-report part' });
  });

  it('leaves out what a sparse report does not say', async () => {
    const r = await parse(ARF.replace(/Feedback-Type[\s\S]*?Reported-URI: \S+\n/, 'Feedback-Type: fraud\nArrival-Date: yesterday\n'));
    expect(r).toMatchObject({ kind: 'arf', feedbackType: 'fraud', userAgent: null, sourceIp: null, arrivalDate: null, originalMailFrom: null, originalRcptTo: [], reportedDomain: null });
  });
});

describe('parseInboundReport: plain bounces, read from their words', () => {
  it('reads a qmail notice: each address with its lines, the code where one is given', async () => {
    const r = await parse(QMAIL);
    expect(r.kind === 'dsn' && r.bestEffort).toBe(true);
    if (r.kind !== 'dsn') return;
    expect(r.recipients).toEqual([
      { action: 'failed', status: '5.1.1', diagnostic: '<gone@example.com>: Sorry, no mailbox here by that name. (#5.1.1)', finalRecipient: 'gone@example.com', originalRecipient: null, remoteMta: null },
      // No enhanced code: the notice says the error is permanent.
      { action: 'failed', status: '5.0.0', diagnostic: '<full@example.com>: 198.51.100.20 does not like recipient. Remote host said: 552 mailbox full Giving up on 198.51.100.20.', finalRecipient: 'full@example.com', originalRecipient: null, remoteMta: null },
    ]);
    expect(r.original).toEqual({ returnPath: 'b-q.1@bounce.example.com', messageId: '<q.1@shop.example>', subject: 'Your order', to: 'gone@example.com, full@example.com', from: 'news@shop.example' });
  });

  it('reads an Exchange non-delivery report that is no multipart/report', async () => {
    const r = await parse(EXCHANGE);
    expect(r.kind === 'dsn' && r.bestEffort).toBe(true);
    if (r.kind !== 'dsn') return;
    expect(r.recipients).toHaveLength(1);
    expect(r.recipients[0]).toMatchObject({ action: 'failed', status: '5.1.10', finalRecipient: 'jane.roe@corp.example' });
    expect(r.recipients[0].diagnostic).toMatch(/^Jane Roe \(jane\.roe@corp\.example\) The email address you entered couldn't be found\..*RecipientNotFound/);
    expect(r.recipients[0].diagnostic.length).toBeLessThanOrEqual(500);
    expect(r.original).toMatchObject({ returnPath: 'b-x.2@bounce.example.com', messageId: '<x.2@shop.example>' });
  });

  it("reads Outlook's \"couldn't be delivered\" notice and the headers it quotes", async () => {
    const r = await parse(OUTLOOK_NEW);
    expect(r.kind === 'dsn' && r.recipients.map((x) => [x.finalRecipient, x.status])).toEqual([['someone@outlook.example', '5.5.0']]);
    expect(r.kind === 'dsn' && r.original).toEqual({ returnPath: 'b-o.3@bounce.example.com', messageId: '<o.3@shop.example>', subject: 'Weekly news', to: 'someone@outlook.example', from: 'news@shop.example' });
  });

  it('reads a MAILER-DAEMON notice known by its subject', async () => {
    const r = await parse(EXIM_PLAIN);
    expect(r.kind === 'dsn' && r.recipients.map((x) => [x.finalRecipient, x.status])).toEqual([['lost@example.org', '5.1.1']]);
    expect(r.kind === 'dsn' && r.original.returnPath).toBe('b-e.4@bounce.example.com');
    // No code and no words that say the failure is for good: no status is made up.
    const vague = await parse(EXIM_PLAIN.replace(' This is a permanent error.', '').replace('550 5.1.1 User unknown', '550 refused'));
    expect(vague.kind === 'dsn' && vague.recipients.map((x) => [x.finalRecipient, x.status])).toEqual([['lost@example.org', '']]);
    // The same words from a person are no bounce.
    const fromPerson = await parse(EXIM_PLAIN.replace('Mailer-Daemon@relay.example.org', 'jane@example.org').replace('Return-Path: <>\n', ''));
    expect(fromPerson.kind).toBe('auto-reply');
    const noAuto = await parse(EXIM_PLAIN.replace('Mailer-Daemon@relay.example.org', 'jane@example.org').replace('Return-Path: <>\n', '').replace('Auto-Submitted: auto-replied\n', ''));
    expect(noAuto.kind).toBe('unrecognised');
  });

  it('calls a bounce that names no recipient unrecognised', async () => {
    const r = await parse(QMAIL.replace(/<gone@example.com>|<full@example.com>/g, 'someone'));
    expect(r).toEqual({ kind: 'unrecognised', reason: 'a bounce that names no failed recipient in its text' });
  });
});

describe('parseInboundReport: the rest', () => {
  it('knows an auto-reply by any of its marks', async () => {
    expect(await parse(AUTO_REPLY)).toEqual({ kind: 'auto-reply' });
    const base = PLAIN.replace('Subject: Re: Your order has shipped\n', '');
    for (const mark of ['Auto-Submitted: auto-generated', 'Auto-Submitted: Auto-Replied (vacation)', 'Precedence: bulk', 'Precedence: auto_reply', 'X-Autorespond: 1', 'Subject: Out of Office: back Monday', 'Subject: Auto: Your order']) {
      expect((await parse(`${mark}\n${base}`)).kind, mark).toBe('auto-reply');
    }
    for (const notMark of ['Auto-Submitted: no', 'Precedence: list', 'Subject: Re: Automatic reply']) {
      expect((await parse(`${notMark}\n${base}`)).kind, notMark).toBe('unrecognised');
    }
  });

  it('reads a report that leaves out its report-type by its parts', async () => {
    const r = await parse(POSTFIX_FAILED.replace(' report-type=delivery-status;', ''));
    expect(r.kind === 'dsn' && r.recipients[0].finalRecipient).toBe('nobody@example.org');
    expect((await parse(ARF.replace(' report-type=feedback-report;', ''))).kind).toBe('arf');
  });

  it('reads past a part with an empty Content-Type (mailparser gives its type as false)', async () => {
    const r = await parse(POSTFIX_FAILED.replace('Content-Type: text/rfc822-headers', 'Content-Type: '));
    expect(r.kind === 'dsn' && r.recipients[0].status).toBe('5.1.1');
    expect(r.kind === 'dsn' && r.original.returnPath).toBeNull();
  });

  it('calls plain mail unrecognised, with the reason', async () => {
    expect(await parse(PLAIN)).toEqual({ kind: 'unrecognised', reason: 'no delivery or feedback report, no bounce and no auto-reply' });
  });

  it('calls what mailparser refuses unrecognised', async () => {
    const r = await parseInboundReport(Buffer.from(`Subject: ${'x'.repeat(2_000_000)}\r\n\r\nbody\r\n`));
    expect(r.kind).toBe('unrecognised');
    expect(r.kind === 'unrecognised' && r.reason).toMatch(/^the message could not be parsed: Max header size/);
  });
});

describe('the fields of a report part', () => {
  it('groups fields by blank lines and unfolds them', () => {
    const groups = readFieldGroups('A: 1\r\nB: two\r\n  lines\r\n\r\n\r\n \r\nC: 3\r\nnot a field\r\nc: 4\r\n');
    expect(groups).toEqual([new Map([['a', ['1']], ['b', ['two lines']]]), new Map([['c', ['3', '4']]])]);
  });
  it('caps values, values per field and groups', () => {
    const long = readFieldGroups(`A: ${'x'.repeat(5000)}\n${' y\n'.repeat(5000)}`);
    expect(long[0].get('a')?.[0]).toHaveLength(1000);
    expect(readFieldGroups('A: 1\n'.repeat(500))[0].get('a')).toHaveLength(100);
    expect(readFieldGroups('A: 1\n\n'.repeat(500))).toHaveLength(128);
  });
  it('drops a type, keeps a value that has none', () => {
    expect(untyped('rfc822; a@example.org')).toBe('a@example.org');
    expect(untyped('X-Postfix; host not found')).toBe('host not found');
    expect(untyped('550 5.1.1 no; really')).toBe('550 5.1.1 no; really');
    expect(bareAddress('<A@Example.org>')).toBe('a@example.org');
    expect(bareAddress('a@example.org (comment)')).toBe('a@example.org');
    expect(bareAddress('<>')).toBeNull();
  });
  it('finds an enhanced code, not a piece of an IP address', () => {
    expect(findEnhancedCode('host 10.5.1.1 said: 550 5.1.1 no')).toBe('5.1.1');
    expect(findEnhancedCode('192.0.2.7 and 5.1.1.1')).toBeNull();
    expect(findEnhancedCode('(#5.1.1)')).toBe('5.1.1');
  });
  it('finds addresses in text, not over-long local parts', () => {
    expect(addressesIn('<A@Example.org>: and b.c@d.example. x@y @z.example').map((a) => a.address)).toEqual(['a@example.org', 'b.c@d.example']);
    expect(addressesIn(`${'a'.repeat(65)}@example.org`)).toEqual([]);
    expect(addressesIn(`${'a'.repeat(64)}@example.org`)).toHaveLength(1);
    expect(addressesIn(`a@${'b.'.repeat(200)}example`)).toEqual([]);
  });
});

/** A small seeded generator (mulberry32): the same mutations on every run, so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const JUNK = ['\r\n', '\n', '\r', '\0', ':', '<', '>', '@', ';', '--', '\r\n\r\n', '=?utf-8?b?', ' ', '\t', 'Content-Type: multipart/report; boundary=x\r\n', '\u00ff'];

/** One random change to `m`: the ways mail from the world is broken, cut short or made to hurt. */
function mutate(m: Buffer, rnd: () => number): Buffer {
  const at = Math.floor(rnd() * (m.length + 1));
  const lines = (): string[] => m.toString('latin1').split('\r\n');
  const join = (ls: string[]): Buffer => Buffer.from(ls.join('\r\n'), 'latin1');
  switch (Math.floor(rnd() * 9)) {
    case 0: return m.subarray(0, at);
    case 1: {
      const out = Buffer.from(m);
      for (let n = 1 + Math.floor(rnd() * 8); n > 0 && out.length; n--) out[Math.floor(rnd() * out.length)] = Math.floor(rnd() * 256);
      return out;
    }
    case 2: {
      // A boundary line removed: parts run together, or a multipart never ends.
      const ls = lines();
      const bounds = ls.map((l, i) => (l.startsWith('--') ? i : -1)).filter((i) => i >= 0);
      if (bounds.length) ls.splice(bounds[Math.floor(rnd() * bounds.length)], 1);
      return join(ls);
    }
    case 3: {
      // A header line duplicated (Content-Type twice, a second report-type, …).
      const ls = lines();
      const end = Math.max(1, ls.indexOf(''));
      const i = Math.floor(rnd() * end);
      ls.splice(i, 0, ls[i]);
      return join(ls);
    }
    case 4: {
      const fill = ['a', ' ', '@', '.', '5.1.1 ', '-', ':'][Math.floor(rnd() * 7)];
      return Buffer.concat([m.subarray(0, at), Buffer.from(fill.repeat(Math.floor(rnd() * 200_000))), m.subarray(at)]);
    }
    case 5: return Buffer.concat([m.subarray(0, at), Buffer.from(JUNK[Math.floor(rnd() * JUNK.length)], 'latin1'), m.subarray(at)]);
    case 6: {
      const other = crlf(FIXTURES[Math.floor(rnd() * FIXTURES.length)]);
      return Buffer.concat([m.subarray(0, at), other.subarray(Math.floor(rnd() * other.length))]);
    }
    case 7: {
      const len = Math.floor(rnd() * 200);
      const chunk = m.subarray(at, at + len);
      return Buffer.concat([m.subarray(0, at), ...Array<Buffer>(1 + Math.floor(rnd() * 50)).fill(chunk), m.subarray(at)]);
    }
    default: return Buffer.from(m.toString('latin1').replace(/\r\n/g, rnd() < 0.5 ? '\n' : '\r'), 'latin1');
  }
}

describe('parseInboundReport on broken input', () => {
  it('never throws, always answers within its budget, keeps its caps', async () => {
    const rnd = prng(0x5e5a3e);
    const kinds = new Set(['dsn', 'arf', 'auto-reply', 'unrecognised']);
    const seen = new Map<string, number>();
    let slowest = 0;
    for (let i = 0; i < 3000; i++) {
      let m = crlf(FIXTURES[i % FIXTURES.length]);
      for (let n = 1 + Math.floor(rnd() * 3); n > 0; n--) m = mutate(m, rnd);
      const start = performance.now();
      const r = await parseInboundReport(m);
      slowest = Math.max(slowest, performance.now() - start);
      expect(kinds.has(r.kind), `case ${i}`).toBe(true);
      seen.set(r.kind, (seen.get(r.kind) ?? 0) + 1);
      if (r.kind === 'unrecognised') expect(r.reason.startsWith(INTERNAL_FAULT), `case ${i}: ${r.reason}`).toBe(false);
      if (r.kind === 'dsn') {
        expect(r.recipients.length).toBeGreaterThan(0);
        expect(r.recipients.length).toBeLessThanOrEqual(100);
        for (const x of r.recipients) expect(x.diagnostic.length).toBeLessThanOrEqual(1000);
      }
      if (r.kind === 'arf') expect(r.originalRcptTo.length).toBeLessThanOrEqual(100);
    }
    // Most mutations leave a sample readable, so every path was taken.
    expect([...seen.keys()].sort()).toEqual([...kinds].sort());
    // A mutated sample is at most a few hundred kilobytes; a second is room for a loaded machine.
    expect(slowest).toBeLessThan(1_000);
  }, 120_000);
});

describe('parseInboundReport on the inputs that hurt most', () => {
  const MB = 1_000_000;
  const BUDGET_MS = 1_000;
  const report = (statusPart: string): string =>
    `From: MAILER-DAEMON@mx.example\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n${statusPart}\r\n--b--\r\n`;
  const bounce = (notice: string): string => `From: MAILER-DAEMON@mx.example\r\nSubject: failure notice\r\n\r\nHi. This is the qmail-send program at mx.example.\r\n${notice}\r\n`;
  const worst: [string, () => string][] = [
    ['a 5 MB header line', () => `Subject: ${'a'.repeat(5 * MB)}\r\n\r\nx\r\n`],
    ['a 5 MB header line of blanks', () => `Subject: a${' '.repeat(5 * MB)}b\r\n\r\nx\r\n`],
    ['100,000 boundary lines', () => `Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n${'--b\r\n'.repeat(100_000)}--b--\r\n`],
    ['100,000 empty parts', () => `Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n${'--b\r\n\r\n'.repeat(100_000)}--b--\r\n`],
    ['a 5 MB status field', () => report(`Final-Recipient: rfc822; ${'a'.repeat(5 * MB)}`)],
    ['a status field folded 1,000,000 times', () => report(`Diagnostic-Code: smtp; x\r\n${' y\r\n'.repeat(MB)}`)],
    ['200,000 recipient groups', () => report('Final-Recipient: rfc822; a@b.example\r\nAction: failed\r\n\r\n'.repeat(200_000))],
    ['a 5 MB field name', () => report(`${'A'.repeat(5 * MB)}: x`)],
    ['a notice of 5 MB of word characters', () => bounce('a'.repeat(5 * MB))],
    ['a notice of @ only', () => bounce('@'.repeat(5 * MB))],
    ['a notice of a@ repeated', () => bounce('a@'.repeat(2 * MB))],
    ['a notice of dotted domains', () => bounce(`<a@${'b.'.repeat(2 * MB)}>`)],
    ['a notice of 100,000 addresses', () => bounce('<r@example.org>: 550 5.1.1 no\r\n'.repeat(100_000))],
    ['a notice of digits and dots', () => bounce('5.1.'.repeat(MB))],
    ['a notice of blank lines', () => bounce('\r\n \r\n'.repeat(MB / 4))],
    ['a quoted original of 5 MB header', () => bounce(`--- Below this line is a copy of the message.\r\n\r\nReturn-Path: <${'a'.repeat(5 * MB)}>\r\n`)],
  ];
  it.each(worst)('%s: answered in linear time', async (_, make) => {
    const raw = Buffer.from(make(), 'latin1');
    const start = performance.now();
    const r = await parseInboundReport(raw);
    expect(performance.now() - start).toBeLessThan(BUDGET_MS);
    expect(['dsn', 'unrecognised']).toContain(r.kind);
    if (r.kind === 'dsn') expect(r.recipients.length).toBeLessThanOrEqual(100);
  });

  // The scanners themselves, past the caps that guard them above: each must be linear on its own.
  const scanners: [string, () => unknown][] = [
    ['fields, one long line', () => readFieldGroups(`A: ${'x'.repeat(MB)}`)],
    ['fields, blanks', () => readFieldGroups(`A:${' '.repeat(MB)}x`)],
    ['fields, folds', () => readFieldGroups(`A: x\n${' y\n'.repeat(MB / 3)}`)],
    ['fields, colons', () => readFieldGroups(':'.repeat(MB))],
    ['addresses, word characters', () => addressesIn('a'.repeat(MB))],
    ['addresses, @ only', () => addressesIn('@'.repeat(MB))],
    ['addresses, a@ repeated', () => addressesIn('a@'.repeat(MB / 2))],
    ['addresses, long local parts', () => addressesIn(`${'a'.repeat(100)}@b.example `.repeat(MB / 112))],
    ['addresses, dots', () => addressesIn(`a@${'.'.repeat(MB)}`)],
    ['enhanced code, digits and dots', () => findEnhancedCode('5.1.'.repeat(MB / 4))],
    ['enhanced code, digits', () => findEnhancedCode(`5.${'1'.repeat(MB)}`)],
    ['type prefix, no semicolon', () => untyped('a'.repeat(MB))],
  ];
  it.each(scanners)('%s: linear', (_, fn) => {
    const start = performance.now();
    fn();
    expect(performance.now() - start).toBeLessThan(BUDGET_MS);
  });
});
