/**
 * End-to-end sending benchmark on SQLite: 20 concurrent API clients send 5 KB HTML template messages,
 * each to its own recipient, through the built server (api and worker in one process) to Postfix's
 * smtp-sink on loopback, with DKIM RSA-2048 signing. Prints delivered messages per second, the API's
 * accept latency, and the server's peak RSS. BENCH_MESSAGES (default 20000) sets the volume.
 */
import { readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { RawConnection, signCall, summarise, type RunResult } from './load.js';
import { cpuSeconds, peakRss, startSendingServer } from './server.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const CLIENTS = 20;
const html = `<html><body>${'<p>Hello {{name}}, here is this week\'s news: prices, products and a long paragraph of text to make it real.</p>'.repeat(45)}<p>Your code: {{code}}</p></body></html>`;

/** Runs the sending benchmark and prints its figures. */
export async function sendBenchmark(): Promise<{ results: Record<string, RunResult | number>; peakRssMb: number }> {
  const { server, sink, dir, httpPort, creds, call, sender, stop } = await startSendingServer('api,worker');
  try {
    const templateId = (await call('CreateEmailTemplate', { TemplateName: 'news', TemplateContent: { Html: Buffer.from(html).toString('base64') } })).TemplateID;

    const db = new Database(join(dir, 'sesame.db'), { readonly: true });
    const delivered = db.prepare('SELECT COUNT(*) AS n FROM deliveries WHERE deliver_status = 1');
    const latencies: number[] = [];
    let errors = 0;
    let next = 0;
    const start = performance.now();
    const accepting = Promise.all(Array.from({ length: CLIENTS }, async () => {
      const conn = new RawConnection(httpPort);
      while (next < MESSAGES) {
        const i = next++;
        const t0 = performance.now();
        const ok = await conn.request(signCall(httpPort, creds, 'SendEmail', {
          FromEmailAddress: `News <${sender}>`, Destination: [`reader${i}@sink.test`], Subject: 'This week, {{name}}',
          Template: { TemplateID: templateId, TemplateData: JSON.stringify({ name: `Reader ${i}`, code: String(i) }) },
        }));
        if (ok) latencies.push(performance.now() - t0); else errors++;
      }
      conn.close();
    }));
    await accepting;
    const acceptSeconds = (performance.now() - start) / 1000;
    for (;;) {
      const n = (delivered.get() as { n: number }).n;
      if (n >= MESSAGES - errors) break;
      if (server.exitCode !== null) throw new Error('the server exited');
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - start) / 1000;
    db.close();
    const accept = summarise(latencies, errors, acceptSeconds);
    const peakRssMb = peakRss(server.pid!);
    if (process.env.BENCH_CPU) {
      const threads = readdirSync(`/proc/${server.pid}/task`).map((tid) => cpuSeconds(server.pid!, tid));
      console.log(`cpu seconds: server ${cpuSeconds(server.pid!)} [threads ${threads.join(' ')}], sink ${cpuSeconds(sink.pid!)}, bench ${(process.cpuUsage().user + process.cpuUsage().system) / 1e6}`);
    }
    const deliveredPerSecond = Math.round((MESSAGES - errors) / seconds);
    console.log(`\nSesame sending benchmark — ${new Date().toISOString()} — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
    console.log(`SQLite store, api and worker in one process, ${CLIENTS} API clients, ${MESSAGES} messages of ${Buffer.byteLength(html)} bytes of HTML, DKIM RSA-2048, to smtp-sink on 127.0.0.2\n`);
    console.log('| figure | value |');
    console.log('|---|---|');
    console.log(`| delivered messages per second (first accept to last delivery) | ${deliveredPerSecond} |`);
    console.log(`| API accepts per second | ${accept.rps} |`);
    console.log(`| API accept latency p50 / p90 / p99 / max (ms) | ${accept.p50} / ${accept.p90} / ${accept.p99} / ${accept.max} |`);
    console.log(`| API errors | ${errors} |`);
    console.log(`| total time (s) | ${Math.round(seconds * 10) / 10} |`);
    console.log(`| server peak RSS (MB) | ${peakRssMb} |`);
    return { results: { deliveredPerSecond, accept, seconds }, peakRssMb };
  } finally {
    await stop();
  }
}

