/**
 * An account suspended by the operator (`sesame account disable`, run as a process of its own
 * beside the server) on both stores: its SMTP logins are refused and its batch tasks start nothing,
 * until `sesame account enable`. (Its API requests: test/cli.test.ts.)
 */
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDateTime } from '../src/lib/time.js';
import { STORES } from './helpers/app.js';
import { runCli } from './helpers/process.js';
import { eventually, RECIPIENT_DOMAIN, startSending, type SendingFixture } from './helpers/sending.js';

const PASSWORD = 'Suspend2026pass';

describe.each(STORES)('a suspended account on %s', (store) => {
  let f: SendingFixture;
  let smtps: number;
  beforeAll(async () => {
    f = await startSending(store);
    await f.call('UpdateEmailSmtpPassWord', { EmailAddress: f.sender, Password: PASSWORD });
    smtps = f.t.app.smtpPorts!.smtps;
  }, 60_000);
  afterAll(async () => { await f?.stop(); });

  const operator = async (command: 'disable' | 'enable'): Promise<void> => {
    const r = await runCli(['account', command, '--app-id', String(f.t.creds.AppId)], f.t.env);
    expect(r.code, r.stderr).toBe(0);
  };
  /** Logs in over implicit TLS (a fresh connection each time). */
  const login = (): Promise<true> => nodemailer.createTransport({
    host: '127.0.0.1', port: smtps, secure: true, auth: { user: f.sender, pass: PASSWORD }, tls: { rejectUnauthorized: false },
  }).verify();

  /** Runs `during` with the account suspended; it is enabled again whatever happens. */
  const suspended = async (during: () => Promise<void>): Promise<void> => {
    await operator('disable');
    try {
      await during();
    } finally {
      await operator('enable');
    }
  };

  it('cannot log in over SMTP, and can again once enabled', async () => {
    await expect(login()).resolves.toBe(true);
    await suspended(async () => {
      await expect(login()).rejects.toMatchObject({ code: 'EAUTH', responseCode: 535 });
    });
    await expect(login()).resolves.toBe(true);
  });

  it('has its batch task start no run until it is enabled', async () => {
    const { ReceiverId } = await f.call('CreateReceiver', { ReceiversName: 'held back' });
    await f.call('CreateReceiverDetailWithData', { ReceiverId, Datas: [{ Email: `held@${RECIPIENT_DOMAIN}`, TemplateData: '{"name":"N","code":"C"}' }] });
    const { TaskId } = await f.call('BatchSendEmail', {
      FromEmailAddress: f.sender, ReceiverId, Subject: 'Held back', TaskType: 2,
      Template: { TemplateID: f.templateId, TemplateData: '{}' },
      TimedParam: { BeginTime: formatDateTime(Date.now() + 3_600_000, 'UTC') },
    });
    const db = f.t.app.services.db;
    const dueNow = async (): Promise<number> => {
      const now = Date.now();
      await db.run('UPDATE send_tasks SET next_run_at = ? WHERE id = ?', [now, TaskId]);
      f.t.app.services.taskChanged.notify();
      return now;
    };
    const before = f.mx1.received.length;
    await suspended(async () => {
      const asked = await dueNow();
      // The runner has looked at the task once it either began a run or put the task off.
      const seen = await eventually(async () => {
        const r = await db.get<{ status: number; runs: number; next_run_at: number | null }>('SELECT status, runs, next_run_at FROM send_tasks WHERE id = ?', [TaskId]);
        return r && (r.status !== 1 || r.runs > 0 || (r.next_run_at ?? 0) > asked) ? r : undefined;
      }, 20_000, 'the runner to look at the task');
      expect(seen).toMatchObject({ status: 1, runs: 0 });
      expect(f.mx1.received.length).toBe(before);
    });
    await dueNow();
    const [got] = (await f.mx1.waitFor(before + 1, 20_000)).slice(before);
    expect(got.to).toEqual([`held@${RECIPIENT_DOMAIN}`]);
  });
});
