/**
 * Reputation that moves, on both stores, with a test clock for the day after: a domain that sends
 * 70 % of its quota cleanly rises a level at once (ListEmailIdentities shows the new level and
 * quota); one whose invalid-address rate crosses 11 % with over 300 sent is blocked for the rest of
 * the day (SendEmail answers FailedOperation.TemporaryBlocked, a batch task pauses); and the next
 * day its level falls for yesterday's rates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from './helpers/app.js';
import { errorCode } from './helpers/sdk.js';
import { eventually, SENDER_DOMAIN, startSending, taskWhen, type SendingFixture } from './helpers/sending.js';

describe.each(STORES)('reputation on %s', (store) => {
  let f: SendingFixture;
  let batch = 0;

  /** Sends one mail to each of `n` new addresses at dest.test, 50 per request, and waits until none is queued. */
  async function sendMany(n: number): Promise<void> {
    batch++;
    for (let i = 0; i < n; i += 50) {
      const to = Array.from({ length: Math.min(50, n - i) }, (_, j) => `r${batch}-${i + j}@dest.test`);
      await f.call('SendEmail', { FromEmailAddress: f.sender, Destination: to, Subject: 'News', Template: { TemplateID: f.templateId, TemplateData: '{"name":"A","code":"1"}' } });
    }
    await eventually(async () => {
      const row = await f.t.app.services.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM deliveries WHERE next_attempt_at IS NOT NULL');
      return Number(row?.n) === 0;
    }, 60_000, 'every delivery to end');
  }
  const identity = async () => (await f.call('ListEmailIdentities', {})).EmailIdentities.find((e) => e.IdentityName === SENDER_DOMAIN)!;

  beforeAll(async () => { f = await startSending(store, { SESAME_DAILY_QUOTA: 'reputation' }); });
  afterAll(async () => { await f?.stop(); });

  it('rises at once for clean sending, blocks the day on invalid addresses, and falls the next day', async () => {
    const { services } = f.t.app;
    expect(await identity()).toMatchObject({ CurrentReputationLevel: 1, DailyQuota: 500 });

    // 360 of 500 (72 %) delivered, none bounced: the first rule raises it to level 2 (1,000 a day);
    // 360 is not 70 % of 1,000, so it stops there.
    await sendMany(360);
    const now = Date.now();
    expect(await services.reputation.pass(now)).toMatchObject({ raised: 1, lowered: 0, blocked: 0 });
    expect(await identity()).toMatchObject({ CurrentReputationLevel: 2, DailyQuota: 1000 });
    expect(await services.reputation.pass(now)).toMatchObject({ raised: 0, blocked: 0 });

    // 60 more to addresses that do not exist: 60 of 420 (14 %) invalid, over the 11 % block.
    f.mx1.mode = { kind: 'reject', code: 550, message: '5.1.1 No such user', at: 'rcpt' };
    f.mx2.mode = f.mx1.mode;
    await sendMany(60);
    expect(await services.reputation.pass(now)).toMatchObject({ blocked: 1 });
    expect(await errorCode(f.call('SendEmail', {
      FromEmailAddress: f.sender, Destination: ['later@dest.test'], Subject: 'News', Template: { TemplateID: f.templateId, TemplateData: '{"name":"A","code":"1"}' },
    }))).toBe('FailedOperation.TemporaryBlocked');
    // A batch task pauses for the day, its recipients held back.
    const { ReceiverId } = await f.call('CreateReceiver', { ReceiversName: 'blocked-day' });
    await f.call('CreateReceiverDetail', { ReceiverId, Emails: ['g1@dest.test', 'g2@dest.test'] });
    const { TaskId } = await f.call('BatchSendEmail', {
      FromEmailAddress: f.sender, ReceiverId, Subject: 'News', TaskType: 1, Template: { TemplateID: f.templateId, TemplateData: '{"name":"A","code":"1"}' },
    });
    const task = await taskWhen(f, TaskId, (t) => t.TaskStatus === 6);
    expect(task).toMatchObject({ SendCount: 0, CacheCount: 2 });
    expect(task.ErrMsg).toContain('blocked for the day by the reputation rules');
    // The level is not lowered the same day.
    expect(await identity()).toMatchObject({ CurrentReputationLevel: 2 });

    // The next day: yesterday's 14 % invalid is over the 9 % that lowers a level. Judged once.
    const tomorrow = now + 86_400_000;
    expect(await services.reputation.pass(tomorrow)).toMatchObject({ lowered: 1 });
    expect(await services.reputation.pass(tomorrow)).toMatchObject({ lowered: 0 });
    expect(await identity()).toMatchObject({ CurrentReputationLevel: 1, DailyQuota: 500 });
  });
});
