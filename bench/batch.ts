/**
 * Batch benchmark on SQLite: uploads a recipient group with per-recipient template data in calls
 * of 20,000 (CreateReceiverDetailWithData, through the SDK), one call after another as a user's
 * import would; then runs an immediate BatchSendEmail task to the whole group (a 5 KB HTML
 * template, DKIM RSA-2048) into Postfix's smtp-sink. Prints upload recipients per second, delivered
 * messages per second end to end, the time to TaskStatus 10, the server's peak RSS and the store's
 * size per recipient. BENCH_RECIPIENTS (default 1,000,000) sets the group's size.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { NEWS_HTML } from './send.js';
import { machine, peakRss, startSendingServer, storeBytes } from './server.js';

const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 1_000_000);
const PER_CALL = 20_000;

/** Runs the batch benchmark and prints its figures. */
export async function batchBenchmark(): Promise<{ uploadPerSecond: number; deliveredPerSecond: number; peakRssMb: number }> {
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
    const uploadRssMb = peakRss(s.server.pid!);

    // The task: every recipient gets the 5 KB template with their own data.
    const TemplateID = (await s.call('CreateEmailTemplate', { TemplateName: 'news', TemplateContent: { Html: Buffer.from(NEWS_HTML).toString('base64') } })).TemplateID;
    const db = new Database(join(s.dir, 'sesame.db'), { readonly: true });
    const pendingOf = db.prepare('SELECT COUNT(*) AS n FROM deliveries WHERE task_id = ? AND next_attempt_at IS NOT NULL');
    const sendStart = performance.now();
    const { TaskId } = await s.call('BatchSendEmail', {
      FromEmailAddress: `News <${s.sender}>`, ReceiverId, Subject: 'This week, {{name}}', TaskType: 1, Template: { TemplateID, TemplateData: '{}' },
    });
    const taskOf = async () => (await s.call('ListSendTasks', { Offset: 0, Limit: 1 })).Data.find((t) => t.TaskId === TaskId)!;
    let sentAt = 0;
    let task = await taskOf();
    progress = performance.now();
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      if (s.server.exitCode !== null) throw new Error('the server exited');
      task = await taskOf();
      if (task.TaskStatus === 7) throw new Error(`the task failed: ${task.ErrMsg}`);
      if (task.TaskStatus === 10 && !sentAt) sentAt = performance.now();
      const pending = (pendingOf.get(TaskId) as { n: number }).n;
      if (task.TaskStatus === 10 && pending === 0) break;
      if (performance.now() - progress > 30_000) {
        progress = performance.now();
        console.log(`task: ${task.SendCount} of ${task.RequestCount} handed to delivery, ${pending} waiting; ${Math.round((performance.now() - sendStart) / 1000)} s`);
      }
    }
    const sendSeconds = (performance.now() - sendStart) / 1000;
    const delivered = (db.prepare('SELECT COUNT(*) AS n FROM deliveries WHERE task_id = ? AND deliver_status = 1').get(TaskId) as { n: number }).n;
    db.close();
    if (delivered !== RECIPIENTS || task.RequestCount !== RECIPIENTS || task.SendCount !== RECIPIENTS) {
      throw new Error(`delivered ${delivered}, RequestCount ${task.RequestCount}, SendCount ${task.SendCount}; expected ${RECIPIENTS} each`);
    }
    const deliveredPerSecond = Math.round(RECIPIENTS / sendSeconds);
    const perRecipient = Math.round((storeBytes(s.dir) - before) / RECIPIENTS);
    const sorted = [...callMs].sort((a, b) => a - b);
    const pct = (p: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]);
    const peakRssMb = peakRss(s.server.pid!);
    console.log(`\nSesame batch benchmark — ${new Date().toISOString()} — ${machine()}`);
    console.log(`SQLite store, api and worker roles in one process, a group of ${RECIPIENTS} recipients with template data, uploaded in calls of ${PER_CALL}, then one immediate task to all of them (5 KB HTML, DKIM RSA-2048) into smtp-sink\n`);
    console.log('| figure | value |');
    console.log('|---|---|');
    console.log(`| upload: recipients per second | ${uploadPerSecond} |`);
    console.log(`| upload: time per call of ${PER_CALL}, p50 / p90 / max (ms) | ${pct(0.5)} / ${pct(0.9)} / ${Math.round(sorted[sorted.length - 1])} |`);
    console.log(`| upload: server peak RSS (MB) | ${uploadRssMb} |`);
    console.log(`| task: delivered messages per second (BatchSendEmail to last delivery) | ${deliveredPerSecond} |`);
    console.log(`| task: time to TaskStatus 10 / to the last delivery (s) | ${Math.round((sentAt - sendStart) / 1000)} / ${Math.round(sendSeconds)} |`);
    console.log(`| task: RequestCount / SendCount / delivered | ${task.RequestCount} / ${task.SendCount} / ${delivered} |`);
    console.log(`| store size per recipient, group and delivery (bytes) | ${perRecipient} |`);
    console.log(`| server peak RSS, whole run (MB) | ${peakRssMb} |`);
    return { uploadPerSecond, deliveredPerSecond, peakRssMb };
  } finally {
    await s.stop();
  }
}
