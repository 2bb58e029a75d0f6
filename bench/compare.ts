/**
 * `npm run bench:compare`: Sesame against Postfix on this machine, in one run, one after the other
 * (issue 14). The same 5 KB message, the same count (BENCH_MESSAGES, default 10,000), the same
 * receiver (Postfix's smtp-sink on 127.0.0.2, counting what it gets):
 *
 * 1. Postfix relay: smtp-source (20 sessions) into a private Postfix, relayed to the sink;
 * 2. Sesame SendEmail: 20 API clients, one recipient each, DKIM RSA-2048, tracking on;
 * 3. Sesame BatchSendEmail to a group of that many recipients;
 * 4. Sesame SMTP submission: 20 sessions, TLS and AUTH, the worker delivering meanwhile.
 *
 * Prints each path's rate beside the Postfix rate it is held against, the ratio and the issue's
 * target, then a JSON line with everything. Needs Debian's postfix package and root.
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { runTask, uploadGroup } from './batch.js';
import { cpuMeters, round2, type CpuUse } from './cpu-meter.js';
import type { RunResult } from './load.js';
import { RELAY_TUNING, requirePostfix, startPostfix } from './postfix.js';
import { NEWS_HTML, newsTemplate, sendBatch } from './send.js';
import { cpuSeconds, endedChildrenCpuSeconds, machine, peakRss, startSendingServer, type SendingServer } from './server.js';
import { startSink } from './sink.js';
import { startSubmissionServer, submitBatch, SUBMITTED_BYTES } from './smtp.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10_000);
/** Client sessions of smtp-source, as the Sesame runs have API clients and SMTP sessions. */
const SESSIONS = 20;

/** The share of the cores taken by other work beyond which a run is called disturbed. */
const DISTURBED = 0.25;

/** Issue 14's targets. */
const TARGETS = {
  /** SendEmail delivered per second, at least this many times Postfix's relay rate. */
  send: 2.0,
  /** BatchSendEmail delivered per second, at least this many times Postfix's relay rate. */
  batch: 3.0,
  /** SMTP submissions accepted per second, at least this many times Postfix smtpd's intake. */
  smtp: 1.5,
  /** Server CPU per delivered SendEmail message, at most (ms). */
  cpuMsPerMessage: 1.0,
  /** Peak RSS of the batch run, under (MB). */
  batchRssMb: 300,
};

/** Postfix relaying `count` messages from smtp-source to the sink. */
interface RelayRun {
  /** First submission to the last message received at the sink. */
  deliveredPerSecond: number;
  /** Submissions per second as smtp-source sees them (while Postfix relays). */
  intakePerSecond: number;
  seconds: number;
  intakeSeconds: number;
  received: number;
  /** cpuMsPerMessage: of every Postfix process; generatorCpuMsPerMessage: of smtp-source. */
  cpu: CpuUse;
  messageBytes: number;
}

/** The news template rendered for one reader and composed as Sesame composes it (quoted-printable HTML), without DKIM or tracking. */
async function newsMessage(): Promise<Buffer> {
  const html = NEWS_HTML.replaceAll('{{name}}', 'Reader 0').replaceAll('{{code}}', '0');
  const composer = new MailComposer({
    from: { name: 'News', address: 'news@mail.bench.test' }, to: 'reader0@sink.test', subject: 'This week, Reader 0',
    messageId: '<compare-0@mail.bench.test>', date: new Date(), html, textEncoding: 'quoted-printable',
  });
  return new Promise((resolve, reject) => { composer.compile().build((err, m) => (err ? reject(err) : resolve(m))); });
}

/** Postfix's run: its own sink, a private instance relaying to it, smtp-source submitting. */
async function postfixRelay(count: number): Promise<RelayRun> {
  const sink = await startSink();
  try {
    const postfix = await startPostfix(sink.port);
    try {
      const message = await newsMessage();
      const file = join(postfix.dir, 'message.eml');
      // smtp-source -F sends the file line by line, ending each with CRLF itself.
      writeFileSync(file, message.toString('latin1').replaceAll('\r\n', '\n'), 'latin1');
      // The load generator: smtp-source (counted once it has ended and been waited for, among this
      // process's ended children) and this process (which reads the sink's count), as in Sesame's runs.
      const cpu = cpuMeters(() => postfix.cpuSeconds(), () => endedChildrenCpuSeconds() + cpuSeconds(process.pid), () => cpuSeconds(sink.process.pid!));
      const start = performance.now();
      // -d: one connection per session for all its messages; -N: each message its own recipient.
      const source = spawn('smtp-source', ['-d', '-s', String(SESSIONS), '-m', String(count), '-N', '-F', file,
        '-f', 'news@mail.bench.test', '-t', 'reader@sink.test', `127.0.0.1:${postfix.port}`], { stdio: ['ignore', 'inherit', 'inherit'] });
      const intakeEnd = new Promise<number>((resolve, reject) => source.once('exit', (code) => (code === 0 ? resolve(performance.now()) : reject(new Error(`smtp-source exited with ${code}`)))));
      const [intakeAt, lastAt] = await Promise.all([intakeEnd, sink.waitFor(count)]);
      const cpuUse = cpu(count);
      for (let i = 0; postfix.queued() > 0; i++) {
        if (i === 100) throw new Error(`Postfix still holds ${postfix.queued()} messages after the sink received ${sink.received()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const seconds = (lastAt - start) / 1000;
      const intakeSeconds = (intakeAt - start) / 1000;
      return {
        deliveredPerSecond: Math.round(count / seconds), intakePerSecond: Math.round(count / intakeSeconds), seconds, intakeSeconds,
        received: sink.received(), cpu: cpuUse, messageBytes: message.length,
      };
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${postfix.logTail()}`);
    } finally {
      await postfix.stop();
    }
  } finally {
    await sink.stop();
  }
}

/** The meters of a Sesame run: the server (every thread: main, rendering, GC), the load generator (this process) and the sink. */
function sesameMeters(s: SendingServer): (messages: number) => CpuUse {
  return cpuMeters(() => cpuSeconds(s.server.pid!), () => cpuSeconds(process.pid), () => cpuSeconds(s.sink.process.pid!));
}

/** Sesame's SendEmail run, with the server's CPU per delivered message. */
async function sesameSend(count: number) {
  const s = await startSendingServer('api,worker', { SESAME_TRACKING: 'on' });
  try {
    const templateId = await newsTemplate(s);
    const cpu = sesameMeters(s);
    const run = await sendBatch(s, templateId, 0, count);
    const delivered = count - run.errors;
    await s.sink.waitFor(delivered);
    return {
      deliveredPerSecond: run.deliveredPerSecond, seconds: run.seconds, errors: run.errors, accept: run.accept,
      received: s.sink.received(), cpu: cpu(delivered), peakRssMb: peakRss(s.server.pid!),
    };
  } finally {
    await s.stop();
  }
}

/** Sesame's BatchSendEmail run to a group of `count`, with the server's peak RSS over the whole run. */
async function sesameBatch(count: number) {
  const s = await startSendingServer('api,worker', { SESAME_RECEIVER_MAX_RECIPIENTS: String(Math.max(count, 1)) });
  try {
    const { ReceiverId, uploadPerSecond } = await uploadGroup(s, count);
    const cpu = sesameMeters(s);
    const task = await runTask(s, ReceiverId, count, 100);
    return { ...task, uploadPerSecond, received: s.sink.received(), cpu: cpu(task.delivered), peakRssMb: peakRss(s.server.pid!) };
  } finally {
    await s.stop();
  }
}

/** Sesame's SMTP submission run, the worker delivering what is accepted meanwhile. */
async function sesameSmtp(count: number) {
  const submission = await startSubmissionServer('api,smtp,worker');
  const { s } = submission;
  try {
    const cpu = sesameMeters(s);
    const start = performance.now();
    const intake: RunResult = await submitBatch(submission, 0, count);
    const lastAt = await s.sink.waitFor(intake.requests);
    return {
      intake, deliveredPerSecond: Math.round(intake.requests / ((lastAt - start) / 1000)), received: s.sink.received(),
      cpu: cpu(intake.requests), peakRssMb: peakRss(s.server.pid!),
    };
  } finally {
    await s.stop();
  }
}

/** A row's verdict. */
const met = (ok: boolean): string => (ok ? 'met' : '**not met**');

async function main(): Promise<void> {
  requirePostfix();
  // Ctrl-C or a kill still stops the private Postfix ('exit' handlers run).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  const date = new Date().toISOString();
  console.log(`Postfix relay: ${MESSAGES} messages`);
  const postfix = await postfixRelay(MESSAGES);
  console.log(`Sesame SendEmail: ${MESSAGES} messages`);
  const send = await sesameSend(MESSAGES);
  console.log(`Sesame BatchSendEmail: a group of ${MESSAGES}`);
  const batch = await sesameBatch(MESSAGES);
  console.log(`Sesame SMTP submission: ${MESSAGES} messages`);
  const smtp = await sesameSmtp(MESSAGES);

  const ratio = (x: number, of: number): number => round2(x / of);
  const ratios = {
    send: ratio(send.deliveredPerSecond, postfix.deliveredPerSecond),
    batch: ratio(batch.deliveredPerSecond, postfix.deliveredPerSecond),
    smtp: ratio(smtp.intake.rps, postfix.intakePerSecond),
  };
  console.log(`\nSesame against Postfix — ${date} — ${machine()}`);
  console.log(`${MESSAGES} messages a run into smtp-sink on 127.0.0.2; Postfix ${execFileSync('postconf', ['-dh', 'mail_version']).toString().trim()} relaying from smtp-source (${SESSIONS} sessions, no TLS or AUTH, ${postfix.messageBytes} bytes a message, ${Object.entries(RELAY_TUNING).map(([k, v]) => `${k} ${v}`).join(', ')}); Sesame on SQLite, api and worker in one process, log level info\n`);
  console.log('| path | Sesame | Postfix, compared with | ratio | target | |');
  console.log('|---|---|---|---|---|---|');
  console.log(`| SendEmail (${SESSIONS} API clients, 5 KB template, DKIM, tracking on): delivered per second | ${send.deliveredPerSecond} | relay, end to end: ${postfix.deliveredPerSecond} | ${ratios.send} | ≥ ${TARGETS.send} | ${met(ratios.send >= TARGETS.send)} |`);
  console.log(`| BatchSendEmail to a group of ${MESSAGES}: delivered per second | ${batch.deliveredPerSecond} | relay, end to end: ${postfix.deliveredPerSecond} | ${ratios.batch} | ≥ ${TARGETS.batch} | ${met(ratios.batch >= TARGETS.batch)} |`);
  console.log(`| SMTP submission (${SESSIONS} sessions, TLS, AUTH, ${SUBMITTED_BYTES} bytes, the worker delivering): accepted per second | ${smtp.intake.rps} | smtpd intake (no TLS, no AUTH, while relaying): ${postfix.intakePerSecond} | ${ratios.smtp} | ≥ ${TARGETS.smtp} | ${met(ratios.smtp >= TARGETS.smtp)} |`);
  console.log(`| server CPU per delivered SendEmail message (ms) | ${send.cpu.cpuMsPerMessage} | every Postfix process per relayed message: ${postfix.cpu.cpuMsPerMessage} | ${ratio(send.cpu.cpuMsPerMessage, postfix.cpu.cpuMsPerMessage)} | ≤ ${TARGETS.cpuMsPerMessage} ms | ${met(send.cpu.cpuMsPerMessage <= TARGETS.cpuMsPerMessage)} |`);
  console.log(`| server peak RSS, BatchSendEmail run (MB) | ${batch.peakRssMb} | | | < ${TARGETS.batchRssMb} MB | ${met(batch.peakRssMb < TARGETS.batchRssMb)} |`);
  console.log(`\nPostfix: ${round2(postfix.intakeSeconds)} s of intake, ${round2(postfix.seconds)} s to the last message at the sink. Sesame: SendEmail accepted ${send.accept.rps} per second (p99 ${send.accept.p99} ms), ${send.errors} errors, peak RSS ${send.peakRssMb} MB; BatchSendEmail uploaded ${batch.uploadPerSecond} recipients per second, TaskStatus 10 after ${round2(batch.statusSeconds)} s; SMTP submissions delivered ${smtp.deliveredPerSecond} per second end to end (p99 of a submission ${smtp.intake.p99} ms), ${smtp.intake.errors} refused, peak RSS ${smtp.peakRssMb} MB.`);
  const cpuOf = ({ cpu: c }: { cpu: CpuUse }): string => `${c.cpuMsPerMessage} / ${c.generatorCpuMsPerMessage} / ${c.sinkCpuMsPerMessage} / ${c.kernelCpuMsPerMessage} (${Math.round(c.othersShare * 100)}%)`;
  console.log(`CPU per message, server / load generator / smtp-sink / kernel threads in ms (and other work's share of the cores meanwhile): Postfix relay ${cpuOf(postfix)} (smtp-source); SendEmail ${cpuOf(send)} (${SESSIONS} API clients); BatchSendEmail ${cpuOf(batch)} (the task's run); SMTP submission ${cpuOf(smtp)} (nodemailer, TLS; submission and delivery).`);
  const disturbed = Object.entries({ 'Postfix relay': postfix, SendEmail: send, BatchSendEmail: batch, 'SMTP submission': smtp })
    .filter(([, r]) => r.cpu.othersShare > DISTURBED).map(([name, r]) => `${name} (${Math.round(r.cpu.othersShare * 100)}%)`);
  if (disturbed.length) console.log(`**Disturbed**: other work took more than ${DISTURBED * 100}% of the cores during ${disturbed.join(', ')}; run again on a quiet machine.`);
  console.log(`Received at the sink: Postfix ${postfix.received}, SendEmail ${send.received}, BatchSendEmail ${batch.received}, SMTP ${smtp.received}.`);
  console.log(JSON.stringify({ date, machine: machine(), messages: MESSAGES, postfix, sesame: { send, batch, smtp }, ratios, targets: TARGETS }));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
