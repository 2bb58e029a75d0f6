/**
 * SMTP connections to remote hosts, reused: per target (an address and port), at most a few
 * connections, each carrying many messages (RSET between them). Built on nodemailer's
 * SMTPConnection, which does EHLO, STARTTLS, SIZE, dot-stuffing and the timeouts; this file opens
 * the TCP connection (so connecting has its own, short, timeout), decides when to reuse and close,
 * and turns every ending into one plain result. A connection the server closes or that stops
 * answering is always retired, whatever it was doing, so it never holds a slot.
 */
import { isIP, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { Logger } from 'pino';
import type { RefusalStage } from '../domain/bounce.js';

/** Where to connect: an IP address, and the host name it belongs to (for TLS and logs). */
export interface Target { address: string; port: number; hostname: string }

/** How connections are made. */
export interface PoolOptions {
  /** EHLO name. */
  ehloName: string;
  /** STARTTLS: used whenever offered, required, or never. */
  tls: 'opportunistic' | 'required' | 'none';
  /** Certificate authorities trusted besides the system's (PEM). */
  extraCa?: string;
  /** Connections per target at most. */
  perTarget: number;
  /** Messages per connection before it is closed and a fresh one opened. */
  messagesPerConnection: number;
  /** Idle connections are closed after this. */
  idleMs: number;
  /** Credentials (relay only). */
  auth?: { user: string; pass: string };
  /** TLS from the first byte (relay on smtps://). */
  secure?: boolean;
  /** Timeouts (RFC 5321 §4.5.3.2 by default). */
  timeouts?: Partial<Timeouts>;
  /**
   * Whether an address may be connected to (unset: any). The route leaves such addresses out
   * already; checking again where sockets are opened keeps that true whatever calls the pool.
   */
  allowAddress?: (address: string) => boolean;
}

/** How long each step may take. */
export interface Timeouts {
  /** The TCP connection (not in RFC 5321; short, so the next MX host gets its turn soon). */
  connectMs: number;
  /** The greeting, and the STARTTLS upgrade. */
  greetingMs: number;
  /** Silence within a transaction; the longest wait (for the reply to the final dot) bounds it. */
  socketMs: number;
  /** The reply to RSET between two messages on a reused connection. */
  resetMs: number;
  /** Waiting for a free connection to the target when all are busy. */
  queueMs: number;
}

/** How one message fared with one connection. */
export type SendResult =
  | { kind: 'sent'; response: string }
  /** The address is not an allowed destination: no connection was attempted. */
  | { kind: 'refused' }
  | {
    kind: 'failed';
    /** 4xx, or a network/protocol failure: try again later (or another host); 5xx: permanent. */
    permanent: boolean;
    code: number | null;
    response: string;
    /** The step that failed. */
    stage: RefusalStage;
    /** The whole message was written before the failure: the remote may have it (a retry may duplicate). */
    afterData: boolean;
    /** The connection itself failed (another host may do better). */
    connection: boolean;
  };

interface PooledConnection {
  conn: SMTPConnection;
  sent: number;
  idleTimer: NodeJS.Timeout | null;
  /** The server closed it, or it failed: never used again. */
  broken: boolean;
  /** Run once when it ends, whatever it was doing. */
  onEnd: (() => void) | null;
}

interface TargetPool {
  key: string;
  idle: PooledConnection[];
  open: number;
  /** Sends waiting for a free connection or slot; each is woken to look again. */
  waiters: (() => void)[];
}

/**
 * RFC 5321 §4.5.3.2: 5 minutes for the greeting, and up to 10 for the reply to the final dot (the
 * longest wait of a transaction, so the inactivity limit). Connecting is not in the RFC: 30 s.
 */
const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 30_000, greetingMs: 300_000, socketMs: 600_000, resetMs: 60_000, queueMs: 120_000 };

/** Reused SMTP connections, per target. */
export class SmtpPool {
  private readonly targets = new Map<string, TargetPool>();
  /** Connections carrying a message now. */
  private readonly busy = new Set<PooledConnection>();
  private readonly timeouts: Timeouts;
  private readonly ca: string[] | undefined;
  private closed = false;

  constructor(private readonly opts: PoolOptions, private readonly log: Logger) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    // A `ca` given to TLS replaces the system's list: keep the system's and add the extra ones.
    this.ca = opts.extraCa ? [...rootCertificates, opts.extraCa] : undefined;
  }

  /**
   * Sends one message to `target`, on a reused connection when one is free. A reused connection
   * that turns out to be dead before anything was sent is replaced by a fresh one, once.
   */
  async send(target: Target, envelope: { from: string; to: string[] }, message: Buffer): Promise<SendResult> {
    const first = await this.sendOnce(target, envelope, message);
    if (!first.staleReuse) return first.result;
    this.log.debug({ host: target.hostname, address: target.address }, 'a reused connection was dead; sending on a fresh one');
    return (await this.sendOnce(target, envelope, message, true)).result;
  }

  /**
   * Closes every idle connection; sends in progress finish first on their own, unless `cutInFlight`
   * (a worker that gave their deliveries back when its drain ran out): then they are cut now.
   */
  async close(cutInFlight = false): Promise<void> {
    this.closed = true;
    for (const pool of this.targets.values()) {
      for (const c of pool.idle.splice(0)) this.discard(c);
      for (const w of pool.waiters.splice(0)) w();
    }
    if (cutInFlight) for (const c of this.busy) c.conn.close();
  }

  private async sendOnce(target: Target, envelope: { from: string; to: string[] }, message: Buffer, fresh = false): Promise<{ result: SendResult; staleReuse: boolean }> {
    let pooled: PooledConnection;
    try {
      pooled = await this.acquire(target, fresh);
    } catch (e) {
      if (e instanceof RefusedDestination) return { result: { kind: 'refused' }, staleReuse: false };
      return { result: failure(e as SmtpError, false, true), staleReuse: false };
    }
    const reused = pooled.sent > 0;
    let streamEnded = false;
    const stream = Readable.from([message]);
    stream.once('end', () => { streamEnded = true; });
    this.busy.add(pooled);
    const result = await new Promise<Exclude<SendResult, { kind: 'refused' }>>((resolve) => {
      pooled.conn.send({ from: envelope.from, to: envelope.to, size: message.length }, stream, (err, info) => {
        if (err) {
          resolve(failure(err as SmtpError, streamEnded, isConnectionError(err as SmtpError)));
          return;
        }
        // Sesame sends one recipient per transaction: nodemailer fails the send when it is refused,
        // so a send that succeeds was accepted whole.
        resolve({ kind: 'sent', response: info?.response ?? '' });
      });
    });
    this.busy.delete(pooled);
    pooled.sent++;
    // A connection that answered (even a refusal) is in a known state and can carry the next message.
    const reusable = result.kind === 'sent' || (!result.connection && !result.afterData);
    // A transaction that ended with the reply to the final dot leaves the session clean (RFC 5321
    // §4.1.1.4): the next MAIL FROM may follow at once. Only a refused one needs an RSET first.
    this.release(target, pooled, reusable && !pooled.broken, result.kind !== 'sent');
    const staleReuse = reused && !fresh && result.kind === 'failed' && result.connection && result.code === null && !result.afterData;
    return { result, staleReuse };
  }

  private key(t: Target): string {
    return `${t.address}|${t.port}`;
  }

  private pool(t: Target): TargetPool {
    const key = this.key(t);
    let p = this.targets.get(key);
    if (!p) {
      p = { key, idle: [], open: 0, waiters: [] };
      this.targets.set(key, p);
    }
    return p;
  }

  /** Forgets a target nothing uses any more (a long-running worker meets many addresses). */
  private forgetIfUnused(p: TargetPool): void {
    if (p.open === 0 && p.idle.length === 0 && p.waiters.length === 0 && this.targets.get(p.key) === p) this.targets.delete(p.key);
  }

  /** An idle live connection, or a new one when under the cap, or the first to come free (bounded wait). */
  private async acquire(t: Target, fresh: boolean): Promise<PooledConnection> {
    const p = this.pool(t);
    const deadline = Date.now() + this.timeouts.queueMs;
    for (;;) {
      if (this.closed) throw Object.assign(new Error('the delivery pool is closed'), { code: 'ECLOSED' });
      if (!fresh) {
        const idle = p.idle.pop();
        if (idle) {
          if (idle.idleTimer) clearTimeout(idle.idleTimer);
          idle.idleTimer = null;
          idle.onEnd = null;
          if (!idle.broken) return idle;
          this.retire(p, idle);
          continue;
        }
      } else if (p.open >= this.opts.perTarget && p.idle.length) {
        // A fresh connection is wanted and the cap is reached: make room by closing an idle one.
        this.retire(p, p.idle.shift()!);
      }
      if (p.open < this.opts.perTarget) {
        p.open++;
        try {
          return await this.connect(t);
        } catch (e) {
          p.open--;
          this.wake(p);
          this.forgetIfUnused(p);
          throw e;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw Object.assign(new Error(`no connection to ${t.hostname} [${t.address}] came free within ${Math.round(this.timeouts.queueMs / 1000)} s`), { code: 'ETIMEDOUT' });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          const i = p.waiters.indexOf(go);
          if (i >= 0) p.waiters.splice(i, 1);
          resolve();
        }, left);
        const go = (): void => { clearTimeout(timer); resolve(); };
        p.waiters.push(go);
      });
    }
  }

  private async connect(t: Target): Promise<PooledConnection> {
    if (this.opts.allowAddress && !this.opts.allowAddress(t.address)) throw new RefusedDestination();
    const socket = await openSocket(t, this.timeouts.connectMs);
    const to = this.timeouts;
    // Required TLS is checked TLS; opportunistic TLS takes what the host offers.
    const verify = this.opts.tls === 'required';
    // SNI carries host names only (RFC 6066 §3); a target named by its address gets none.
    const servername = isIP(t.hostname) ? undefined : t.hostname;
    const conn = new SMTPConnection({
      connection: socket,
      host: t.address,
      port: t.port,
      servername,
      name: this.opts.ehloName,
      secure: this.opts.secure ?? false,
      ignoreTLS: this.opts.tls === 'none',
      requireTLS: this.opts.tls === 'required',
      opportunisticTLS: this.opts.tls === 'opportunistic',
      // Opportunistic TLS protects against passive reading; certificates of MX hosts are rarely
      // checkable (RFC 7672 needs DANE or MTA-STS), so they are checked only when asked to.
      tls: {
        rejectUnauthorized: verify,
        servername,
        ...(this.ca ? { ca: this.ca } : {}),
        ...(verify && !servername ? { checkServerIdentity: ipIdentity(t.hostname) } : {}),
      },
      // The socket is connected already: this bounds the greeting and the STARTTLS upgrade.
      connectionTimeout: to.greetingMs,
      greetingTimeout: to.greetingMs,
      socketTimeout: to.socketMs,
      maxResponseSize: 64 * 1024,
      logger: false,
    });
    const pooled: PooledConnection = { conn, sent: 0, idleTimer: null, broken: false, onEnd: null };
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: Error): void => {
        pooled.broken = true;
        if (settled) {
          this.log.debug({ host: t.hostname, address: t.address, err: err.message }, 'smtp connection retired after an error');
          return;
        }
        settled = true;
        conn.close();
        reject(err);
      };
      // Before the handshake a failure (refused, timed out) arrives as an 'error' event, not in the
      // connect callback; afterwards errors outside a command (a peer resetting an idle connection)
      // only retire the connection.
      conn.on('error', fail);
      conn.on('end', () => {
        pooled.broken = true;
        const onEnd = pooled.onEnd;
        pooled.onEnd = null;
        onEnd?.();
      });
      conn.connect((err) => {
        if (err) { fail(err); return; }
        const ready = (): void => { settled = true; resolve(pooled); };
        if (!this.opts.auth) { ready(); return; }
        conn.login({ user: this.opts.auth.user, pass: this.opts.auth.pass }, (lerr) => {
          if (lerr) { fail(lerr); return; }
          ready();
        });
      });
    });
  }

  /**
   * After a message: back to the idle list (after an RSET is answered, when `reset`), or retired.
   * Whatever happens to the RSET (no answer, the server closing) the connection ends up in exactly
   * one of the two.
   */
  private release(t: Target, c: PooledConnection, reusable: boolean, reset: boolean): void {
    const p = this.pool(t);
    if (!reusable || this.closed || c.broken || c.sent >= this.opts.messagesPerConnection) { this.retire(p, c); return; }
    if (!reset) { this.park(p, c); return; }
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      c.onEnd = null;
      if (!ok || c.broken || this.closed) { this.retire(p, c); return; }
      this.park(p, c);
    };
    const timer = setTimeout(() => finish(false), this.timeouts.resetMs);
    c.onEnd = () => finish(false);
    try {
      c.conn.reset((err) => finish(!err));
    } catch {
      finish(false);
    }
  }

  /** Keeps a connection for the next message; one the server closes meanwhile is retired at once. */
  private park(p: TargetPool, c: PooledConnection): void {
    const leave = (): void => {
      const i = p.idle.indexOf(c);
      if (i < 0) return;
      p.idle.splice(i, 1);
      this.retire(p, c);
    };
    c.idleTimer = setTimeout(leave, this.opts.idleMs);
    c.idleTimer.unref();
    c.onEnd = leave;
    p.idle.push(c);
    this.wake(p);
  }

  /** Closes a connection and frees its slot. */
  private retire(p: TargetPool, c: PooledConnection): void {
    c.onEnd = null;
    this.discard(c);
    p.open--;
    this.wake(p);
    this.forgetIfUnused(p);
  }

  /** Lets one waiting send look again (a connection or a slot has come free). */
  private wake(p: TargetPool): void {
    p.waiters.shift()?.();
  }

  private discard(c: PooledConnection): void {
    if (c.idleTimer) clearTimeout(c.idleTimer);
    c.idleTimer = null;
    c.broken = true;
    try { c.conn.quit(); } catch { c.conn.close(); }
    // A server that never answers QUIT must not keep the socket: close after a short grace.
    setTimeout(() => c.conn.close(), 5_000).unref();
  }
}

/** Thrown where a socket would have been opened to an address that is not allowed. */
class RefusedDestination extends Error {}

/** Connects a TCP socket, or fails as a connection error after `ms`. */
function openSocket(t: Target, ms: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`connecting to ${t.hostname} [${t.address}]:${t.port} timed out after ${Math.round(ms / 1000)} s`), { code: 'ETIMEDOUT' }));
    }, ms);
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(Object.assign(new Error(`connecting to ${t.hostname} [${t.address}]:${t.port} failed: ${err.message}`), { code: 'ECONNECTION' }));
    });
    socket.connect({ host: t.address, port: t.port }, () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}

/** Identity check for a server named by its IP address: the certificate must list that address. */
function ipIdentity(ip: string): (host: string, cert: { subjectaltname?: string }) => Error | undefined {
  return (_host, cert) => {
    const names = (cert.subjectaltname ?? '').split(/,\s*/);
    return names.includes(`IP Address:${ip}`) ? undefined : new Error(`the certificate is not for ${ip}`);
  };
}

/** The fields nodemailer puts on its errors. */
interface SmtpError extends Error { code?: string; responseCode?: number; response?: string; command?: string; recipient?: string }

function isConnectionError(e: SmtpError): boolean {
  return ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'ETLS', 'EDNS', 'ECLOSED', 'EPROTOCOL'].includes(e.code ?? '');
}

/** Which step an error of nodemailer's came from. */
function stageOf(e: SmtpError): RefusalStage {
  switch (e.command) {
    case 'MAIL FROM': return 'mail';
    case 'RCPT TO': return 'rcpt';
    case 'DATA': return 'data';
    case 'CONN': case 'AUTH PLAIN': case 'AUTH LOGIN': case 'STARTTLS': case 'EHLO': case 'HELO': return 'connect';
    default: return 'other';
  }
}

function failure(e: SmtpError, afterData: boolean, connection: boolean): Extract<SendResult, { kind: 'failed' }> {
  const stage = stageOf(e);
  // Larger than the SIZE the server advertised (RFC 1870): refused before sending, for good.
  if (e.code === 'EMESSAGE' && e.responseCode === undefined && stage === 'mail') {
    return { kind: 'failed', permanent: true, code: 552, response: `552 5.3.4 ${e.message} (the server's SIZE limit)`, stage, afterData: false, connection: false };
  }
  // STARTTLS refused or failed where TLS is required: a connection failure, whatever the reply
  // code (another host, or a later try, may do better), and said so.
  if (e.command === 'STARTTLS') {
    return { kind: 'failed', permanent: false, code: null, response: `STARTTLS failed, and TLS is required: ${e.response ?? e.message}`, stage, afterData: false, connection: true };
  }
  const code = typeof e.responseCode === 'number' ? e.responseCode : null;
  return {
    kind: 'failed',
    permanent: code !== null && code >= 500 && code < 600,
    code,
    response: e.response ?? `${e.code ?? 'ERROR'}: ${e.message}`,
    stage,
    afterData,
    connection: connection || code === null,
  };
}
