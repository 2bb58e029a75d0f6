/**
 * Crash safety, on both stores: the server runs as a child process, accepts 2,000 messages, and is
 * killed with SIGKILL while it delivers them. Started again, it delivers every accepted message at
 * least once, and no more extra copies arrive than deliveries were in flight.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, STORES, type TestEnv } from './helpers/app.js';
import { DomainPublisher, startDns, type DnsServer } from './helpers/dns.js';
import { freePort, startMx, type TestMx } from './helpers/mx.js';
import { printedCredentials, startServe, type Served } from './helpers/process.js';
import { b64, sdkClient } from './helpers/sdk.js';
import { eventually } from './helpers/sending.js';

const MESSAGES = 2000;
const IN_FLIGHT = 40;

describe.each(STORES)('crash safety on %s', (store) => {
  let dns: DnsServer;
  let mx: TestMx;
  let env: TestEnv;
  let server: Served | undefined;
  beforeAll(async () => {
    dns = await startDns();
    const port = await freePort();
    mx = await startMx('127.0.0.2', port);
    env = await createTestEnv(store, {
      SESAME_DNS_SERVERS: dns.address,
      SESAME_HOSTNAME: 'mta.sesame.test',
      SESAME_OUTBOUND_PORT: String(port),
      SESAME_FREQUENCY_LIMIT: '0',
      SESAME_DAILY_QUOTA: 'unlimited',
      SESAME_DELIVERY_CONCURRENCY: String(IN_FLIGHT),
      SESAME_DELIVERY_LEASE_SECONDS: '3',
      SESAME_LOG_LEVEL: 'warn',
    });
  });
  afterAll(async () => {
    await server?.kill('SIGKILL');
    await mx.stop();
    await dns.stop();
    await env.cleanup();
  });

  it(`delivers all ${MESSAGES} accepted messages after a kill -9 mid-delivery`, async () => {
    server = await startServe({ ...env.env, SESAME_LOG_LEVEL: 'info' });
    const creds = printedCredentials(server.output())!;
    const call = sdkClient('v4:TC3', `127.0.0.1:${server.port}`, creds);
    const domains = new DomainPublisher(dns);
    domains.extra = { mx: [{ name: 'dest.test', host: 'mx.dest.test' }], a: [{ name: 'mx.dest.test', address: '127.0.0.2' }] };
    await domains.verified(call, 'mail.crash.test');
    await call('CreateEmailAddress', { EmailAddress: 'news@mail.crash.test' });
    const templateId = (await call('CreateEmailTemplate', { TemplateName: 't', TemplateContent: { Text: b64('Hello {{n}}') } })).TemplateID;

    // Once a quarter have arrived, the MX stops answering the final dot: from then on deliveries
    // are in flight (sent, their reply not yet given) and stay so until the kill.
    let release!: () => void;
    const held = eventually(async () => mx.received.length >= MESSAGES / 4, 60_000, 'a quarter delivered').then(() => {
      mx.mode = { kind: 'hold', release: new Promise<void>((r) => { release = r; }) };
    });
    // Accept all of them (20 clients at a time), while delivery is already under way.
    const accepted: string[] = [];
    let next = 0;
    await Promise.all(Array.from({ length: 20 }, async () => {
      while (next < MESSAGES) {
        const i = next++;
        const to = `r${i}@dest.test`;
        await call('SendEmail', { FromEmailAddress: 'news@mail.crash.test', Destination: [to], Subject: `m${i}`, Template: { TemplateID: templateId, TemplateData: JSON.stringify({ n: String(i) }) } });
        accepted.push(to);
      }
    }));
    expect(accepted).toHaveLength(MESSAGES);
    // Kill it in the middle of delivering.
    await held;
    await eventually(async () => mx.holding > 0, 60_000, 'deliveries in flight');
    await server.kill('SIGKILL');
    const atKill = mx.received.length;
    expect(atKill).toBeLessThan(MESSAGES);
    // What the MX held arrives now (the killed sender never learns it): those are the duplicates.
    mx.mode = { kind: 'accept' };
    release();

    server = await startServe({ ...env.env, SESAME_LOG_LEVEL: 'info' });
    await eventually(async () => new Set(mx.received.flatMap((r) => r.to)).size >= MESSAGES, 120_000, 'every accepted message');
    const copies = new Map<string, number>();
    for (const r of mx.received) for (const to of r.to) copies.set(to, (copies.get(to) ?? 0) + 1);
    expect([...copies.keys()].sort()).toEqual([...accepted].sort());
    const duplicates = mx.received.length - copies.size;
    expect(duplicates).toBeLessThanOrEqual(IN_FLIGHT);
  }, 240_000);
});
