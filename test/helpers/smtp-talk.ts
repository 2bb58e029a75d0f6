/**
 * A hand-driven SMTP client for protocol tests: writes exactly the bytes a test gives (bare CR and
 * LF included, several commands in one packet), reads whole replies, upgrades with STARTTLS.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

const REPLY_TIMEOUT_MS = 10_000;

export class SmtpTalk {
  private buffer = '';
  private waiters: (() => void)[] = [];
  private closedFlag = false;
  greeting = '';

  private constructor(private socket: Socket, private readonly replyTimeoutMs: number) {
    this.listen(socket);
  }

  /**
   * Connects (TLS from the first byte when `tls`) and reads the greeting. `from` is the source
   * address (any of 127/8 reaches a server on 127.0.0.1), for tests of limits by client network;
   * `replyTimeoutMs` how long a reply is waited for (10 s unless said).
   */
  static async open(port: number, o: { tls?: boolean; readGreeting?: boolean; from?: string; replyTimeoutMs?: number } = {}): Promise<SmtpTalk> {
    let socket = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ host: '127.0.0.1', port, localAddress: o.from }, () => resolve(s));
      s.once('error', reject);
    });
    if (o.tls) {
      const raw = socket;
      socket = await new Promise<Socket>((resolve, reject) => {
        const s = tlsConnect({ socket: raw, rejectUnauthorized: false }, () => resolve(s));
        s.once('error', reject);
      });
    }
    const t = new SmtpTalk(socket, o.replyTimeoutMs ?? REPLY_TIMEOUT_MS);
    if (o.readGreeting !== false) t.greeting = await t.reply();
    return t;
  }

  private listen(socket: Socket): void {
    socket.on('data', (c: Buffer) => { this.buffer += c.toString('utf8'); this.wake(); });
    socket.on('close', () => { this.closedFlag = true; this.wake(); });
    socket.on('error', () => {});
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async until<T>(take: () => T | undefined, what: string): Promise<T> {
    const deadline = Date.now() + this.replyTimeoutMs;
    for (;;) {
      const v = take();
      if (v !== undefined) return v;
      if (this.closedFlag) throw new Error(`connection closed while waiting for ${what}; unread: ${JSON.stringify(this.buffer)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; unread: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        this.waiters.push(() => { clearTimeout(timer); r(); });
      });
    }
  }

  /** The next whole reply (all its lines), without the final CRLF. */
  reply(): Promise<string> {
    return this.until(() => {
      const m = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.buffer);
      if (!m) return undefined;
      this.buffer = this.buffer.slice(m[0].length);
      return m[0].slice(0, -2);
    }, 'a reply');
  }

  /** Writes bytes as they are. */
  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** One command, CRLF added; its reply. */
  async cmd(line: string): Promise<string> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /** AUTH PLAIN with the given credentials; the reply. */
  auth(user: string, pass: string): Promise<string> {
    return this.cmd(`AUTH PLAIN ${Buffer.from(`\0${user}\0${pass}`).toString('base64')}`);
  }

  /** STARTTLS (the reply must be 220), then TLS over the same connection. */
  async starttls(extra = ''): Promise<void> {
    this.write(`STARTTLS\r\n${extra}`);
    const r = await this.reply();
    if (!r.startsWith('220')) throw new Error(`STARTTLS refused: ${r}`);
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    this.socket = await new Promise<Socket>((resolve, reject) => {
      const s = tlsConnect({ socket: raw, rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    this.listen(this.socket);
  }

  /** Resolves once the server has closed the connection; what it sent unread before that. */
  async closed(): Promise<string> {
    await this.until(() => (this.closedFlag ? true : undefined), 'the server to close');
    return this.buffer;
  }

  /** What arrived and was not read yet. */
  get unread(): string {
    return this.buffer;
  }

  end(): void {
    this.socket.destroy();
  }
}
