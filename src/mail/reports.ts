/**
 * What arrives at the bounce MX, read: a delivery status notification (RFC 3464), a complaint in
 * the Abuse Reporting Format (RFC 5965), a bounce that is neither but says what it is in words, an
 * auto-reply, or something Sesame does not act on.
 *
 * The content type decides first (RFC 6522 §3): a multipart/report is what its report-type says,
 * even when it also carries `Auto-Submitted: auto-replied`, as Postfix's own notices do (RFC 3834
 * §5 asks every automatic message for one). Only a message that is no report is read for the words
 * of a bounce, and only one that is no bounce for the marks of an auto-reply.
 *
 * Never throws and never waits for ever: mail from anyone is input, and what cannot be read is
 * `unrecognised`, with the reason.
 */
import type { Attachment, ParsedMail, StructuredHeader } from 'mailparser';
import { parseMime, partType, subjectOf } from './mime.js';
import { NO_ORIGINAL, ORIGINAL_TYPES, readOriginal, type OriginalMessage } from './original-message.js';
import { bounceRecipients, looksLikeBounce, notRecipients, splitQuoted } from './plain-bounce.js';
import { bareAddress, FIELD_TEXT_MAX, FIELD_VALUE_MAX, findEnhancedCode, firstField, readFieldGroups, statusCode, untyped, type FieldGroup } from './report-fields.js';

export type { OriginalMessage } from './original-message.js';

/** One recipient of a delivery status notification (RFC 3464 §2.3). */
export interface DsnRecipient {
  /** RFC 3464 Action, lower case: failed | delayed | delivered | relayed | expanded ('' if absent and the status does not tell). */
  action: string;
  /** Status code like '5.1.1' ('' if absent). */
  status: string;
  /** Diagnostic-Code text without the 'smtp;' type prefix, '' if absent. */
  diagnostic: string;
  /** Final-Recipient address without the 'rfc822;' prefix, lower-cased, or null. */
  finalRecipient: string | null;
  /** Original-Recipient address, the same way, or null. */
  originalRecipient: string | null;
  /** Remote-MTA without its 'dns;' type prefix, or null. */
  remoteMta: string | null;
}

/** What an inbound message is. */
export type InboundReport =
  | {
    kind: 'dsn';
    recipients: DsnRecipient[];
    original: OriginalMessage;
    /** True for non-RFC-3464 bounces recognised from their text. */
    bestEffort: boolean;
  }
  | {
    kind: 'arf';
    /** Feedback-Type, lower case ('abuse', 'fraud', …; '' if the report left it out). */
    feedbackType: string;
    userAgent: string | null;
    sourceIp: string | null;
    /** Arrival-Date as ms, or null. */
    arrivalDate: number | null;
    /** Original-Mail-From, without `<>`, lower-cased. */
    originalMailFrom: string | null;
    /** Every Original-Rcpt-To, the same way. */
    originalRcptTo: string[];
    /** The first Reported-Domain, lower-cased. */
    reportedDomain: string | null;
    original: OriginalMessage;
  }
  | { kind: 'auto-reply' }
  | { kind: 'unrecognised'; reason: string };

/** Recipients kept from one notification. */
export const DSN_RECIPIENTS_MAX = 100;

/**
 * A parse that has not answered by then never will: it is given up. mailparser's pass is linear
 * (about a second for 10 MB of short lines); this is for the bug that leaves its promise unsettled.
 */
const PARSE_DEADLINE_MS = 30_000;

/** Report parts whose fields are a delivery status (RFC 3464 §2.1, RFC 6533 §6 for the UTF-8 form). */
const STATUS_TYPES: ReadonlySet<string> = new Set(['message/delivery-status', 'message/global-delivery-status']);
const FEEDBACK_TYPE = 'message/feedback-report';

/** Marks of an auto-reply (RFC 3834 §5; the rest are customs older than it). */
const AUTO_PRECEDENCE: ReadonlySet<string> = new Set(['auto_reply', 'bulk', 'junk']);
const AUTO_HEADERS = ['x-autoreply', 'x-autorespond'];
const AUTO_SUBJECTS = ['auto:', 'automatic reply', 'out of office'];

/** Reads one inbound message (raw RFC 5322 bytes, up to 10 MB). */
export async function parseInboundReport(raw: Buffer): Promise<InboundReport> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<InboundReport>((resolve) => {
    timer = setTimeout(() => resolve(unrecognised(`not read within ${PARSE_DEADLINE_MS} ms`)), PARSE_DEADLINE_MS);
    timer.unref();
  });
  try {
    return await Promise.race([classify(raw), late]);
  } catch (err) {
    // Not the input's fault (that is answered below): a fault of this code, kept apart to be seen.
    return unrecognised(`${INTERNAL_FAULT}: ${messageOf(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** How the reason of an `unrecognised` starts when this code, not the message, is at fault. */
export const INTERNAL_FAULT = 'reading the message failed';

async function classify(raw: Buffer): Promise<InboundReport> {
  let mail: ParsedMail;
  try {
    mail = await parseMime(raw);
  } catch (err) {
    return unrecognised(`the message could not be parsed: ${messageOf(err)}`);
  }
  const type = reportType(mail);
  if (type === 'delivery-status') return deliveryReport(mail);
  if (type === 'feedback-report') return feedbackReport(mail);
  const { notice, quoted } = splitQuoted(mail.text ?? '');
  if (looksLikeBounce(mail, notice)) {
    const original = await originalOf(mail, quoted);
    const recipients = bounceRecipients(notice, notRecipients(mail, original));
    if (recipients.length === 0) return unrecognised('a bounce that names no failed recipient in its text');
    return { kind: 'dsn', recipients, original, bestEffort: true };
  }
  if (isAutoReply(mail)) return { kind: 'auto-reply' };
  return unrecognised('no delivery or feedback report, no bounce and no auto-reply');
}

/**
 * The report-type of a multipart/report, lower case: `Multipart/Report; Report-Type="Delivery-Status"`
 * is one too (MIME types and parameter names are case-insensitive, RFC 2045 §5.1; the value is a
 * token compared without case, RFC 6522 §3). One that leaves it out is what its parts say it is.
 * null for anything else.
 */
function reportType(mail: ParsedMail): string | null {
  const ct = mail.headers.get('content-type');
  if (!isStructured(ct) || ct.value.trim().toLowerCase() !== 'multipart/report') return null;
  const declared = (ct.params['report-type'] ?? '').trim().toLowerCase();
  if (declared !== '') return declared;
  if (mail.attachments.some((a) => STATUS_TYPES.has(partType(a)))) return 'delivery-status';
  return mail.attachments.some((a) => partType(a) === FEEDBACK_TYPE) ? 'feedback-report' : '';
}

/** A delivery status notification: one recipient per per-recipient group of its status parts. */
async function deliveryReport(mail: ParsedMail): Promise<InboundReport> {
  const recipients: DsnRecipient[] = [];
  for (const part of mail.attachments) {
    if (!STATUS_TYPES.has(partType(part))) continue;
    for (const group of readFieldGroups(partText(part))) {
      if (recipients.length >= DSN_RECIPIENTS_MAX) break;
      // The per-message group names no recipient; a report that runs the two together with no
      // blank line between still has its recipient read.
      if (group.has('final-recipient') || group.has('original-recipient') || group.has('action')) recipients.push(recipientOf(group));
    }
  }
  const { notice, quoted } = splitQuoted(mail.text ?? '');
  const original = await originalOf(mail, quoted);
  if (recipients.length > 0) return { kind: 'dsn', recipients, original, bestEffort: false };
  // A report without the part it exists for: its notice may still say who failed.
  const fromText = bounceRecipients(notice, notRecipients(mail, original));
  if (fromText.length > 0) return { kind: 'dsn', recipients: fromText, original, bestEffort: true };
  return unrecognised('a delivery-status report with no recipient in it');
}

function recipientOf(group: FieldGroup): DsnRecipient {
  const diagnostic = untyped(firstField(group, 'diagnostic-code') ?? '');
  // A Status that is missing or no code: the one the remote server's reply gives, if it gives one.
  const status = statusCode(firstField(group, 'status')) || findEnhancedCode(diagnostic) || '';
  const remoteMta = untyped(firstField(group, 'remote-mta') ?? '');
  return {
    action: firstToken(firstField(group, 'action')) || actionOf(status),
    status,
    diagnostic,
    finalRecipient: bareAddress(untypedOrNull(firstField(group, 'final-recipient'))),
    originalRecipient: bareAddress(untypedOrNull(firstField(group, 'original-recipient'))),
    remoteMta: remoteMta === '' ? null : remoteMta,
  };
}

/** The action a status's class implies (RFC 3463 §3.1), for a report that left Action out. */
function actionOf(status: string): string {
  return status[0] === '5' ? 'failed' : status[0] === '4' ? 'delayed' : status[0] === '2' ? 'delivered' : '';
}

/** A complaint (RFC 5965 §3.1): the fields of its feedback-report part, and the original it returns. */
async function feedbackReport(mail: ParsedMail): Promise<InboundReport> {
  const part = mail.attachments.find((a) => partType(a) === FEEDBACK_TYPE);
  if (!part) return unrecognised('a feedback report with no message/feedback-report part');
  // One group by the RFC; a stray blank line inside it does not hide the fields after it.
  const fields: FieldGroup = new Map();
  for (const group of readFieldGroups(partText(part))) {
    for (const [name, values] of group) fields.set(name, [...(fields.get(name) ?? []), ...values].slice(0, DSN_RECIPIENTS_MAX));
  }
  const text = (name: string): string | null => {
    const v = firstField(fields, name);
    return v === null || v === '' ? null : v;
  };
  // Received-Date is the name drafts of RFC 5965 used, and some reporters still send.
  const arrival = text('arrival-date') ?? text('received-date');
  const arrivalMs = arrival === null ? NaN : Date.parse(arrival.slice(0, 200));
  const { quoted } = splitQuoted(mail.text ?? '');
  return {
    kind: 'arf',
    feedbackType: firstToken(text('feedback-type')),
    userAgent: text('user-agent'),
    sourceIp: text('source-ip'),
    arrivalDate: Number.isFinite(arrivalMs) ? arrivalMs : null,
    originalMailFrom: bareAddress(text('original-mail-from')),
    originalRcptTo: (fields.get('original-rcpt-to') ?? []).map(bareAddress).filter((a): a is string => a !== null),
    reportedDomain: text('reported-domain')?.toLowerCase() ?? null,
    original: await originalOf(mail, quoted),
  };
}

/** The returned original: the first part that carries it, else the copy quoted in the text, else none. */
function originalOf(mail: ParsedMail, quoted: string | null): Promise<OriginalMessage> {
  const part = mail.attachments.find((a) => ORIGINAL_TYPES.has(partType(a)));
  if (part) return readOriginal(part.content);
  return quoted ? readOriginal(Buffer.from(quoted)) : Promise.resolve(NO_ORIGINAL);
}

/** Whether the message marks itself as sent by a machine in answer to ours (checked only once it is no bounce). */
function isAutoReply(mail: ParsedMail): boolean {
  // The start of each value is enough: a token and its comment.
  const values = (key: string): string[] =>
    mail.headerLines.filter((l) => l.key === key).map((l) => { const colon = l.line.indexOf(':'); return l.line.slice(colon + 1, colon + 201); });
  // Auto-Submitted: no is the one value that says a person sent it (RFC 3834 §5.1).
  if (values('auto-submitted').some((v) => !['', 'no'].includes(firstToken(v)))) return true;
  if (values('precedence').some((v) => AUTO_PRECEDENCE.has(firstToken(v)))) return true;
  if (AUTO_HEADERS.some((h) => values(h).length > 0)) return true;
  const subject = subjectOf(mail).trimStart().toLowerCase();
  return AUTO_SUBJECTS.some((s) => subject.startsWith(s));
}

/** The first word of a field value, lower case: `auto-replied; owner=x` → `auto-replied`, `failed (bad)` → `failed`. */
function firstToken(value: string | null): string {
  const v = (value ?? '').trim().slice(0, FIELD_VALUE_MAX);
  const end = v.search(/[\s;(]/);
  return (end < 0 ? v : v.slice(0, end)).toLowerCase();
}

function untypedOrNull(value: string | null): string | null {
  return value === null ? null : untyped(value);
}

/** A report part's text: UTF-8 (RFC 6533 allows it; US-ASCII is a subset), as much as is read. */
function partText(part: Attachment): string {
  return part.content.toString('utf8', 0, Math.min(part.content.length, FIELD_TEXT_MAX));
}

function isStructured(v: unknown): v is StructuredHeader {
  return typeof v === 'object' && v !== null && typeof (v as StructuredHeader).value === 'string' && typeof (v as StructuredHeader).params === 'object';
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function unrecognised(reason: string): InboundReport {
  return { kind: 'unrecognised', reason: reason.slice(0, FIELD_VALUE_MAX) };
}
