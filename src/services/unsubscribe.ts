/**
 * Unsubscriptions through the links in mail and through mail to the List-Unsubscribe address. No
 * one can unsubscribe anyone else or forge a link:
 * - a link's token is sealed and carries the delivery, the account, the sender domain and the
 *   recipient (lib/sealed-token.ts), so it keeps working after retention has deleted the delivery
 *   (a recipient may open an old newsletter months later; CAN-SPAM asks for 30 days at least,
 *   whatever SESAME_STATUS_RETENTION_DAYS says). Links sent before names only the delivery, under
 *   an HMAC (`<id>.<mac>`), and are still honoured while the delivery exists;
 * - the address's token is short (a local part holds 64 characters) and names the delivery.
 */
import type { Logger } from 'pino';
import { domainOf } from '../domain/address.js';
import type { SealedTokens } from '../lib/sealed-token.js';
import type { TokenSigner } from '../lib/tokens.js';
import type { UnsubscriptionStore } from '../store/unsubscriptions.js';

/** What an unsubscribe names: the delivery it came from, and who leaves which sender domain of which account. */
export interface UnsubscribeTarget { deliveryId: number; accountId: number; domain: string; recipient: string }

/** The tokens of unsubscribe links and addresses. */
export interface UnsubscribeTokens {
  /** Link tokens (sealed). */
  link: SealedTokens;
  /** Link tokens of mail sent before links were sealed. */
  legacyLink: TokenSigner;
  /** `unsubscribe-<token>@` addresses. */
  address: TokenSigner;
}

/** Records unsubscriptions from links and from mail to the List-Unsubscribe address. */
export class UnsubscribeService {
  constructor(private readonly store: UnsubscriptionStore, private readonly tokens: UnsubscribeTokens, private readonly log: Logger) {}

  /** The token of a link that unsubscribes `t` (for the delivery worker). */
  linkToken(t: UnsubscribeTarget): string {
    return this.tokens.link.seal([t.deliveryId.toString(36), t.accountId.toString(36), t.domain, t.recipient]);
  }

  /** The token of an `unsubscribe-<token>@` address for a delivery. */
  addressToken(deliveryId: number): string {
    return this.tokens.address.sign(deliveryId);
  }

  /** Records the unsubscription a link's token asks for; false when the token is not one of ours (nothing changes). */
  async unsubscribe(token: string): Promise<boolean> {
    const target = await this.linkTarget(token);
    return target ? this.record(target, 'link') : false;
  }

  /** Whether a link's token is one of ours, so that a POST of it would unsubscribe; changes nothing. */
  async canUnsubscribe(token: string): Promise<boolean> {
    return (await this.linkTarget(token)) !== null;
  }

  /**
   * Whether mail to `unsubscribe-<token>@…` would unsubscribe: the address is one of ours and the
   * delivery it names is still kept (SESAME_STATUS_RETENTION_DAYS; the link works for ever).
   */
  async isAddressToken(token: string): Promise<boolean> {
    return (await this.deliveryTarget(this.tokens.address.verify(token))) !== null;
  }

  /** Records the unsubscription mail to `unsubscribe-<token>@…` asks for; false when the token is not ours. */
  async unsubscribeByMail(token: string): Promise<boolean> {
    const target = await this.deliveryTarget(this.tokens.address.verify(token));
    return target ? this.record(target, 'mail') : false;
  }

  private async linkTarget(token: string): Promise<UnsubscribeTarget | null> {
    const fields = this.tokens.link.open(token);
    if (fields) {
      const [delivery, account, domain, recipient] = fields;
      const deliveryId = parseInt(delivery, 36);
      const accountId = parseInt(account, 36);
      if (fields.length !== 4 || !Number.isSafeInteger(deliveryId) || !Number.isSafeInteger(accountId) || !domain || !recipient) return null;
      return { deliveryId, accountId, domain, recipient };
    }
    return this.deliveryTarget(this.tokens.legacyLink.verify(token));
  }

  /** What a delivery id names, while the delivery exists. */
  private async deliveryTarget(id: number | null): Promise<UnsubscribeTarget | null> {
    if (id === null) return null;
    const d = await this.store.deliveryFor(id);
    return d ? { deliveryId: id, accountId: d.account_id, domain: domainOf(d.sender), recipient: d.recipient } : null;
  }

  private async record(t: UnsubscribeTarget, via: 'link' | 'mail'): Promise<boolean> {
    await this.store.record(t.deliveryId, t.accountId, t.domain, t.recipient, Date.now());
    this.log.info({ delivery: t.deliveryId, domain: t.domain, via }, 'recipient unsubscribed');
    return true;
  }
}
