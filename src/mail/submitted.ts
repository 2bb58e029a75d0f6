/**
 * A message submitted over SMTP, made ready to store: its header read (RFC 5322 §2.2: fields, with
 * folded lines unfolded), the one From mailbox found, Bcc fields removed (they must never reach a
 * recipient), and Message-ID and Date added when the client left them out (RFC 6409 §8.2, §8.3).
 * The rest of the message is kept byte for byte, so a DKIM signature the client added still holds.
 */
import addressparser from 'nodemailer/lib/addressparser/index.js';
import { parseAddress, type Address } from '../domain/address.js';
import { newMessageIdHeader } from '../domain/message-id.js';
import { fieldValue, splitMessage, type HeaderField } from './header.js';

/** The message ready to store, or why it cannot be taken. */
export type Prepared =
  | { ok: true; raw: Buffer; from: Address; messageIdHeader: string; /** As written (RFC 2047 words left encoded), cut to 998 characters; '' if none. */ subject: string;
    /** The X-Tencentcloudses-Cb-Custom field's value (echoed in callbacks), or null. */ callbackCustom: string | null }
  | { ok: false; reason: string };

/** The field whose value Tencent's callbacks echo (FACTS §5), lower case. */
export const CALLBACK_CUSTOM_FIELD = 'x-tencentcloudses-cb-custom';

/** Header field name: printable ASCII but the colon (RFC 5322 §3.6.8). */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/**
 * Longest From value read, unfolded. RFC 5322 lets a field fold over any number of lines, so a
 * From can be as large as the message (10 MB); one mailbox (an address of at most 254 characters
 * and a display name, even RFC 2047-encoded at length) fits in far less. A longer one is refused
 * before nodemailer's address parser, a third-party scanner whose cost we do not own, reads it.
 */
export const FROM_VALUE_MAX = 4096;

/** Prepares `raw` (CRLF line endings, as the submission listener guarantees). */
export function prepareSubmitted(raw: Buffer, now: Date): Prepared {
  const { fields, body, folded } = splitMessage(raw);
  if (folded) return { ok: false, reason: 'the message starts with a folded line: it has no header' };
  const bad = fields.find((f) => !FIELD_NAME.test(f.name));
  if (bad) return { ok: false, reason: `the header has a line that is not a field: ${JSON.stringify(bad.lines[0].slice(0, 60))}` };
  const value = (f: HeaderField): string => Buffer.from(fieldValue(f), 'latin1').toString('utf8').trim();
  const froms = fields.filter((f) => f.name === 'from');
  if (froms.length !== 1) return { ok: false, reason: froms.length ? 'the message has more than one From field' : 'the message has no From field' };
  const fromValue = value(froms[0]);
  if (fromValue.length > FROM_VALUE_MAX) return { ok: false, reason: `the From field is longer than ${FROM_VALUE_MAX} characters` };
  const mailboxes = addressparser(fromValue, { flatten: true });
  const from = mailboxes.length === 1 ? parseAddress(mailboxes[0].address ?? '') : null;
  if (!from) return { ok: false, reason: 'the From field must hold exactly one valid address' };

  const kept = fields.filter((f) => f.name !== 'bcc' && f.name !== 'return-path');
  const added: string[] = [];
  const idField = fields.find((f) => f.name === 'message-id');
  let messageId = idField ? value(idField) : '';
  if (!idField) {
    messageId = newMessageIdHeader(from.domain);
    added.push(`Message-ID: ${messageId}`);
  }
  if (!fields.some((f) => f.name === 'date')) added.push(`Date: ${now.toUTCString().replace('GMT', '+0000')}`);
  const header = [...added, ...kept.flatMap((f) => f.lines)].join('\r\n');
  const subjectField = fields.find((f) => f.name === 'subject');
  const subject = subjectField ? value(subjectField).slice(0, 998) : '';
  const customField = fields.find((f) => f.name === CALLBACK_CUSTOM_FIELD);
  const callbackCustom = customField ? value(customField).slice(0, 998) : null;
  return { ok: true, raw: Buffer.concat([Buffer.from(`${header}\r\n\r\n`, 'latin1'), body]), from, messageIdHeader: messageId, subject, callbackCustom };
}
