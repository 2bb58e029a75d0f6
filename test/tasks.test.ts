/**
 * Batch tasks end to end on both stores, through the official SDK, against the loopback MX and DNS
 * of the sending tests: an immediate task to a group of thousands with per-recipient data (each gets
 * one personalised message, addressed to them alone), a scheduled task, a recurring task running
 * twice, skipped recipients, pausing at the daily quota and resuming, every error, and
 * ListSendTasks' filters and paging.
 */
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDateTime } from '../src/lib/time.js';
import { STORES } from './helpers/app.js';
import { b64, errorCode, extensionCall } from './helpers/sdk.js';
import { dueNow, eventually, RECIPIENT_DOMAIN, startSending, taskOf, taskWhen, type SendingFixture } from './helpers/sending.js';

/** A group of `n` recipients with data, uploaded in one call. */
async function groupWithData(f: SendingFixture, name: string, emails: readonly string[]): Promise<number> {
  const { ReceiverId } = await f.call('CreateReceiver', { ReceiversName: name });
  await f.call('CreateReceiverDetailWithData', {
    ReceiverId, Datas: emails.map((e, i) => ({ Email: e, TemplateData: JSON.stringify({ name: `Reader ${i}`, code: `C${i}` }) })),
  });
  return ReceiverId;
}

const TZ = 'Asia/Singapore';

describe.each(STORES)('batch tasks on %s', (store) => {
  let f: SendingFixture;
  beforeAll(async () => {
    f = await startSending(store, { SESAME_TIMEZONE: TZ, SESAME_DAILY_QUOTA: 'unlimited', SESAME_FREQUENCY_LIMIT: '0' });
  }, 60_000);
  afterAll(async () => { await f?.stop(); });

  const batch = (o: { receiverId: number; subject?: string; taskType?: number; extra?: Record<string, unknown> }) => f.call('BatchSendEmail', {
    FromEmailAddress: `Shop News <${f.sender}>`,
    ReceiverId: o.receiverId,
    Subject: o.subject ?? 'News for {{name}}',
    TaskType: o.taskType ?? 1,
    Template: { TemplateID: f.templateId, TemplateData: '{}' },
    ...o.extra,
  });

  it('sends each recipient of a group of thousands one message of their own, and ends as sent', async () => {
    const n = 2000;
    const emails = Array.from({ length: n }, (_, i) => `r${i}@${RECIPIENT_DOMAIN}`);
    const group = await groupWithData(f, 'thousands', emails);
    const before = f.mx1.received.length;
    // The task's TemplateData gives values too; each recipient's own win.
    const { TaskId } = await batch({ receiverId: group, extra: { ADLocation: 1, Unsubscribe: '1', Template: { TemplateID: f.templateId, TemplateData: '{"name":"Everyone","code":"ALL"}' } } });
    const got = (await f.mx1.waitFor(before + n, 90_000)).slice(before);
    expect(new Set(got.map((g) => g.to[0])).size).toBe(n);
    expect(got.every((g) => g.to.length === 1)).toBe(true);
    for (const i of [0, 777, n - 1]) {
      const g = got.find((x) => x.to[0] === `r${i}@${RECIPIENT_DOMAIN}`)!;
      const mail = await simpleParser(g.raw);
      expect(mail.subject).toBe(`(AD) News for Reader ${i}`);
      expect(mail.text).toContain(`Hello Reader ${i}, your code is C${i}.`);
      expect(mail.html).toContain(`<b>C${i}</b>`);
      expect(mail.to && 'value' in mail.to ? mail.to.value.map((v) => v.address) : []).toEqual([`r${i}@${RECIPIENT_DOMAIN}`]);
      expect(mail.headerLines.map((h) => h.key)).toContain('list-unsubscribe');
      expect(await f.verifyDkim(g.raw)).toEqual([expect.objectContaining({ result: 'pass' })]);
    }
    // Each message has a Message-ID of its own.
    const ids = await Promise.all(got.slice(0, 50).map(async (g) => (await simpleParser(g.raw)).messageId));
    expect(new Set(ids).size).toBe(50);
    const t = await taskWhen(f, TaskId, (x) => x.TaskStatus === 10);
    expect(t).toMatchObject({ RequestCount: n, SendCount: n, CacheCount: 0, TaskType: 1, ReceiversName: 'thousands', Subject: '(AD) News for {{name}}' });
    expect(got.some((g) => g.raw.toString().includes('Everyone'))).toBe(false);
  });

  it('skips blocklisted and unsubscribed recipients, and shows them dropped with their SendStatus', async () => {
    const group = await groupWithData(f, 'with skips', [`keep@${RECIPIENT_DOMAIN}`, `blocked@${RECIPIENT_DOMAIN}`, `bad-address`, `keep2@${RECIPIENT_DOMAIN}`]);
    await f.call('CreateCustomBlacklist', { Emails: [`blocked@${RECIPIENT_DOMAIN}`] });
    const before = f.mx1.received.length;
    const { TaskId } = await batch({ receiverId: group });
    const t = await taskWhen(f, TaskId, (x) => x.TaskStatus === 10);
    // The invalid address was never a recipient; the blocklisted one is requested but not sent.
    expect(t).toMatchObject({ RequestCount: 3, SendCount: 2 });
    const got = (await f.mx1.waitFor(before + 2)).slice(before);
    expect(got.map((g) => g.to[0]).sort()).toEqual([`keep2@${RECIPIENT_DOMAIN}`, `keep@${RECIPIENT_DOMAIN}`]);
    const day = formatDateTime(Date.now(), TZ).slice(0, 10);
    const s = await f.call('GetSendEmailStatus', { RequestDate: day, Offset: 0, Limit: 100, ToEmailAddress: `blocked@${RECIPIENT_DOMAIN}` });
    expect(s.EmailStatusList).toEqual([expect.objectContaining({ SendStatus: 3020, DeliverStatus: 2 })]);
  });

  it('waits for a scheduled task\'s BeginTime, then sends', async () => {
    const group = await groupWithData(f, 'scheduled', [`later@${RECIPIENT_DOMAIN}`]);
    const begin = Date.now() + 2500;
    const before = f.mx1.received.length;
    const { TaskId } = await batch({ receiverId: group, taskType: 2, extra: { TimedParam: { BeginTime: formatDateTime(begin, TZ) } } });
    const waiting = await taskOf(f, TaskId);
    expect(waiting).toMatchObject({ TaskStatus: 1, TaskType: 2, SendCount: 0, TimedParam: { BeginTime: formatDateTime(begin, TZ) } });
    const [g] = (await f.mx1.waitFor(before + 1, 20_000)).slice(before);
    // BeginTime has a whole second's precision.
    expect(g.at).toBeGreaterThanOrEqual(Math.floor(begin / 1000) * 1000);
    expect(await taskWhen(f, TaskId, (x) => x.TaskStatus === 10)).toMatchObject({ RequestCount: 1, SendCount: 1 });
  });

  it('runs a recurring task at BeginTime and again after IntervalTime, each run to the group as it is then', async () => {
    const group = await groupWithData(f, 'recurring', [`weekly1@${RECIPIENT_DOMAIN}`, `weekly2@${RECIPIENT_DOMAIN}`]);
    const before = f.mx1.received.length;
    const begin = Date.now() + 1000;
    const { TaskId } = await batch({ receiverId: group, taskType: 3, extra: { CycleParam: { BeginTime: formatDateTime(begin, TZ), IntervalTime: 24 } } });
    await f.mx1.waitFor(before + 2);
    const between = await taskWhen(f, TaskId, (x) => x.TaskStatus === 1 && x.SendCount === 2);
    expect(between.CycleParam).toEqual({ BeginTime: formatDateTime(begin, TZ), IntervalTime: 24, TermCycle: 0 });
    // The next run is planned a day after BeginTime.
    const planned = (await f.t.app.services.db.get<{ next_run_at: number }>('SELECT next_run_at FROM send_tasks WHERE id = ?', [TaskId]))!.next_run_at;
    expect(planned).toBe(Math.floor(begin / 1000) * 1000 + 24 * 3_600_000);
    await f.call('CreateReceiverDetailWithData', { ReceiverId: group, Datas: [{ Email: `weekly3@${RECIPIENT_DOMAIN}`, TemplateData: '{"name":"New","code":"N"}' }] });
    await dueNow(f, TaskId);
    const got = (await f.mx1.waitFor(before + 5)).slice(before);
    expect(got.map((g) => g.to[0]).sort()).toEqual([1, 1, 2, 2, 3].map((i) => `weekly${i}@${RECIPIENT_DOMAIN}`));
    expect(await taskWhen(f, TaskId, (x) => x.TaskStatus === 1 && x.SendCount === 5)).toMatchObject({ RequestCount: 5 });
  });

  it('refuses to delete a group a task will still send to', async () => {
    const group = await groupWithData(f, 'kept', [`kept@${RECIPIENT_DOMAIN}`]);
    await batch({ receiverId: group, taskType: 2, extra: { TimedParam: { BeginTime: formatDateTime(Date.now() + 3_600_000, TZ) } } });
    expect(await errorCode(f.call('DeleteReceiver', { ReceiverId: group }))).toBe('OperationDenied.ReceiverIsOperating');
  });

  it('ends a task in error with its ErrMsg when what it needs is gone by its start', async () => {
    const tpl = (await f.call('CreateEmailTemplate', { TemplateName: 'short-lived', TemplateContent: { Text: b64('Hi {{name}}') } })).TemplateID;
    const group = await groupWithData(f, 'orphaned', [`orphan@${RECIPIENT_DOMAIN}`]);
    const { TaskId } = await f.call('BatchSendEmail', {
      FromEmailAddress: f.sender, ReceiverId: group, Subject: 'Hi', TaskType: 2,
      Template: { TemplateID: tpl, TemplateData: '{}' }, TimedParam: { BeginTime: formatDateTime(Date.now() + 3_600_000, TZ) },
    });
    await f.call('DeleteEmailTemplate', { TemplateID: tpl });
    await dueNow(f, TaskId);
    const t = await taskWhen(f, TaskId, (x) => x.TaskStatus === 7);
    expect(t.ErrMsg).toMatch(/template/i);
    expect(t.SendCount).toBe(0);
    // A template changed to use a variable nobody gives: the run does not start.
    const tpl2 = (await f.call('CreateEmailTemplate', { TemplateName: 'changing', TemplateContent: { Text: b64('Hi {{name}}') } })).TemplateID;
    const second = await f.call('BatchSendEmail', {
      FromEmailAddress: f.sender, ReceiverId: group, Subject: 'Hi', TaskType: 2,
      Template: { TemplateID: tpl2, TemplateData: '{}' }, TimedParam: { BeginTime: formatDateTime(Date.now() + 3_600_000, TZ) },
    });
    await f.call('UpdateEmailTemplate', { TemplateID: tpl2, TemplateName: 'changing', TemplateContent: { Text: b64('Hi {{name}}, {{nickname}}') } });
    await dueNow(f, second.TaskId);
    expect((await taskWhen(f, second.TaskId, (x) => x.TaskStatus === 7)).ErrMsg).toMatch(/\{\{nickname\}\}/);
    // Content of its own (Simple), which the operator no longer allows the account by its start.
    const third = await f.call('BatchSendEmail', {
      FromEmailAddress: f.sender, ReceiverId: group, Subject: 'Hi', TaskType: 2,
      Simple: { Text: b64('Hello') }, TimedParam: { BeginTime: formatDateTime(Date.now() + 3_600_000, TZ) },
    });
    await f.t.app.services.accounts.update(f.t.creds.AppId, { freeContent: false });
    try {
      await dueNow(f, third.TaskId);
      expect(await taskWhen(f, third.TaskId, (x) => x.TaskStatus === 7)).toMatchObject({ SendCount: 0, ErrMsg: expect.stringMatching(/Simple/) });
    } finally {
      await f.t.app.services.accounts.update(f.t.creds.AppId, { freeContent: null });
    }
  });

  it('pauses, resumes and ends tasks with UpdateSendTask (a Sesame extension)', async () => {
    const update = (TaskId: number, Operation: string, creds = f.t.creds) => extensionCall(f.t.endpoint, creds, 'UpdateSendTask', { TaskId, Operation });
    const group = await groupWithData(f, 'operated', [`op1@${RECIPIENT_DOMAIN}`, `op2@${RECIPIENT_DOMAIN}`]);
    const later = formatDateTime(Date.now() + 3_600_000, TZ);
    const { TaskId } = await batch({ receiverId: group, taskType: 2, extra: { TimedParam: { BeginTime: later } } });
    await update(TaskId, 'pause');
    expect(await taskOf(f, TaskId)).toMatchObject({ TaskStatus: 6, ErrMsg: expect.stringMatching(/paused by its owner/i) });
    // Paused by its owner, it has no start planned (a pause at the quota has one: the next day).
    expect((await f.t.app.services.db.get<{ next_run_at: number | null }>('SELECT next_run_at FROM send_tasks WHERE id = ?', [TaskId]))!.next_run_at).toBeNull();
    expect(await errorCode(update(TaskId, 'pause'))).toBe('OperationDenied');
    const before = f.mx1.received.length;
    await update(TaskId, 'resume');
    expect(await taskOf(f, TaskId)).toMatchObject({ TaskStatus: 1, ErrMsg: '' });
    await dueNow(f, TaskId);
    await f.mx1.waitFor(before + 2);
    expect(await taskWhen(f, TaskId, (x) => x.TaskStatus === 10)).toMatchObject({ SendCount: 2 });
    expect(await errorCode(update(TaskId, 'resume'))).toBe('OperationDenied');

    const cycle = await batch({ receiverId: group, taskType: 3, extra: { CycleParam: { BeginTime: later, IntervalTime: 1 } } });
    await update(cycle.TaskId, 'end');
    expect(await taskOf(f, cycle.TaskId)).toMatchObject({ TaskStatus: 10, CycleParam: { BeginTime: later, IntervalTime: 1, TermCycle: 1 } });
    expect(await errorCode(update(cycle.TaskId, 'end'))).toBe('OperationDenied');
    expect(await errorCode(update(cycle.TaskId, 'stop'))).toBe('InvalidParameterValue');
    expect(await errorCode(update(999_999, 'end'))).toBe('InvalidParameterValue');
    const other = await f.t.app.services.accounts.create({ name: 'meddler' });
    expect(await errorCode(update(TaskId, 'pause', other))).toBe('InvalidParameterValue');
  });

  it('answers each error with its code', async () => {
    const group = await groupWithData(f, 'errors', [`e@${RECIPIENT_DOMAIN}`]);
    const empty = (await f.call('CreateReceiver', { ReceiversName: 'empty' })).ReceiverId;
    const past = formatDateTime(Date.now() - 3_600_000, TZ);
    const code = (extra: Record<string, unknown>, receiverId = group) => errorCode(batch({ receiverId, ...extra }));
    expect(await errorCode(f.call('BatchSendEmail', { FromEmailAddress: `nobody@${'mail.shop.test'}`, ReceiverId: group, Subject: 'x', TaskType: 1, Template: { TemplateID: f.templateId, TemplateData: '{}' } })))
      .toBe('OperationDenied.SendAddressStatusError');
    expect(await code({}, 999_999)).toBe('OperationDenied.ReceiverNotExist');
    expect(await code({}, empty)).toBe('OperationDenied.ReceiverStatusError');
    expect(await code({ extra: { Template: { TemplateID: 999_999, TemplateData: '{}' } } })).toBe('OperationDenied.TemplateStatusError');
    expect(await code({ subject: 'Hello {{nickname}}' })).toBe('InvalidParameterValue.TemplateNotMatchData');
    expect(await code({ subject: '' })).toBe('InvalidParameterValue.SubjectLengthError');
    expect(await code({ taskType: 2 })).toBe('MissingParameter.TimedParamNecessary');
    expect(await code({ taskType: 3 })).toBe('MissingParameter.CycleParamNecessary');
    expect(await code({ taskType: 2, extra: { TimedParam: { BeginTime: past } } })).toBe('InvalidParameterValue.BeginTimeBeforeNow');
    expect(await code({ taskType: 3, extra: { CycleParam: { BeginTime: past, IntervalTime: 1 } } })).toBe('InvalidParameterValue.BeginTimeBeforeNow');
    expect(await errorCode(f.call('BatchSendEmail', { FromEmailAddress: f.sender, ReceiverId: group, Subject: 'x', TaskType: 1 }))).toBe('MissingParameter.SendParamNecessary');
    expect(await code({ extra: { Template: { TemplateID: f.templateId, TemplateData: 'not json' } } })).toBe('InvalidParameterValue.TemplateDataError');
    expect(await code({ taskType: 4 })).toBe('InvalidParameterValue');
    expect(await errorCode(f.call('ListSendTasks', { Offset: 0, Limit: 101 }))).toBe('FailedOperation.InvalidLimit');
  });

  it('lists tasks newest first, filtered by Status, ReceiverId and TaskType, and paged', async () => {
    const all = await f.call('ListSendTasks', { Offset: 0, Limit: 100 });
    expect(all.TotalCount).toBe(all.Data.length);
    const ids = all.Data.map((t) => t.TaskId);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    const page = await f.call('ListSendTasks', { Offset: 1, Limit: 2 });
    expect(page.Data.map((t) => t.TaskId)).toEqual(ids.slice(1, 3));
    expect(page.TotalCount).toBe(all.TotalCount);
    const sent = await f.call('ListSendTasks', { Offset: 0, Limit: 100, Status: 10 });
    expect(sent.Data.length).toBeGreaterThanOrEqual(3);
    expect(sent.Data.every((t) => t.TaskStatus === 10)).toBe(true);
    const recurring = await f.call('ListSendTasks', { Offset: 0, Limit: 100, TaskType: 3 });
    expect(recurring.Data.length).toBeGreaterThanOrEqual(1);
    expect(recurring.Data.every((t) => t.TaskType === 3)).toBe(true);
    const one = all.Data.find((t) => t.ReceiversName === 'scheduled')!;
    const byGroup = await f.call('ListSendTasks', { Offset: 0, Limit: 100, ReceiverId: one.ReceiverId });
    expect(byGroup.Data.map((t) => t.TaskId)).toEqual([one.TaskId]);
    expect(one).toMatchObject({ FromEmailAddress: `Shop News <${f.sender}>`, Template: { TemplateID: f.templateId, TemplateData: '{}' }, CycleParam: null });
    expect(one.CreateTime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    // Another account sees none of them.
    const other = await f.t.app.services.accounts.create({ name: 'stranger' });
    const { sdkClient } = await import('./helpers/sdk.js');
    expect((await sdkClient('v4:TC3', f.t.endpoint, other)('ListSendTasks', { Offset: 0, Limit: 100 })).TotalCount).toBe(0);
  });
});

describe.each(STORES)('batch tasks at the daily quota on %s', (store) => {
  let f: SendingFixture;
  beforeAll(async () => {
    f = await startSending(store, { SESAME_TIMEZONE: TZ, SESAME_DAILY_QUOTA: '25', SESAME_FREQUENCY_LIMIT: '0' });
  }, 60_000);
  afterAll(async () => { await f?.stop(); });

  it('pauses for the day when the quota is used up, holding the rest back, and resumes when the day turns', async () => {
    const emails = Array.from({ length: 40 }, (_, i) => `q${i}@${RECIPIENT_DOMAIN}`);
    const group = await groupWithData(f, 'over quota', emails);
    const before = f.mx1.received.length;
    const { TaskId } = await f.call('BatchSendEmail', {
      FromEmailAddress: f.sender, ReceiverId: group, Subject: 'Hi {{name}}', TaskType: 1, Template: { TemplateID: f.templateId, TemplateData: '{}' },
    });
    const paused = await taskWhen(f, TaskId, (x) => x.TaskStatus === 6);
    expect(paused).toMatchObject({ RequestCount: 40, SendCount: 25, CacheCount: 15 });
    expect(paused.ErrMsg).toMatch(/quota/);
    await f.mx1.waitFor(before + 25);
    // SendEmail is refused too: the day's quota is the domain's.
    expect(await errorCode(f.call('SendEmail', { FromEmailAddress: f.sender, Destination: [`x@${RECIPIENT_DOMAIN}`], Subject: 'x', Template: { TemplateID: f.templateId, TemplateData: '{"name":"x","code":"1"}' } })))
      .toBe('FailedOperation.ExceedSendLimit');
    // The template is edited mid-run to use a variable nobody gives: the run goes on with the text it began with.
    await f.call('UpdateEmailTemplate', { TemplateID: f.templateId, TemplateName: 'welcome', TemplateContent: { Text: b64('Changed {{name}} {{nobody}}') } });
    // The day turns: today's count becomes yesterday's, and the task's resume time has come.
    await f.t.app.services.db.run("UPDATE send_counts SET day = '2000-01-01'");
    await dueNow(f, TaskId);
    const done = await taskWhen(f, TaskId, (x) => x.TaskStatus === 10);
    expect(done).toMatchObject({ RequestCount: 40, SendCount: 40, CacheCount: 0 });
    const got = (await f.mx1.waitFor(before + 40)).slice(before);
    expect(new Set(got.map((g) => g.to[0])).size).toBe(40);
    for (const g of got) expect(g.raw.toString('latin1')).toMatch(/your code is C\d+/);
  });
});

describe('batch tasks and a domain that defers', () => {
  let f: SendingFixture;
  beforeAll(async () => {
    f = await startSending('sqlite', { SESAME_TIMEZONE: TZ, SESAME_DAILY_QUOTA: 'unlimited', SESAME_FREQUENCY_LIMIT: '0', SESAME_TASK_MAX_PENDING: '20' });
  }, 60_000);
  afterAll(async () => { await f?.stop(); });

  it('does not let mail a domain defers hold the rest of the group back', async () => {
    for (const mx of [f.mx1, f.mx2]) mx.mode = { kind: 'defer' };
    const group = await groupWithData(f, 'greylisted', Array.from({ length: 100 }, (_, i) => `g${i}@${RECIPIENT_DOMAIN}`));
    const { TaskId } = await f.call('BatchSendEmail', {
      FromEmailAddress: f.sender, ReceiverId: group, Subject: 'Hi {{name}}', TaskType: 1, Template: { TemplateID: f.templateId, TemplateData: '{}' },
    });
    // Queued 20 at a time; each 20, once tried and deferred, makes room for the next.
    expect(await taskWhen(f, TaskId, (x) => x.TaskStatus === 10)).toMatchObject({ RequestCount: 100, SendCount: 100 });
    // The task is sent once the last chunk is queued; that chunk's first tries may still be under way.
    await eventually(async () => f.mx1.attempts + f.mx2.attempts >= 100, 20_000, 'every recipient tried once');
    expect(f.mx1.received.length + f.mx2.received.length).toBe(0);
  });
});
