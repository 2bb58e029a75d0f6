/**
 * SMTP intake benchmark on SQLite: 20 concurrent SMTP sessions (nodemailer, a connection each, TLS
 * from the first byte, AUTH PLAIN, logged in one after another) submit 5 KB messages, each to its own recipient, to the built server
 * running the api and smtp roles. Prints accepted messages per second (each `250` comes after the
 * message is committed and fsynced), submission latency, and the server's peak RSS.
 * Postfix's smtp-source would be the natural load generator, but it speaks neither AUTH nor TLS,
 * which Sesame's submission ports require. BENCH_MESSAGES (default 20000) sets the volume.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import nodemailer from 'nodemailer';
import { freePort } from '../test/helpers/mx.js';
import { summarise, type RunResult } from './load.js';
import { cpuSeconds, machine, peakRss, startSendingServer, type SendingServer } from './server.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const SESSIONS = 20;
const PASSWORD = 'Bench2026Password';
const line = 'Prices, products and news of the week, in lines of readable length for all.';
const body = `${`${line}\r\n`.repeat(66)}`;
/** About what each submitted message weighs (its body and headers). */
export const SUBMITTED_BYTES = Buffer.byteLength(body) + 150;

/** A server whose sender may submit over SMTP (implicit TLS at `smtpsPort`, AUTH PLAIN). */
export interface SubmissionServer { s: SendingServer; smtpsPort: number }

/** Starts the built server with `roles` (smtp among them) and gives the sender an SMTP password. */
export async function startSubmissionServer(roles: string): Promise<SubmissionServer> {
  const smtpsPort = await freePort();
  const s = await startSendingServer(roles, { SESAME_SMTPS_PORT: String(smtpsPort), SESAME_SMTP_PORT: String(await freePort()), SESAME_MX_PORT: String(await freePort()), SESAME_SMTP_RATE_LIMIT: '0' });
  try {
    await s.call('UpdateEmailSmtpPassWord', { EmailAddress: s.sender, Password: PASSWORD });
    return { s, smtpsPort };
  } catch (e) {
    await s.stop();
    throw e;
  }
}

/**
 * Submits `count` messages (recipients `reader<first>…`) from SESSIONS concurrent sessions and
 * resolves once every one is answered; the intake's rate and latency. The sessions log in one after
 * another, each once the one before has had its first message accepted, as a client's pool that
 * grows does: Sesame counts logins still being checked as failures of their network (a client
 * opening 20 connections and sending AUTH on each at once would be slowed, then refused).
 */
export async function submitBatch({ s, smtpsPort }: SubmissionServer, first: number, count: number): Promise<RunResult> {
  const transports = Array.from({ length: SESSIONS }, () => nodemailer.createTransport({
    pool: true, maxConnections: 1, maxMessages: Infinity,
    host: '127.0.0.1', port: smtpsPort, secure: true, auth: { user: s.sender, pass: PASSWORD }, tls: { rejectUnauthorized: false },
  }));
  const latencies: number[] = [];
  let errors = 0;
  let next = first;
  let loggedIn: Promise<void> = Promise.resolve();
  const start = performance.now();
  await Promise.all(transports.map(async (transport) => {
    const previous = loggedIn;
    let answered = (): void => {};
    loggedIn = new Promise((r) => { answered = r; });
    await previous;
    while (next < first + count) {
      const i = next++;
      const to = `reader${i}@sink.test`;
      const raw = `From: News <${s.sender}>\r\nTo: <${to}>\r\nSubject: This week, reader ${i}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}`;
      const t0 = performance.now();
      try {
        await transport.sendMail({ envelope: { from: s.sender, to: [to] }, raw });
        latencies.push(performance.now() - t0);
      } catch (e) {
        if (errors++ === 0) console.error(`first submission refused: ${(e as Error).message}`);
      }
      answered();
    }
    answered();
  }));
  const seconds = (performance.now() - start) / 1000;
  for (const t of transports) t.close();
  return summarise(latencies, errors, seconds);
}

/** Runs the SMTP intake benchmark and prints its figures. */
export async function smtpBenchmark(): Promise<{ results: Record<string, RunResult | number>; peakRssMb: number }> {
  const submission = await startSubmissionServer('api,smtp');
  const { s } = submission;
  try {
    const intake = await submitBatch(submission, 0, MESSAGES);
    const db = new Database(join(s.dir, 'sesame.db'), { readonly: true });
    const stored = (db.prepare('SELECT COUNT(*) AS n FROM deliveries').get() as { n: number }).n;
    db.close();
    const peakRssMb = peakRss(s.server.pid!);
    if (process.env.BENCH_CPU) console.log(`cpu seconds: server ${cpuSeconds(s.server.pid!)}, bench ${(process.cpuUsage().user + process.cpuUsage().system) / 1e6}`);
    console.log(`\nSesame SMTP intake benchmark — ${new Date().toISOString()} — ${machine()}`);
    console.log(`SQLite store, api and smtp roles in one process, ${SESSIONS} SMTP sessions (implicit TLS, AUTH PLAIN), ${MESSAGES} messages of ${SUBMITTED_BYTES} bytes\n`);
    console.log('| figure | value |');
    console.log('|---|---|');
    console.log(`| accepted messages per second | ${intake.rps} |`);
    console.log(`| submission latency p50 / p90 / p99 / max (ms) | ${intake.p50} / ${intake.p90} / ${intake.p99} / ${intake.max} |`);
    console.log(`| refused or failed | ${intake.errors} |`);
    console.log(`| messages stored (one delivery each) | ${stored} |`);
    console.log(`| server peak RSS (MB) | ${peakRssMb} |`);
    return { results: { intake, stored }, peakRssMb };
  } finally {
    await s.stop();
  }
}
