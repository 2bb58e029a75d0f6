/**
 * A bare SMTP server for the behaviours smtp-server will not produce (it tidies its replies and
 * greets at once): written line by line, so a test can greet late or answer the final dot with any
 * bytes at all. It accepts every command and counts the messages it was given.
 */
import { createServer, type Socket } from 'node:net';

export interface RawSmtp {
  /** Messages whose final dot was answered. */
  messages: number;
  stop(): Promise<void>;
}

export interface RawSmtpOptions {
  /** Wait this long before the greeting. */
  greetDelayMs?: number;
  /** The reply to the final dot, as sent (CRLF added). */
  dataReply?: string;
  /** The reply to RCPT TO, as sent (CRLF added). */
  rcptReply?: string;
}

export async function startRawSmtp(host: string, port: number, opts: RawSmtpOptions = {}): Promise<RawSmtp> {
  const sockets = new Set<Socket>();
  const state: RawSmtp = { messages: 0, stop: async () => {} };
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    const greet = setTimeout(() => s.write(`220 ${host} ESMTP\r\n`), opts.greetDelayMs ?? 0);
    s.on('close', () => clearTimeout(greet));
    let buf = '';
    let inData = false;
    s.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            state.messages++;
            s.write(`${opts.dataReply ?? '250 2.0.0 queued'}\r\n`);
          }
          continue;
        }
        if (/^EHLO/i.test(line)) s.write(`250-${host}\r\n250 8BITMIME\r\n`);
        else if (/^RCPT/i.test(line) && opts.rcptReply) s.write(`${opts.rcptReply}\r\n`);
        else if (/^DATA/i.test(line)) { inData = true; s.write('354 go ahead\r\n'); }
        else if (/^QUIT/i.test(line)) { s.write('221 bye\r\n'); s.end(); }
        else s.write('250 ok\r\n');
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  state.stop = () => new Promise((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
  return state;
}
