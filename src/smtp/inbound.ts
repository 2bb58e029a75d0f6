/**
 * The inbound listener (`SESAME_MX_PORT`): where the bounce domains' MX records point. It takes
 * mail only for the addresses services/inbound.ts can verify (VERP bounce addresses, unsubscribe
 * addresses, fbl@/abuse@ at a bounce domain) and refuses every other recipient at RCPT, so it
 * relays nothing. What it takes is read and acted on before the `250`: a report that cannot be
 * recorded now gets a `451` and comes back; one that is not understood is kept for the operator and
 * answered `250`, so no report bounces back and forth.
 *
 * The same guards as submission: a lone CR or LF ends the session (SMTP smuggling), a message
 * is at most 10 MB, and the messages being received hold a bounded amount of memory together.
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { SMTPServerSession } from 'smtp-server';
import { LineGuard } from '../lib/line-guard.js';
import type { InboundRecipient, InboundService } from '../services/inbound.js';
import { SesameSmtpServer, smtpError } from './server.js';

/** How the listener is set up. */
export interface InboundOptions {
  host: string;
  port: number;
  /** Greeting and EHLO name. */
  hostname: string;
  /** Certificate for STARTTLS (smtp-server's own self-signed one when absent). */
  tls?: { key: string; cert: string };
  inbound: InboundService;
  log: Logger;
  /** Told of each connection, and of each transaction's end: accepted or refused (the metrics). */
  observe?: (what: 'session' | 'accepted' | 'refused') => void;
}

/** Largest message taken: reports quote the original, which may be large. */
export const INBOUND_MAX_BYTES = 10 * 1024 * 1024;
/** Bytes of messages being received at once, over all sessions: past it a message is answered 452 and comes back later. */
const INBOUND_BUFFER_BYTES = 64 * 1024 * 1024;
const MAX_RECIPIENTS = 50;

/** A running listener. */
export interface Inbound { port: number; close(): Promise<void> }

/** Starts the inbound listener. */
export async function startInbound(o: InboundOptions): Promise<Inbound> {
  const guards = new Map<string, LineGuard>();
  /** What each session's recipients are, as RCPT found them (the DATA handler acts on them). */
  const recipients = new Map<string, InboundRecipient[]>();
  let buffered = 0;

  const guardSocket = (socket: Socket, id: string): void => {
    let guard = guards.get(id);
    // STARTTLS hands the session a new socket: the guard goes on reading the same session.
    if (!guard) {
      guard = new LineGuard();
      guards.set(id, guard);
      socket.once('close', () => { guards.delete(id); recipients.delete(id); });
    }
    const g = guard;
    socket.prependListener('data', (chunk: Buffer) => {
      if (g.ok && !g.feed(chunk)) {
        o.log.warn({ client: socket.remoteAddress }, 'inbound SMTP client sent a lone CR or LF: session ended (possible SMTP smuggling)');
        if (!socket.destroyed) socket.end(`521 5.5.2 ${o.hostname} Bare CR or LF received: only CRLF ends a line; closing\r\n`);
        setTimeout(() => socket.destroy(), 1000).unref();
      }
    });
  };
  const tainted = (session: SMTPServerSession): boolean => !(guards.get(session.id)?.ok ?? false);

  const server = new SesameSmtpServer({
    name: o.hostname,
    banner: 'Sesame inbound',
    // Mail from the world: no AUTH here, and so nothing is relayed.
    authOptional: true,
    disabledCommands: ['AUTH'],
    size: INBOUND_MAX_BYTES,
    maxClients: 200,
    socketTimeout: 60_000,
    closeTimeout: 5_000,
    disableReverseLookup: true,
    logger: false,
    ...(o.tls ? { key: o.tls.key, cert: o.tls.cert } : {}),
    onConnect(_session, cb) {
      o.observe?.('session');
      cb();
    },
    onMailFrom(_address, session, cb) {
      recipients.set(session.id, []);
      cb(tainted(session) ? smtpError(521, '5.5.2 Session ended') : undefined);
    },
    onRcptTo(address, session, cb) {
      if (tainted(session)) { cb(smtpError(521, '5.5.2 Session ended')); return; }
      if (session.envelope.rcptTo.length >= MAX_RECIPIENTS) { cb(smtpError(452, '4.5.3 Too many recipients')); return; }
      o.inbound.recipient(address.address).then(
        (r) => {
          if (!r) { cb(smtpError(550, '5.1.1 No such mailbox here')); return; }
          recipients.get(session.id)?.push(r);
          cb();
        },
        (err: unknown) => {
          o.log.error({ err }, 'checking an inbound recipient failed');
          cb(smtpError(451, '4.3.0 Could not check that address now; try again later'));
        },
      );
    },
    onData(stream, session: SMTPServerSession, done) {
      const cb = (err: Error | null, reply?: string): void => { o.observe?.(err ? 'refused' : 'accepted'); done(err, reply); };
      const chunks: Buffer[] = [];
      let size = 0;
      let overBudget = false;
      stream.on('data', (c: Buffer) => {
        if (overBudget) return;
        if (buffered + c.length > INBOUND_BUFFER_BYTES) { overBudget = true; return; }
        buffered += c.length;
        size += c.length;
        chunks.push(c);
      });
      stream.on('end', () => {
        const release = (): void => { buffered -= size; };
        if ((stream as { sizeExceeded?: boolean }).sizeExceeded) { release(); cb(smtpError(552, '5.3.4 Message too big (at most 10 MB)')); return; }
        if (overBudget) { release(); cb(smtpError(452, '4.3.1 Too much mail being received at once; try again later')); return; }
        if (tainted(session)) { release(); cb(smtpError(521, '5.5.2 Session ended')); return; }
        const raw = Buffer.concat(chunks);
        const rcpts = recipients.get(session.id) ?? [];
        o.inbound.receive({ client: session.remoteAddress, mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', recipients: rcpts }, raw).then(
          (r) => { release(); cb(null, `2.0.0 Received (${r.outcomes.join(', ')})`); },
          (err: unknown) => {
            release();
            o.log.error({ err }, 'recording inbound mail failed');
            cb(smtpError(451, '4.3.0 Could not record that now; try again later'));
          },
        );
      });
    },
  }, guardSocket);
  // A client that misbehaves ends its own session; the listener goes on.
  server.on('error', (err) => { o.log.debug({ err: err.message }, 'inbound smtp session error'); });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  return {
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
