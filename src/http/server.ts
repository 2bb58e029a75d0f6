/**
 * The HTTP listener, shared by the edges that speak HTTP: the API at `/`, the unsubscribe links,
 * `GET /healthz` (and later tracking and the console). Stopping
 * it refuses new connections and lets requests in flight finish, up to a deadline.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { CodedError } from '../errors/coded-error.js';
import type { ApiEndpoint } from '../api/endpoint.js';
import type { UnsubscribeService } from '../services/unsubscribe.js';
import { handleUnsubscribe } from '../tracking/unsubscribe.js';

/** Headers may hold a GET query of 32 KB (FACTS §1.2) and then some. */
const MAX_HEADER_BYTES = 64 * 1024;

/** What the listener serves. */
export interface HttpDeps {
  api: ApiEndpoint;
  unsubscribes: UnsubscribeService;
  /** Resolves when the store answers. */
  health(): Promise<void>;
  log: Logger;
}

/** Creates the HTTP server (not yet listening). */
export function createHttpServer(deps: HttpDeps): Server {
  const server = createServer({
    maxHeaderSize: MAX_HEADER_BYTES,
    keepAliveTimeout: 65_000,
    // Slow senders cannot hold a connection (and its buffers) for long.
    headersTimeout: 20_000,
    requestTimeout: 120_000,
  }, (req, res) => {
    route(deps, req, res).catch((err: unknown) => {
      deps.log.error({ err }, 'unhandled error in HTTP handler');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return;
    // Too much header data: answer in the API's own terms before closing.
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      const e = new CodedError('RequestSizeLimitExceeded', `The request's URL and headers exceed ${MAX_HEADER_BYTES} bytes.`);
      const body = JSON.stringify({ Response: { Error: { Code: e.code, Message: e.message }, RequestId: randomUUID() } });
      socket.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });
  return server;
}

async function route(deps: HttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/') return deps.api.handle(req, res);
  if (path.startsWith('/unsubscribe/')) return handleUnsubscribe(deps.unsubscribes, req, res);
  if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
    let ok = true;
    try { await deps.health(); } catch { ok = false; }
    res.writeHead(ok ? 200 : 503, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify({ status: ok ? 'ok' : 'store unreachable' }));
    return;
  }
  res.writeHead(404, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: 'not found' }));
}

/** Listens on host:port and resolves with the bound port. */
export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}

/** Stops accepting, lets requests in flight finish, and closes what is left at the deadline. */
export function stopServer(server: Server, deadlineMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) { resolve(); return; }
    const timer = setTimeout(() => server.closeAllConnections(), deadlineMs);
    // Keep-alive connections between requests are closed at once; busy ones after their response.
    const idle = setInterval(() => server.closeIdleConnections(), 50);
    server.close(() => { clearTimeout(timer); clearInterval(idle); resolve(); });
    server.closeIdleConnections();
  });
}
