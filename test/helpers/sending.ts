/**
 * Everything a sending test needs, started together: dnsmasq, Sesame (every role) resolving
 * through it, a verified sender domain with a sender address and an approved template, and
 * scripted MX hosts for recipient domains on 127.0.0.2 and 127.0.0.3 (one port).
 */
import { authenticate } from 'mailauth';
import { simpleParser, type ParsedMail } from 'mailparser';
import { startTestAppWithDns, type DnsTestApp, type StoreKind } from './app.js';
import { DomainPublisher } from './dns.js';
import { freePort, startMx, type TestMx } from './mx.js';
import { b64, sdkClient, type Caller } from './sdk.js';

/** The sending setup. */
export interface SendingFixture {
  t: DnsTestApp;
  call: Caller;
  domains: DomainPublisher;
  mx1: TestMx;
  mx2: TestMx;
  templateId: number;
  sender: string;
  /** DNS answers for mailauth, from the test's own DNS server. */
  verifyDkim(raw: Buffer): Promise<{ result: string; domain: string; algorithm: string }[]>;
  stop(): Promise<void>;
}

/** Domain names of the fixture. */
export const SENDER_DOMAIN = 'mail.shop.test';
export const RECIPIENT_DOMAIN = 'dest.test';
/** Words in the greeting of the fixture's MX hosts. */
export const MX_BANNER = 'internal mail relay 4f1c';

/**
 * Starts the whole setup; `extra` settings go to Sesame (a function gets the MX port). The test MX
 * hosts are on loopback, so private networks are allowed unless `extra` says otherwise.
 */
export async function startSending(store: StoreKind, extra: Record<string, string> | ((port: number) => Record<string, string>) = {}): Promise<SendingFixture> {
  const port = await freePort();
  // Greetings a test can look for where they must not appear (DeliverMessage, say).
  const mx1 = await startMx('127.0.0.2', port, { kind: 'accept' }, { banner: `${MX_BANNER} (mx1)` });
  const mx2 = await startMx('127.0.0.3', port, { kind: 'accept' }, { banner: `${MX_BANNER} (mx2)` });
  let t: DnsTestApp | undefined;
  let call: Caller;
  let domains: DomainPublisher;
  let templateId: number;
  const sender = `news@${SENDER_DOMAIN}`;
  try {
    const settings = typeof extra === 'function' ? extra(port) : extra;
    t = await startTestAppWithDns(store, { SESAME_OUTBOUND_PORT: String(port), SESAME_ALLOW_PRIVATE_NETWORKS: 'true', ...settings }, ['api', 'worker', 'smtp']);
    call = sdkClient('v4:TC3', t.endpoint, t.creds);
    domains = new DomainPublisher(t.dns);
    domains.extra = {
      mx: [{ name: RECIPIENT_DOMAIN, host: 'mx1.dest.test', priority: 10 }, { name: RECIPIENT_DOMAIN, host: 'mx2.dest.test', priority: 20 }],
      a: [{ name: 'mx1.dest.test', address: '127.0.0.2' }, { name: 'mx2.dest.test', address: '127.0.0.3' }],
    };
    await domains.verified(call, SENDER_DOMAIN);
    await call('CreateEmailAddress', { EmailAddress: sender, EmailSenderName: 'Shop News' });
    templateId = (await call('CreateEmailTemplate', {
      TemplateName: 'welcome',
      TemplateContent: { Html: b64('<html><body><p>Hello {{name}}, your code is <b>{{code}}</b>.</p></body></html>'), Text: b64('Hello {{name}}, your code is {{code}}.') },
    })).TemplateID;
  } catch (e) {
    // Nothing started here outlives a setup that failed.
    await t?.stop();
    await mx1.stop();
    await mx2.stop();
    throw e;
  }
  const app = t;
  const resolver = async (name: string, rr: string): Promise<unknown> => {
    const { promises: dns } = await import('node:dns');
    const r = new dns.Resolver();
    r.setServers([app.dns.address]);
    if (rr === 'TXT') return r.resolveTxt(name);
    if (rr === 'MX') return r.resolveMx(name);
    if (rr === 'A') return r.resolve4(name);
    if (rr === 'AAAA') return r.resolve6(name);
    throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  };
  return {
    t: app, call, domains, mx1, mx2, templateId, sender,
    async verifyDkim(raw) {
      const res = await authenticate(raw, { resolver: resolver as never, ip: '127.0.0.1', helo: 'mta.sesame.test', sender: 'x@mail.shop.test', mta: 'mx.dest.test' });
      // mailauth reports the algorithm as `algo` at run time (its typings say `algorithm`).
      return res.dkim.results.map((r) => ({ result: r.status.result, domain: r.signingDomain ?? '', algorithm: (r as { algo?: string }).algo ?? r.algorithm ?? '' }));
    },
    async stop() {
      await app.stop();
      await mx1.stop();
      await mx2.stop();
    },
  };
}

/** Waits until `check` passes (polling the store through the API), or fails after the timeout. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 20_000, what = 'the condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Resolves with `p`'s value, or 'timeout' after `ms` (a deadline for something awaited, not a sleep). */
export function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), ms); })]).finally(() => clearTimeout(timer));
}

/**
 * Makes every delivery waiting for a retry due now and wakes the worker (time travel past the retry
 * schedule). Deliveries a worker holds are left alone: making them due would fake a lapsed lease.
 */
export async function retryNow(f: SendingFixture): Promise<void> {
  await f.t.app.services.db.run('UPDATE deliveries SET next_attempt_at = ? WHERE next_attempt_at IS NOT NULL AND lease_owner IS NULL', [Date.now()]);
  f.t.app.services.accepted.notify();
}

/** A batch task as ListSendTasks shows it. */
export type Task = { TaskId: number; TaskStatus: number; RequestCount: number; SendCount: number; CacheCount: number; ErrMsg: string; CycleParam?: unknown };

/** The task as ListSendTasks shows it. */
export async function taskOf(f: SendingFixture, id: number): Promise<Task> {
  const r = await f.call('ListSendTasks', { Offset: 0, Limit: 100 });
  const t = r.Data.find((x) => x.TaskId === id);
  if (!t) throw new Error(`task ${id} is not listed`);
  return t;
}

/** Waits until the task's state passes `done`. */
export function taskWhen(f: SendingFixture, id: number, done: (t: Task) => boolean, timeoutMs = 60_000): Promise<Task> {
  let last: Task | undefined;
  return eventually(async () => {
    last = await taskOf(f, id);
    return done(last) ? last : undefined;
  }, timeoutMs, `task ${id} to reach the state awaited`).catch((e: Error) => { throw new Error(`${e.message}; last seen: ${JSON.stringify(last)}`); });
}

/** Time travel: the task is due now (its planned time has come), and the runner is told. Answers the time it was made due at. */
export async function dueNow(f: SendingFixture, id: number): Promise<number> {
  const now = Date.now();
  await f.t.app.services.db.run('UPDATE send_tasks SET next_run_at = ? WHERE id = ?', [now, id]);
  f.t.app.services.taskChanged.notify();
  return now;
}

/** The statuses of one message, once `done` says they are what the test waits for. */
export async function statusesOf(f: SendingFixture, messageId: string, done: (s: { DeliverStatus: number }[]) => boolean, timeoutMs = 20_000) {
  const day = new Date().toISOString().slice(0, 10);
  let last: unknown = null;
  try {
    return await eventually(async () => {
      const r = await f.call('GetSendEmailStatus', { RequestDate: day, Offset: 0, Limit: 100, MessageId: messageId });
      last = r.EmailStatusList;
      return r.EmailStatusList.length > 0 && done(r.EmailStatusList) ? r.EmailStatusList : undefined;
    }, timeoutMs, `the statuses of ${messageId}`);
  } catch (e) {
    throw new Error(`${(e as Error).message}; last seen: ${JSON.stringify(last)}`);
  }
}

/** The header names the first DKIM-Signature of `raw` covers (its h= tag), in order. */
export function signedHeaderNames(raw: Buffer): string[] {
  const field = /^DKIM-Signature:((?:.*)(?:\r\n[ \t].*)*)/im.exec(raw.toString('latin1'))?.[1] ?? '';
  const h = /(?:^|;)\s*h=([^;]+)/.exec(field.replace(/\r\n/g, ''))?.[1] ?? '';
  return h.split(':').map((name) => name.trim().toLowerCase()).filter(Boolean);
}

/** `raw` with `field` (a whole header line) put first, or last, in its header. */
export function withHeader(raw: Buffer, field: string, where: 'first' | 'last' = 'first'): Buffer {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  return Buffer.from(where === 'first' ? `${field}\r\n${text}` : `${text.slice(0, end)}\r\n${field}${text.slice(end)}`, 'latin1');
}

/** A header's value as written (mailparser interprets List-Unsubscribe into an object). */
export function rawHeader(mail: ParsedMail, name: string): string {
  const line = mail.headerLines.find((h) => h.key === name)?.line ?? '';
  return line.slice(line.indexOf(':') + 1).replace(/\r?\n\s+/g, ' ').trim();
}

/** The first mail to `to` at the first MX since its `from`th, parsed, once it has come. */
export async function receivedMail(f: SendingFixture, to: string, from: number): Promise<ParsedMail> {
  const got = await eventually(async () => f.mx1.received.slice(from).find((g) => g.to.includes(to)), 20_000, `the mail to ${to}`);
  return simpleParser(got.raw);
}

/** The first mail to `to` at the first MX since `from`, parsed, with its unsubscribe link pointed at the test server. */
export async function unsubscribeLinkFor(f: SendingFixture, to: string, from: number): Promise<{ url: string; mail: ParsedMail }> {
  const mail = await receivedMail(f, to, from);
  const url = /<(http[^>]+)>/.exec(rawHeader(mail, 'list-unsubscribe'))?.[1];
  if (!url) throw new Error(`the mail to ${to} has no unsubscribe link`);
  return { url: url.replace(/^http:\/\/[^/]+\//, f.t.url), mail };
}
