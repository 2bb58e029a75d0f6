/**
 * What GetCapturedEmail shows of a message capture mode kept (one Sesame rendered and signed
 * itself, or a client submitted): its header fields in order, as written, and its HTML and text
 * parts as mailparser decodes them. Nothing is made up: a message without a text part has no text
 * (mailparser would otherwise write one from the HTML), and one without HTML has none.
 */
import { simpleParser, type SimpleParserOptions } from 'mailparser';
import { fieldValue, splitMessage } from './header.js';

/** A header field: its name as written, its value unfolded (encoded words left as they are). */
export interface HeaderLine { name: string; value: string }

/** The fields, HTML and text of a message. */
export interface MessageView { headers: HeaderLine[]; html: string; text: string }

const OPTIONS: SimpleParserOptions = {
  skipHtmlToText: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  skipImageLinks: true,
  keepCidLinks: true,
  // A message/rfc822 part (a forwarded mail) stays an attachment: its parts are not this message's.
  ignoreEmbedded: true,
};

/** Reads `message` (an RFC 5322 message, CRLF line endings). */
export async function viewMessage(message: Buffer): Promise<MessageView> {
  const headers = splitMessage(message).fields.map((f) => ({
    name: f.lines[0].slice(0, Math.max(0, f.lines[0].indexOf(':'))).trimEnd(),
    // The header is read in latin1 (byte for byte); an 8-bit value (RFC 6532) is UTF-8.
    value: Buffer.from(fieldValue(f), 'latin1').toString('utf8').trim(),
  }));
  try {
    const mail = await simpleParser(message, OPTIONS);
    return { headers, html: typeof mail.html === 'string' ? mail.html : '', text: typeof mail.text === 'string' ? mail.text : '' };
  } catch {
    // A submitted message past mailparser's limits (a 1 MB header, 1,000 parts): its header and
    // bytes still show.
    return { headers, html: '', text: '' };
  }
}
