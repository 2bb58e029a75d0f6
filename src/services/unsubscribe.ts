/**
 * Unsubscriptions through the links in mail: the token names the delivery (and so the recipient and
 * the sender domain) under an HMAC, so no one can unsubscribe anyone else or forge a link.
 */
import type { Logger } from 'pino';
import type { TokenSigner } from '../lib/tokens.js';
import type { MessageStore } from '../store/messages.js';

/** Records unsubscriptions from links. */
export class UnsubscribeService {
  constructor(private readonly messages: MessageStore, private readonly tokens: TokenSigner, private readonly log: Logger) {}

  /** Records the unsubscription a token asks for; false when the token is not one of ours (nothing changes). */
  async unsubscribe(token: string): Promise<boolean> {
    const id = this.tokens.verify(token);
    if (id === null) return false;
    const d = await this.messages.deliveryForUnsubscribe(id);
    if (!d) return false;
    const domain = d.sender.slice(d.sender.lastIndexOf('@') + 1);
    await this.messages.unsubscribe(id, d.account_id, domain, d.recipient, Date.now());
    this.log.info({ delivery: id, domain }, 'recipient unsubscribed');
    return true;
  }
}
