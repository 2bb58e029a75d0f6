/**
 * Open HTTP connections per client address (lib/client-network.ts clientKey). Each connection holds a socket,
 * a parser and up to 64 KB of headers, and may announce a body; without a per-address count one
 * client could open them until the process runs out of descriptors. A connection beyond the limit is
 * marked: its first request gets a short refusal and the connection is closed (one that sends nothing
 * is closed after a short grace), so the client learns why instead of hanging.
 *
 * Behind a reverse proxy every client has the proxy's address, so the limit applies to the proxy as
 * a whole: raise SESAME_HTTP_MAX_CONNECTIONS_PER_IP to what the proxy may open.
 */
import type { Socket } from 'node:net';
import { clientKey } from '../lib/client-network.js';
import { KeyedCounts } from '../lib/keyed-counts.js';

/** How long a refused connection may stay open without sending its request. */
const REFUSED_GRACE_MS = 2_000;

/** Counts connections per client and marks those beyond the limit. */
export class ConnectionLimit {
  private readonly open = new KeyedCounts<string>();
  private readonly refused = new WeakSet<Socket>();

  constructor(readonly maxPerClient: number) {}

  /** Counts a new connection until it closes; marks it refused when its client already has the most allowed. */
  admit(socket: Socket): void {
    const key = clientKey(socket.remoteAddress);
    const count = this.open.add(key);
    socket.once('close', () => this.open.subtract(key));
    if (count <= this.maxPerClient) return;
    this.refused.add(socket);
    const timer = setTimeout(() => socket.destroy(), REFUSED_GRACE_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  /** Whether requests on this connection are to be refused. */
  isRefused(socket: Socket): boolean {
    return this.refused.has(socket);
  }
}
