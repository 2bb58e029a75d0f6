/**
 * Retention on both stores, end to end: a message's content is freed once its last delivery is
 * final (not while one recipient is still deferred) and its statuses still show; the worker's
 * retention round frees what no outcome did (a batch run whose every recipient was dropped at
 * acceptance) and deletes old final statuses, the messages left without one, expired blocklist
 * entries and old day counters, keeping everything still shown or still needed. Rows are made old
 * by writing their times through the store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDate } from '../src/lib/time.js';
import { STORES } from './helpers/app.js';
import { RECIPIENT_DOMAIN, retryNow, startSending, statusesOf, taskWhen, type SendingFixture } from './helpers/sending.js';

const DAY = 86_400_000;
/** SESAME_STATUS_RETENTION_DAYS (the default). */
const RETENTION_DAYS = 30;

describe.each(STORES)('retention on %s', (store) => {
  let f: SendingFixture;
  beforeAll(async () => {
    f = await startSending(store, { SESAME_FREQUENCY_LIMIT: '0', SESAME_DAILY_QUOTA: 'unlimited' });
  }, 60_000);
  afterAll(async () => { await f?.stop(); });

  const db = () => f.t.app.services.db;
  const today = () => formatDate(Date.now(), 'UTC');

  /** Sends the fixture's template to `to`; its MessageId. */
  async function send(...to: string[]): Promise<string> {
    const r = await f.call('SendEmail', {
      FromEmailAddress: f.sender, Destination: to, Subject: 'Hello {{name}}',
      Template: { TemplateID: f.templateId, TemplateData: JSON.stringify({ name: 'Ada', code: '42' }) },
    });
    return r.MessageId;
  }

  /** The stored message row of a MessageId (undefined once deleted). */
  const messageRow = (messageId: string) => db().get<{ id: number; content: string; account_id: number; domain_id: number }>(
    'SELECT id, content, account_id, domain_id FROM messages WHERE message_id = ?', [messageId]);

  /** Sends to `to` and waits until it is delivered; the message row. */
  async function delivered(to: string): Promise<{ messageId: string; id: number; account_id: number; domain_id: number }> {
    const messageId = await send(to);
    await statusesOf(f, messageId, (l) => l[0].DeliverStatus === 1);
    const row = (await messageRow(messageId))!;
    return { messageId, id: row.id, account_id: row.account_id, domain_id: row.domain_id };
  }

  /** Time travel: the message and its deliveries were accepted `days` ago. */
  async function makeOld(messageRowId: number, days: number): Promise<void> {
    const at = Date.now() - days * DAY;
    await db().run('UPDATE messages SET created_at = ? WHERE id = ?', [at, messageRowId]);
    await db().run('UPDATE deliveries SET created_at = ?, deliver_time = ? WHERE message_row = ?', [at, at, messageRowId]);
    await db().run('UPDATE events SET created_at = ? WHERE delivery_id IN (SELECT id FROM deliveries WHERE message_row = ?)', [at, messageRowId]);
  }

  it('frees a message\'s content once its last delivery is final, not while a recipient is deferred; its statuses still show', async () => {
    const [early, late] = [`early@${RECIPIENT_DOMAIN}`, `late@${RECIPIENT_DOMAIN}`];
    f.mx1.mode = { kind: 'defer', code: 451, message: '4.2.1 Mailbox busy' };
    f.mx2.mode = { kind: 'defer', code: 451, message: '4.2.1 Mailbox busy' };
    try {
      const id = await send(early, late);
      await statusesOf(f, id, (l) => l.length === 2 && l.every((s) => s.DeliverStatus === 8));
      expect((await messageRow(id))!.content).not.toBe('');
      f.mx1.mode = { kind: 'accept' };
      f.mx2.mode = { kind: 'accept' };
      // Only the first recipient is retried now; the second stays deferred, so its mail still needs the content.
      await db().run('UPDATE deliveries SET next_attempt_at = ? WHERE recipient = ? AND next_attempt_at IS NOT NULL AND lease_owner IS NULL', [Date.now(), early]);
      f.t.app.services.accepted.notify();
      await statusesOf(f, id, (l) => (l as { ToEmailAddress: string; DeliverStatus: number }[]).find((s) => s.ToEmailAddress === early)?.DeliverStatus === 1);
      expect((await messageRow(id))!.content).not.toBe('');
      await f.t.app.services.retention.round();
      expect((await messageRow(id))!.content).not.toBe('');

      const before = f.mx1.received.length + f.mx2.received.length;
      await retryNow(f);
      const statuses = await statusesOf(f, id, (l) => l.every((s) => s.DeliverStatus === 1));
      expect(f.mx1.received.length + f.mx2.received.length).toBe(before + 1);
      // Freed in the transaction that recorded the last outcome: as soon as the status shows it.
      const row = (await messageRow(id))!;
      expect(row.content).toBe('');
      // What GetSendEmailStatus shows never came from the content.
      expect(statuses.map((s) => [s.ToEmailAddress, s.FromEmailAddress, s.DeliverStatus, s.MessageId]).sort()).toEqual([
        [early, f.sender, 1, id], [late, f.sender, 1, id],
      ]);
      // Nothing may render a freed message: the store refuses, it does not hand out an empty one.
      await expect(f.t.app.services.stores.queue.content(row.id)).rejects.toThrow(/freed/);
    } finally {
      f.mx1.mode = { kind: 'accept' };
      f.mx2.mode = { kind: 'accept' };
    }
  });

  it('frees, in the retention round, the content of a batch run whose every recipient was dropped at acceptance', async () => {
    const emails = [`dropped1@${RECIPIENT_DOMAIN}`, `dropped2@${RECIPIENT_DOMAIN}`];
    await f.call('CreateCustomBlacklist', { Emails: emails });
    const { ReceiverId } = await f.call('CreateReceiver', { ReceiversName: 'all blocked' });
    await f.call('CreateReceiverDetail', { ReceiverId, Emails: emails });
    const { TaskId } = await f.call('BatchSendEmail', {
      FromEmailAddress: f.sender, ReceiverId, Subject: 'News', TaskType: 1, Template: { TemplateID: f.templateId, TemplateData: '{"name":"A","code":"1"}' },
    });
    await taskWhen(f, TaskId, (t) => t.TaskStatus === 10, 20_000);
    const [row] = await db().all<{ id: number; content: string }>(
      'SELECT m.id, m.content FROM messages m JOIN deliveries d ON d.message_row = m.id WHERE d.recipient = ?', [emails[0]]);
    // No delivery of it was ever queued, so no outcome was ever recorded to free it.
    expect(row.content).not.toBe('');
    const counts = await f.t.app.services.retention.round();
    expect(counts.freedContents).toBeGreaterThanOrEqual(1);
    expect((await db().get<{ content: string }>('SELECT content FROM messages WHERE id = ?', [row.id]))!.content).toBe('');
    await f.call('DeleteCustomBlackList', { Emails: emails });
  });

  it('deletes final statuses past retention, the messages left without one, expired blocklist entries and old counters; keeps the rest', async () => {
    const old = RETENTION_DAYS + 5;
    const gone = await delivered(`gone@${RECIPIENT_DOMAIN}`);
    const queued = await delivered(`queued@${RECIPIENT_DOMAIN}`);
    const ofTask = await delivered(`task@${RECIPIENT_DOMAIN}`);
    const recent = await delivered(`recent@${RECIPIENT_DOMAIN}`);
    for (const m of [gone, queued, ofTask]) await makeOld(m.id, old);
    // An old delivery still waiting for a retry (not final) stays, and so does its message.
    await db().run('UPDATE deliveries SET next_attempt_at = ?, deliver_status = 8 WHERE message_row = ?', [Date.now() + DAY, queued.id]);
    // A batch task whose run in progress has this old message: the message stays for its later chunks.
    const account = gone.account_id;
    await db().run(
      `INSERT INTO send_tasks (account_id, receiver_id, receivers_name, from_address, subject, task_type, status, content, run_message_row, created_at, updated_at)
       VALUES (?, 0, 'g', ?, 's', 1, 5, '{}', ?, ?, ?)`, [account, f.sender, ofTask.id, Date.now(), Date.now()]);

    const blocklists = f.t.app.services.blocklists;
    await blocklists.recordHardBounce(account, `expired-bounce@${RECIPIENT_DOMAIN}`, '550 5.1.1 unknown', Date.now() - 400 * DAY);
    await blocklists.recordHardBounce(account, `current-bounce@${RECIPIENT_DOMAIN}`, '550 5.1.1 unknown', Date.now());
    const custom = ['long-expired', 'just-expired', 'for-ever', 'future'].map((n) => `${n}@trap.test`);
    await f.call('CreateCustomBlacklist', { Emails: custom, ExpireDate: formatDate(Date.now() + 10 * DAY, 'UTC') });
    await db().run('UPDATE custom_blocklist SET expire_date = ? WHERE email = ?', [formatDate(Date.now() - old * DAY, 'UTC'), custom[0]]);
    await db().run('UPDATE custom_blocklist SET expire_date = ? WHERE email = ?', [formatDate(Date.now() - 3 * DAY, 'UTC'), custom[1]]);
    await db().run('UPDATE custom_blocklist SET expire_date = NULL WHERE email = ?', [custom[2]]);
    await db().run('INSERT INTO send_counts (account_id, domain_id, day, sent) VALUES (?, ?, ?, 7)', [account, gone.domain_id, formatDate(Date.now() - old * DAY, 'UTC')]);
    // Statistics stay a year; kept inbound mail as long as statuses.
    for (const d of [old, 400]) {
      await db().run("INSERT INTO daily_volumes (account_id, day, sender_domain, recipient_domain, requested) VALUES (?, ?, 'old.test', 'x.test', 1)", [account, formatDate(Date.now() - d * DAY, 'UTC')]);
    }
    const kept = await f.t.app.services.feedback.keep({ client: '192.0.2.1', mailFrom: '', rcptTo: 'fbl@x.test', reason: 'test', raw: Buffer.from('x'), at: Date.now() - old * DAY });
    const eventsBefore = (await db().get<{ n: number }>('SELECT COUNT(*) AS n FROM events'))!.n;

    const statusesToday = async () => (await f.call('GetSendEmailStatus', { RequestDate: today(), Offset: 0, Limit: 100 })).EmailStatusList;
    const shownBefore = await statusesToday();
    expect(shownBefore.map((s) => s.MessageId)).toContain(recent.messageId);

    const counts = await f.t.app.services.retention.round();
    expect(counts).toMatchObject({ deliveries: 2, messages: 1, bounceBlocklist: 1, customBlocklist: 1, sendCounts: 1, events: 3, dailyVolumes: 1, inboundKept: 1 });
    // The three old deliveries' events went (the one still queued keeps its row, not its old event); the rest stay.
    expect((await db().get<{ n: number }>('SELECT COUNT(*) AS n FROM events'))!.n).toBe(eventsBefore - 3);
    expect(await f.t.app.services.feedback.keptContent(kept)).toBeUndefined();
    expect((await db().all<{ day: string }>("SELECT day FROM daily_volumes WHERE sender_domain = 'old.test'")).map((r) => r.day)).toEqual([formatDate(Date.now() - old * DAY, 'UTC')]);

    const deliveriesOf = async (row: number) => (await db().get<{ n: number }>('SELECT COUNT(*) AS n FROM deliveries WHERE message_row = ?', [row]))!.n;
    expect(await messageRow(gone.messageId)).toBeUndefined();
    expect(await deliveriesOf(gone.id)).toBe(0);
    expect(await messageRow(queued.messageId)).toBeDefined();
    expect(await deliveriesOf(queued.id)).toBe(1);
    expect(await messageRow(ofTask.messageId)).toBeDefined();
    expect(await deliveriesOf(ofTask.id)).toBe(0);
    expect(await deliveriesOf(recent.id)).toBe(1);
    // Today's statuses are exactly what they were.
    expect(await statusesToday()).toEqual(shownBefore);

    const bounces = await f.call('ListBlackEmailAddress', { StartDate: today(), EndDate: today(), Limit: 100, Offset: 0 });
    expect(bounces.BlackList.map((b) => b.EmailAddress)).toContain(`current-bounce@${RECIPIENT_DOMAIN}`);
    expect(await db().get('SELECT id FROM bounce_blocklist WHERE email = ?', [`expired-bounce@${RECIPIENT_DOMAIN}`])).toBeUndefined();
    // Expired entries stay listed (Status 0) for the retention period, then go.
    const listed = await f.call('ListCustomBlacklist', { Offset: 0, Limit: 100, Status: 2, Email: 'trap.test' });
    expect(listed.Data.map((d) => d.Email).sort()).toEqual([custom[3], custom[2], custom[1]].sort());
    const days = await db().all<{ day: string }>('SELECT day FROM send_counts WHERE domain_id = ? ORDER BY day', [gone.domain_id]);
    expect(days.map((d) => d.day)).toEqual([today()]);

    // A second round finds nothing more: every step is idempotent.
    expect(await f.t.app.services.retention.round()).toMatchObject({ deliveries: 0, messages: 0, bounceBlocklist: 0, customBlocklist: 0, sendCounts: 0 });
    // The task's run ends: its old message, left without a delivery, goes at the next round.
    await db().run('UPDATE send_tasks SET run_message_row = NULL, status = 10 WHERE run_message_row = ?', [ofTask.id]);
    expect((await f.t.app.services.retention.round()).messages).toBe(1);
    expect(await messageRow(ofTask.messageId)).toBeUndefined();
  });
});
