/**
 * Capture mode (SESAME_DELIVERY=capture) end to end on both stores: nothing reaches the MX hosts,
 * and each recipient's message is kept exactly as it would have gone out (personalised, with its
 * unsubscribe link, tracking pixel and DKIM signature, which mailauth verifies against dnsmasq),
 * for a SendEmail and for a batch task's recipients. ListCapturedEmails and GetCapturedEmail through
 * the SDK: paging, the recipient filter, another account seeing nothing; retention deleting old
 * captures and cutting an account back to its newest CAPTURED_PER_ACCOUNT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExtensionActionName, Requests } from '../src/schema/actions.js';
import { CAPTURED_PER_ACCOUNT } from '../src/services/retention.js';
import { STORES } from './helpers/app.js';
import { errorCode, extensionCall } from './helpers/sdk.js';
import { eventually, RECIPIENT_DOMAIN, SENDER_DOMAIN, startSending, statusesOf, taskWhen, type SendingFixture } from './helpers/sending.js';

const DAY = 86_400_000;

type Creds = { SecretId: string; SecretKey: string };

describe.each(STORES)('capture mode on %s', (store) => {
  let f: SendingFixture;
  /** A second account. */
  let other: Creds;
  beforeAll(async () => {
    f = await startSending(store, { SESAME_DELIVERY: 'capture', SESAME_FREQUENCY_LIMIT: '0', SESAME_DAILY_QUOTA: 'unlimited' });
    other = await f.t.app.services.accounts.create({ name: 'neighbour' });
  }, 60_000);
  afterAll(async () => { await f?.stop(); });

  const ext = <A extends ExtensionActionName>(action: A, req: Requests[A], creds: Creds = f.t.creds) => extensionCall(f.t.endpoint, creds, action, req);
  const received = () => f.mx1.received.length + f.mx2.received.length;
  /** The captured mails to `to`, once there are `n`. */
  const capturedTo = (to: string, n = 1) => eventually(async () => {
    const r = await ext('ListCapturedEmails', { Offset: 0, Limit: 100, Recipient: to });
    return r.CapturedEmailList.length >= n ? r.CapturedEmailList : undefined;
  }, 20_000, `the capture of ${to}`);

  it('keeps each recipient\'s message as it would have gone out: personalised, unsubscribe link, tracking pixel, DKIM-signed; sends nothing', async () => {
    const [ada, bob] = [`ada@${RECIPIENT_DOMAIN}`, `bob@${RECIPIENT_DOMAIN}`];
    const { MessageId } = await f.call('SendEmail', {
      FromEmailAddress: `Shop News <${f.sender}>`, Destination: [ada, bob], Subject: 'Grüße, {{name}}', Unsubscribe: '1',
      Template: { TemplateID: f.templateId, TemplateData: JSON.stringify({ name: 'Ada', code: '4711' }) },
    });
    const statuses = await statusesOf(f, MessageId, (l) => l.length === 2 && l.every((s) => s.DeliverStatus === 1));
    expect((statuses[0] as { DeliverMessage?: string }).DeliverMessage).toMatch(/Captured/);
    expect(received()).toBe(0);

    const [item] = await capturedTo(ada);
    expect(item).toMatchObject({ MessageId, FromEmailAddress: f.sender, ToEmailAddress: ada, Subject: 'Grüße, Ada' });
    expect(Math.abs(item.CapturedTimestamp - Date.now() / 1000)).toBeLessThan(60);
    const mail = await ext('GetCapturedEmail', { Id: item.Id });
    expect(mail).toMatchObject({ ...item, Text: expect.stringContaining('Hello Ada, your code is 4711.') });
    expect(mail.Html).toContain('Hello Ada, your code is <b>4711</b>.');
    // Tracking is on for new accounts: the open pixel, at the public URL; and the unsubscribe link below it.
    expect(mail.Html).toMatch(/<img src="http:\/\/localhost:8080\/t\/o\/[^"]+"/);
    expect(mail.Html).toMatch(/http:\/\/localhost:8080\/unsubscribe\//);
    const names = mail.Headers.map((h) => h.Name);
    expect(names[0]).toBe('DKIM-Signature');
    expect(names).toEqual(expect.arrayContaining(['From', 'To', 'Subject', 'Message-ID', 'Date', 'List-Unsubscribe', 'List-Unsubscribe-Post', 'MIME-Version']));
    expect(mail.Headers.find((h) => h.Name === 'List-Unsubscribe-Post')?.Value).toBe('List-Unsubscribe=One-Click');
    // Raw is the message's bytes: their size, the very header listed, and a signature that verifies.
    const raw = Buffer.from(mail.Raw, 'base64');
    expect(raw.length).toBe(mail.Size);
    expect(raw.toString('latin1').startsWith(`DKIM-Signature: ${mail.Headers[0].Value.slice(0, 20)}`)).toBe(true);
    expect(await f.verifyDkim(raw)).toEqual([{ result: 'pass', domain: SENDER_DOMAIN, algorithm: 'rsa-sha256' }]);

    // Bob's is his own: the same mail with his own links.
    const [forBob] = await capturedTo(bob);
    const bobs = await ext('GetCapturedEmail', { Id: forBob.Id });
    expect(bobs.MessageId).toBe(MessageId);
    expect(bobs.Html).toContain('Hello Ada');
    const pixel = (html: string) => /\/t\/o\/([^"]+)"/.exec(html)![1];
    expect(pixel(bobs.Html)).not.toBe(pixel(mail.Html));
    expect(await f.verifyDkim(Buffer.from(bobs.Raw, 'base64'))).toEqual([expect.objectContaining({ result: 'pass' })]);
    // The pixel works as the recipient's would.
    const open = await fetch(`${f.t.url}t/o/${pixel(mail.Html)}`);
    expect(open.status).toBe(200);
  });

  it('keeps each recipient of a batch task\'s message, personalised with their own data', async () => {
    const { ReceiverId } = await f.call('CreateReceiver', { ReceiversName: 'capture group' });
    const emails = [0, 1, 2].map((i) => `reader${i}@${RECIPIENT_DOMAIN}`);
    await f.call('CreateReceiverDetailWithData', {
      ReceiverId, Datas: emails.map((e, i) => ({ Email: e, TemplateData: JSON.stringify({ name: `Reader ${i}`, code: `C${i}` }) })),
    });
    const { TaskId } = await f.call('BatchSendEmail', {
      FromEmailAddress: f.sender, ReceiverId, Subject: 'News for {{name}}', TaskType: 1,
      Template: { TemplateID: f.templateId, TemplateData: '{}' },
    });
    await taskWhen(f, TaskId, (t) => t.TaskStatus === 10);
    for (const [i, to] of emails.entries()) {
      const [item] = await capturedTo(to);
      expect(item.Subject).toBe(`News for Reader ${i}`);
      const mail = await ext('GetCapturedEmail', { Id: item.Id });
      expect(mail.Html).toContain(`Hello Reader ${i}, your code is <b>C${i}</b>.`);
      expect(mail.Headers.find((h) => h.Name === 'To')?.Value).toBe(to);
      expect(await f.verifyDkim(Buffer.from(mail.Raw, 'base64'))).toEqual([expect.objectContaining({ result: 'pass' })]);
    }
    expect(received()).toBe(0);
  });

  it('lists newest first, a page at a time, filtered by recipient; Limit over 100 is refused', async () => {
    const ids: string[] = [];
    for (const who of ['p1', 'p2', 'p3']) {
      ids.push((await f.call('SendEmail', {
        FromEmailAddress: f.sender, Destination: [`${who}@${RECIPIENT_DOMAIN}`], Subject: `Page ${who}`,
        Template: { TemplateID: f.templateId, TemplateData: '{"name":"P","code":"1"}' },
      })).MessageId);
      // One at a time, so the order they are captured in is the order they were sent in.
      await capturedTo(`${who}@${RECIPIENT_DOMAIN}`);
    }
    const all = await ext('ListCapturedEmails', { Offset: 0, Limit: 100 });
    expect(all.TotalCount).toBe(all.CapturedEmailList.length);
    expect(all.CapturedEmailList.slice(0, 3).map((c) => c.Subject)).toEqual(['Page p3', 'Page p2', 'Page p1']);
    const ordered = all.CapturedEmailList.map((c) => c.Id);
    expect([...ordered].sort((a, b) => b - a)).toEqual(ordered);
    const first = await ext('ListCapturedEmails', { Offset: 0, Limit: 2 });
    const second = await ext('ListCapturedEmails', { Offset: 2, Limit: 2 });
    expect([...first.CapturedEmailList, ...second.CapturedEmailList].map((c) => c.Id)).toEqual(ordered.slice(0, 4));
    expect(first.TotalCount).toBe(all.TotalCount);
    expect((await ext('ListCapturedEmails', { Offset: 0, Limit: 0 })).CapturedEmailList).toEqual([]);
    // An exact address (compared in lower case): only that recipient's.
    const mine = await ext('ListCapturedEmails', { Offset: 0, Limit: 10, Recipient: `P2@${RECIPIENT_DOMAIN}` });
    expect(mine).toMatchObject({ TotalCount: 1, CapturedEmailList: [{ MessageId: ids[1], ToEmailAddress: `p2@${RECIPIENT_DOMAIN}` }] });
    expect((await ext('ListCapturedEmails', { Offset: 0, Limit: 10, Recipient: `p@${RECIPIENT_DOMAIN}` })).TotalCount).toBe(0);
    expect(await errorCode(ext('ListCapturedEmails', { Offset: 0, Limit: 101 }))).toBe('FailedOperation.InvalidLimit');
    expect(await errorCode(ext('ListCapturedEmails', { Limit: 10 } as Requests['ListCapturedEmails']))).toBe('MissingParameter');
  });

  it('shows another account nothing: an empty list, and its Ids answer as missing ones do', async () => {
    const [mine] = (await ext('ListCapturedEmails', { Offset: 0, Limit: 1 })).CapturedEmailList;
    expect(await ext('ListCapturedEmails', { Offset: 0, Limit: 100 }, other)).toMatchObject({ CapturedEmailList: [], TotalCount: 0 });
    expect(await errorCode(ext('GetCapturedEmail', { Id: mine.Id }, other))).toBe('ResourceNotFound');
    expect(await errorCode(ext('GetCapturedEmail', { Id: 999_999_999 }))).toBe('ResourceNotFound');
  });

  it('retention deletes captures past the statuses\' horizon, and cuts an account back to its newest ones', async () => {
    const db = f.t.app.services.db;
    const to = `old@${RECIPIENT_DOMAIN}`;
    await f.call('SendEmail', { FromEmailAddress: f.sender, Destination: [to], Subject: 'Old', Template: { TemplateID: f.templateId, TemplateData: '{"name":"O","code":"0"}' } });
    const [old] = await capturedTo(to);
    const kept = (await ext('ListCapturedEmails', { Offset: 0, Limit: 100 })).TotalCount;
    // Time travel: captured 31 days ago (SESAME_STATUS_RETENTION_DAYS is 30).
    await db.run('UPDATE captured_mail SET captured_at = ? WHERE id = ?', [Date.now() - 31 * DAY, old.Id]);
    const first = await f.t.app.services.retention.round();
    expect(first.capturedMail).toBe(1);
    expect(await errorCode(ext('GetCapturedEmail', { Id: old.Id }))).toBe('ResourceNotFound');
    expect((await ext('ListCapturedEmails', { Offset: 0, Limit: 100 })).TotalCount).toBe(kept - 1);

    // A capture-mode server left running: the neighbour has a few more than an account keeps.
    const account = (await db.get<{ id: number }>('SELECT account_id AS id FROM api_keys WHERE secret_id = ?', [other.SecretId]))!.id;
    const n = CAPTURED_PER_ACCOUNT + 3;
    await db.run(
      `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
       INSERT INTO captured_mail (account_id, delivery_id, message_id, sender, recipient, subject, size, raw, captured_at)
       SELECT ?, -i, 'm', 's@x.test', 'r@x.test', 'Mail ' || i, 1, 'eA==', ? FROM k ORDER BY i`,
      [n, account, Date.now()],
    );
    const second = await f.t.app.services.retention.round();
    expect(second.capturedMail).toBe(3);
    const left = await ext('ListCapturedEmails', { Offset: 0, Limit: 1 }, other);
    expect(left.TotalCount).toBe(CAPTURED_PER_ACCOUNT);
    expect(left.CapturedEmailList[0].Subject).toBe(`Mail ${n}`);
    expect((await ext('ListCapturedEmails', { Offset: CAPTURED_PER_ACCOUNT - 1, Limit: 1 }, other)).CapturedEmailList[0].Subject).toBe('Mail 4');
    // This account's own stay as they were.
    expect((await ext('ListCapturedEmails', { Offset: 0, Limit: 100 })).TotalCount).toBe(kept - 1);
    expect((await f.t.app.services.retention.round()).capturedMail).toBe(0);
  });
});
