/**
 * The unsubscribe endpoint, `/unsubscribe/<token>?l=<language>`.
 *
 * Link scanners (Safe Links, Proofpoint, Mimecast) and mail previews fetch every link of a message,
 * with GET or HEAD, before anyone reads it; so a GET only asks. It answers a page in the link's
 * language with a button, and changes nothing, ever. Only a POST unsubscribes, and only one whose
 * body is RFC 8058's `List-Unsubscribe=One-Click` (urlencoded or multipart/form-data): the one-click
 * POST of mail clients, answered 200 with no page, and the confirmation page's form, which sends the
 * same pair plus `reply=page` and is answered with the "you have been unsubscribed" page. A POST
 * without that pair answers 400 and records nothing: an empty or unknown POST is not a request we
 * know the meaning of. A token that is not ours changes nothing and answers 400 (a page for GET,
 * HEAD and the form; nothing for one-click).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml } from '../domain/template.js';
import { unsubscribeWords, type UnsubscribeWords } from '../domain/unsubscribe-text.js';
import type { UnsubscribeService } from '../services/unsubscribe.js';
import { ONE_CLICK_FIELD, readOneClickForm } from './one-click-form.js';

/** The field the confirmation page adds to its form, so its POST is answered with a page. */
const PAGE_REPLY = { name: 'reply', value: 'page' } as const;

/**
 * Headers of every page. The CSP allows no script at all and no resource but inline style; the form
 * may only post to this origin. The page cannot be framed (clickjacking the button), its URL (the
 * token) is never sent as a Referer, and no cache keeps it.
 */
const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
} as const;

/** Handles a request under /unsubscribe/. */
export async function handleUnsubscribe(service: UnsubscribeService, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const segment = url.pathname.slice('/unsubscribe/'.length);
  const token = decodedOrEmpty(segment);
  const words = unsubscribeWords(url.searchParams.get('l'));
  if (req.method === 'GET' || req.method === 'HEAD') {
    // Asks, never acts: the form posts back to this very link (relative, so it holds behind a proxy
    // that serves Sesame under a path).
    const valid = await service.canUnsubscribe(token);
    const body = valid ? confirmation(words, `./${segment}${url.search}`) : paragraph(words.invalid);
    sendPage(req, res, valid ? 200 : 400, words, body);
    return;
  }
  if (req.method !== 'POST') {
    res.writeHead(405, { Allow: 'GET, HEAD, POST', 'Cache-Control': 'no-store' });
    res.end();
    return;
  }
  const form = await readOneClickForm(req);
  if (!form || form.get(ONE_CLICK_FIELD.name) !== ONE_CLICK_FIELD.value) {
    // Not read to its end (too large, or not a form): nothing more is wanted from this connection.
    if (!req.complete) res.setHeader('Connection', 'close');
    res.writeHead(400, { 'Cache-Control': 'no-store' });
    res.end();
    return;
  }
  const ok = await service.unsubscribe(token);
  if (form.get(PAGE_REPLY.name) === PAGE_REPLY.value) {
    sendPage(req, res, ok ? 200 : 400, words, paragraph(ok ? words.done : words.invalid));
    return;
  }
  res.writeHead(ok ? 200 : 400, { 'Cache-Control': 'no-store' });
  res.end();
}

/** Text as a paragraph of HTML. */
const paragraph = (text: string): string => `<p>${escapeHtml(text)}</p>`;

/** The question and the button that confirms it, a form posting the one-click pair to `action`. */
function confirmation(words: UnsubscribeWords, action: string): string {
  return `<form method="post" action="${escapeHtml(action)}">`
    + `<input type="hidden" name="${ONE_CLICK_FIELD.name}" value="${ONE_CLICK_FIELD.value}">`
    + `<input type="hidden" name="${PAGE_REPLY.name}" value="${PAGE_REPLY.value}">`
    + paragraph(words.question)
    + `<p><button type="submit" style="font-size:1em;padding:.5em 1.5em">${escapeHtml(words.button)}</button></p></form>`;
}

/** A small page around `inner` (HTML); HEAD gets the same headers and no body. */
function sendPage(req: IncomingMessage, res: ServerResponse, status: number, words: UnsubscribeWords, inner: string): void {
  const dir = words.lang === 'ar' ? ' dir="rtl"' : '';
  const html = `<!doctype html><html lang="${words.lang}"${dir}><head><meta charset="utf-8">`
    + '<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer">'
    + `<title>${escapeHtml(words.link)}</title></head><body style="font-family:sans-serif;max-width:36em;margin:4em auto;padding:0 1em">`
    + `${inner}</body></html>`;
  const body = Buffer.from(html, 'utf8');
  res.writeHead(status, { ...PAGE_HEADERS, 'Content-Length': String(body.length) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** A path segment decoded; a malformed escape (`%E0`) makes it empty, which no token is. */
function decodedOrEmpty(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return '';
  }
}
