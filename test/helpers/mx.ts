/**
 * A scripted receiving mail server for the tests, built on smtp-server: it listens on a loopback
 * address (127.0.0.x, so several MX hosts can share one port) and accepts, rejects (5xx), defers
 * (4xx), drops the connection mid-DATA or after the final dot, closes it after accepting, holds its
 * reply until the test lets it go, or answers slowly, as the test says.
 */
import { SMTPServer, type SMTPServerSession } from 'smtp-server';
import { createServer, type AddressInfo, type Socket } from 'node:net';

/** A message as it arrived. */
export interface Received { from: string; to: string[]; raw: Buffer; secure: boolean; at: number }

/** What the server does with the next messages. */
export type MxMode =
  /** Accept; `reply` replaces the text after 250; `close` hangs up right after the reply. */
  | { kind: 'accept'; delayMs?: number; reply?: string; close?: boolean }
  /** Accept, but only reply once `release()` is called. */
  | { kind: 'hold'; release: Promise<void> }
  | { kind: 'reject'; code?: number; message?: string; at?: 'rcpt' | 'data' }
  | { kind: 'defer'; code?: number; message?: string }
  | { kind: 'drop'; at: 'mid-data' | 'after-dot' };

/** A running test MX. */
export interface TestMx {
  host: string;
  port: number;
  received: Received[];
  mode: MxMode;
  /** Every SMTP transaction that reached RCPT, whatever its end (to count attempts). */
  attempts: number;
  /** Every connection accepted, whatever followed (to prove nothing connected at all). */
  connections: number;
  /** RSET commands clients sent. */
  resets: number;
  /** AUTH attempts (to prove credentials were or were not offered). */
  auths: { user: string; secure: boolean }[];
  /** Transactions waiting for their reply (mode `hold`). */
  holding: number;
  /** Ends every open connection (as a server's idle timeout would). */
  dropConnections(): Promise<void>;
  /** Resolves once `n` messages have been accepted in all (or rejects after the timeout). */
  waitFor(n: number, timeoutMs?: number): Promise<Received[]>;
  stop(): Promise<void>;
}

/** A port free on 127.0.0.1 now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** How a test MX is set up. */
export interface MxOptions {
  /** Require AUTH with these credentials (a relay). */
  auth?: { user: string; pass: string };
  /** Certificate for STARTTLS (default: smtp-server's own, for localhost). */
  tls?: { key: string; cert: string };
  /** Offer no STARTTLS at all. */
  noStartTls?: boolean;
  /** Advertised SIZE limit. */
  size?: number;
  /** Close the connection when the client sends RSET (a server that serves one message per connection, rudely). */
  dropOnRset?: boolean;
  /** Text of the greeting after `220 <name> ESMTP`. */
  banner?: string;
}

/** Starts a test MX on `host:port`. */
export async function startMx(host: string, port: number, mode: MxMode = { kind: 'accept' }, opts: MxOptions = {}): Promise<TestMx> {
  const received: Received[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const state = { mode, attempts: 0, holding: 0, connections: 0, resets: 0 };
  const auths: { user: string; secure: boolean }[] = [];
  const sockets = new Map<string, { destroy(): void }>();
  const auth = opts.auth;
  const server = new SMTPServer({
    authOptional: !auth,
    // smtp-server refuses AUTH before STARTTLS unless told otherwise: the tests need to see what a client offers.
    allowInsecureAuth: true,
    disabledCommands: [...(auth ? [] : ['AUTH']), ...(opts.noStartTls ? ['STARTTLS'] : [])],
    ...(opts.tls ? { key: opts.tls.key, cert: opts.tls.cert } : {}),
    onAuth(a, session, cb) {
      auths.push({ user: a.username ?? '', secure: session.secure });
      if (auth && a.username === auth.user && a.password === auth.pass) cb(null, { user: a.username });
      else cb(Object.assign(new Error('5.7.8 Authentication failed'), { responseCode: 535 }));
    },
    logger: false,
    size: opts.size ?? 30 * 1024 * 1024,
    ...(opts.banner ? { banner: opts.banner } : {}),
    onConnect(_session, cb) { state.connections++; cb(); },
    onRcptTo(_address, _session, cb) {
      state.attempts++;
      const m = state.mode;
      if (m.kind === 'reject' && (m.at ?? 'rcpt') === 'rcpt') {
        cb(Object.assign(new Error(m.message ?? '5.1.1 User unknown'), { responseCode: m.code ?? 550 }));
        return;
      }
      if (m.kind === 'defer') {
        cb(Object.assign(new Error(m.message ?? '4.2.1 Mailbox busy, try later'), { responseCode: m.code ?? 451 }));
        return;
      }
      cb();
    },
    onData(stream, session: SMTPServerSession, cb) {
      const chunks: Buffer[] = [];
      const m = state.mode;
      stream.on('data', (c: Buffer) => {
        chunks.push(c);
        if (m.kind === 'drop' && m.at === 'mid-data') sockets.get(session.id)?.destroy();
      });
      stream.on('end', () => {
        if (m.kind === 'drop' && m.at === 'after-dot') {
          // Take the message, then vanish without a reply: the sender cannot know it arrived.
          received.push(record(session, Buffer.concat(chunks)));
          sockets.get(session.id)?.destroy();
          return;
        }
        if (m.kind === 'reject' && m.at === 'data') {
          cb(Object.assign(new Error(m.message ?? '5.7.1 Message refused'), { responseCode: m.code ?? 554 }));
          return;
        }
        const done = (): void => {
          received.push(record(session, Buffer.concat(chunks)));
          cb(null, m.kind === 'accept' && m.reply !== undefined ? m.reply : 'Queued');
          if (m.kind === 'accept' && m.close) setImmediate(() => sockets.get(session.id)?.destroy());
          for (const w of [...waiters]) if (received.length >= w.n) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
        };
        if (m.kind === 'hold') {
          state.holding++;
          void m.release.then(() => { state.holding--; done(); });
        } else if (m.kind === 'accept' && m.delayMs) setTimeout(done, m.delayMs); else done();
      });
    },
  });
  // A client that vanishes (a killed sender) is part of these tests, not a failure of the MX.
  server.on('error', () => {});
  // smtp-server keeps its connections; the raw socket is what "drop" needs to cut.
  server.server.on('connection', (socket) => {
    socket.on('data', (chunk: Buffer) => {
      if (!/^RSET\r?$/im.test(chunk.toString('latin1'))) return;
      state.resets++;
      if (opts.dropOnRset) socket.destroy();
    });
    const track = (): void => {
      for (const c of (server as unknown as { connections: Set<{ id: string; _socket: { destroy(): void } }> }).connections) {
        sockets.set(c.id, c._socket);
      }
    };
    setImmediate(track);
    socket.once('close', track);
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const api: TestMx = {
    host,
    port,
    received,
    get mode() { return state.mode; },
    set mode(m: MxMode) { state.mode = m; },
    get attempts() { return state.attempts; },
    get connections() { return state.connections; },
    get resets() { return state.resets; },
    get holding() { return state.holding; },
    auths,
    waitFor(n, timeoutMs = 30_000) {
      if (received.length >= n) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${n} messages arrived at ${host}`)), timeoutMs);
        waiters.push({ n, resolve: () => { clearTimeout(timer); resolve(received); } });
      });
    },
    async dropConnections() {
      const open = [...(server as unknown as { connections: Set<{ _socket: Socket }> }).connections].map((c) => c._socket);
      await Promise.all(open.map((s) => new Promise<void>((resolve) => {
        if (s.destroyed) { resolve(); return; }
        s.once('close', () => resolve());
        s.destroy();
      })));
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return api;
}

function record(session: SMTPServerSession, raw: Buffer): Received {
  return {
    from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
    to: session.envelope.rcptTo.map((r) => r.address),
    raw,
    secure: session.secure,
    at: Date.now(),
  };
}
