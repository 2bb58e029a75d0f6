/**
 * Bounces that are not RFC 3464 reports, read from their words: qmail's notices, the Exchange and
 * Outlook non-delivery reports sent as plain mail, and the "Undelivered Mail Returned to Sender"
 * kind from a MAILER-DAEMON or postmaster. They have no fields, so which addresses failed and why is
 * a guess from the text: the addresses the notice names that are not its sender's, ours, or the
 * original's, each with the lines that stand with it. What is recognised is data, here.
 */
import type { ParsedMail } from 'mailparser';
import type { OriginalMessage } from './original-message.js';
import { subjectOf } from './mime.js';
import { findEnhancedCode } from './report-fields.js';
import type { DsnRecipient } from './reports.js';
import { addressesIn } from './text-addresses.js';

/** How much of the text is read: a notice is a few kilobytes, and the quoted original follows it. */
export const NOTICE_TEXT_MAX = 128 * 1024;
/** How much of the quoted copy is handed on: its header is all that is read of it. */
const QUOTED_MAX = 512 * 1024;
/** A notice names its kind near its start; further down, the words may be a person's quoting one. */
const MARKER_WINDOW = 4096;
/** Recipients kept from one bounce. */
const RECIPIENTS_MAX = 100;
/** Characters of text read for one recipient, and kept as its diagnostic. */
const REASON_READ_MAX = 4000;
const DIAGNOSTIC_MAX = 500;

/** Words that open the copy of the original a notice quotes (lower case): qmail, Exim (whole, or headers only), Exchange, some gateways. */
const QUOTE_MARKERS = [
  '--- below this line is a copy of the message.',
  '------ this is a copy of the message, including all the headers. ------',
  '------ this is a copy of the message\'s headers. ------',
  'original message headers:',
  '----- original message -----',
];

/** Words that make a notice a bounce whoever sent it (lower case). */
const NOTICE_MARKERS = [
  'hi. this is the qmail-send program',
  'delivery has failed to these recipients or groups',
  'your message did not reach some or all of the intended recipients',
];

/** Subjects of a bounce from a MAILER-DAEMON or postmaster (lower case, how the subject starts). */
const BOUNCE_SUBJECTS = [
  'undelivered mail returned to sender',
  'mail delivery failed',
  'delivery status notification (failure)',
  'undeliverable:',
  'undeliverable mail',
  'returned mail:',
  'failure notice',
  'mail delivery failure',
  'delivery failure',
];

/** Local parts of the senders of bounces, and never of a recipient worth naming. */
const DAEMON_LOCALS = new Set(['mailer-daemon', 'postmaster', 'mail-daemon', 'maildaemon', 'double-bounce']);

/**
 * Words that say a failure is for good (lower case); with no code in the text, they make it 5.0.0.
 * Not "could not be delivered": a delay warning says that too ("… for 4.0 hours").
 */
const PERMANENT_WORDING = [
  'permanent error', 'permanent failure', 'failed permanently', 'permanently rejected', "i've given up",
  'user unknown', 'unknown user', 'no such user', 'does not exist', "doesn't exist", "couldn't be found",
  'could not be found', 'mailbox unavailable', 'address rejected', 'recipient rejected', 'delivery has failed',
];

/** The notice a bounce's text is, and the copy of the original it quotes after it (if it does). */
export function splitQuoted(text: string): { notice: string; quoted: string | null } {
  const head = text.slice(0, NOTICE_TEXT_MAX);
  const lower = head.toLowerCase();
  let marker = -1;
  let markerEnd = -1;
  for (const m of QUOTE_MARKERS) {
    const i = lower.indexOf(m);
    if (i >= 0 && (marker < 0 || i < marker)) { marker = i; markerEnd = i + m.length; }
  }
  if (marker >= 0) {
    // The copy starts on the line after the marker (the marker may carry more words on its line).
    const nl = text.indexOf('\n', markerEnd);
    const at = nl < 0 ? text.length : nl + 1;
    return { notice: head.slice(0, marker), quoted: text.slice(at, at + QUOTED_MAX) };
  }
  // No marker: a header block in the text, known by the Return-Path that opens it.
  const returnPath = lower.indexOf('\nreturn-path:');
  if (returnPath < 0) return { notice: head, quoted: null };
  return { notice: head.slice(0, returnPath + 1), quoted: text.slice(returnPath + 1, returnPath + 1 + QUOTED_MAX) };
}

/** Whether `mail`, whose notice text is `notice`, presents itself as a bounce. */
export function looksLikeBounce(mail: ParsedMail, notice: string): boolean {
  const opening = notice.slice(0, MARKER_WINDOW).toLowerCase();
  if (NOTICE_MARKERS.some((m) => opening.includes(m)) || saysNotDelivered(opening)) return true;
  const subject = subjectOf(mail).trim().toLowerCase();
  return BOUNCE_SUBJECTS.some((s) => subject.startsWith(s)) && fromDaemon(mail);
}

/** Outlook's newer wording: "Your message to a@example.org couldn't be delivered." on one line. */
function saysNotDelivered(opening: string): boolean {
  const i = opening.indexOf('your message to ');
  if (i < 0) return false;
  const nl = opening.indexOf('\n', i);
  const line = opening.slice(i, nl < 0 ? opening.length : nl);
  return line.includes("couldn't be delivered") || line.includes('could not be delivered');
}

/** Whether the bounce comes from a mail system: a MAILER-DAEMON or postmaster From, or a null Return-Path. */
function fromDaemon(mail: ParsedMail): boolean {
  const froms = mail.from?.value ?? [];
  if (froms.some((f) => DAEMON_LOCALS.has(localPart(f.address ?? '')))) return true;
  const returnPath = mail.headerLines.find((l) => l.key === 'return-path')?.line ?? '';
  return /^return-path:\s*<\s*>\s*$/i.test(returnPath.slice(0, 100));
}

/**
 * The addresses that must not be taken for failed recipients: the bounce's own sender and
 * addressee (our VERP address), the original's sender, and its Message-ID (which looks like an address).
 */
export function notRecipients(mail: ParsedMail, original: OriginalMessage): Set<string> {
  const out = new Set<string>();
  for (const field of [mail.from, mail.to, mail.cc, mail.replyTo]) {
    for (const o of Array.isArray(field) ? field : field ? [field] : []) {
      for (const e of o.value) for (const b of e.group ?? [e]) if (b.address) out.add(b.address.toLowerCase());
    }
  }
  for (const a of [original.returnPath, ...(original.from ?? '').split(', ')]) if (a) out.add(a);
  if (original.messageId) out.add(original.messageId.replace(/^<|>$/g, '').toLowerCase());
  return out;
}

/**
 * The failed recipients a notice names. A recipient's reason is what stands with its address in
 * each paragraph that names it: from its first mention (from the paragraph's start if it is the
 * first address there) to the first mention of another recipient. Its status is the first
 * enhanced code there; else, with one recipient, the first in the whole notice; else 5.0.0 if the
 * notice's words say the failure is for good; else ''.
 */
export function bounceRecipients(notice: string, exclude: ReadonlySet<string>): DsnRecipient[] {
  const reasons = new Map<string, string[]>();
  const mentions = addressesIn(notice).filter((m) => !exclude.has(m.address) && !DAEMON_LOCALS.has(localPart(m.address)));
  let m = 0;
  for (const [start, end] of paragraphs(notice)) {
    const here: { address: string; start: number }[] = [];
    for (; m < mentions.length && mentions[m].start < end; m++) {
      const mention = mentions[m];
      if (!here.some((h) => h.address === mention.address)) here.push({ address: mention.address, start: here.length ? mention.start : start });
    }
    here.forEach((h, i) => {
      if (!reasons.has(h.address)) {
        if (reasons.size >= RECIPIENTS_MAX) return;
        reasons.set(h.address, []);
      }
      const until = Math.min(i + 1 < here.length ? here[i + 1].start : end, h.start + REASON_READ_MAX);
      reasons.get(h.address)!.push(notice.slice(h.start, until));
    });
  }
  const lower = notice.toLowerCase();
  const permanent = PERMANENT_WORDING.some((w) => lower.includes(w));
  return [...reasons].map(([address, parts]) => {
    const reason = parts.join('\n').slice(0, REASON_READ_MAX);
    const code = findEnhancedCode(reason) ?? (reasons.size === 1 ? findEnhancedCode(notice) : null);
    return {
      action: 'failed',
      status: code ?? (permanent ? '5.0.0' : ''),
      diagnostic: reason.replace(/\s+/g, ' ').trim().slice(0, DIAGNOSTIC_MAX),
      finalRecipient: address,
      originalRecipient: null,
      remoteMta: null,
    };
  });
}

/** The paragraphs of `text` (runs of lines that are not blank), as [start, end) offsets. */
function paragraphs(text: string): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  for (let at = 0; at <= text.length;) {
    let nl = text.indexOf('\n', at);
    if (nl < 0) nl = text.length;
    const blank = text.slice(at, nl).trim() === '';
    if (blank && start >= 0) { out.push([start, at]); start = -1; }
    if (!blank && start < 0) start = at;
    at = nl + 1;
  }
  if (start >= 0) out.push([start, text.length]);
  return out;
}

function localPart(address: string): string {
  const at = address.lastIndexOf('@');
  return (at < 0 ? address : address.slice(0, at)).toLowerCase();
}
