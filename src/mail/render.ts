/**
 * Renders one delivery: the accepted content composed into MIME for one recipient (with that
 * recipient's unsubscribe link), line endings made clean, and DKIM-signed with the domain's keys.
 */
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { escapeHtml } from '../domain/template.js';
import { unsubscribeWords } from '../domain/unsubscribe-text.js';
import type { ComposedContent, RenderableContent } from './content.js';
import { LineGuard } from '../lib/line-guard.js';
import type { TrackingTokens } from '../lib/tracking-tokens.js';
import { dkimSignatures, type DkimKey } from './dkim.js';
import { buildSync } from './mime-build.js';
import { applyTracking, planTracking } from './tracking.js';

/** A DKIM key to sign with. */
export type RenderKey = DkimKey;

/**
 * Links of the recipient's unsubscribe, when the message carries one: the web link, and a mail
 * address for clients that unsubscribe by mail (only where something receives that mail).
 */
export interface UnsubscribeLinks { url: string; mailto?: string }

/**
 * Open and click tracking of one delivery's HTML: its links go through `<base>c/<token>`, and an
 * open pixel at `<base>o/<token>` is added.
 */
export interface TrackingJob { deliveryId: number; base: string }

/** The composed, signed message for one recipient. */
export async function renderMessage(
  content: RenderableContent, keys: readonly RenderKey[], unsubscribe: UnsubscribeLinks | null,
  tracking: { job: TrackingJob; tokens: TrackingTokens } | null = null,
): Promise<Buffer> {
  // Submitted mail is the client's own, CRLF throughout (the submission listener's line guard saw
  // to it): it is only signed, never rewritten (not even for tracking).
  if (content.kind === 'submitted') return sign(Buffer.from(content.raw, 'base64'), content.domain, keys);
  return sign(normaliseLineEndings(await compose(content, unsubscribe, tracking)), content.domain, keys);
}

/** The HTML with its links tracked and the open pixel added (before the unsubscribe footer, which stays as it is). */
function tracked(html: string, t: { job: TrackingJob; tokens: TrackingTokens }): string {
  const plan = planTracking(html, () => false);
  const { deliveryId, base } = t.job;
  return applyTracking(plan, (i) => `${base}c/${t.tokens.signClick(deliveryId, i, plan.links[i])}`, `${base}o/${t.tokens.signOpen(deliveryId)}`);
}

function compose(c: ComposedContent, unsubscribe: UnsubscribeLinks | null, tracking: { job: TrackingJob; tokens: TrackingTokens } | null): Promise<Buffer> {
  const headers: Mail.Headers = c.headers.map(([key, value]) => ({ key, value }));
  let { html, text } = c;
  if (tracking && html !== null) html = tracked(html, tracking);
  if (unsubscribe) {
    const words = unsubscribeWords(c.unsubscribeLanguage);
    if (html !== null) html = withHtmlFooter(html, `<p style="font-size:12px;color:#888888;text-align:center"><a href="${escapeHtml(unsubscribe.url)}" style="color:#888888">${escapeHtml(words.link)}</a></p>`);
    if (text !== null) text = `${text}\n\n${words.link}: ${unsubscribe.url}\n`;
    // RFC 8058: the HTTPS link is the one-click one; mailto for clients that prefer mail.
    headers.push({ key: 'List-Unsubscribe', value: unsubscribe.mailto ? `<${unsubscribe.url}>, <${unsubscribe.mailto}>` : `<${unsubscribe.url}>` });
    headers.push({ key: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click' });
  }
  const composer = new MailComposer({
    from: { name: c.from.name, address: c.from.address },
    to: c.to,
    cc: c.cc,
    replyTo: c.replyTo ?? undefined,
    subject: c.subject,
    date: new Date(c.date),
    messageId: c.messageIdHeader,
    html: html ?? undefined,
    text: text ?? undefined,
    headers,
    attachments: c.attachments.map((a) => ({ filename: a.filename, content: a.base64, encoding: 'base64', contentType: a.contentType })),
    textEncoding: 'quoted-printable',
    // Content comes only from what was accepted: never from files or URLs.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  // Every part is in memory: written at once (mime-build.ts), the same bytes as nodemailer's streams.
  const root = composer.compile();
  const message = buildSync(root);
  if (message) return Promise.resolve(message);
  return new Promise((resolve, reject) => {
    root.build((err, built) => (err ? reject(err) : resolve(built)));
  });
}

/** Puts the footer before `</body>` when there is one, else at the end. */
function withHtmlFooter(html: string, footer: string): string {
  const i = html.search(/<\/body\s*>/i);
  return i < 0 ? `${html}\n${footer}` : `${html.slice(0, i)}${footer}${html.slice(i)}`;
}

/** Every line break becomes CRLF: no lone CR or LF reaches the wire, so the DKIM body hash holds. */
export function normaliseLineEndings(b: Buffer): Buffer {
  const clean = new LineGuard().feed(b) && b[b.length - 1] !== 0x0d;
  return clean ? b : Buffer.from(b.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}

function sign(message: Buffer, domain: string, keys: readonly RenderKey[]): Buffer {
  if (keys.length === 0) return message;
  return Buffer.concat([dkimSignatures(message, domain, keys), message]);
}
