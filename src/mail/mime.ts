/**
 * How Sesame asks mailparser to read a message from the world (a bounce, a complaint, an
 * auto-reply): every report part kept as the bytes it carries, and nothing computed that a report
 * reader does not look at. mailparser (with mailsplit under it) does the MIME splitting and the
 * transfer decoding; its own limits refuse a header block over 1 MB and more than 1,000 parts, so a
 * 10 MB message costs one linear pass.
 */
import { simpleParser, type Attachment, type ParsedMail, type SimpleParserOptions } from 'mailparser';

/**
 * HTML longer than this is not turned into text (the text is then empty). Non-delivery notices
 * written in HTML only are a few kilobytes; html-to-text's cost on a large, hostile document is not
 * ours to bound.
 */
export const HTML_TO_TEXT_MAX = 256 * 1024;

const OPTIONS: SimpleParserOptions = {
  // A message/delivery-status part becomes an attachment instead of being pasted into `text`
  // (mailparser's default), so its fields can be read apart from the human-readable notice.
  keepDeliveryStatus: true,
  // A message/rfc822 part marked inline would otherwise be parsed as part of this message, its
  // header lost and its body merged into `text`; kept as an attachment, it is the returned original.
  ignoreEmbedded: true,
  maxHtmlLengthToParse: HTML_TO_TEXT_MAX,
  // None of these is read: no HTML rendering of the text, no links found, no cid: images inlined,
  // no checksums of attachments.
  skipTextToHtml: true,
  skipTextLinks: true,
  skipImageLinks: true,
  keepCidLinks: true,
  checksumAlgo: false,
};

/** Parses `raw` with the options above; rejects on what mailparser refuses (a limit crossed, above all). */
export function parseMime(raw: Buffer): Promise<ParsedMail> {
  return simpleParser(raw, OPTIONS);
}

/**
 * A part's content type, lower case: mailparser keeps the case the message used, and gives `false`
 * for a part whose Content-Type is empty, whatever its types say.
 */
export function partType(part: Attachment): string {
  const type: unknown = part.contentType;
  return typeof type === 'string' ? type.trim().toLowerCase() : '';
}

/** The message's Subject, '' if none (typed a string, checked all the same: it comes from the world). */
export function subjectOf(mail: ParsedMail): string {
  return typeof mail.subject === 'string' ? mail.subject : '';
}
