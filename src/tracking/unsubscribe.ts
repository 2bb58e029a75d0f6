/**
 * The unsubscribe endpoint. `GET /unsubscribe/<token>` answers a small page in the link's language;
 * `POST` (RFC 8058 one-click, `List-Unsubscribe=One-Click`) answers 200 with no page. Both record
 * the unsubscription; a token that is not ours changes nothing and gets 400.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml } from '../domain/template.js';
import { unsubscribeWords } from '../domain/unsubscribe-text.js';
import type { UnsubscribeService } from '../services/unsubscribe.js';

/** Handles a request under /unsubscribe/. */
export async function handleUnsubscribe(service: UnsubscribeService, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const token = decodedOrEmpty(url.pathname.slice('/unsubscribe/'.length));
  const words = unsubscribeWords(url.searchParams.get('l') ?? '1');
  if (req.method !== 'GET' && req.method !== 'POST') {
    res.writeHead(405, { Allow: 'GET, POST' });
    res.end();
    return;
  }
  // The one-click body (List-Unsubscribe=One-Click) carries nothing the token does not: drain it.
  req.resume();
  const ok = await service.unsubscribe(token);
  if (req.method === 'POST') {
    res.writeHead(ok ? 200 : 400, { 'Cache-Control': 'no-store' });
    res.end();
    return;
  }
  const text = ok ? words.done : words.invalid;
  const dir = words.lang === 'ar' ? ' dir="rtl"' : '';
  res.writeHead(ok ? 200 : 400, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'",
  });
  res.end(`<!doctype html><html lang="${words.lang}"${dir}><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`
    + `<title>${escapeHtml(words.link)}</title></head><body style="font-family:sans-serif;max-width:36em;margin:4em auto;padding:0 1em">`
    + `<p>${escapeHtml(text)}</p></body></html>`);
}

/** A path segment decoded; a malformed escape (`%E0`) makes it empty, which no token is. */
function decodedOrEmpty(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return '';
  }
}
