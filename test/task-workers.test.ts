/**
 * Batch tasks with several workers on one PostgreSQL: two Sesame instances, each with its own task
 * runner and delivery engine, share the database while tasks run. Each task is run by one runner at
 * a time (its lease), so no recipient is queued twice; when the instance running a task stops, the
 * other takes the task over where it was and finishes it. Every recipient gets exactly one message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { sdkClient } from './helpers/sdk.js';
import { eventually, RECIPIENT_DOMAIN, startSending, type SendingFixture } from './helpers/sending.js';

describe('batch tasks with two workers on postgres', () => {
  let f: SendingFixture;
  let second: TestApp;
  beforeAll(async () => {
    // A task queues 200 at a time, so its expansion is still under way when the first instance stops.
    f = await startSending('postgres', { SESAME_DAILY_QUOTA: 'unlimited', SESAME_DELIVERY_LEASE_SECONDS: '3', SESAME_TASK_MAX_PENDING: '200' });
    // A second instance on the first one's store and data folder (so the same master key).
    second = await startTestApp('postgres', {}, { env: f.t.env, cleanup: async () => {} }, ['api', 'worker']);
  }, 60_000);
  afterAll(async () => {
    await second?.stop();
    await f?.stop();
  });

  it('runs each task on one worker at a time, hands it over when that worker stops, and serves every recipient once', async () => {
    const per = 2000;
    for (const name of ['a', 'b', 'c']) {
      const { ReceiverId } = await f.call('CreateReceiver', { ReceiversName: name });
      await f.call('CreateReceiverDetailWithData', {
        ReceiverId, Datas: Array.from({ length: per }, (_, i) => ({ Email: `${name}${i}@${RECIPIENT_DOMAIN}`, TemplateData: `{"name":"${name}","code":"${i}"}` })),
      });
      await f.call('BatchSendEmail', {
        FromEmailAddress: f.sender, ReceiverId, Subject: 'Hi {{name}}', TaskType: 1, Template: { TemplateID: f.templateId, TemplateData: '{}' },
      });
    }
    // The first instance stops while the tasks run; the second carries on.
    await eventually(async () => f.mx1.received.length >= per / 2, 60_000, 'some mail delivered');
    await f.t.app.close();
    const call = sdkClient('v4:TC3', second.endpoint, f.t.creds);
    // The first instance is gone with work left: whatever finishes from here on, the second does.
    const left = (await call('ListSendTasks', { Offset: 0, Limit: 10 })).Data.filter((t) => t.TaskStatus !== 10);
    expect(left.length).toBeGreaterThan(0);
    await f.mx1.waitFor(3 * per, 120_000);
    const done = await eventually(async () => {
      const r = await call('ListSendTasks', { Offset: 0, Limit: 10 });
      return r.Data.every((t) => t.TaskStatus === 10) ? r.Data : undefined;
    }, 60_000, 'every task to be sent');
    expect(done.map((t) => [t.RequestCount, t.SendCount])).toEqual([[per, per], [per, per], [per, per]]);
    const copies = new Map<string, number>();
    for (const g of f.mx1.received) for (const to of g.to) copies.set(to, (copies.get(to) ?? 0) + 1);
    expect(copies.size).toBe(3 * per);
    expect([...copies.values()].every((n) => n === 1)).toBe(true);
  }, 180_000);
});
