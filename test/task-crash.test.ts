/**
 * Crash safety of batch tasks, on both stores: the server runs as a child process and is killed
 * with SIGKILL while a task to 20,000 recipients is being expanded and delivered. Started again, it
 * finishes the task: every recipient gets the message, and no more extra copies arrive than
 * deliveries were in flight at the kill.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from './helpers/app.js';
import { CRASH_SENDER, startCrashRig, type CrashRig } from './helpers/crash.js';
import { eventually } from './helpers/sending.js';

const RECIPIENTS = 20_000;
const IN_FLIGHT = 40;

describe.each(STORES)('batch task crash safety on %s', (store) => {
  let rig: CrashRig;
  beforeAll(async () => { rig = await startCrashRig(store, IN_FLIGHT); });
  afterAll(async () => { await rig?.stop(); });

  it(`finishes a task to ${RECIPIENTS} recipients after a kill -9 mid-task`, async () => {
    const call = await rig.start();
    const TemplateID = await rig.setUpSending(call);
    const { ReceiverId } = await call('CreateReceiver', { ReceiversName: 'everyone' });
    const recipients = Array.from({ length: RECIPIENTS }, (_, i) => `r${i}@dest.test`);
    await call('CreateReceiverDetailWithData', { ReceiverId, Datas: recipients.map((Email, i) => ({ Email, TemplateData: JSON.stringify({ n: String(i) }) })) });

    // Once a tenth have arrived, deliveries stay in flight until the kill (the task is then still
    // expanding: it queues 5,000 at a time).
    const held = rig.holdAfter(RECIPIENTS / 10, 120_000);
    const { TaskId } = await call('BatchSendEmail', { FromEmailAddress: CRASH_SENDER, ReceiverId, Subject: 'For {{n}}', TaskType: 1, Template: { TemplateID, TemplateData: '{}' } });
    await held;
    expect(await rig.killInFlight()).toBeLessThan(RECIPIENTS);

    const again = await rig.start();
    const copies = await rig.everyoneServed(RECIPIENTS, 180_000);
    expect(copies.size).toBe(RECIPIENTS);
    expect([...copies.keys()].every((to) => /^r\d+@dest\.test$/.test(to))).toBe(true);
    expect(rig.mx.received.length - copies.size).toBeLessThanOrEqual(IN_FLIGHT);
    const t = await eventually(async () => {
      const r = (await again('ListSendTasks', { Offset: 0, Limit: 10 })).Data.find((x) => x.TaskId === TaskId);
      return r?.TaskStatus === 10 ? r : undefined;
    }, 30_000, 'the task to be sent');
    expect(t).toMatchObject({ RequestCount: RECIPIENTS, SendCount: RECIPIENTS, CacheCount: 0 });
  }, 300_000);
});
