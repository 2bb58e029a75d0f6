/**
 * The webhook benchmark: the sending benchmark's batch (20 API clients, 5 KB HTML, to smtp-sink)
 * through the built server (api and worker in one process, SQLite), first with no callback, then
 * with an account-level callback to a local receiver answering 200 (a node:http server in this
 * process). Prints delivered messages per second for both, the callbacks' rate, and how far the
 * last callback came after the last delivery (a backlog, if dispatch could not keep up).
 * BENCH_MESSAGES (default 20000).
 */
import { createServer } from 'node:http';
import { sdkClient } from '../test/helpers/sdk.js';
import { newsTemplate, sendBatch, type BatchResult } from './send.js';
import { machine, peakRss, startSendingServer } from './server.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);

/** A receiver counting what it gets. */
async function startCounter(): Promise<{ url: string; count: () => number; first: () => number; last: () => number; stop: () => Promise<void> }> {
  let n = 0;
  let first = 0;
  let last = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n++;
      last = performance.now();
      if (n === 1) first = last;
      res.writeHead(200, { 'Content-Length': '0' });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  return {
    url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`,
    count: () => n, first: () => first, last: () => last,
    stop: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** Runs the benchmark and prints its figures. */
export async function webhookBenchmark(): Promise<void> {
  const results: Record<string, BatchResult & { peakRssMb: number }> = {};
  let dispatch = { rate: 0, lagMs: 0, received: 0 };
  for (const withCallback of [false, true]) {
    const s = await startSendingServer('api,worker');
    const counter = await startCounter();
    try {
      const templateId = await newsTemplate(s);
      if (withCallback) {
        const c = sdkClient('v4:TC3', `127.0.0.1:${s.httpPort}`, s.creds) as unknown as (a: string, r: unknown) => Promise<unknown>;
        await c('SetEmailCallback', { CallbackUrl: counter.url });
      }
      const r = await sendBatch(s, templateId, 0, MESSAGES);
      const deliveredAt = performance.now();
      results[withCallback ? 'callback' : 'none'] = { ...r, peakRssMb: peakRss(s.server.pid!) };
      if (withCallback) {
        // Every delivered event posted (each mail has exactly one).
        while (counter.count() < MESSAGES - r.errors && performance.now() - deliveredAt < 120_000) await new Promise((x) => setTimeout(x, 50));
        dispatch = {
          received: counter.count(),
          rate: Math.round(counter.count() / ((counter.last() - counter.first()) / 1000)),
          lagMs: Math.max(0, Math.round(counter.last() - deliveredAt)),
        };
      }
    } finally {
      await counter.stop();
      await s.stop();
    }
  }
  const { none, callback } = results;
  console.log(`\nSesame webhook benchmark — ${new Date().toISOString()} — ${machine()}`);
  console.log(`SQLite store, api and worker in one process, ${MESSAGES} messages to smtp-sink; an account-level callback to a local receiver (200), or none\n`);
  console.log('| figure | no callback | callback |');
  console.log('|---|---|---|');
  console.log(`| delivered messages per second | ${none.deliveredPerSecond} | ${callback.deliveredPerSecond} |`);
  console.log(`| API accept latency p50 / p99 (ms) | ${none.accept.p50} / ${none.accept.p99} | ${callback.accept.p50} / ${callback.accept.p99} |`);
  console.log(`| server peak RSS (MB) | ${none.peakRssMb} | ${callback.peakRssMb} |`);
  console.log(`| callbacks received | | ${dispatch.received} |`);
  console.log(`| callbacks per second (first to last) | | ${dispatch.rate} |`);
  console.log(`| last callback after the last delivery (ms) | | ${dispatch.lagMs} |`);
  console.log(JSON.stringify({ date: new Date().toISOString(), results, dispatch }));
}
