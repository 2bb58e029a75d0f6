/**
 * The parts of a message a request gives (sender, subject, recipients, bodies, attachments,
 * headers), each checked the same way wherever it comes from (SendEmail, BatchSendEmail). Pure:
 * each check answers the part in the form it is stored, or throws the catalogue error naming the
 * parameter. Messages name the API's parameters: they are what the caller wrote.
 */
import { parseAddress, parseMailbox, type Mailbox } from '../domain/address.js';
import { ATTACHMENT_MAX_BYTES, ATTACHMENTS_MAX, ATTACHMENTS_TOTAL_MAX_BYTES, attachmentType } from '../domain/attachment.js';
import { decodeBase64, decodeBase64Utf8 } from '../domain/base64.js';
import { isMessageIdHeader } from '../domain/message-id.js';
import { isAllowedCustomHeader, isSafeHeaderValue } from '../domain/smtp-headers.js';
import { fail } from '../errors/coded-error.js';
import type { AttachmentContent } from '../mail/content.js';

/** Recipient limits of one SendEmail (FACTS §3.2). */
export const RECIPIENT_LIMITS = { to: 50, cc: 20, bcc: 20 } as const;
/** The API's names of the recipient lists, for messages. */
const LIST_NAMES = { to: 'Destination', cc: 'Cc', bcc: 'Bcc' } as const;
/** Longest subject (one header line, RFC 5322 §2.1.1). */
export const SUBJECT_MAX = 998;

/** An attachment as a request gives it: a file name and base64 content. */
export interface AttachmentInput { fileName: string; content?: string }
/** Simple content: base64 HTML and text. */
export interface SimpleInput { html?: string; text?: string }

/** The sender: `address@domain` or `Alias <address@domain>`. */
export function parseFrom(text: string): Mailbox {
  const m = parseMailbox(text);
  if (!m) fail('FailedOperation.IncorrectSender', 'FromEmailAddress must be address@domain or "Alias <address@domain>" (the alias without ":").');
  return m;
}

/** A subject: one line of 1 to SUBJECT_MAX characters. */
export function checkSubject(subject: string): void {
  const length = [...subject].length;
  if (length < 1 || length > SUBJECT_MAX || /[\r\n]/.test(subject)) {
    fail('InvalidParameterValue.SubjectLengthError', `Subject must be one line of 1 to ${SUBJECT_MAX} characters.`);
  }
}

/** Simple content decoded (base64 UTF-8); at least one of the two. */
export function decodeSimple(simple: SimpleInput): { html: string | null; text: string | null } {
  const decode = (field: 'html' | 'text', name: string): string | null => {
    const v = simple[field];
    if (v === undefined || v === '') return null;
    const d = decodeBase64Utf8(v);
    if (!d) fail('InvalidParameterValue.EmailContentIsWrong', `Simple.${name} is not base64-encoded UTF-8 text.`);
    return d.text;
  };
  const html = decode('html', 'Html');
  const text = decode('text', 'Text');
  if (html === null && text === null) fail('FailedOperation.MissingEmailContent', 'Simple needs Html or Text (base64).');
  return { html, text };
}

/** Destination, Cc and Bcc: valid, within their limits, Bcc apart from Destination, at least one in all. */
export function checkRecipients(lists: { to: readonly string[]; cc: readonly string[]; bcc: readonly string[] }): { to: string[]; cc: string[]; all: string[] } {
  for (const name of ['to', 'cc', 'bcc'] as const) {
    if (lists[name].length > RECIPIENT_LIMITS[name]) {
      fail('FailedOperation.TooManyRecipients', `${LIST_NAMES[name]} holds ${lists[name].length} addresses; at most ${RECIPIENT_LIMITS[name]} are allowed.`);
    }
  }
  const parse = (list: readonly string[]): string[] => list.map((e) => {
    const a = parseAddress(e);
    if (!a) fail('FailedOperation.IncorrectEmail', `${JSON.stringify(e)} is not a valid email address.`);
    return a.address;
  });
  const to = parse(lists.to);
  const cc = parse(lists.cc);
  const bcc = parse(lists.bcc);
  if (to.length + cc.length + bcc.length === 0) fail('MissingParameter', 'Name at least one recipient in Destination, Cc or Bcc.');
  const overlap = bcc.filter((b) => to.includes(b));
  if (overlap.length) fail('InvalidParameterValue', `Bcc may not repeat addresses of Destination (${overlap.join(', ')}).`);
  // One delivery per distinct address, whatever list names it.
  return { to, cc, all: [...new Set([...to, ...cc, ...bcc])] };
}

/** Attachments: at most ATTACHMENTS_MAX, allowed names and types, base64 within the size limits. */
export function checkAttachments(list: readonly AttachmentInput[]): AttachmentContent[] {
  if (list.length > ATTACHMENTS_MAX) fail('FailedOperation.TooManyAttachments', `At most ${ATTACHMENTS_MAX} attachments per message.`);
  let total = 0;
  return list.map((a, i) => {
    const contentType = attachmentType(a.fileName);
    if (!contentType) {
      fail('FailedOperation.InvalidAttachName', `Attachments.${i}.FileName ${JSON.stringify(a.fileName)} is not allowed: up to 255 characters, no spaces or ? \\ * | " < > : /, and a supported file type.`);
    }
    if (a.content === undefined || a.content === '') {
      fail('InvalidParameterValue.AttachContentIsWrong', `Attachments.${i} needs its Content in base64 (FileURL is not supported).`);
    }
    const bytes = decodeBase64(a.content);
    if (!bytes) fail('InvalidParameterValue.AttachContentIsWrong', `Attachments.${i}.Content is not valid base64.`);
    total += bytes.length;
    if (bytes.length > ATTACHMENT_MAX_BYTES || total > ATTACHMENTS_TOTAL_MAX_BYTES) {
      fail('FailedOperation.AttachContentToolarge', `Each attachment may be at most 4 MB and all together 8 MB (after base64 decoding).`);
    }
    return { filename: a.fileName, contentType, base64: bytes.toString('base64') };
  });
}

/** HeaderFrom must be a mailbox on the sender's own domain (anything else would be spoofing). */
export function checkHeaderFrom(value: string | undefined, from: Mailbox): Mailbox {
  if (value === undefined || value === '') return from;
  const m = parseMailbox(value);
  if (!m) fail('FailedOperation.IncorrectSender', 'HeaderFrom must be address@domain or "Alias <address@domain>".');
  if (m.address.domain !== from.address.domain) {
    fail('FailedOperation.IncorrectSender', `HeaderFrom must be on ${from.address.domain}, the domain of FromEmailAddress.`);
  }
  return m;
}

/** ReplyToAddresses: one address, or none. */
export function checkReplyTo(value: string | undefined): string | null {
  if (value === undefined || value === '') return null;
  const m = parseMailbox(value);
  if (!m) fail('FailedOperation.IncorrectEmail', `ReplyToAddresses ${JSON.stringify(value)} is not a valid email address.`);
  return m.address.address;
}

/** SmtpHeaders: a JSON object of allowed header names to one-line values. */
export function checkSmtpHeaders(json: string | undefined): [string, string][] {
  if (json === undefined || json === '') return [];
  let parsed: unknown;
  try { parsed = JSON.parse(json); } catch { fail('InvalidParameterValue', 'SmtpHeaders must be a JSON object of header names to values.'); }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    fail('InvalidParameterValue', 'SmtpHeaders must be a JSON object of header names to values.');
  }
  return Object.entries(parsed).map(([name, value]): [string, string] => {
    if (!isAllowedCustomHeader(name)) {
      fail('InvalidParameterValue', `SmtpHeaders may not set ${JSON.stringify(name)}: only X- headers (not X-Sesame-) and In-Reply-To, References, List-Id, Feedback-ID, Precedence, Keywords, Comments.`);
    }
    if (typeof value !== 'string' || !isSafeHeaderValue(value)) {
      fail('InvalidParameterValue', `SmtpHeaders.${name} must be one line of text (no CR or LF, at most 900 characters).`);
    }
    return [name, value];
  });
}

/** SmtpMessageId: `<unique-part@domain>`, or none (one is made). */
export function checkSmtpMessageId(value: string | undefined): string | null {
  if (value === undefined || value === '') return null;
  if (!isMessageIdHeader(value)) fail('InvalidParameterValue', 'SmtpMessageId must look like <unique-part@domain> (RFC 5322).');
  return value;
}

/** TriggerType: 0 bulk (the default) or 1 triggered. */
export function checkTriggerType(value: number | undefined): number {
  if (value !== undefined && value !== 0 && value !== 1) fail('InvalidParameterValue', 'TriggerType must be 0 (bulk) or 1 (triggered).');
  return value ?? 0;
}
