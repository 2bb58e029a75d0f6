/**
 * Delivery rate of worker processes on one PostgreSQL: `sesame serve --roles api` accepts
 * BENCH_MESSAGES (default 10000) SendEmail messages with no worker running, then 1 (or 2)
 * `--roles worker` processes start and deliver the queue (DKIM RSA-2048, to a counting sink on
 * loopback, no webhooks). Prints delivered messages per second, from the first message at the sink
 * to the last, for 1 and for 2 workers, each on a fresh database.
 *
 * Run: BENCH=cluster npm run bench (PostgreSQL at 127.0.0.1:5432, dnsmasq installed).
 */
import { createCluster } from '../test/helpers/cluster.js';
import { DomainPublisher, startDns } from '../test/helpers/dns.js';
import { freePort } from '../test/helpers/mx.js';
import { createTestDatabase } from '../test/helpers/pg.js';
import { b64, sdkClient } from '../test/helpers/sdk.js';
import { startCountingSink } from '../test/helpers/sink.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10_000);
const CLIENTS = 16;
const SENDER = 'news@mail.bench.test';

/** A measurement. */
interface Figure { workers: number; messages: number; seconds: number; deliveredPerSecond: number }

/** Delivered per second with `workers` worker processes. */
async function measure(workers: number): Promise<Figure> {
  const db = await createTestDatabase();
  const dns = await startDns();
  const sink = await startCountingSink('127.0.0.2', await freePort());
  const cluster = createCluster(db.url, {
    SESAME_DNS_SERVERS: dns.address, SESAME_HOSTNAME: 'mta.sesame.test', SESAME_OUTBOUND_PORT: String(sink.port),
    SESAME_ALLOW_PRIVATE_NETWORKS: 'true', SESAME_API_RATE_LIMIT: '0', SESAME_FREQUENCY_LIMIT: '0', SESAME_DAILY_QUOTA: 'unlimited', SESAME_TRACKING: 'off',
  });
  try {
    await cluster.start('api', 'api');
    const call = sdkClient('v4:TC3', `127.0.0.1:${cluster.member('api').served.port}`, cluster.creds());
    const domains = new DomainPublisher(dns);
    domains.extra = { mx: [{ name: 'dest.test', host: 'mx.dest.test' }], a: [{ name: 'mx.dest.test', address: '127.0.0.2' }] };
    await domains.verified(call, 'mail.bench.test');
    await call('CreateEmailAddress', { EmailAddress: SENDER });
    const templateId = (await call('CreateEmailTemplate', { TemplateName: 't', TemplateContent: { Text: b64('Hello {{n}}, this is the weekly news.') } })).TemplateID;
    let next = 0;
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      while (next < MESSAGES) {
        const i = next++;
        await call('SendEmail', { FromEmailAddress: SENDER, Destination: [`r${i}@dest.test`], Subject: `m${i}`, Template: { TemplateID: templateId, TemplateData: `{"n":"${i}"}` } });
      }
    }));
    await Promise.all(Array.from({ length: workers }, (_, k) => cluster.start(`worker${k}`, 'worker')));
    await sink.waitForAll(Array.from({ length: MESSAGES }, (_, i) => `r${i}@dest.test`), 30 * 60_000);
    const { first, last } = sink.arrivals();
    const seconds = (last - first) / 1000;
    return { workers, messages: MESSAGES, seconds: Math.round(seconds * 10) / 10, deliveredPerSecond: Math.round(MESSAGES / seconds) };
  } finally {
    await cluster.stop();
    await sink.stop();
    await dns.stop();
    await db.drop();
  }
}

/** Measures 1 and 2 worker processes and prints the figures. */
export async function clusterBenchmark(): Promise<void> {
  const figures: Figure[] = [];
  for (const workers of [1, 2]) figures.push(await measure(workers));
  console.log(`\nWorker processes on one PostgreSQL — ${new Date().toISOString()}`);
  console.log(`${MESSAGES} SendEmail messages queued by an api process, then delivered by the workers (DKIM RSA-2048, to a counting sink on loopback)\n`);
  console.log('| worker processes | delivered per second | seconds |');
  console.log('|---|---|---|');
  for (const f of figures) console.log(`| ${f.workers} | ${f.deliveredPerSecond} | ${f.seconds} |`);
  for (const f of figures) console.log(JSON.stringify(f));
}
