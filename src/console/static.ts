/**
 * The console's pages: the files `npm run build` puts in dist/console-ui/ (console/ holds their
 * sources), served at /console/ with a strict Content-Security-Policy: scripts, styles and
 * everything else from this origin only, nothing inline, no framing; gzipped for browsers that
 * take it. Unknown paths under /console/ get the page itself (the screens are chosen in the URL's
 * hash); unknown assets 404.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

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

/** A built file as served: its bytes, gzipped once too when that is smaller. */
interface Served { body: Buffer; gzip: Buffer | null; type: string }

/**
 * The built console, read once (it does not change while the process runs): index.html and every
 * file in assets/, by name. Only these names are served, so a flood of made-up paths costs nothing
 * to keep. Not cached while the console is not built (a build may come later).
 */
let built: Promise<Map<string, Served> | null> | null = null;

async function load(): Promise<Map<string, Served> | null> {
  try {
    const out = new Map<string, Served>();
    const names = ['index.html', ...(await readdir(`${ROOT}assets`)).map((n) => `assets/${n}`)];
    for (const name of names) {
      const body = await readFile(`${ROOT}${name}`);
      const gzip = gzipSync(body, { level: 9 });
      const type = name === 'index.html' ? 'text/html; charset=utf-8' : TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
      out.set(name, { body, gzip: gzip.length < body.length ? gzip : null, type });
    }
    return out;
  } catch {
    return null;
  }
}

async function builtConsole(): Promise<Map<string, Served> | null> {
  built ??= load();
  const files = await built;
  if (!files) built = null;
  return files;
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
  const files = await builtConsole();
  const file = files?.get(asset ? `assets/${asset}` : 'index.html');
  if (!file) {
    res.writeHead(files ? 404 : 503, { 'Content-Type': 'text/plain; charset=utf-8', ...HEADERS });
    res.end(files ? 'Not found' : 'The console is not built: run npm run build.');
    return;
  }
  const gzip = file.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) ? file.gzip : null;
  const body = gzip ?? file.body;
  res.writeHead(200, {
    'Content-Type': file.type,
    'Content-Length': body.length,
    ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
    Vary: 'Accept-Encoding',
    // Asset names carry their content's hash: they never change, and can be kept for good.
    'Cache-Control': asset ? 'public, max-age=31536000, immutable' : 'no-store',
    ...HEADERS,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
