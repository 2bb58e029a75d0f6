/**
 * The HTTP listener, shared by the edges that speak HTTP: the API at `/`, the unsubscribe links,
 * the tracking pixel and links, the console (its API and its pages), `GET /healthz` (alive),
 * `GET /readyz` (ready for traffic) and `GET /metrics` (Prometheus, for allowed addresses). It bounds what
 * one client can hold before any handler knows who it is: connections per address (connection-limit.ts), pauses in a body
 * (body-watch.ts), the time to send headers and a whole request. Stopping it refuses new connections
 * and lets requests in flight finish, up to a deadline.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { CodedError } from '../errors/coded-error.js';
import type { ApiEndpoint } from '../api/endpoint.js';
import { errorBody } from '../api/protocol/envelope.js';
import type { UnsubscribeService } from '../services/unsubscribe.js';
import { handleUnsubscribe } from '../tracking/unsubscribe.js';
import { CLICK_PATH, handleTracking, OPEN_PATH } from '../tracking/hits.js';
import type { TrackingService } from '../services/tracking.js';
import { CONSOLE_API_PATH, type ConsoleApi } from '../api/console-api.js';
import { serveConsole } from '../console/static.js';
import type { AddressAllowList } from '../lib/address-allow.js';
import type { Metrics } from '../lib/metrics.js';
import { BodyWatch } from './body-watch.js';
import { ConnectionLimit } from './connection-limit.js';

/** Headers may hold a GET query of 32 KB (FACTS §1.2) and then some. */
const MAX_HEADER_BYTES = 64 * 1024;
/** Slow senders cannot hold a connection (and its buffers) for long while sending headers. */
const HEADERS_TIMEOUT_MS = 20_000;

/** What one client may hold (SESAME_HTTP_* settings). */
export interface HttpLimits {
  /** Connections open at once from one client address (an IPv6 client is its /64). */
  maxConnectionsPerClient: number;
  /** Longest pause while a request body arrives. */
  bodyIdleMs: number;
  /** Longest time to receive a whole request, headers and body (at least HEADERS_TIMEOUT_MS). */
  requestTimeoutMs: number;
}

/** What the listener serves. */
export interface HttpDeps {
  api: ApiEndpoint;
  unsubscribes: UnsubscribeService;
  tracking: TrackingService;
  /** The console's API (sign-in, the account's actions over a session). */
  console: ConsoleApi;
  /** Resolves when the store answers. */
  health(): Promise<void>;
  /** Whether this process is ready for traffic, with what each check found. */
  ready(): Promise<Readiness>;
  /** Prometheus metrics, and who may read them; null when SESAME_METRICS is off. */
  metrics: { metrics: Metrics; allow: AddressAllowList } | null;
  log: Logger;
  limits: HttpLimits;
}

/** What /readyz answers: ready or not, and each check's finding ('ok' or why not). */
export interface Readiness { ready: boolean; checks: Record<string, string> }

/** Creates the HTTP server (not yet listening). */
export function createHttpServer(deps: HttpDeps): Server {
  const { limits } = deps;
  const connections = new ConnectionLimit(limits.maxConnectionsPerClient);
  const bodies = new BodyWatch(limits.bodyIdleMs);
  const server = createServer({
    maxHeaderSize: MAX_HEADER_BYTES,
    keepAliveTimeout: 65_000,
    headersTimeout: HEADERS_TIMEOUT_MS,
    requestTimeout: Math.max(limits.requestTimeoutMs, HEADERS_TIMEOUT_MS),
    // How often Node checks those two timeouts (30 s by default, which would let a request run on
    // for half a minute past its deadline).
    connectionsCheckingInterval: 5_000,
  }, (req, res) => {
    if (connections.isRefused(req.socket)) {
      refuseConnection(req, res, limits.maxConnectionsPerClient);
      return;
    }
    bodies.watch(req, res);
    route(deps, req, res).catch((err: unknown) => {
      deps.log.error({ err }, 'unhandled error in HTTP handler');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on('connection', (socket: Socket) => connections.admit(socket));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return;
    // Too much header data: answer in the API's own terms before closing.
    if (err.code === 'HPE_HEADER_OVERFLOW') {
      const e = new CodedError('RequestSizeLimitExceeded', `The request's URL and headers exceed ${MAX_HEADER_BYTES} bytes.`);
      const body = errorBody(e);
      socket.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
      return;
    }
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  });
  return server;
}

/**
 * The answer on a connection beyond its client's limit, then the connection is closed: in the API's
 * terms at `/` (the SDKs read `RequestLimitExceeded.IPLimitExceeded`), a plain 503 elsewhere.
 */
function refuseConnection(req: IncomingMessage, res: ServerResponse, max: number): void {
  const message = `Too many connections from your address (at most ${max} at once); retry when one of them has closed.`;
  if ((req.url ?? '/').split('?')[0] === '/') {
    res.writeHead(200, { 'Content-Type': 'application/json', Connection: 'close' });
    res.end(errorBody(new CodedError('RequestLimitExceeded.IPLimitExceeded', message)));
    return;
  }
  res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '1', Connection: 'close', 'Cache-Control': 'no-store' });
  res.end(message);
}

async function route(deps: HttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/') return deps.api.handle(req, res);
  if (path.startsWith('/unsubscribe/')) return handleUnsubscribe(deps.unsubscribes, req, res);
  if (path.startsWith(OPEN_PATH) || path.startsWith(CLICK_PATH)) return handleTracking(deps.tracking, req, res, path);
  if (path.startsWith(CONSOLE_API_PATH)) return deps.console.handle(req, res, path);
  if (path === '/console' || path.startsWith('/console/')) return serveConsole(req, res, path);
  if (await routeOperations(deps, req, res, path)) return;
  notFound(res);
}

/** What a process without the API serves on its HTTP port: health, readiness and metrics. */
export type OperationsDeps = Pick<HttpDeps, 'health' | 'ready' | 'metrics' | 'log'>;

/**
 * The HTTP listener of a process without the api role (a worker, an SMTP front), so that it can be
 * probed and scraped like the others: /healthz, /readyz and /metrics, nothing else.
 */
export function createOperationsServer(deps: OperationsDeps): Server {
  const server = createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: HEADERS_TIMEOUT_MS }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    routeOperations(deps, req, res, path).then((served) => { if (!served) notFound(res); }, (err: unknown) => {
      deps.log.error({ err }, 'unhandled error in HTTP handler');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.on('clientError', (_err, socket: Socket) => { if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'); });
  return server;
}

/** Answers /healthz, /readyz and /metrics; false for any other path. */
async function routeOperations(deps: OperationsDeps, req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
  const read = req.method === 'GET' || req.method === 'HEAD';
  if (!read) return false;
  if (path === '/healthz') {
    let ok = true;
    try { await deps.health(); } catch { ok = false; }
    answerJson(res, ok ? 200 : 503, { status: ok ? 'ok' : 'store unreachable' });
    return true;
  }
  if (path === '/readyz') {
    const r = await deps.ready();
    answerJson(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', checks: r.checks });
    return true;
  }
  if (path === '/metrics' && deps.metrics) {
    await serveMetrics(deps.metrics, req, res);
    return true;
  }
  return false;
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: 'not found' }));
}

function answerJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * The metrics, to an allowed address only. A request a proxy relayed is refused whatever the
 * address it comes from: the proxy's own (often loopback) says nothing of the client behind it.
 */
async function serveMetrics(m: NonNullable<HttpDeps['metrics']>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const relayed = req.headers.forwarded !== undefined || req.headers['x-forwarded-for'] !== undefined;
  if (relayed || !m.allow.allows(req.socket.remoteAddress)) {
    res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(relayed ? 'Metrics are not served through a proxy.\n' : 'Metrics are served only to the addresses in SESAME_METRICS_ALLOW.\n');
    return;
  }
  const { body, contentType } = await m.metrics.exposition();
  res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
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
