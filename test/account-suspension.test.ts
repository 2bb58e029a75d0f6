/**
 * An account suspended by the operator (`sesame account disable`, run as a process of its own
 * beside the server) on both stores: its SMTP logins are refused, its batch tasks start nothing and
 * its queued mail waits, until `sesame account enable`. (Its API requests: test/cli.test.ts.)
 */
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDateTime } from '../src/lib/time.js';
import { STORES } from './helpers/app.js';
import { runCli } from './helpers/process.js';
import { SmtpTalk } from './helpers/smtp-talk.js';
import { dueNow, eventually, RECIPIENT_DOMAIN, retryNow, startSending, statusesOf, type SendingFixture } from './helpers/sending.js';

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

  it('sends no more over an SMTP session that logged in before the suspension', async () => {
    const s = await SmtpTalk.open(smtps, { tls: true });
    try {
      expect(await s.cmd('EHLO client.test')).toMatch(/^250/);
      expect(await s.auth(f.sender, PASSWORD)).toMatch(/^235/);
      expect(await s.cmd(`MAIL FROM:<${f.sender}>`)).toMatch(/^250/);
      expect(await s.cmd('RSET')).toMatch(/^250/);
      await suspended(async () => {
        const refused = await s.cmd(`MAIL FROM:<${f.sender}>`);
        expect(refused).toMatch(/^554 5\.0\.0 .*AuthFailure\.UnauthorizedOperation/);
      });
      expect(await s.cmd(`MAIL FROM:<${f.sender}>`)).toMatch(/^250/);
    } finally {
      s.end();
    }
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
    const before = f.mx1.received.length;
    await suspended(async () => {
      const asked = await dueNow(f, TaskId);
      // The runner has looked at the task once it either began a run or put the task off.
      const seen = await eventually(async () => {
        const r = await db.get<{ status: number; runs: number; next_run_at: number | null }>('SELECT status, runs, next_run_at FROM send_tasks WHERE id = ?', [TaskId]);
        return r && (r.status !== 1 || r.runs > 0 || (r.next_run_at ?? 0) > asked) ? r : undefined;
      }, 20_000, 'the runner to look at the task');
      expect(seen).toMatchObject({ status: 1, runs: 0 });
      expect(f.mx1.received.length).toBe(before);
    });
    await dueNow(f, TaskId);
    const [got] = (await f.mx1.waitFor(before + 1, 20_000)).slice(before);
    expect(got.to).toEqual([`held@${RECIPIENT_DOMAIN}`]);
  });

  it('has its queued mail wait (deferred, nothing sent) until it is enabled', async () => {
    const to = `queued@${RECIPIENT_DOMAIN}`;
    const db = f.t.app.services.db;
    // Read from the store: the suspended account's own API calls are refused.
    const row = async () => {
      const r = await db.get<{ deliver_status: number; deliver_message: string; attempts: number; lease_owner: number | null; next_attempt_at: number | null }>(
        'SELECT deliver_status, deliver_message, attempts, lease_owner, next_attempt_at FROM deliveries WHERE recipient = ?', [to]);
      return { ...r!, attempts: Number(r!.attempts), next_attempt_at: r!.next_attempt_at === null ? null : Number(r!.next_attempt_at) };
    };
    /** The row once no worker holds it and it is final or its next attempt is still to come (no claim can be under way). */
    const settled = (what: string, also: (r: Awaited<ReturnType<typeof row>>) => boolean = () => true) => eventually(async () => {
      const r = await row();
      return r.lease_owner === null && (r.next_attempt_at === null || r.next_attempt_at > Date.now()) && also(r) ? r : undefined;
    }, 20_000, what);
    // Accepted while active; the MX defers it, so it is still queued when the account is suspended.
    for (const mx of [f.mx1, f.mx2]) mx.mode = { kind: 'defer' };
    const { MessageId } = await f.call('SendEmail', {
      FromEmailAddress: f.sender, Destination: [to], Subject: 'Queued', Template: { TemplateID: f.templateId, TemplateData: '{"name":"N","code":"C"}' },
    });
    await statusesOf(f, MessageId, (l) => l[0].DeliverStatus === 8);
    try {
      await suspended(async () => {
        // Retried until an attempt finds the account suspended (the worker trusts its last look for a few seconds).
        await eventually(async () => {
          await retryNow(f);
          return (await row()).deliver_message.includes('suspended');
        }, 20_000, 'an attempt that finds the account suspended');
        const seen = await settled('the suspended attempt to be recorded');
        const received = f.mx1.received.length + f.mx2.received.length;
        const connections = f.mx1.connections + f.mx2.connections;
        // The MX hosts would now take it: only the suspension can hold it back.
        for (const mx of [f.mx1, f.mx2]) mx.mode = { kind: 'accept' };
        await retryNow(f);
        const after = await settled('another attempt to be recorded', (r) => r.attempts > seen.attempts);
        expect(after).toMatchObject({ deliver_status: 8, deliver_message: expect.stringMatching(/^451 4\.7\.1 Not sent: the sending account is suspended/) });
        expect(f.mx1.received.length + f.mx2.received.length).toBe(received);
        expect(f.mx1.connections + f.mx2.connections).toBe(connections);
      });
      await eventually(async () => {
        await retryNow(f);
        return (await row()).deliver_status === 1;
      }, 20_000, 'delivery once enabled');
      const copies = [...f.mx1.received, ...f.mx2.received].filter((r) => r.to.includes(to));
      expect(copies).toHaveLength(1);
    } finally {
      for (const mx of [f.mx1, f.mx2]) mx.mode = { kind: 'accept' };
    }
  });
});
