/**
 * The small form an unsubscribe POST carries. RFC 8058 §3.2: the mail receiver POSTs the
 * List-Unsubscribe-Post key/value pair (`List-Unsubscribe=One-Click`) as the body, encoded as
 * `multipart/form-data` (SHOULD) or `application/x-www-form-urlencoded` (MAY; a body without a
 * Content-Type is read so too); the confirmation page's own form sends the same pair, urlencoded,
 * as browsers do.
 */
import type { IncomingMessage } from 'node:http';

/** The pair RFC 8058 asks for; a POST without it is not a request to unsubscribe. */
export const ONE_CLICK_FIELD = { name: 'List-Unsubscribe', value: 'One-Click' } as const;

/**
 * The one-click form is a few dozen bytes (a few hundred with multipart's framing). More is not a
 * one-click request, and is not read: the limit bounds what one request holds in memory.
 */
export const MAX_FORM_BYTES = 8 * 1024;

/** The body's fields; null when it is larger than MAX_FORM_BYTES, in neither encoding, or the client went away. */
export async function readOneClickForm(req: IncomingMessage): Promise<Map<string, string> | null> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_FORM_BYTES) return null;
  const body = await readAtMost(req, MAX_FORM_BYTES);
  if (!body) return null;
  const type = String(req.headers['content-type'] ?? '');
  const media = type.split(';')[0].trim().toLowerCase();
  // A client that names no type at all is read as the urlencoded form it almost surely sent.
  if (media === 'application/x-www-form-urlencoded' || media === '') return new Map(new URLSearchParams(body.toString('utf8')));
  if (media === 'multipart/form-data') return multipartFields(type, body);
  return null;
}

/** The whole body when it has at most `limit` bytes; null as soon as it has more, or when the client goes away. */
function readAtMost(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (v: Buffer | null): void => {
      req.off('data', onData);
      resolve(v);
    };
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) { chunks.length = 0; done(null); return; }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => done(Buffer.concat(chunks, size)));
    req.once('close', () => { if (!req.complete) done(null); });
    req.once('error', () => done(null));
  });
}

/**
 * Text fields of a multipart/form-data body (RFC 7578): each part's `Content-Disposition: form-data;
 * name="…"` and its content. Parts with a filename are files, not fields, and are skipped.
 */
function multipartFields(contentType: string, body: Buffer): Map<string, string> | null {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  if (!m) return null;
  const delimiter = `--${m[1] ?? m[2]}`;
  const fields = new Map<string, string>();
  // Parts sit between delimiter lines; what precedes the first and follows the last (`--`) is not a part.
  const parts = body.toString('utf8').split(`\r\n${delimiter}`);
  parts[0] = parts[0].startsWith(delimiter) ? parts[0].slice(delimiter.length) : '';
  for (const part of parts) {
    if (part.startsWith('--')) break;
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const headers = part.slice(0, split);
    const disposition = /^content-disposition:[ \t]*form-data(.*)$/im.exec(headers)?.[1] ?? '';
    const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined || /;\s*filename\*?=/i.test(disposition)) continue;
    fields.set(name, part.slice(split + 4));
  }
  return fields;
}
