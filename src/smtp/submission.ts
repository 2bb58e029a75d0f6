/**
 * SMTP submission (RFC 6409): applications send through Sesame with a sender address and its SMTP
 * password, on `SESAME_SMTPS_PORT` (TLS from the first byte, like Tencent's 465) or
 * `SESAME_SMTP_PORT` (STARTTLS, then AUTH). Every message goes through the same checks and the same
 * acceptance as SendEmail; the `250` reply comes only once it is stored.
 *
 * Defences: nothing without AUTH (never an open relay); MAIL FROM must be the logged-in address;
 * failed logins slow down and then lock out their client network (auth-throttle.ts); password checks
 * wait their turn in a bounded line shared fairly between networks (lib/password-hash.ts); a lone CR
 * or LF anywhere ends the session (lib/line-guard.ts, against SMTP smuggling); smtp-server itself
 * refuses early talkers, drops what a client pipelined behind STARTTLS, and forgets the session's
 * state after the handshake.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { SMTPServerAuthentication, SMTPServerAuthenticationResponse, SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import { RateLimiter } from '../lib/rate-limit.js';
import type { ErrorCode } from '../errors/catalogue.js';
import { CodedError } from '../errors/coded-error.js';
import { GateFullError, hashPassword, verifyPassword } from '../lib/password-hash.js';
import { clientKey, clientNetwork } from '../lib/client-network.js';
import type { MailService } from '../services/mail.js';
import type { DomainStore } from '../store/domains.js';
import { AuthThrottle, type AuthAttempt } from '../lib/auth-throttle.js';
import type { TlsMaterial } from './certificate.js';
import { LineGuard } from '../lib/line-guard.js';
import { KeyedCounts } from '../lib/keyed-counts.js';
import { SesameSmtpServer, smtpError } from './server.js';
import { normalizeAddress } from '../domain/address.js';

/** Limits of the submission listeners. */
export interface SubmissionLimits {
  maxMessageBytes: number;
  maxRecipients: number;
  /** Longest line of a message, CRLF not counted (RFC 5322 §2.1.1: 998). */
  maxLineLength: number;
  /** Connections open at once from one client (lib/client-network.ts clientKey: an IPv6 client is its /64). */
  maxConnectionsPerAddress: number;
  /** Silence after which a client is disconnected. */
  idleMs: number;
  /** Longest session, whatever the client does. */
  sessionMs: number;
}

/** How the submission listeners are set up. */
export interface SubmissionOptions {
  host: string;
  smtpPort: number;
  smtpsPort: number;
  hostname: string;
  tls: TlsMaterial;
  limits: SubmissionLimits;
  /** Messages per second per account (0: no limit). */
  rateLimit: number;
  /** The login throttle (auth-throttle.ts); `maxEntries` sizes its tables (tests make them small). */
  auth: { maxFailures: number; lockoutMs: number; maxEntries?: number };
  domains: DomainStore;
  mail: MailService;
  log: Logger;
  /** Told of each connection, and of each transaction's end: accepted or refused (the metrics). */
  observe?: (what: 'session' | 'accepted' | 'refused') => void;
}

/** The running listeners. */
export interface Submission { smtpPort: number; smtpsPort: number; close(): Promise<void> }

/** Who a session logged in as. */
interface User { accountId: number; appId: number; address: string }

/** What Sesame tracks of each connection, by its session id. */
interface Client {
  address: string;
  /** What the per-client connection limit counts (clientKey of the address). */
  key: string;
  guard: LineGuard;
  /** The socket the session speaks over now (the TLS one after STARTTLS). */
  socket: Socket;
  /** Ends the session with a reply of Sesame's own. */
  end(reply: string): void;
  /** Ends a session that lasts too long. */
  timer: NodeJS.Timeout;
}

/** Compared against when the user does not exist, so both failures take as long. */
let decoyHash: Promise<string> | null = null;

/** Starts both submission listeners. */
export async function startSubmission(o: SubmissionOptions): Promise<Submission> {
  const clients = new Map<string, Client>();
  /** Connections open by client key (an IPv4 address, an IPv6 /64), as the HTTP listener counts them. */
  const perClient = new KeyedCounts<string>();
  const throttle = new AuthThrottle(o.auth);
  const rates = new RateLimiter();
  decoyHash ??= hashPassword(randomUUID());
  const L = o.limits;

  /** Drops what is kept of a session that ended (once; later calls do nothing). */
  const forget = (id: string): void => {
    const c = clients.get(id);
    if (!c) return;
    clearTimeout(c.timer);
    clients.delete(id);
    perClient.subtract(c.key);
  };
  const guardSocket = (socket: Socket, id: string): void => {
    let client = clients.get(id);
    // onSecure also runs for the implicit-TLS socket connect() already saw.
    if (client?.socket === socket) return;
    if (!client) {
      const address = socket.remoteAddress ?? '';
      const c: Client = {
        address,
        key: clientKey(address),
        guard: new LineGuard(),
        socket,
        end(reply) {
          if (!c.socket.destroyed) c.socket.end(`${reply}\r\n`);
          setTimeout(() => c.socket.destroy(), 1000).unref();
        },
        timer: setTimeout(() => c.end(`421 4.4.2 ${o.hostname} Session lasted too long; closing`), L.sessionMs),
      };
      c.timer.unref();
      clients.set(id, c);
      perClient.add(c.key);
      client = c;
    }
    const c = client;
    c.socket = socket;
    // Listens ahead of smtp-server's parser (this runs before connect() pipes the socket into it,
    // and onSecure before the TLS socket is piped), so a tainted session is marked before any
    // command of the offending chunk runs; each handler below refuses a tainted session.
    socket.prependListener('data', (chunk: Buffer) => {
      if (c.guard.ok && !c.guard.feed(chunk)) {
        o.log.warn({ client: c.address }, 'SMTP client sent a lone CR or LF: session ended (possible SMTP smuggling)');
        c.end(`521 5.5.2 ${o.hostname} Bare CR or LF received: only CRLF ends a line; closing`);
      }
    });
  };
  const tainted = (session: SMTPServerSession): boolean => !(clients.get(session.id)?.guard.ok ?? false);
  const userOf = (session: SMTPServerSession): User => session.user as unknown as User;

  const options: SMTPServerOptions = {
    name: o.hostname,
    banner: 'Sesame ESMTP submission',
    key: o.tls.key,
    cert: o.tls.cert,
    authMethods: ['PLAIN', 'LOGIN'],
    size: L.maxMessageBytes,
    socketTimeout: L.idleMs,
    closeTimeout: 5_000,
    // Submission clients are not looked up by name.
    disableReverseLookup: true,
    logger: false,
    onConnect(session, cb) {
      o.observe?.('session');
      const c = clients.get(session.id);
      if (c && perClient.get(c.key) > L.maxConnectionsPerAddress) {
        cb(smtpError(421, `4.7.0 ${o.hostname} Too many connections from your address; try again later`));
        return;
      }
      cb();
    },
    // smtp-server calls this for every connection connect() saw, a failed STARTTLS included.
    onClose(session) {
      forget(session.id);
    },
    onSecure(socket, session, cb) {
      // STARTTLS: the TLS socket carries the session from here; guard it too.
      guardSocket(socket as Socket, session.id);
      cb();
    },
    onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, cb: (err: Error | null | undefined, response?: SMTPServerAuthenticationResponse) => void) {
      let attempt: AuthAttempt | undefined;
      void (async () => {
        const client = clients.get(session.id);
        const from = client?.address ?? session.remoteAddress;
        // In the stored form (smtp-server hands IDN domains over in Unicode; the store keeps A-labels).
        const user = normalizeAddress(auth.username ?? '');
        const standing = throttle.standing(from, user);
        if (standing.kind === 'locked') {
          cb(standing.who === 'network'
            ? smtpError(421, `4.7.0 ${o.hostname} Too many failed logins from your network; try again later`)
            : smtpError(454, '4.7.0 Too many failed logins for this user from your network; try again later'));
          return;
        }
        attempt = throttle.begin(from, user);
        if (standing.delayMs) await new Promise((r) => setTimeout(r, standing.delayMs));
        const row = tainted(session) ? undefined : await o.domains.senderForLogin(user);
        const password = auth.password ?? '';
        // An unknown user costs a hash check too, and gets the same reply as a wrong password. Each
        // check waits in its network's line, and is refused (GateFullError) when the line is full,
        // unless a login succeeded from that network lately (then it goes ahead, every other turn).
        const turn = { line: clientNetwork(from), known: throttle.isKnown(from) };
        const good = row?.smtp_password_hash
          ? await verifyPassword(password, row.smtp_password_hash, turn)
          : (await verifyPassword(password, await (decoyHash as Promise<string>), turn), false);
        if (!row || !good) {
          attempt.failed();
          o.log.info({ client: from, user }, 'SMTP login failed');
          cb(smtpError(535, '5.7.8 Authentication credentials invalid'));
          return;
        }
        if (row.disabled_at !== null) {
          // Not a failure, and no reason to serve this network ahead of others either.
          attempt.abandoned();
          // Said only to a client that gave the right password: it learns why, a guesser learns nothing.
          o.log.info({ client: from, user, appId: row.app_id }, 'SMTP login of a suspended account refused');
          cb(smtpError(535, '5.7.1 This account is suspended; logins are refused until the operator enables it again'));
          return;
        }
        attempt.succeeded();
        const u: User = { accountId: row.account_id, appId: row.app_id, address: row.address };
        cb(null, { user: u as unknown as string });
      })().catch((err: unknown) => {
        attempt?.abandoned();
        // Not logged: a flood would fill the log, and nothing was checked.
        if (err instanceof GateFullError) return cb(smtpError(454, '4.7.0 Server busy checking other logins; try again shortly'));
        o.log.error({ err }, 'SMTP login could not be checked');
        cb(smtpError(454, '4.7.0 Temporary authentication failure; try again later'));
      });
    },
    onMailFrom(address, session, done) {
      const cb = (err?: Error | null): void => { if (err) o.observe?.('refused'); done(err); };
      const u = userOf(session);
      if (tainted(session)) return cb(smtpError(554, '5.5.2 Session refused'));
      if (normalizeAddress(address.address) !== u.address) {
        return cb(smtpError(553, `5.7.1 Sender address must be ${u.address}, the address you logged in as`));
      }
      if (!rates.take(u.accountId, 'smtp', o.rateLimit)) {
        return cb(smtpError(451, `4.7.1 Error: ${sesJson('RequestLimitExceeded.SmtpRateLimit', `More than ${o.rateLimit} messages per second from this account; retry shortly.`)}`));
      }
      o.mail.checkSubmissionAllowed(u.accountId).then(() => cb(), (err: unknown) => cb(refusal(err, o.log)));
    },
    onRcptTo(address, session, cb) {
      const u = userOf(session);
      if (tainted(session)) return cb(smtpError(554, '5.5.2 Session refused'));
      if (session.envelope.rcptTo.length >= L.maxRecipients) {
        return cb(smtpError(452, `4.5.3 Too many recipients: at most ${L.maxRecipients} per message`));
      }
      o.mail.checkSubmissionRecipient(u.accountId, u.address, address.address).then(
        () => cb(),
        (err: unknown) => cb(refusal(err, o.log)),
      );
    },
    onData(stream, session, done) {
      const cb = (err: Error | null, reply?: string): void => { o.observe?.(err ? 'refused' : 'accepted'); done(err, reply); };
      const chunks: Buffer[] = [];
      let lineLength = 0;
      let longLine = false;
      stream.on('data', (chunk: Buffer) => {
        if (stream.sizeExceeded || longLine) return;
        chunks.push(chunk);
        // Line lengths, across chunks. Every LF follows a CR here (the line guard saw to it), so a
        // line's length is its bytes up to the LF, less one.
        for (let i = 0; ;) {
          const at = chunk.indexOf(0x0a, i);
          lineLength += (at < 0 ? chunk.length : at) - i;
          if (lineLength - 1 > L.maxLineLength) { longLine = true; break; }
          if (at < 0) break;
          lineLength = 0;
          i = at + 1;
        }
      });
      stream.once('error', (err) => o.log.warn({ err }, 'SMTP message stream failed'));
      stream.once('end', () => {
        if (tainted(session)) return cb(smtpError(554, '5.5.2 Session refused'));
        if (stream.sizeExceeded) return cb(smtpError(552, `5.3.4 Message larger than ${L.maxMessageBytes} bytes`));
        if (longLine) return cb(smtpError(554, `5.6.0 A line of the message is longer than ${L.maxLineLength} characters (RFC 5322 §2.1.1)`));
        const u = userOf(session);
        o.mail.submit({ id: u.accountId, appId: u.appId }, {
          sender: u.address,
          recipients: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        }).then(
          (messageId) => cb(null, `2.0.0 Ok: queued as ${messageId}`),
          (err: unknown) => cb(refusal(err, o.log)),
        );
      });
    },
  };

  const plain = new SesameSmtpServer({ ...options }, guardSocket);
  const implicit = new SesameSmtpServer({ ...options, secure: true }, guardSocket);
  const listen = (s: SesameSmtpServer, port: number): Promise<number> => new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, o.host, () => {
      s.removeListener('error', reject);
      s.on('error', (err) => o.log.warn({ err }, 'SMTP submission connection error'));
      resolve((s.server.address() as AddressInfo).port);
    });
  });
  const smtpPort = await listen(plain, o.smtpPort);
  const smtpsPort = await listen(implicit, o.smtpsPort).catch(async (e: unknown) => {
    await new Promise<void>((r) => plain.close(() => r()));
    throw e;
  });
  return {
    smtpPort,
    smtpsPort,
    close: () => Promise.all([plain, implicit].map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined),
  };
}

/** Tencent's SMTP form of a business error: the API's error object, inside the reply text. */
function sesJson(code: ErrorCode, message: string): string {
  return `##SES-response-json: ${JSON.stringify({ Response: { RequestId: randomUUID(), QcloudError: { Error: { Code: code, Message: message } } } })}`;
}

/** A refusal for a failed check: business errors in Tencent's form, anything else as temporary. */
function refusal(err: unknown, log: Logger): Error {
  if (err instanceof CodedError) return smtpError(554, `5.0.0 Error: transaction failed: ${sesJson(err.code, err.message)}`);
  log.error({ err }, 'SMTP submission failed inside Sesame');
  return smtpError(451, '4.3.0 Temporary failure; try again later');
}
