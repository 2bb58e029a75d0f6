/**
 * Batch benchmark on SQLite: uploads a recipient group with per-recipient template data in calls
 * of 20,000 (CreateReceiverDetailWithData, through the SDK), one call after another as a user's
 * import would, and prints recipients per second, the server's peak RSS and the store's size per
 * recipient. BENCH_RECIPIENTS (default 1,000,000) sets the group's size.
 */
import { statSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { peakRss, startSendingServer } from './server.js';

const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 1_000_000);
const PER_CALL = 20_000;

/** Bytes of the SQLite store (database and write-ahead log). */
function storeBytes(dir: string): number {
  const size = (f: string): number => { try { return statSync(join(dir, f)).size; } catch { return 0; } };
  return size('sesame.db') + size('sesame.db-wal');
}

/** Runs the batch benchmark and prints its figures. */
export async function batchBenchmark(): Promise<{ uploadPerSecond: number; peakRssMb: number }> {
  const s = await startSendingServer('api,worker', { SESAME_RECEIVER_MAX_RECIPIENTS: String(Math.max(RECIPIENTS, 1)) });
  try {
    const { ReceiverId } = await s.call('CreateReceiver', { ReceiversName: 'bench readers' });
    const before = storeBytes(s.dir);
    const callMs: number[] = [];
    const start = performance.now();
    let progress = start;
    for (let from = 0; from < RECIPIENTS; from += PER_CALL) {
      const n = Math.min(PER_CALL, RECIPIENTS - from);
      const Datas = Array.from({ length: n }, (_, k) => {
        const i = from + k;
        return { Email: `reader${i}@sink.test`, TemplateData: `{"name":"Reader ${i}","code":"${(i * 7919) % 1_000_000}"}` };
      });
      const t0 = performance.now();
      const r = await s.call('CreateReceiverDetailWithData', { ReceiverId, Datas });
      callMs.push(performance.now() - t0);
      if (r.ValidCount !== n) throw new Error(`upload at ${from}: ${r.ValidCount} of ${n} valid`);
      if (performance.now() - progress > 10_000) {
        progress = performance.now();
        console.log(`uploaded ${from + n} of ${RECIPIENTS}`);
      }
    }
    const seconds = (performance.now() - start) / 1000;
    const uploadPerSecond = Math.round(RECIPIENTS / seconds);
    const groups = await s.call('ListReceivers', { Offset: 0, Limit: 1 });
    if (groups.Data[0].Count !== RECIPIENTS) throw new Error(`the group holds ${groups.Data[0].Count}, not ${RECIPIENTS}`);
    const perRecipient = Math.round((storeBytes(s.dir) - before) / RECIPIENTS);
    const sorted = [...callMs].sort((a, b) => a - b);
    const pct = (p: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]);
    const peakRssMb = peakRss(s.server.pid!);
    console.log(`\nSesame batch benchmark — ${new Date().toISOString()} — ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
    console.log(`SQLite store, api and worker roles in one process, a group of ${RECIPIENTS} recipients with template data, uploaded in calls of ${PER_CALL}\n`);
    console.log('| figure | value |');
    console.log('|---|---|');
    console.log(`| upload: recipients per second | ${uploadPerSecond} |`);
    console.log(`| upload: time per call of ${PER_CALL}, p50 / p90 / max (ms) | ${pct(0.5)} / ${pct(0.9)} / ${Math.round(sorted[sorted.length - 1])} |`);
    console.log(`| store size per recipient (bytes) | ${perRecipient} |`);
    console.log(`| server peak RSS (MB) | ${peakRssMb} |`);
    return { uploadPerSecond, peakRssMb };
  } finally {
    await s.stop();
  }
}
