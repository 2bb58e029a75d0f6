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
import { machine, peakRss, startSendingServer, storeBytes, type SendingServer } from './server.js';

const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 1_000_000);
const PER_CALL = 20_000;

/** A recipient group as uploaded. */
export interface Upload { ReceiverId: number; uploadPerSecond: number; callMs: number[] }

/**
 * Creates a group of `count` recipients (`reader<i>@sink.test`, each with its own template data)
 * and uploads them in calls of PER_CALL, one after another as a user's import would.
 */
export async function uploadGroup(s: SendingServer, count: number): Promise<Upload> {
  const { ReceiverId } = await s.call('CreateReceiver', { ReceiversName: 'bench readers' });
  const callMs: number[] = [];
  const start = performance.now();
  let progress = start;
  for (let from = 0; from < count; from += PER_CALL) {
    const n = Math.min(PER_CALL, count - from);
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
      console.log(`uploaded ${from + n} of ${count}`);
    }
  }
  const uploadPerSecond = Math.round(count / ((performance.now() - start) / 1000));
  const groups = await s.call('ListReceivers', { Offset: 0, Limit: 1 });
  if (groups.Data[0].Count !== count) throw new Error(`the group holds ${groups.Data[0].Count}, not ${count}`);
  return { ReceiverId, uploadPerSecond, callMs };
}

/** What a task to a whole group took. */
export interface TaskRun {
  /** BatchSendEmail to the last delivery. */
  seconds: number;
  /** BatchSendEmail to TaskStatus 10 (every delivery created). */
  statusSeconds: number;
  deliveredPerSecond: number;
  requestCount: number;
  sendCount: number;
  delivered: number;
}

/**
 * Runs an immediate BatchSendEmail task to the group: every recipient gets the 5 KB template with
 * their own data. Waits for its last delivery, looking at the store every `pollMs` and at the task
 * (ListSendTasks) every second; throws unless all `count` were delivered.
 */
export async function runTask(s: SendingServer, ReceiverId: number, count: number, pollMs = 1000): Promise<TaskRun> {
  const TemplateID = (await s.call('CreateEmailTemplate', { TemplateName: 'news', TemplateContent: { Html: Buffer.from(NEWS_HTML).toString('base64') } })).TemplateID;
  const db = new Database(join(s.dir, 'sesame.db'), { readonly: true });
  try {
    const pendingOf = db.prepare('SELECT COUNT(*) AS n FROM deliveries WHERE task_id = ? AND next_attempt_at IS NOT NULL');
    const start = performance.now();
    const { TaskId } = await s.call('BatchSendEmail', {
      FromEmailAddress: `News <${s.sender}>`, ReceiverId, Subject: 'This week, {{name}}', TaskType: 1, Template: { TemplateID, TemplateData: '{}' },
    });
    const taskOf = async () => (await s.call('ListSendTasks', { Offset: 0, Limit: 1 })).Data.find((t) => t.TaskId === TaskId)!;
    let statusAt = 0;
    let task = await taskOf();
    let askedAt = performance.now();
    let progress = askedAt;
    for (;;) {
      await new Promise((r) => setTimeout(r, pollMs));
      if (s.server.exitCode !== null) throw new Error('the server exited');
      const pending = (pendingOf.get(TaskId) as { n: number }).n;
      // The task is asked again each second, and whenever nothing is pending (it may be done).
      if (pending === 0 || performance.now() - askedAt >= 1000) {
        task = await taskOf();
        askedAt = performance.now();
      }
      if (task.TaskStatus === 7) throw new Error(`the task failed: ${task.ErrMsg}`);
      if (task.TaskStatus === 10 && !statusAt) statusAt = performance.now();
      if (task.TaskStatus === 10 && pending === 0) break;
      if (performance.now() - progress > 30_000) {
        progress = performance.now();
        console.log(`task: ${task.SendCount} of ${task.RequestCount} handed to delivery, ${pending} waiting; ${Math.round((performance.now() - start) / 1000)} s`);
      }
    }
    const seconds = (performance.now() - start) / 1000;
    const delivered = (db.prepare('SELECT COUNT(*) AS n FROM deliveries WHERE task_id = ? AND deliver_status = 1').get(TaskId) as { n: number }).n;
    if (delivered !== count || task.RequestCount !== count || task.SendCount !== count) {
      throw new Error(`delivered ${delivered}, RequestCount ${task.RequestCount}, SendCount ${task.SendCount}; expected ${count} each`);
    }
    return {
      seconds, statusSeconds: (statusAt - start) / 1000, deliveredPerSecond: Math.round(count / seconds),
      requestCount: task.RequestCount, sendCount: task.SendCount, delivered,
    };
  } finally {
    db.close();
  }
}

/** Runs the batch benchmark and prints its figures. */
export async function batchBenchmark(): Promise<{ uploadPerSecond: number; deliveredPerSecond: number; peakRssMb: number }> {
  const s = await startSendingServer('api,worker', { SESAME_RECEIVER_MAX_RECIPIENTS: String(Math.max(RECIPIENTS, 1)) });
  try {
    const before = storeBytes(s.dir);
    const { ReceiverId, uploadPerSecond, callMs } = await uploadGroup(s, RECIPIENTS);
    const uploadRssMb = peakRss(s.server.pid!);
    const task = await runTask(s, ReceiverId, RECIPIENTS);
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
    console.log(`| task: delivered messages per second (BatchSendEmail to last delivery) | ${task.deliveredPerSecond} |`);
    console.log(`| task: time to TaskStatus 10 / to the last delivery (s) | ${Math.round(task.statusSeconds)} / ${Math.round(task.seconds)} |`);
    console.log(`| task: RequestCount / SendCount / delivered | ${task.requestCount} / ${task.sendCount} / ${task.delivered} |`);
    console.log(`| store size per recipient, group and delivery (bytes) | ${perRecipient} |`);
    console.log(`| server peak RSS, whole run (MB) | ${peakRssMb} |`);
    return { uploadPerSecond, deliveredPerSecond: task.deliveredPerSecond, peakRssMb };
  } finally {
    await s.stop();
  }
}
