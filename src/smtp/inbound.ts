/**
 * The inbound listener (`SESAME_MX_PORT`): where the bounce domains' MX records point. Today it
 * takes one kind of mail, the unsubscribe requests sent to a message's `List-Unsubscribe` mailto
 * address (`unsubscribe-<token>@<bounce domain>`); every other recipient is refused at RCPT, so it
 * relays nothing and accepts nothing it cannot act on. Asynchronous bounces and complaints will
 * arrive here too.
 */
import type { Logger } from 'pino';
import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import type { UnsubscribeService } from '../services/unsubscribe.js';
import { SesameSmtpServer, smtpError } from './server.js';

/** How the listener is set up. */
export interface InboundOptions {
  host: string;
  port: number;
  /** Greeting and EHLO name. */
  hostname: string;
  /** Certificate for STARTTLS (smtp-server's own self-signed one when absent). */
  tls?: { key: string; cert: string };
  unsubscribes: UnsubscribeService;
  log: Logger;
}

/** Unsubscribe mails are short; anything bigger is not one. */
const MAX_MESSAGE_BYTES = 256 * 1024;
const MAX_RECIPIENTS = 50;
const UNSUBSCRIBE_LOCAL = /^unsubscribe-(.+)$/i;

/** A running listener. */
export interface Inbound { port: number; close(): Promise<void> }

/** Starts the inbound listener. */
export async function startInbound(o: InboundOptions): Promise<Inbound> {
  const tokenOf = (rcpt: SMTPServerAddress): string | null => UNSUBSCRIBE_LOCAL.exec(localPart(rcpt.address))?.[1] ?? null;
  const server = new SesameSmtpServer({
    name: o.hostname,
    banner: 'Sesame inbound',
    // Mail from the world: no AUTH here, and so nothing is relayed.
    authOptional: true,
    disabledCommands: ['AUTH'],
    size: MAX_MESSAGE_BYTES,
    maxClients: 200,
    socketTimeout: 60_000,
    closeTimeout: 5_000,
    logger: false,
    ...(o.tls ? { key: o.tls.key, cert: o.tls.cert } : {}),
    onRcptTo(address, session, cb) {
      if (session.envelope.rcptTo.length >= MAX_RECIPIENTS) {
        cb(smtpError(452, '4.5.3 Too many recipients'));
        return;
      }
      const token = tokenOf(address);
      if (token === null) {
        cb(smtpError(550, '5.1.1 No such mailbox here'));
        return;
      }
      // An address whose message is past retention is refused, not taken and forgotten: the sender
      // learns it did not work (the message's link still does).
      o.unsubscribes.isAddressToken(token).then(
        (ours) => cb(ours ? undefined : smtpError(550, '5.1.1 No such mailbox here (an unsubscribe address whose message is no longer kept: use the link in the message)')),
        (err: unknown) => {
          o.log.error({ err }, 'checking an unsubscribe address failed');
          cb(smtpError(451, '4.3.0 Could not check that address now; try again later'));
        },
      );
    },
    onData(stream, session: SMTPServerSession, cb) {
      // The content says nothing the address does not: read it to the end, keep none of it.
      stream.on('data', () => {});
      stream.on('end', () => {
        if ((stream as { sizeExceeded?: boolean }).sizeExceeded) {
          cb(smtpError(552, '5.3.4 Message too big for an unsubscribe request'));
          return;
        }
        void (async () => {
          try {
            for (const rcpt of session.envelope.rcptTo) {
              const token = tokenOf(rcpt);
              if (token !== null) await o.unsubscribes.unsubscribeByMail(token);
            }
            cb(null, '2.0.0 Unsubscribed');
          } catch (err) {
            o.log.error({ err }, 'recording an unsubscribe by mail failed');
            cb(smtpError(451, '4.3.0 Could not record that now; try again later'));
          }
        })();
      });
    },
  }, () => { /* mail from the world is only ever an unsubscribe request: no smuggling guard needed */ });
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

function localPart(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : address.slice(0, at);
}
