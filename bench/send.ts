/**
 * End-to-end sending benchmark on SQLite: 20 concurrent API clients send 5 KB HTML template messages,
 * each to its own recipient, through the built server (api and worker in one process) to Postfix's
 * smtp-sink on loopback, with DKIM RSA-2048 signing. Prints delivered messages per second, the API's
 * accept latency, and the server's peak RSS. BENCH_MESSAGES (default 20000) sets the volume.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { RawConnection, signCall, summarise, type RunResult } from './load.js';
import { cpuSeconds, machine, peakRss, startSendingServer, type SendingServer } from './server.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const CLIENTS = 20;
/** Links in the news template (each is rewritten for click tracking when it is on). */
const NEWS_LINKS = 3;
/** The 5 KB HTML template every sending benchmark sends. */
export const NEWS_HTML = `<html><body>${'<p>Hello {{name}}, here is this week\'s news: prices, products and a long paragraph of text to make it real.</p>'.repeat(45)}`
  + `${Array.from({ length: NEWS_LINKS }, (_, i) => `<p><a href="https://shop.example/news/${i}?utm_source=newsletter&amp;utm_medium=email">Read more ${i}</a></p>`).join('')}`
  + '<p>Your code: {{code}}</p></body></html>';

/** What sending one batch took. */
export interface BatchResult {
  /** API accepts: rate and latency. */
  accept: RunResult;
  errors: number;
  /** First accept to last delivery. */
  seconds: number;
  deliveredPerSecond: number;
}

/** Creates the news template on the server; its id. */
export async function newsTemplate(s: SendingServer): Promise<number> {
  return (await s.call('CreateEmailTemplate', { TemplateName: 'news', TemplateContent: { Html: Buffer.from(NEWS_HTML).toString('base64') } })).TemplateID;
}

/**
 * Sends `count` messages (recipients `reader<first>…`) from `CLIENTS` concurrent API clients, each
 * to its own recipient, and waits until every accepted one is delivered (read from the SQLite file).
 */
export async function sendBatch(s: SendingServer, templateId: number, first: number, count: number): Promise<BatchResult> {
  const db = new Database(join(s.dir, 'sesame.db'), { readonly: true });
  try {
    const since = (db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM deliveries').get() as { id: number }).id;
    const delivered = db.prepare('SELECT COUNT(*) AS n FROM deliveries WHERE id > ? AND deliver_status = 1');
    const latencies: number[] = [];
    let errors = 0;
    let next = first;
    const start = performance.now();
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      const conn = new RawConnection(s.httpPort);
      while (next < first + count) {
        const i = next++;
        const t0 = performance.now();
        const ok = await conn.request(signCall(s.httpPort, s.creds, 'SendEmail', {
          FromEmailAddress: `News <${s.sender}>`, Destination: [`reader${i}@sink.test`], Subject: 'This week, {{name}}',
          Template: { TemplateID: templateId, TemplateData: JSON.stringify({ name: `Reader ${i}`, code: String(i) }) },
        }));
        if (ok) latencies.push(performance.now() - t0); else errors++;
      }
      conn.close();
    }));
    const acceptSeconds = (performance.now() - start) / 1000;
    for (;;) {
      const n = (delivered.get(since) as { n: number }).n;
      if (n >= count - errors) break;
      if (s.server.exitCode !== null) throw new Error('the server exited');
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - start) / 1000;
    return { accept: summarise(latencies, errors, acceptSeconds), errors, seconds, deliveredPerSecond: Math.round((count - errors) / seconds) };
  } finally {
    db.close();
  }
}

/** Runs the sending benchmark with open and click tracking off, then on, and prints their figures side by side. */
export async function sendBenchmark(): Promise<{ results: Record<string, Record<string, RunResult | number>>; peakRssMb: Record<string, number> }> {
  const results: Record<string, Record<string, RunResult | number>> = {};
  const peakRssMb: Record<string, number> = {};
  for (const tracking of ['off', 'on'] as const) {
    const s = await startSendingServer('api,worker', { SESAME_TRACKING: tracking });
    const { server, sink } = s;
    try {
      const templateId = await newsTemplate(s);
      const { accept, errors, seconds, deliveredPerSecond } = await sendBatch(s, templateId, 0, MESSAGES);
      peakRssMb[tracking] = peakRss(server.pid!);
      if (process.env.BENCH_CPU) {
        const threads = readdirSync(`/proc/${server.pid}/task`).map((tid) => cpuSeconds(server.pid!, tid));
        console.log(`cpu seconds: server ${cpuSeconds(server.pid!)} [threads ${threads.join(' ')}], sink ${cpuSeconds(sink.process.pid!)}, bench ${(process.cpuUsage().user + process.cpuUsage().system) / 1e6}`);
      }
      results[tracking] = { deliveredPerSecond, accept, seconds, errors };
    } finally {
      await s.stop();
    }
  }
  const on = results.on as { deliveredPerSecond: number; accept: RunResult; seconds: number; errors: number };
  const off = results.off as typeof on;
  console.log(`\nSesame sending benchmark — ${new Date().toISOString()} — ${machine()}`);
  console.log(`SQLite store, api and worker in one process, ${CLIENTS} API clients, ${MESSAGES} messages of ${Buffer.byteLength(NEWS_HTML)} bytes of HTML with ${NEWS_LINKS} links, DKIM RSA-2048, to smtp-sink on 127.0.0.2; open and click tracking off, then on\n`);
  console.log('| figure | tracking off | tracking on |');
  console.log('|---|---|---|');
  console.log(`| delivered messages per second (first accept to last delivery) | ${off.deliveredPerSecond} | ${on.deliveredPerSecond} |`);
  console.log(`| API accepts per second | ${off.accept.rps} | ${on.accept.rps} |`);
  console.log(`| API accept latency p50 / p90 / p99 / max (ms) | ${off.accept.p50} / ${off.accept.p90} / ${off.accept.p99} / ${off.accept.max} | ${on.accept.p50} / ${on.accept.p90} / ${on.accept.p99} / ${on.accept.max} |`);
  console.log(`| API errors | ${off.errors} | ${on.errors} |`);
  console.log(`| total time (s) | ${Math.round(off.seconds * 10) / 10} | ${Math.round(on.seconds * 10) / 10} |`);
  console.log(`| server peak RSS (MB) | ${peakRssMb.off} | ${peakRssMb.on} |`);
  return { results, peakRssMb };
}
