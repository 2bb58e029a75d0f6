/**
 * A webhook receiver for tests: a node:http server on a free port of 127.0.0.1 that keeps every
 * request and answers as the test says (a status, or never).
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { eventually } from './sending.js';

/** A request the receiver got. */
export interface Received { path: string; headers: IncomingHttpHeaders; body: string; at: number }

/** A running receiver. */
export interface Receiver {
  /** `http://127.0.0.1:<port>`. */
  base: string;
  received: Received[];
  /** How the next requests are answered: a status, or 'hang' (no answer ever). */
  answer: (r: Received) => number | 'hang';
  /** Waits until a request `match` accepts has arrived; the first such. */
  waitFor(match: (r: Received) => boolean, timeoutMs?: number): Promise<Received>;
  stop(): Promise<void>;
}

/** Starts a receiver answering 200. */
export async function startReceiver(): Promise<Receiver> {
  const hanging: ServerResponse[] = [];
  const r: Receiver = {
    base: '',
    received: [],
    answer: () => 200,
    waitFor: (match, timeoutMs = 20_000) => eventually(async () => r.received.find(match), timeoutMs, 'a webhook request'),
    stop: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const got: Received = { path: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      r.received.push(got);
      const a = r.answer(got);
      if (a === 'hang') { hanging.push(res); return; }
      res.writeHead(a, { 'Content-Type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  r.base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return r;
}
