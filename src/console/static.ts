/**
 * The console's pages: the files `npm run build` puts in dist/console-ui/ (console/ holds their
 * sources), served at /console/ with a strict Content-Security-Policy: scripts, styles and
 * everything else from this origin only, nothing inline, no framing. Unknown paths under /console/
 * get the page itself (the screens are chosen in the URL's hash).
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

/** Where the built console is, from src/console/ (tests) and from dist/console/ (the build) alike. */
const ROOT = fileURLToPath(new URL('../../dist/console-ui/', import.meta.url));

const HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
} as const;

const TYPES: Readonly<Record<string, string>> = {
  js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml', png: 'image/png', woff2: 'font/woff2', json: 'application/json',
};

/** Files read once (a built console does not change while the process runs). */
const files = new Map<string, Buffer | null>();

async function fileOf(name: string): Promise<Buffer | null> {
  if (!files.has(name)) {
    try {
      files.set(name, await readFile(`${ROOT}${name}`));
    } catch {
      files.set(name, null);
    }
  }
  return files.get(name) ?? null;
}

/** Answers a request for /console or a path under it (the API, /console/api/, is not here). */
export async function serveConsole(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Length': 0 });
    res.end();
    return;
  }
  if (path === '/console') {
    res.writeHead(301, { Location: '/console/', 'Content-Length': 0 });
    res.end();
    return;
  }
  const asset = /^\/console\/assets\/([A-Za-z0-9_.-]+)$/.exec(path)?.[1];
  const body = asset ? await fileOf(`assets/${asset}`) : await fileOf('index.html');
  if (!body) {
    const built = await fileOf('index.html');
    res.writeHead(built ? 404 : 503, { 'Content-Type': 'text/plain; charset=utf-8', ...HEADERS });
    res.end(built ? 'Not found' : 'The console is not built: run npm run build.');
    return;
  }
  const type = asset ? TYPES[asset.slice(asset.lastIndexOf('.') + 1)] ?? 'application/octet-stream' : 'text/html; charset=utf-8';
  // Asset names carry their content's hash: they never change, and can be kept for good.
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': asset ? 'public, max-age=31536000, immutable' : 'no-store', ...HEADERS });
  res.end(req.method === 'HEAD' ? undefined : body);
}
