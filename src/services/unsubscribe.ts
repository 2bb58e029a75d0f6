/**
 * Unsubscriptions through the links in mail: the token names the delivery (and so the recipient and
 * the sender domain) under an HMAC, so no one can unsubscribe anyone else or forge a link.
 */
import type { Logger } from 'pino';
import { domainOf } from '../domain/address.js';
import type { TokenSigner } from '../lib/tokens.js';
import type { UnsubscriptionStore } from '../store/unsubscriptions.js';

/** Records unsubscriptions from links and from mail to the List-Unsubscribe address. */
export class UnsubscribeService {
  constructor(private readonly store: UnsubscriptionStore, private readonly tokens: { link: TokenSigner; address: TokenSigner }, private readonly log: Logger) {}

  /** Records the unsubscription a link's token asks for; false when the token is not one of ours (nothing changes). */
  unsubscribe(token: string): Promise<boolean> {
    return this.record(this.tokens.link.verify(token), 'link');
  }

  /** Whether a link's token names a delivery of ours, so that a POST of it would unsubscribe; changes nothing. */
  async canUnsubscribe(token: string): Promise<boolean> {
    const id = this.tokens.link.verify(token);
    return id !== null && (await this.store.deliveryFor(id)) !== undefined;
  }

  /** Whether `unsubscribe-<token>@…` is an address of ours (mail to it will unsubscribe). */
  isAddressToken(token: string): boolean {
    return this.tokens.address.verify(token) !== null;
  }

  /** Records the unsubscription mail to `unsubscribe-<token>@…` asks for; false when the token is not ours. */
  unsubscribeByMail(token: string): Promise<boolean> {
    return this.record(this.tokens.address.verify(token), 'mail');
  }

  private async record(id: number | null, via: 'link' | 'mail'): Promise<boolean> {
    if (id === null) return false;
    const d = await this.store.deliveryFor(id);
    if (!d) return false;
    const domain = domainOf(d.sender);
    await this.store.record(id, d.account_id, domain, d.recipient, Date.now());
    this.log.info({ delivery: id, domain, via }, 'recipient unsubscribed');
    return true;
  }
}
