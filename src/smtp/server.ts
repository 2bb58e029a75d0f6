/**
 * What Sesame's SMTP listeners share on top of smtp-server: a hook on every client socket before
 * the library reads from it (so Sesame sees the raw bytes first, see lib/line-guard.ts), a connection id
 * of Sesame's own that the session carries, and replies whose enhanced status code Sesame chose.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

/** A reply whose text starts with its own enhanced status code (RFC 3463), e.g. `5.7.8 …`. */
const OWN_ENHANCED_CODE = /^[245]\.\d{1,3}\.\d{1,3} /;

/** Called with each client socket (plain, or already TLS on an implicit-TLS port) and its session id. */
export type SocketHook = (socket: Socket, id: string) => void;

/** smtp-server with a socket hook, and replies that keep the enhanced code their text begins with. */
export class SesameSmtpServer extends SMTPServer {
  constructor(options: SMTPServerOptions, private readonly onSocket: SocketHook) {
    // Enhanced status codes (RFC 2034, 3463) on every reply, advertised in EHLO: smtp-server
    // leaves them off unless asked.
    super({ hideENHANCEDSTATUSCODES: false, ...options });
  }

  /** smtp-server hands every accepted socket here (after the handshake on an implicit-TLS port). */
  override connect(socket: Socket, socketOptions?: Parameters<SMTPServer['connect']>[1]): void {
    const id = randomBytes(10).toString('hex');
    this.onSocket(socket, id);
    super.connect(socket, { ...socketOptions, id });
    for (const c of this.connections) {
      if (c.id !== id) continue;
      // smtp-server prefixes each reply with the enhanced code it derives from the reply code;
      // Sesame's replies name their own (RFC 3463), so those go out as written.
      const send = c.send.bind(c);
      c.send = (code, data, context) => send(code, data, typeof data === 'string' && OWN_ENHANCED_CODE.test(data) ? false : context);
      break;
    }
  }
}

/** An error a handler gives smtp-server: `message` starts with the enhanced code. */
export function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}
