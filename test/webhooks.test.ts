/**
 * Webhooks end to end on both stores, with a real HTTP receiver: each of the eight events arrives
 * in Tencent's payload, signed so that the Standard Webhooks library verifies it with the secret
 * SetEmailCallback answered; an address-level callback wins over the account's; a 500 is retried
 * under the same webhook-id; a 410 stops; a receiver that never answers does not slow delivery.
 */
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from './helpers/app.js';
import { startReceiver, type Receiver, type Received } from './helpers/receiver.js';
import { b64, errorCode, extensionCall } from './helpers/sdk.js';
import type { ExtensionActionName, Requests } from '../src/schema/actions.js';
import { eventually, retryNow, SENDER_DOMAIN, startSending, statusesOf, taskWhen, type SendingFixture } from './helpers/sending.js';

const HTML = '<html><body><p>Hi {{name}}</p><a href="https://shop.example/deal">Deal</a></body></html>';

describe.each(STORES)('webhooks on %s', (store) => {
  let f: SendingFixture;
  let rx: Receiver;
  let secret: string;
  let templateId: number;
  let appId: number;
  const ext = <A extends ExtensionActionName>(action: A, req: Requests[A]) => extensionCall(f.t.endpoint, f.t.creds, action, req);

  /** Sends to `to` (with `extra` request fields); answers the MessageId and the mail as it arrived. */
  async function send(to: string, extra: Record<string, unknown> = {}): Promise<{ id: string; html: string; verp: string; header: string }> {
    const before = f.mx1.received.length;
    const id = (await f.call('SendEmail', {
      FromEmailAddress: f.sender, Destination: [to], Subject: 'Deals for {{name}}', Template: { TemplateID: templateId, TemplateData: '{"name":"Ann"}' }, ...extra,
    })).MessageId;
    const got = await eventually(async () => f.mx1.received.slice(before).find((g) => g.to.includes(to)), 20_000, `the mail to ${to}`);
    const raw = got.raw.toString('latin1');
    // The HTML part as the reader gets it (decoded by mailparser), its links pointed at the test server.
    const html = String((await simpleParser(got.raw)).html).replace(/http:\/\/localhost:8080\//g, f.t.url);
    return { id, html, verp: got.from, header: `Return-Path: <${got.from}>\r\n${raw.slice(0, raw.indexOf('\r\n\r\n'))}` };
  }
  /** The callback request for `email`'s `event`, verified with the secret; its payload. */
  async function callbackFor(email: string, event: string, where: Receiver = rx): Promise<{ payload: Record<string, unknown>; req: Received }> {
    const req = await where.waitFor((r) => { const p = JSON.parse(r.body) as Record<string, unknown>; return p.email === email && p.event === event; });
    const payload = new Webhook(secret).verify(req.body, req.headers as Record<string, string>) as Record<string, unknown>;
    return { payload, req };
  }
  const common = (p: Record<string, unknown>, email: string, bulkId: string, eventid: number): void => {
    expect(p).toMatchObject({
      eventid, email, bulkId, username: String(appId), from: f.sender, fromDomain: SENDER_DOMAIN, templateId, subject: 'Deals for Ann',
    });
    expect(typeof p.timestamp).toBe('number');
    expect(typeof p.sentTimestamp).toBe('number');
    expect(p.messageId).toMatch(/^<[^>]+@mail\.shop\.test>$/);
  };

  beforeAll(async () => {
    rx = await startReceiver();
    f = await startSending(store, { SESAME_WEBHOOK_RETRY_SCHEDULE: '300ms,300ms,300ms', SESAME_WEBHOOK_DISABLE_AFTER: '1s' });
    appId = f.t.creds.AppId;
    templateId = (await f.call('CreateEmailTemplate', { TemplateName: 'deals', TemplateContent: { Html: b64(HTML), Text: b64('Hi {{name}}') } })).TemplateID;
    secret = (await ext('SetEmailCallback', { CallbackUrl: `${rx.base}/hook` })).Secret;
  });
  afterAll(async () => { await f?.stop(); await rx?.stop(); });

  it('SetEmailCallback answers a whsec_ secret kept while the URL stays; ListEmailCallbacks shows it; bad URLs are refused', async () => {
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect((await ext('SetEmailCallback', { CallbackUrl: `${rx.base}/hook` })).Secret).toBe(secret);
    const list = await ext('ListEmailCallbacks', {});
    expect(list).toMatchObject({ TotalCount: 1, CallbackList: [{ Address: '', CallbackUrl: `${rx.base}/hook`, Secret: secret, Status: 1 }] });
    for (const bad of ['ftp://x.test/', 'not a url', 'http://user:pw@x.test/']) {
      expect(await errorCode(ext('SetEmailCallback', { CallbackUrl: bad })), bad).toBe('InvalidParameterValue');
    }
    expect(await errorCode(ext('SetEmailCallback', { CallbackUrl: `${rx.base}/x`, Address: 'nobody@mail.shop.test' }))).toBe('InvalidParameterValue');
  });

  it('posts each of the eight events in Tencent\'s payload, signed', async () => {
    // delivered, with the sender's custom value echoed
    const m = await send('ev@dest.test', { Unsubscribe: '1', SmtpHeaders: JSON.stringify({ 'X-Tencentcloudses-Cb-Custom': 'order-42' }) });
    const delivered = await callbackFor('ev@dest.test', 'delivered');
    common(delivered.payload, 'ev@dest.test', m.id, 1);
    expect(delivered.payload['X-Tencentcloudses-Cb-Custom']).toBe('order-42');
    expect(delivered.req.headers['content-type']).toBe('application/json');
    expect(delivered.req.headers['webhook-id']).toMatch(/^evt_/);

    // open and click (the tracked link), with the user agent
    const pixel = /src="([^"]+\/t\/o\/[^"]+)"/.exec(m.html)![1];
    const click = /href="([^"]+\/t\/c\/[^"]+)"/.exec(m.html)![1];
    await fetch(pixel, { headers: { 'User-Agent': 'Thunderbird/128' } });
    await fetch(click, { headers: { 'User-Agent': 'Firefox/130' }, redirect: 'manual' });
    const open = await callbackFor('ev@dest.test', 'open');
    common(open.payload, 'ev@dest.test', m.id, 4);
    expect(open.payload.useragent).toBe('Thunderbird/128');
    const clicked = await callbackFor('ev@dest.test', 'click');
    expect(clicked.payload).toMatchObject({ eventid: 5, link: 'https://shop.example/deal', useragent: 'Firefox/130' });

    // unsubscribe (one-click POST of the link)
    const link = /href="([^"]+\/unsubscribe\/[^"]+)"/.exec(m.html)![1].replace(/&amp;/g, '&');
    await fetch(link, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    common((await callbackFor('ev@dest.test', 'unsubscribe')).payload, 'ev@dest.test', m.id, 7);

    // spamreport (an ARF report to the bounce MX)
    const c = await send('annoyed@dest.test');
    const provider = nodemailer.createTransport({ host: '127.0.0.1', port: f.t.app.mxPort, secure: false, tls: { rejectUnauthorized: false } });
    try {
      await provider.sendMail({ envelope: { from: 'fbl@isp.test', to: `fbl@${SENDER_DOMAIN}` }, raw: arf(c.header) });
    } finally {
      provider.close();
    }
    common((await callbackFor('annoyed@dest.test', 'spamreport')).payload, 'annoyed@dest.test', c.id, 6);

    // deferred, then bounce (a 5.1.1 refusal at RCPT)
    f.mx1.mode = { kind: 'defer', code: 451, message: '4.2.1 Mailbox busy' };
    f.mx2.mode = f.mx1.mode;
    const d = (await f.call('SendEmail', { FromEmailAddress: f.sender, Destination: ['later@dest.test'], Subject: 'Deals for {{name}}', Template: { TemplateID: templateId, TemplateData: '{"name":"Ann"}' } })).MessageId;
    const deferred = await callbackFor('later@dest.test', 'deferred');
    common(deferred.payload, 'later@dest.test', d, 8);
    expect(deferred.payload.reason).toContain('Mailbox busy');
    f.mx1.mode = { kind: 'reject', code: 550, message: '5.1.1 No such user', at: 'rcpt' };
    f.mx2.mode = f.mx1.mode;
    await retryNow(f);
    const bounce = await callbackFor('later@dest.test', 'bounce');
    expect(bounce.payload).toMatchObject({ eventid: 3, bounceType: 'hard_bounce', reason: expect.stringContaining('5.1.1') });
    f.mx1.mode = { kind: 'accept' };
    f.mx2.mode = f.mx1.mode;

    // dropped (a batch recipient on the custom blocklist)
    await f.call('CreateCustomBlacklist', { Emails: ['blocked@dest.test'] });
    const { ReceiverId } = await f.call('CreateReceiver', { ReceiversName: 'hooks' });
    await f.call('CreateReceiverDetail', { ReceiverId, Emails: ['blocked@dest.test'] });
    const { TaskId } = await f.call('BatchSendEmail', {
      FromEmailAddress: f.sender, ReceiverId, Subject: 'Deals for {{name}}', TaskType: 1, Template: { TemplateID: templateId, TemplateData: '{"name":"Ann"}' },
    });
    await taskWhen(f, TaskId, (t) => t.TaskStatus === 10);
    const dropped = await callbackFor('blocked@dest.test', 'dropped');
    expect(dropped.payload).toMatchObject({ eventid: 2, taskId: TaskId, reason: expect.stringContaining('blocklist') });
  });

  it('an address-level callback wins for mail from its address', async () => {
    const other = await startReceiver();
    try {
      const own = (await ext('SetEmailCallback', { CallbackUrl: `${other.base}/address`, Address: f.sender })).Secret;
      expect(own).not.toBe(secret);
      await send('byaddress@dest.test');
      const req = await other.waitFor((r) => (JSON.parse(r.body) as { email: string }).email === 'byaddress@dest.test');
      expect(new Webhook(own).verify(req.body, req.headers as Record<string, string>)).toMatchObject({ event: 'delivered' });
      expect(rx.received.some((r) => (JSON.parse(r.body) as { email: string }).email === 'byaddress@dest.test')).toBe(false);
      expect((await ext('ListEmailCallbacks', {})).TotalCount).toBe(2);
    } finally {
      await ext('SetEmailCallback', { CallbackUrl: '', Address: f.sender });
      await other.stop();
    }
    expect((await ext('ListEmailCallbacks', {})).TotalCount).toBe(1);
  });

  it('retries a 500 under the same webhook-id; a 410 stops at once', async () => {
    let n = 0;
    rx.answer = (r) => ((JSON.parse(r.body) as { email: string }).email === 'retry@dest.test' && n++ === 0 ? 500 : 200);
    await send('retry@dest.test');
    await eventually(async () => rx.received.filter((r) => r.body.includes('retry@dest.test')).length >= 2);
    const [first, second] = rx.received.filter((r) => r.body.includes('retry@dest.test'));
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(second.body).toBe(first.body);

    // A redirect is not followed (it could point anywhere, the operator's network included): it is a failure, retried.
    let m = 0;
    rx.answer = (r) => ((JSON.parse(r.body) as { email: string }).email === 'moved@dest.test' && m++ === 0 ? 307 : 200);
    await send('moved@dest.test');
    await eventually(async () => rx.received.filter((r) => r.body.includes('moved@dest.test')).length >= 2);
    // The log is written when the results are settled, just after the answers.
    const logged = await eventually(async () => {
      const l = await f.t.app.services.db.all<{ http_status: number }>(
        "SELECT l.http_status FROM webhook_log l JOIN events e ON e.id = l.event_id JOIN deliveries d ON d.id = e.delivery_id WHERE d.recipient = 'moved@dest.test' ORDER BY l.id");
      return l.length >= 2 ? l : undefined;
    });
    expect(logged.map((l) => l.http_status)).toEqual([307, 200]);

    rx.answer = (r) => ((JSON.parse(r.body) as { email: string }).email === 'gone@dest.test' ? 410 : 200);
    await send('gone@dest.test');
    await rx.waitFor((r) => r.body.includes('gone@dest.test'));
    // Give a wrong retry the time the schedule allows (300 ms), then look: one request only.
    await eventually(async () => (await f.t.app.services.db.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM webhook_outbox o JOIN events e ON e.id = o.event_id JOIN deliveries d ON d.id = e.delivery_id WHERE d.recipient = 'gone@dest.test'"))!.n === 0);
    expect(rx.received.filter((r) => r.body.includes('gone@dest.test'))).toHaveLength(1);
    rx.answer = () => 200;
  });

  it('gives an event up after the last retry, and disables an endpoint failing for SESAME_WEBHOOK_DISABLE_AFTER until it is set again', async () => {
    const down = await startReceiver();
    down.answer = () => 503;
    try {
      const own = (await ext('SetEmailCallback', { CallbackUrl: `${down.base}/down`, Address: f.sender })).Secret;
      await send('first-failing@dest.test');
      // The first try and three retries (300 ms apart), then nothing more: given up.
      await eventually(async () => down.received.length >= 4);
      await eventually(async () => (await f.t.app.services.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM webhook_outbox WHERE callback_id IN (SELECT id FROM callbacks WHERE address = ?)', [f.sender]))!.n === 0);
      expect(down.received).toHaveLength(4);
      // More than a second after the first failure, the next failure disables the endpoint.
      await send('second-failing@dest.test');
      const listed = await eventually(async () => {
        const l = await ext('ListEmailCallbacks', {});
        const mine = l.CallbackList.find((c) => c.Address === f.sender);
        return mine?.Status === 0 ? mine : undefined;
      });
      expect(listed.Secret).toBe(own);
      // Disabled: new events are not queued for it (nor, being address-level, for the account's).
      // (The outbox row would be written with the event, in its transaction.)
      const m = await send('while-disabled@dest.test');
      await statusesOf(f, m.id, (l) => l[0].DeliverStatus === 1);
      const queued = await f.t.app.services.db.get<{ events: number; queued: number }>(
        `SELECT COUNT(DISTINCT e.id) AS events, COUNT(o.id) AS queued FROM events e JOIN deliveries d ON d.id = e.delivery_id
         LEFT JOIN webhook_outbox o ON o.event_id = e.id WHERE d.recipient = 'while-disabled@dest.test'`);
      expect([Number(queued?.events), Number(queued?.queued)]).toEqual([1, 0]);
      // Set again: active, same secret.
      expect((await ext('SetEmailCallback', { CallbackUrl: `${down.base}/down`, Address: f.sender })).Secret).toBe(own);
      expect((await ext('ListEmailCallbacks', {})).CallbackList.find((c) => c.Address === f.sender)?.Status).toBe(1);
    } finally {
      await ext('SetEmailCallback', { CallbackUrl: '', Address: f.sender });
      await down.stop();
    }
  });

  it('a receiver that never answers does not delay delivery', async () => {
    rx.answer = () => 'hang';
    try {
      // The receiver holds the first request (and those after it) unanswered.
      await send('first-held@dest.test');
      await rx.waitFor((r) => r.body.includes('first-held@dest.test'));
      const t0 = Date.now();
      const ids = [];
      for (let i = 0; i < 10; i++) ids.push((await send(`quick${i}@dest.test`)).id);
      for (const id of ids) await statusesOf(f, id, (l) => l[0].DeliverStatus === 1);
      expect(Date.now() - t0).toBeLessThan(10_000);
      // Meanwhile the held requests are still in flight (their 15 s deadline is not over).
      const inFlight = await f.t.app.services.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM webhook_outbox WHERE lease_owner IS NOT NULL');
      expect(Number(inFlight?.n)).toBeGreaterThan(0);
    } finally {
      rx.answer = () => 200;
    }
  });
});

/** An ARF report about the original whose header is `header`. */
function arf(header: string): string {
  const b = 'arf-1';
  return [
    'From: fbl@isp.test', 'To: fbl@mail.shop.test', 'Subject: complaint', 'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=feedback-report; boundary="${b}"`, '',
    `--${b}`, 'Content-Type: text/plain', '', 'Spam report.', '',
    `--${b}`, 'Content-Type: message/feedback-report', '', 'Feedback-Type: abuse', 'Version: 1', 'Source-IP: 192.0.2.9', '',
    `--${b}`, 'Content-Type: message/rfc822', '', header, '', 'body', '', `--${b}--`, '',
  ].join('\r\n');
}
