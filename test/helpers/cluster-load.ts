/**
 * The load a cluster test puts through Sesame: a verified sender domain, a template, a webhook, a
 * batch task to a recipient group, and single messages through the API processes (the official
 * SDK's SendEmail) and through SMTP submission (nodemailer, implicit TLS, AUTH). Recipients are
 * unique per message (`a…` by API, `s…` by SMTP, `b…` in the group), so the sink's count per
 * recipient tells deliveries and duplicates apart. A request that fails is sent again to a fresh
 * recipient (`…r<try>`): one that failed may still have been accepted (a commit whose answer was
 * lost), and only what was acknowledged is owed.
 */
import nodemailer from 'nodemailer';
import type { Cluster } from './cluster.js';
import { DomainPublisher, type DnsServer } from './dns.js';
import { b64, extensionCall, sdkClient, type Caller } from './sdk.js';

export const LOAD_SENDER = 'news@mail.cluster.test';
export const LOAD_DOMAIN = 'dest.test';
const SMTP_PASSWORD = 'Cluster2026pw';

/** What a run sends. */
export interface LoadPlan {
  /** Messages through each API process (SendEmail, one recipient each). */
  perApi: number;
  /** Messages through SMTP submission. */
  smtp: number;
  /** Recipients of the batch task's group. */
  batch: number;
}

/** What the load knows after sending. */
export interface LoadResult {
  /** Recipients whose message was acknowledged (a MessageId, or 250 after DATA). */
  acknowledged: string[];
  /** Requests that failed and were sent again (to a fresh recipient). */
  retried: number;
  /** The first few failures, for the report. */
  failures: string[];
  /** Seconds until the last acknowledgement, through the API and through SMTP. */
  seconds: { api: number; smtp: number };
}

/** Verifies the sender domain, adds the sender (with an SMTP password), a template, and the webhook; the template's id. */
export async function setUpAccount(call: Caller, endpoint: string, creds: { SecretId: string; SecretKey: string }, dns: DnsServer, hookUrl: string): Promise<number> {
  const domains = new DomainPublisher(dns);
  domains.extra = { mx: [{ name: LOAD_DOMAIN, host: 'mx.dest.test' }], a: [{ name: 'mx.dest.test', address: '127.0.0.2' }] };
  await domains.verified(call, 'mail.cluster.test');
  await call('CreateEmailAddress', { EmailAddress: LOAD_SENDER });
  await call('UpdateEmailSmtpPassWord', { EmailAddress: LOAD_SENDER, Password: SMTP_PASSWORD });
  await extensionCall(endpoint, creds, 'SetEmailCallback', { CallbackUrl: hookUrl });
  return (await call('CreateEmailTemplate', { TemplateName: 'cluster', TemplateContent: { Text: b64('Hello {{n}}') } })).TemplateID;
}

/** Uploads the group (`b0…`) and starts the batch task to it; its TaskId. */
export async function startBatch(call: Caller, templateId: number, recipients: number): Promise<number> {
  const { ReceiverId } = await call('CreateReceiver', { ReceiversName: 'cluster' });
  await call('CreateReceiverDetailWithData', {
    ReceiverId, Datas: Array.from({ length: recipients }, (_, i) => ({ Email: `b${i}@${LOAD_DOMAIN}`, TemplateData: `{"n":"${i}"}` })),
  });
  const r = await call('BatchSendEmail', {
    FromEmailAddress: LOAD_SENDER, ReceiverId, Subject: 'Batch {{n}}', TaskType: 1, Template: { TemplateID: templateId, TemplateData: '{}' },
  });
  return r.TaskId;
}

/** Sends the plan's single messages through every API process and the SMTP process at once, `clients` at a time each. */
export async function sendLoad(cluster: Cluster, apis: string[], smtp: { name: string; port: number }, templateId: number, plan: LoadPlan, clients = 8): Promise<LoadResult> {
  const result: LoadResult = { acknowledged: [], retried: 0, failures: [], seconds: { api: 0, smtp: 0 } };
  const t0 = performance.now();
  const took = (): number => Math.round((performance.now() - t0) / 100) / 10;
  const fail = (what: string, e: unknown): void => {
    result.retried++;
    if (result.failures.length < 5) result.failures.push(`${what}: ${(e as Error).message ?? String(e)}`);
  };
  const creds = cluster.creds();
  const viaApi = apis.map(async (name, k) => {
    const call = sdkClient('v4:TC3', `127.0.0.1:${cluster.member(name).served.port}`, creds);
    let next = 0;
    await Promise.all(Array.from({ length: clients }, async () => {
      while (next < plan.perApi) {
        const i = next++;
        for (let attempt = 0; ; attempt++) {
          const to = `a${k}x${i}${attempt ? `r${attempt}` : ''}@${LOAD_DOMAIN}`;
          try {
            await call('SendEmail', { FromEmailAddress: LOAD_SENDER, Destination: [to], Subject: `m${i}`, Template: { TemplateID: templateId, TemplateData: `{"n":"${i}"}` } });
            result.acknowledged.push(to);
            break;
          } catch (e) {
            fail(`SendEmail via ${name}`, e);
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      }
    }));
  });
  const viaSmtp = (async () => {
    let next = 0;
    // One session at a time logs in (a burst of parallel logins from one address is throttled).
    const transports = Array.from({ length: clients }, () => nodemailer.createTransport({
      pool: true, maxConnections: 1, maxMessages: Infinity,
      host: '127.0.0.1', port: smtp.port, secure: true, auth: { user: LOAD_SENDER, pass: SMTP_PASSWORD }, tls: { rejectUnauthorized: false },
    }));
    try {
      await Promise.all(transports.map(async (transport) => {
        while (next < plan.smtp) {
          const i = next++;
          for (let attempt = 0; ; attempt++) {
            const to = `s${i}${attempt ? `r${attempt}` : ''}@${LOAD_DOMAIN}`;
            const raw = `From: <${LOAD_SENDER}>\r\nTo: <${to}>\r\nSubject: s${i}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHello ${i}\r\n`;
            try {
              await transport.sendMail({ envelope: { from: LOAD_SENDER, to: [to] }, raw });
              result.acknowledged.push(to);
              break;
            } catch (e) {
              fail(`SMTP via ${smtp.name}`, e);
              await new Promise((r) => setTimeout(r, 200));
            }
          }
        }
      }));
    } finally {
      for (const t of transports) t.close();
    }
  })();
  await Promise.all([Promise.all(viaApi).then(() => { result.seconds.api = took(); }), viaSmtp.then(() => { result.seconds.smtp = took(); })]);
  return result;
}

/** The batch group's recipients. */
export function batchRecipients(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `b${i}@${LOAD_DOMAIN}`);
}
