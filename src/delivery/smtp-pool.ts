/**
 * SMTP connections to remote hosts, reused: per target (an address and port), at most a few
 * connections, each carrying many messages (RSET between them). Built on nodemailer's
 * SMTPConnection, which does EHLO, STARTTLS, SIZE, dot-stuffing and the timeouts; this file decides
 * when to open, reuse and close, and turns every ending into one plain result.
 */
import { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { Logger } from 'pino';

/** Where to connect: an IP address, and the host name it belongs to (for TLS and logs). */
export interface Target { address: string; port: number; hostname: string }

/** How connections are made. */
export interface PoolOptions {
  /** EHLO name. */
  ehloName: string;
  /** STARTTLS: used whenever offered, required, or never. */
  tls: 'opportunistic' | 'required' | 'none';
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
  timeouts?: { connectMs: number; greetingMs: number; socketMs: number };
}

/** How one message fared with one connection. */
export type SendResult =
  | { kind: 'sent'; response: string; accepted: string[]; rejected: { recipient: string; code: number; response: string }[] }
  | {
    kind: 'failed';
    /** 4xx, or a network/protocol failure: try again later (or another host); 5xx: permanent. */
    permanent: boolean;
    code: number | null;
    response: string;
    /** The whole message was written before the failure: the remote may have it (a retry may duplicate). */
    afterData: boolean;
    /** The connection itself failed (another host may do better). */
    connection: boolean;
  };

interface PooledConnection { conn: SMTPConnection; sent: number; idleTimer: NodeJS.Timeout | null; broken: boolean }

interface TargetPool {
  idle: PooledConnection[];
  open: number;
  /** Sends waiting for a free connection or slot; each is woken to look again. */
  waiters: (() => void)[];
}

/**
 * RFC 5321 §4.5.3.2: 5 minutes for the greeting, and up to 10 for the reply to the final dot (the
 * longest wait of a transaction, so the inactivity limit). Connecting is not in the RFC: 30 s.
 */
const DEFAULT_TIMEOUTS = { connectMs: 30_000, greetingMs: 300_000, socketMs: 600_000 };

/** Reused SMTP connections, per target. */
export class SmtpPool {
  private readonly targets = new Map<string, TargetPool>();
  private closed = false;

  constructor(private readonly opts: PoolOptions, private readonly log: Logger) {}

  /** Sends one message to `target`, on a reused connection when one is free. */
  async send(target: Target, envelope: { from: string; to: string[] }, message: Buffer): Promise<SendResult> {
    let pooled: PooledConnection;
    try {
      pooled = await this.acquire(target);
    } catch (e) {
      return failure(e as SmtpError, false, true);
    }
    let streamEnded = false;
    const stream = Readable.from([message]);
    stream.once('end', () => { streamEnded = true; });
    const result = await new Promise<SendResult>((resolve) => {
      pooled.conn.send({ from: envelope.from, to: envelope.to, size: message.length }, stream, (err, info) => {
        if (err) {
          resolve(failure(err as SmtpError, streamEnded, isConnectionError(err as SmtpError)));
          return;
        }
        resolve({
          kind: 'sent',
          response: info?.response ?? '',
          accepted: info?.accepted ?? [],
          rejected: (info?.rejectedErrors ?? []).map((e) => ({
            recipient: String((e as SmtpError).recipient ?? ''),
            code: Number((e as SmtpError).responseCode ?? 550),
            response: String((e as SmtpError).response ?? e.message),
          })),
        });
      });
    });
    pooled.sent++;
    // A connection that answered (even a refusal) is in a known state and can carry the next message.
    const reusable = result.kind === 'sent' || (!result.connection && !result.afterData);
    this.release(target, pooled, reusable && !pooled.broken);
    return result;
  }

  /** Closes every connection; sends in progress finish first on their own. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pool of this.targets.values()) {
      for (const c of pool.idle.splice(0)) this.discard(c);
      for (const w of pool.waiters.splice(0)) w();
    }
  }

  private key(t: Target): string {
    return `${t.address}|${t.port}`;
  }

  private pool(t: Target): TargetPool {
    let p = this.targets.get(this.key(t));
    if (!p) {
      p = { idle: [], open: 0, waiters: [] };
      this.targets.set(this.key(t), p);
    }
    return p;
  }

  private async acquire(t: Target): Promise<PooledConnection> {
    const p = this.pool(t);
    for (;;) {
      if (this.closed) throw Object.assign(new Error('the delivery pool is closed'), { code: 'ECLOSED' });
      const idle = p.idle.pop();
      if (idle) {
        if (idle.idleTimer) clearTimeout(idle.idleTimer);
        idle.idleTimer = null;
        return idle;
      }
      if (p.open < this.opts.perTarget) {
        p.open++;
        try {
          return await this.connect(t);
        } catch (e) {
          p.open--;
          this.wake(p);
          throw e;
        }
      }
      await new Promise<void>((resolve) => p.waiters.push(resolve));
    }
  }

  private connect(t: Target): Promise<PooledConnection> {
    const to = this.opts.timeouts ?? DEFAULT_TIMEOUTS;
    const conn = new SMTPConnection({
      host: t.address,
      port: t.port,
      servername: t.hostname,
      name: this.opts.ehloName,
      secure: this.opts.secure ?? false,
      ignoreTLS: this.opts.tls === 'none',
      requireTLS: this.opts.tls === 'required',
      opportunisticTLS: this.opts.tls === 'opportunistic',
      // Opportunistic TLS protects against passive reading; certificates of MX hosts are rarely
      // checkable (RFC 7672 needs DANE or MTA-STS), so they are not checked unless TLS is required.
      tls: { rejectUnauthorized: this.opts.tls === 'required', servername: t.hostname },
      connectionTimeout: to.connectMs,
      greetingTimeout: to.greetingMs,
      socketTimeout: to.socketMs,
      maxResponseSize: 64 * 1024,
      logger: false,
    });
    const pooled: PooledConnection = { conn, sent: 0, idleTimer: null, broken: false };
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
      conn.on('end', () => { pooled.broken = true; });
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

  private release(t: Target, c: PooledConnection, reusable: boolean): void {
    const p = this.pool(t);
    const retire = (): void => {
      this.discard(c);
      p.open--;
      this.wake(p);
    };
    if (!reusable || this.closed || c.sent >= this.opts.messagesPerConnection) { retire(); return; }
    c.conn.reset((err) => {
      if (err || c.broken || this.closed) { retire(); return; }
      c.idleTimer = setTimeout(() => {
        const i = p.idle.indexOf(c);
        if (i >= 0) p.idle.splice(i, 1);
        retire();
      }, this.opts.idleMs);
      c.idleTimer.unref();
      p.idle.push(c);
      this.wake(p);
    });
  }

  /** Lets one waiting send look again (a connection or a slot has come free). */
  private wake(p: TargetPool): void {
    p.waiters.shift()?.();
  }

  private discard(c: PooledConnection): void {
    if (c.idleTimer) clearTimeout(c.idleTimer);
    try { c.conn.quit(); } catch { c.conn.close(); }
  }
}

/** The fields nodemailer puts on its errors. */
interface SmtpError extends Error { code?: string; responseCode?: number; response?: string; command?: string; recipient?: string }

function isConnectionError(e: SmtpError): boolean {
  return ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'ETLS', 'EDNS', 'ECLOSED', 'EPROTOCOL'].includes(e.code ?? '');
}

function failure(e: SmtpError, afterData: boolean, connection: boolean): SendResult {
  const code = typeof e.responseCode === 'number' ? e.responseCode : null;
  return {
    kind: 'failed',
    permanent: code !== null && code >= 500 && code < 600,
    code,
    response: (e.response ?? `${e.code ?? 'ERROR'}: ${e.message}`).slice(0, 1000),
    afterData,
    connection: connection || code === null,
  };
}
