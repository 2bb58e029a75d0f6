/**
 * What happens after delivery, measured on SQLite through the built server:
 * - tracking: open-pixel and click hits per second at saturation, side by side with
 *   ListEmailTemplates in the same run, and how many hits were recorded;
 * - statistics: GetStatisticsReport latency for 30 days with 1,000,000 deliveries in the store;
 * - DSN intake: asynchronous bounces (RFC 3464 reports) accepted per second on the inbound port.
 * BENCH_SECONDS (default 10) per run.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import nodemailer from 'nodemailer';
import { loadMasterKey } from '../src/services/master-key.js';
import { TrackingTokens } from '../src/lib/tracking-tokens.js';
import { bounceTokens, trackingKey } from '../src/main.js';
import { closedLoop, closedLoopWith, openLoop, signCall, summarise, type RunResult } from './load.js';
import { machine, peakRss, startSendingServer, type SendingServer } from './server.js';
import { newsTemplate, sendBatch } from './send.js';
import { freePort } from '../test/helpers/mx.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
/** Deliveries the tracked hits are spread over. */
const TRACKED = 2000;
/** Deliveries in the store for the statistics run. */
const DELIVERIES = Number(process.env.BENCH_DELIVERIES ?? 1_000_000);
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36';

function print(title: string, results: Record<string, RunResult>): void {
  console.log(`\n${title}\n`);
  console.log('| run | requests | errors | req/s | p50 ms | p90 ms | p99 ms | max ms |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [name, r] of Object.entries(results)) console.log(`| ${name} | ${r.requests} | ${r.errors} | ${r.rps} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.max} |`);
}

/** Tracking hits against ListEmailTemplates on one server. */
async function trackingRun(s: SendingServer): Promise<Record<string, RunResult | number>> {
  const templateId = await newsTemplate(s);
  await sendBatch(s, templateId, 0, TRACKED);
  const db = new Database(join(s.dir, 'sesame.db'), { readonly: true });
  const ids = (db.prepare('SELECT id FROM deliveries ORDER BY id LIMIT ?').all(TRACKED) as { id: number }[]).map((r) => Number(r.id));
  const tokens = new TrackingTokens(trackingKey(loadMasterKey(undefined, s.dir)));
  const opens = ids.map((id) => `/t/o/${tokens.signOpen(id)}`);
  const clicks = ids.map((id) => `/t/c/${tokens.signClick(id, 0, `https://shop.example/products/${id}?utm_source=news`)}`);
  let n = 0;
  const list = (): ReturnType<typeof signCall> => signCall(s.httpPort, s.creds, 'ListEmailTemplates', { Limit: 10, Offset: 0 });
  const headers = { 'User-Agent': UA };
  await closedLoop(s.httpPort, CONNECTIONS, 2, list); // warm-up
  const results: Record<string, RunResult | number> = {};
  results['ListEmailTemplates, saturation'] = await closedLoop(s.httpPort, CONNECTIONS, SECONDS, list);
  results['open pixel, saturation'] = await closedLoopWith(s.httpPort, CONNECTIONS, SECONDS, (c) => c.get(opens[n++ % opens.length], headers, 200));
  results['click redirect, saturation'] = await closedLoopWith(s.httpPort, CONNECTIONS, SECONDS, (c) => c.get(clicks[n++ % clicks.length], headers, 302));
  // Hits are written in batches behind the answers: wait for the last ones, then count.
  const answered = (results['open pixel, saturation'] as RunResult).requests + (results['click redirect, saturation'] as RunResult).requests;
  const count = db.prepare('SELECT COUNT(*) AS n FROM events WHERE event IN (4, 5)');
  const t0 = performance.now();
  while ((count.get() as { n: number }).n < answered && performance.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
  results['hits recorded'] = (count.get() as { n: number }).n;
  results['hits answered'] = answered;
  db.close();
  return results;
}

/** GetStatisticsReport for 30 days over a store holding `DELIVERIES` deliveries and a counter row per day and domain pair. */
async function statisticsRun(s: SendingServer): Promise<Record<string, RunResult>> {
  await s.restart(() => {
    const db = new Database(join(s.dir, 'sesame.db'));
    const account = (db.prepare('SELECT id FROM accounts WHERE app_id = ?').get(s.creds.AppId) as { id: number }).id;
    const domain = (db.prepare("SELECT id FROM domains WHERE name = 'mail.bench.test'").get() as { id: number }).id;
    const day = 86_400_000;
    const now = Date.now();
    db.transaction(() => {
      const message = db.prepare("INSERT INTO messages (account_id, message_id, domain_id, sender, content, subject, created_at) VALUES (?, ?, ?, ?, '', 'News', ?) RETURNING id");
      const delivery = db.prepare(`INSERT INTO deliveries (account_id, message_row, sender, recipient, recipient_domain, send_status, deliver_status, deliver_message, deliver_time, created_at)
        VALUES (?, ?, 'news@mail.bench.test', ?, ?, 0, 1, '250 ok', ?, ?)`);
      const volume = db.prepare(`INSERT INTO daily_volumes (account_id, day, sender_domain, recipient_domain, requested, accepted, delivered, opened, clicked, bounced, unsubscribed)
        VALUES (?, ?, 'mail.bench.test', ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, day, sender_domain, recipient_domain) DO NOTHING`);
      let row = 0;
      for (let i = 0; i < DELIVERIES; i++) {
        const at = now - Math.floor((i / DELIVERIES) * 30) * day;
        if (i % 1000 === 0) row = (message.get(account, `bench-${i}`, domain, 'news@mail.bench.test', at) as { id: number }).id;
        const rd = `isp${i % 200}.test`;
        delivery.run(account, row, `r${i}@${rd}`, rd, at, at);
      }
      for (let d = 0; d < 30; d++) {
        const dayText = new Date(now - d * day).toISOString().slice(0, 10);
        for (let r = 0; r < 200; r++) volume.run(account, dayText, `isp${r}.test`, 170, 168, 165, 60, 20, 3, 1);
      }
    })();
    db.close();
  });
  const end = new Date().toISOString().slice(0, 10);
  const start = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
  const report = (): ReturnType<typeof signCall> => signCall(s.httpPort, s.creds, 'GetStatisticsReport', { StartDate: start, EndDate: end });
  const byDomain = (): ReturnType<typeof signCall> => signCall(s.httpPort, s.creds, 'GetStatisticsReport', { StartDate: start, EndDate: end, Domain: 'mail.bench.test', ReceivingMailboxType: 'isp7.test' });
  await closedLoop(s.httpPort, 4, 2, report); // warm-up
  return {
    'GetStatisticsReport 30 days, 100 req/s': await openLoop(s.httpPort, 100, SECONDS, report),
    'GetStatisticsReport 30 days, one domain pair, 100 req/s': await openLoop(s.httpPort, 100, SECONDS, byDomain),
    'GetStatisticsReport 30 days, saturation': await closedLoop(s.httpPort, CONNECTIONS, SECONDS, report),
  };
}

/** DSNs for delivered mail, sent over SMTP to the inbound port by `clients` concurrent senders. */
async function dsnRun(s: SendingServer, mxPort: number): Promise<Record<string, RunResult | number>> {
  const db = new Database(join(s.dir, 'sesame.db'), { readonly: true });
  const ids = (db.prepare("SELECT id FROM deliveries WHERE deliver_status = 1 AND sender = 'news@mail.bench.test' AND message_row IN (SELECT id FROM messages WHERE content <> '' OR message_id NOT LIKE 'bench-%') ORDER BY id LIMIT ?").all(TRACKED) as { id: number }[]).map((r) => Number(r.id));
  const signer = bounceTokens(loadMasterKey(undefined, s.dir));
  const clients = 8;
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: mxPort, secure: false, ignoreTLS: true, pool: true, maxConnections: 1, maxMessages: Infinity });
    while (next < ids.length) {
      const id = ids[next++];
      const rcpt = `r${id}@sink.test`;
      const t0 = performance.now();
      try {
        await transport.sendMail({ envelope: { from: '', to: `b-${signer.sign(id)}@mail.bench.test` }, raw: dsn(rcpt) });
        latencies.push(performance.now() - t0);
      } catch { errors++; }
    }
    transport.close();
  }));
  const seconds = (performance.now() - start) / 1000;
  const bounced = (db.prepare('SELECT COUNT(*) AS n FROM events WHERE event = 3').get() as { n: number }).n;
  db.close();
  return { 'DSN intake, 8 SMTP clients': summarise(latencies, errors, seconds), 'bounce events recorded': bounced };
}

/** A Postfix-style DSN for `rcpt`. */
function dsn(rcpt: string): string {
  const b = 'bench-boundary';
  return [
    'From: MAILER-DAEMON@isp.test', 'To: bounce@mail.bench.test', 'Subject: Undelivered Mail Returned to Sender', 'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0', `Content-Type: multipart/report; report-type=delivery-status; boundary="${b}"`, '',
    `--${b}`, 'Content-Type: text/plain', '', 'Your message could not be delivered.', '',
    `--${b}`, 'Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; mx.isp.test', '',
    `Final-Recipient: rfc822; ${rcpt}`, 'Action: failed', 'Status: 5.1.1', `Diagnostic-Code: smtp; 550 5.1.1 <${rcpt}>: Recipient address rejected: User unknown`, '',
    `--${b}`, 'Content-Type: text/rfc822-headers', '', 'Subject: This week', '', `--${b}--`, '',
  ].join('\r\n');
}

/** Runs the benchmark and prints its figures. */
export async function feedbackBenchmark(): Promise<void> {
  const mxPort = await freePort();
  const s = await startSendingServer('api,worker,smtp', { SESAME_TRACKING: 'on', SESAME_MX_PORT: String(mxPort), SESAME_SMTP_PORT: String(await freePort()), SESAME_SMTPS_PORT: String(await freePort()) });
  try {
    console.log(`\nSesame feedback benchmark — ${new Date().toISOString()} — ${machine()}`);
    const tracking = await trackingRun(s);
    const runs = Object.fromEntries(Object.entries(tracking).filter(([, v]) => typeof v !== 'number')) as Record<string, RunResult>;
    print(`Tracking: SQLite store, all roles in one process, ${CONNECTIONS} keep-alive connections, ${SECONDS} s per run`, runs);
    console.log(`\nhits answered ${tracking['hits answered']}, recorded ${tracking['hits recorded']}`);
    const dsnResults = await dsnRun(s, mxPort);
    print('DSN intake: one 5.1.1 DSN per delivered mail, VERP-addressed, over SMTP', { 'DSN intake, 8 SMTP clients': dsnResults['DSN intake, 8 SMTP clients'] as RunResult });
    console.log(`\nbounce events recorded: ${dsnResults['bounce events recorded']}`);
    const stats = await statisticsRun(s);
    print(`GetStatisticsReport: ${DELIVERIES} deliveries and 30 × 200 counter rows in the store`, stats);
    console.log(`\nServer peak RSS: ${peakRss(s.server.pid!)} MB`);
    console.log(JSON.stringify({ date: new Date().toISOString(), tracking, dsn: dsnResults, stats }));
  } finally {
    await s.stop();
  }
}
