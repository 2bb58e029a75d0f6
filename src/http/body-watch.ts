/**
 * Cuts requests whose body stops arriving. A client that announces a body and then sends nothing, or
 * a byte now and then, holds its connection and (for the API) its share of the body budgets for as
 * long as it likes; Node's requestTimeout only bounds the request as a whole. Here each pause is
 * bounded: a body that makes no progress for `idleMs` has its connection closed (after a best-effort
 * 408), which ends the read and gives its bytes back to the budgets.
 *
 * Progress is read from the socket's byte count, which the HTTP parser advances whoever consumes the
 * body (the API, the unsubscribe form, or Node draining a body no handler wanted), so every body is
 * watched without touching its stream. One sweep timer serves every watched request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

interface Watched { req: IncomingMessage; res: ServerResponse; bytes: number; since: number }

const REQUEST_TIMEOUT = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/** Watches the bodies of requests in flight. */
export class BodyWatch {
  private readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | undefined;

  /** `idleMs`: the longest pause allowed in a body; a pause is noticed within a quarter of it. */
  constructor(private readonly idleMs: number) {}

  /** Watches `req` until its body is complete or its response is done; requests without a body are not watched. */
  watch(req: IncomingMessage, res: ServerResponse): void {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0;
    if (!hasBody) return;
    const w: Watched = { req, res, bytes: req.socket.bytesRead, since: performance.now() };
    this.watched.add(w);
    res.once('close', () => this.forget(w));
    this.timer ??= setInterval(() => this.sweep(), Math.max(25, Math.floor(this.idleMs / 4))).unref();
  }

  private sweep(): void {
    const now = performance.now();
    for (const w of this.watched) {
      const socket = w.req.socket;
      if (w.req.complete || socket.destroyed) { this.forget(w); continue; }
      // Progress, or a body nobody reads yet (the handler still looks the key up, say: the socket is
      // paused once a little is buffered, and the pause is the server's, not the client's).
      if (socket.bytesRead !== w.bytes || w.req.readableFlowing !== true) { w.bytes = socket.bytesRead; w.since = now; continue; }
      if (now - w.since < this.idleMs) continue;
      this.forget(w);
      if (!w.res.headersSent && socket.writable) socket.write(REQUEST_TIMEOUT);
      socket.destroy();
    }
  }

  private forget(w: Watched): void {
    this.watched.delete(w);
    if (this.watched.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
