/**
 * What a returned original says about itself: the message/rfc822 or text/rfc822-headers part of a
 * report (RFC 6522 §3, RFC 3464 §2, RFC 5965 §2), its UTF-8 forms (RFC 6532 §3.5, RFC 6533 §6), or
 * the copy a plain bounce quotes in its text. Its Return-Path is the envelope sender Sesame gave
 * the message (the VERP address `b-<token>@<bounce domain>`), the surest way back to the delivery;
 * its Message-ID is the next.
 */
import type { AddressObject, ParsedMail } from 'mailparser';
import { parseMime, subjectOf } from './mime.js';
import { bareAddress, FIELD_VALUE_MAX } from './report-fields.js';

/** What the returned original says about itself (null: it does not say, or there was none). */
export interface OriginalMessage {
  /** Return-Path, without `<>`, lower-cased. */
  returnPath: string | null;
  /** Message-ID as written, angle brackets included, trimmed. */
  messageId: string | null;
  /** Subject, encoded words decoded. */
  subject: string | null;
  /** The addresses in To, lower-cased, joined by ', '. */
  to: string | null;
  /** The addresses in From, lower-cased, joined by ', '. */
  from: string | null;
}

/** Content types of a part that carries the returned original, whole or its header only. */
export const ORIGINAL_TYPES: ReadonlySet<string> = new Set(['message/rfc822', 'text/rfc822-headers', 'message/global', 'message/global-headers']);

/** An original that says nothing. */
export const NO_ORIGINAL: OriginalMessage = Object.freeze({ returnPath: null, messageId: null, subject: null, to: null, from: null });

/**
 * Only the header is read, and only this much of it: a header past 256 KB is no mail Sesame sent.
 * The body would be parsed again for nothing.
 */
const HEADER_MAX = 256 * 1024;

/** Reads the header of the returned original in `content` (a part's bytes, or quoted text). */
export async function readOriginal(content: Buffer): Promise<OriginalMessage> {
  const header = headerOf(content);
  if (header.length === 0) return NO_ORIGINAL;
  let mail: ParsedMail;
  try {
    mail = await parseMime(header);
  } catch {
    // A header mailparser refuses says nothing we can trust; the report around it still counts.
    return NO_ORIGINAL;
  }
  const raw = (key: string): string | null => {
    const line = mail.headerLines.find((l) => l.key === key)?.line;
    if (line === undefined) return null;
    const value = line.slice(line.indexOf(':') + 1, line.indexOf(':') + 1 + FIELD_VALUE_MAX * 4);
    return value.replace(/\r?\n/g, '').trim().slice(0, FIELD_VALUE_MAX);
  };
  const messageId = raw('message-id');
  return {
    returnPath: bareAddress(raw('return-path')),
    messageId: messageId === null || messageId === '' ? null : messageId,
    subject: mail.headers.has('subject') ? subjectOf(mail).trim().slice(0, FIELD_VALUE_MAX) : null,
    to: addresses(mail.to),
    from: addresses(mail.from),
  };
}

/** The addresses of an address header, lower-cased, joined by ', ' (groups opened); null if none. */
function addresses(field: AddressObject | AddressObject[] | undefined): string | null {
  if (!field) return null;
  const found: string[] = [];
  for (const object of Array.isArray(field) ? field : [field]) {
    for (const entry of object.value) {
      for (const box of entry.group ?? [entry]) if (box.address) found.push(box.address.toLowerCase());
    }
  }
  const joined = found.join(', ').slice(0, FIELD_VALUE_MAX);
  return joined === '' ? null : joined;
}

/** The header block of `content`: leading blank lines skipped, up to the first empty line, at most HEADER_MAX bytes. */
function headerOf(content: Buffer): Buffer {
  let start = 0;
  while (start < content.length && (content[start] === 0x0d || content[start] === 0x0a)) start++;
  const head = content.subarray(start, start + HEADER_MAX);
  // The header's last line keeps its line break; the empty line after it goes.
  const crlf = head.indexOf('\r\n\r\n');
  const lf = head.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return head.subarray(0, crlf + 2);
  return lf >= 0 ? head.subarray(0, lf + 1) : head;
}
