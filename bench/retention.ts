/**
 * Retention benchmark on SQLite: sends BENCH_RETENTION_MESSAGES (default 100,000) messages through
 * the path of the sending benchmark (20 API clients, the 5 KB HTML template, DKIM, smtp-sink) and
 * reports the store's size; then sends a batch (BENCH_RETENTION_BATCH, default 20,000) to measure
 * sending without the retention job; then, server stopped, moves the first messages' times back
 * past SESAME_STATUS_RETENTION_DAYS, restarts it (the job's first round runs at start) and sends
 * another batch while the job deletes them. Prints both batches' throughput (the second's also over
 * the part of it the round overlapped), what the job deleted, how long it took and how long it
 * overlapped the batch, and the store's size after it: bytes in use ((page_count − freelist_count)
 * × page_size: SQLite keeps freed pages in the file for reuse) and the files' size.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { newsTemplate, sendBatch, NEWS_HTML, type BatchResult } from './send.js';
import { machine, peakRss, startSendingServer, storeBytes } from './server.js';

const MESSAGES = Number(process.env.BENCH_RETENTION_MESSAGES ?? 100_000);
const BATCH = Number(process.env.BENCH_RETENTION_BATCH ?? 20_000);
/** SESAME_STATUS_RETENTION_DAYS as the server runs it (its default). */
const RETENTION_DAYS = 30;
/** How far back the first messages are moved: past retention, whatever the time of day. */
const SHIFT_MS = (RETENTION_DAYS + 2) * 86_400_000;
/** The longest the job may take after the batch it runs beside. */
const JOB_TIMEOUT_MS = 30 * 60_000;

/** The store's size and main row counts. */
interface StoreSize { inUse: number; files: number; deliveries: number; messages: number; contentKept: number }

function storeSize(dir: string): StoreSize {
  const db = new Database(join(dir, 'sesame.db'), { readonly: true });
  try {
    const pragma = (name: string): number => Number(db.pragma(name, { simple: true }));
    const count = (sql: string): number => (db.prepare(sql).get() as { n: number }).n;
    return {
      inUse: (pragma('page_count') - pragma('freelist_count')) * pragma('page_size'),
      files: storeBytes(dir),
      deliveries: count('SELECT COUNT(*) AS n FROM deliveries'),
      messages: count('SELECT COUNT(*) AS n FROM messages'),
      contentKept: count(`SELECT COUNT(*) AS n FROM messages WHERE content <> ''`),
    };
  } finally {
    db.close();
  }
}

/** Moves every message with a row id up to `lastMessage`, and its deliveries, `SHIFT_MS` back (the server is stopped). */
function makeOld(dir: string, lastMessage: number): void {
  const db = new Database(join(dir, 'sesame.db'));
  try {
    db.transaction(() => {
      db.prepare('UPDATE messages SET created_at = created_at - ? WHERE id <= ?').run(SHIFT_MS, lastMessage);
      db.prepare('UPDATE deliveries SET created_at = created_at - ?, deliver_time = deliver_time - ? WHERE message_row <= ?').run(SHIFT_MS, SHIFT_MS, lastMessage);
    })();
  } finally {
    db.close();
  }
}

const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);

/** Runs the retention benchmark and prints its figures. */
export async function retentionBenchmark(): Promise<{ without: BatchResult; during: BatchResult; jobMs: number; overlapMs: number }> {
  const s = await startSendingServer('api,worker', {}, { watchLog: true });
  try {
    const templateId = await newsTemplate(s);
    const fill = await sendBatch(s, templateId, 0, MESSAGES);
    const filled = storeSize(s.dir);
    const lastMessage = (() => {
      const db = new Database(join(s.dir, 'sesame.db'), { readonly: true });
      try { return (db.prepare('SELECT MAX(id) AS id FROM messages').get() as { id: number }).id; } finally { db.close(); }
    })();
    console.log(`sent ${MESSAGES} messages (${fill.deliveredPerSecond} delivered per second); measuring a batch without the job`);

    // Both measured batches start in a freshly started server: the first with nothing old to delete.
    await s.restart();
    const without = await sendBatch(s, templateId, MESSAGES, BATCH);

    console.log(`moving the first ${MESSAGES} messages ${SHIFT_MS / 86_400_000} days back; measuring a batch while the job deletes them`);
    // The round starts with the worker, as the server starts (within milliseconds of answering
    // /healthz); it logs no start line, only its end's (with its `ms`). When that line arrives (the
    // bench's clock) the batch's deliveries so far are counted: what was delivered while both ran.
    let countDelivered: (() => number) | undefined;
    const round = s.nextLogLine((l) => typeof l.deliveries === 'number' && typeof l.complete === 'boolean')
      .then((line) => ({ line, at: performance.now(), delivered: countDelivered?.() ?? 0 }));
    await s.restart(() => makeOld(s.dir, lastMessage));
    // The batch starts once the server is up again (stopping it, makeOld and the start are not the batch's time).
    const db = new Database(join(s.dir, 'sesame.db'), { readonly: true });
    let roundEnd: Awaited<typeof round>;
    let during: BatchResult;
    let t0: number;
    let batchEnd: number;
    try {
      const since = (db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM deliveries').get() as { id: number }).id;
      const delivered = db.prepare('SELECT COUNT(*) AS n FROM deliveries WHERE id > ? AND deliver_status = 1');
      countDelivered = () => (delivered.get(since) as { n: number }).n;
      t0 = performance.now();
      during = await sendBatch(s, templateId, MESSAGES + BATCH, BATCH);
      batchEnd = performance.now();
      let timer: NodeJS.Timeout | undefined;
      roundEnd = await Promise.race([round, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('the retention round did not end')), JOB_TIMEOUT_MS); })])
        .finally(() => clearTimeout(timer));
    } finally {
      countDelivered = undefined;
      db.close();
    }
    const job = roundEnd.line;
    const jobMs = Number(job.ms);
    // The overlap of the round (its end's arrival less its `ms`) and the batch (t0 to its last delivery).
    const roundStart = roundEnd.at - jobMs;
    const overlapEnd = Math.min(roundEnd.at, batchEnd);
    const overlapMs = Math.max(0, overlapEnd - Math.max(t0, roundStart));
    const s1 = (ms: number): string => (ms / 1000).toFixed(1);
    const overlapNote = roundEnd.at <= t0 ? `the round ended ${s1(t0 - roundEnd.at)} s before the batch began`
      : roundEnd.at < batchEnd ? `the round ended ${s1(roundEnd.at - t0)} s into the batch`
        : `the whole batch: the round ended ${s1(roundEnd.at - batchEnd)} s after it`;
    // Delivered per second from the batch's start to the round's end (or the batch's, if sooner): the
    // overlap, the round having started with the server (a few milliseconds either side of t0).
    const overlapRate = overlapEnd <= t0 ? 'n/a (no overlap)'
      : String(Math.round((roundEnd.at < batchEnd ? roundEnd.delivered : BATCH - during.errors) / ((overlapEnd - t0) / 1000)));
    const after = storeSize(s.dir);
    const peakRssMb = peakRss(s.server.pid!);

    console.log(`\nSesame retention benchmark — ${new Date().toISOString()} — ${machine()}`);
    console.log(`SQLite store, api and worker in one process, ${MESSAGES} messages of ${Buffer.byteLength(NEWS_HTML)} bytes of HTML sent as in the sending benchmark, then batches of ${BATCH}, to smtp-sink on 127.0.0.2\n`);
    console.log('| figure | value |');
    console.log('|---|---|');
    console.log(`| after sending ${MESSAGES}: store bytes in use / files (MB) | ${mb(filled.inUse)} / ${mb(filled.files)} |`);
    console.log(`| after sending ${MESSAGES}: deliveries / messages / messages still holding content | ${filled.deliveries} / ${filled.messages} / ${filled.contentKept} |`);
    console.log(`| retention round: deliveries / messages deleted, contents freed | ${job.deliveries} / ${job.messages} / ${job.freedContents} |`);
    console.log(`| retention round: time (s, from the worker's start); the batch beside it (s, from the server's health to its last delivery) | ${s1(jobMs)}; ${s1(batchEnd - t0)} |`);
    console.log(`| retention round: overlap with the batch (s) | ${s1(overlapMs)} (${overlapNote}) |`);
    console.log(`| after the round: store bytes in use / files (MB) | ${mb(after.inUse)} / ${mb(after.files)} |`);
    console.log(`| after the round: deliveries / messages | ${after.deliveries} / ${after.messages} |`);
    console.log(`| batch of ${BATCH}: delivered messages per second, without the job / beside it, whole batch / during the overlap | ${without.deliveredPerSecond} / ${during.deliveredPerSecond} / ${overlapRate} |`);
    console.log(`| batch of ${BATCH}: API accept latency p50 / p99 (ms), without the job / beside it (whole batch) | ${without.accept.p50} / ${without.accept.p99}; ${during.accept.p50} / ${during.accept.p99} |`);
    console.log(`| API errors (all batches) | ${fill.errors + without.errors + during.errors} |`);
    console.log(`| server peak RSS, last start (MB) | ${peakRssMb} |`);
    return { without, during, jobMs, overlapMs };
  } finally {
    await s.stop();
  }
}
