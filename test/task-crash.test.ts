/**
 * Crash safety of batch tasks, on both stores: the server runs as a child process and is killed
 * with SIGKILL while a task to 20,000 recipients is being expanded and delivered. Started again, it
 * finishes the task: every recipient gets the message, and no more extra copies arrive than
 * deliveries were in flight at the kill.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, STORES, type TestEnv } from './helpers/app.js';
import { DomainPublisher, startDns, type DnsServer } from './helpers/dns.js';
import { freePort, startMx, type TestMx } from './helpers/mx.js';
import { printedCredentials, startServe, type Served } from './helpers/process.js';
import { b64, sdkClient } from './helpers/sdk.js';
import { eventually } from './helpers/sending.js';

const RECIPIENTS = 20_000;
const IN_FLIGHT = 40;

describe.each(STORES)('batch task crash safety on %s', (store) => {
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

  it(`finishes a task to ${RECIPIENTS} recipients after a kill -9 mid-task`, async () => {
    server = await startServe({ ...env.env, SESAME_LOG_LEVEL: 'info' });
    const creds = printedCredentials(server.output())!;
    const call = sdkClient('v4:TC3', `127.0.0.1:${server.port}`, creds);
    const domains = new DomainPublisher(dns);
    domains.extra = { mx: [{ name: 'dest.test', host: 'mx.dest.test' }], a: [{ name: 'mx.dest.test', address: '127.0.0.2' }] };
    await domains.verified(call, 'mail.crash.test');
    await call('CreateEmailAddress', { EmailAddress: 'news@mail.crash.test' });
    const TemplateID = (await call('CreateEmailTemplate', { TemplateName: 't', TemplateContent: { Text: b64('Hello {{n}}') } })).TemplateID;
    const { ReceiverId } = await call('CreateReceiver', { ReceiversName: 'everyone' });
    const recipients = Array.from({ length: RECIPIENTS }, (_, i) => `r${i}@dest.test`);
    await call('CreateReceiverDetailWithData', { ReceiverId, Datas: recipients.map((Email, i) => ({ Email, TemplateData: JSON.stringify({ n: String(i) }) })) });

    // Once a tenth have arrived, the MX stops answering the final dot: from then on deliveries are
    // in flight (sent, their reply not yet given) and stay so until the kill.
    let release!: () => void;
    const held = eventually(async () => mx.received.length >= RECIPIENTS / 10, 120_000, 'a tenth delivered').then(() => {
      mx.mode = { kind: 'hold', release: new Promise<void>((r) => { release = r; }) };
    });
    const { TaskId } = await call('BatchSendEmail', { FromEmailAddress: 'news@mail.crash.test', ReceiverId, Subject: 'For {{n}}', TaskType: 1, Template: { TemplateID, TemplateData: '{}' } });
    await held;
    await eventually(async () => mx.holding > 0, 60_000, 'deliveries in flight');
    await server.kill('SIGKILL');
    const atKill = mx.received.length;
    expect(atKill).toBeLessThan(RECIPIENTS);
    mx.mode = { kind: 'accept' };
    release();

    server = await startServe({ ...env.env, SESAME_LOG_LEVEL: 'info' });
    const again = sdkClient('v4:TC3', `127.0.0.1:${server.port}`, creds);
    await eventually(async () => new Set(mx.received.flatMap((r) => r.to)).size >= RECIPIENTS, 180_000, 'every recipient');
    const copies = new Map<string, number>();
    for (const r of mx.received) for (const to of r.to) copies.set(to, (copies.get(to) ?? 0) + 1);
    expect(copies.size).toBe(RECIPIENTS);
    expect([...copies.keys()].every((to) => /^r\d+@dest\.test$/.test(to))).toBe(true);
    expect(mx.received.length - copies.size).toBeLessThanOrEqual(IN_FLIGHT);
    const t = await eventually(async () => {
      const r = (await again('ListSendTasks', { Offset: 0, Limit: 10 })).Data.find((x) => x.TaskId === TaskId);
      return r?.TaskStatus === 10 ? r : undefined;
    }, 30_000, 'the task to be sent');
    expect(t).toMatchObject({ RequestCount: RECIPIENTS, SendCount: RECIPIENTS, CacheCount: 0 });
  }, 300_000);
});
