/**
 * The tracking routes: `/t/o/<token>`, the open pixel, and `/t/c/<token>`, a tracked link. Both
 * answer from the token alone, at once: the pixel is a 1×1 GIF no cache may keep (each open is
 * fetched again), the link a 302 to the very URL that was signed into the token, so nobody can use
 * Sesame as an open redirect. A token that is not ours answers 404 and records nothing. Only GET
 * records; HEAD (link checkers) gets the same answer without a hit.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRANSPARENT_GIF } from '../mail/pixel.js';
import type { TrackingService } from '../services/tracking.js';

/** Path prefixes of the two routes. */
export const OPEN_PATH = '/t/o/';
export const CLICK_PATH = '/t/c/';

const NO_STORE = 'no-store, no-cache, must-revalidate, private, max-age=0';

/** Handles a request under /t/o/ or /t/c/. */
export function handleTracking(service: TrackingService, req: IncomingMessage, res: ServerResponse, path: string): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Cache-Control': NO_STORE, 'Content-Length': 0 });
    res.end();
    return;
  }
  const record = req.method === 'GET';
  const ua = req.headers['user-agent'];
  if (path.startsWith(OPEN_PATH)) {
    const token = path.slice(OPEN_PATH.length);
    if (!(record ? service.open(token, ua) : service.isOpen(token))) return notFound(res);
    res.writeHead(200, { 'Content-Type': 'image/gif', 'Content-Length': TRANSPARENT_GIF.length, 'Cache-Control': NO_STORE, Pragma: 'no-cache', Expires: '0' });
    res.end(req.method === 'HEAD' ? undefined : TRANSPARENT_GIF);
    return;
  }
  const token = path.slice(CLICK_PATH.length);
  const url = record ? service.click(token, ua) : service.clickTarget(token);
  if (url === null) return notFound(res);
  // The target learns nothing of the token (no Referer from this hop).
  res.writeHead(302, { Location: url, 'Cache-Control': NO_STORE, 'Referrer-Policy': 'no-referrer', 'Content-Length': 0 });
  res.end();
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': NO_STORE });
  res.end('Not found');
}
