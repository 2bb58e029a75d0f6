/**
 * Crash safety, on both stores: the server runs as a child process, accepts 2,000 messages, and is
 * killed with SIGKILL while it delivers them. Started again, it delivers every accepted message at
 * least once, and no more extra copies arrive than deliveries were in flight.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from './helpers/app.js';
import { CRASH_SENDER, startCrashRig, type CrashRig } from './helpers/crash.js';

const MESSAGES = 2000;
const IN_FLIGHT = 40;

describe.each(STORES)('crash safety on %s', (store) => {
  let rig: CrashRig;
  beforeAll(async () => { rig = await startCrashRig(store, IN_FLIGHT, { SESAME_FREQUENCY_LIMIT: '0' }); });
  afterAll(async () => { await rig?.stop(); });

  it(`delivers all ${MESSAGES} accepted messages after a kill -9 mid-delivery`, async () => {
    const call = await rig.start();
    const templateId = await rig.setUpSending(call);
    // Once a quarter have arrived, deliveries stay in flight until the kill.
    const held = rig.holdAfter(MESSAGES / 4, 60_000);
    // Accept all of them (20 clients at a time), while delivery is already under way.
    const accepted: string[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: 20 }, async () => {
      while (next < MESSAGES) {
        const i = next++;
        const to = `r${i}@dest.test`;
        await call('SendEmail', { FromEmailAddress: CRASH_SENDER, Destination: [to], Subject: `m${i}`, Template: { TemplateID: templateId, TemplateData: JSON.stringify({ n: String(i) }) } });
        accepted.push(to);
      }
    }));
    expect(accepted).toHaveLength(MESSAGES);
    // Kill it in the middle of delivering.
    await held;
    expect(await rig.killInFlight()).toBeLessThan(MESSAGES);

    await rig.start();
    const copies = await rig.everyoneServed(MESSAGES, 120_000);
    expect([...copies.keys()].sort()).toEqual([...accepted].sort());
    const duplicates = rig.mx.received.length - copies.size;
    expect(duplicates).toBeLessThanOrEqual(IN_FLIGHT);
  }, 240_000);
});
