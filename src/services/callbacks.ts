/**
 * SetEmailCallback and ListEmailCallbacks (Sesame's extensions; Tencent sets callbacks in its
 * console): an account-level callback, and one per sender address that wins for mail from it
 * (FACTS §5). Each has its own signing secret, sealed in the store and kept while its URL stays.
 */
import { normalizeAddress } from '../domain/address.js';
import { fail } from '../errors/coded-error.js';
import type { SecretBox } from '../lib/secret-box.js';
import { newWebhookSecret } from '../lib/webhook-signature.js';
import type { DnsClient } from '../net/dns.js';
import type { CallbackStore } from '../store/callbacks.js';
import type { DomainStore } from '../store/domains.js';
import type { WebhookOutbox } from '../store/outbox.js';
import { resolveDestination } from '../webhooks/destination.js';

/** A callback as the account sees it. */
export interface CallbackView { address: string; url: string; secret: string; active: boolean; createdAt: number }

/** Sets and lists callbacks. */
export class CallbackService {
  constructor(private readonly d: {
    store: CallbackStore;
    domains: Pick<DomainStore, 'getSender'>;
    box: SecretBox;
    dns: Pick<DnsClient, 'addresses'>;
    allowPrivateNetworks: boolean;
    /** The requests made to a callback, newest first (the webhook outbox's log). */
    log: Pick<WebhookOutbox, 'log'>;
  }) {}

  /** Sets (or, with an empty URL, removes) the callback of `address` ('' or absent: the account's own); its secret ('' when removed). */
  async set(accountId: number, q: { url: string; address?: string }): Promise<string> {
    const address = await this.addressOf(accountId, q.address);
    if (q.url === '') {
      await this.d.store.remove(accountId, address);
      return '';
    }
    const url = await this.checkUrl(q.url);
    const row = await this.d.store.set(accountId, address, url, () => this.d.box.seal(newWebhookSecret(), secretPurpose(accountId, address)), Date.now());
    return this.d.box.open(row.secret_sealed, secretPurpose(accountId, address));
  }

  /** The account's callbacks, its own level first. */
  async list(accountId: number): Promise<CallbackView[]> {
    return (await this.d.store.list(accountId)).map((r) => ({
      address: r.address, url: r.url, secret: this.d.box.open(r.secret_sealed, secretPurpose(accountId, r.address)), active: r.status === 1, createdAt: r.created_at,
    }));
  }

  /** The last `limit` requests made to the callback of `address` ('' or absent: the account's own), newest first. */
  async requests(accountId: number, q: { address?: string; limit?: number }): Promise<{ eventId: number; at: number; httpStatus: number; latencyMs: number; error: string }[]> {
    const limit = q.limit ?? 20;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 100) fail('InvalidParameterValue', 'Limit must be from 1 to 100.');
    const address = q.address ? normalizeAddress(q.address) : '';
    const callback = (await this.d.store.list(accountId)).find((c) => c.address === address);
    if (!callback) fail('InvalidParameterValue', `There is no callback ${address ? `for ${address}` : 'at the account level'}.`);
    return (await this.d.log.log(accountId, callback.id, limit)).map((r) => ({
      eventId: Number(r.event_id), at: Number(r.at), httpStatus: Number(r.http_status), latencyMs: Number(r.latency_ms), error: r.error,
    }));
  }

  /** '' for the account level, else a sender address of the account. */
  private async addressOf(accountId: number, given: string | undefined): Promise<string> {
    if (!given) return '';
    const address = normalizeAddress(given);
    if (!(await this.d.domains.getSender(accountId, address))) {
      fail('InvalidParameterValue', `Address ${given} is not a sender address of this account (CreateEmailAddress).`);
    }
    return address;
  }

  /** An http(s) URL whose host is an allowed destination, as written. */
  private async checkUrl(text: string): Promise<string> {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      fail('InvalidParameterValue', 'CallbackUrl must be an absolute http or https URL.');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') fail('InvalidParameterValue', 'CallbackUrl must be an http or https URL.');
    if (url.username || url.password) fail('InvalidParameterValue', 'CallbackUrl may not carry a user name or password; verify requests by their signature.');
    const dest = await resolveDestination(url.hostname, this.d.dns, this.d.allowPrivateNetworks);
    if (!dest.ok) fail('InvalidParameterValue', `CallbackUrl cannot be used: ${dest.reason}.`);
    return url.href;
  }
}

/** What a callback's secret is sealed for: its account and address, so a sealed value cannot be moved to another. */
export const secretPurpose = (accountId: number, address: string): string => `webhook-secret:${accountId}:${address}`;

