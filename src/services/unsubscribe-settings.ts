/**
 * Per sender address unsubscribe-link settings, and how they combine with a send request's own
 * `Unsubscribe`: the request wins when it says anything other than "0"; otherwise the address's
 * setting applies when it is enabled.
 */
import { fail } from '../errors/coded-error.js';
import { normalizeAddress } from '../domain/address.js';
import { noSuchSender, type SenderService } from './senders.js';
import type { UnsubscribeSettingRow, UnsubscribeSettingStore } from '../store/unsubscribe-settings.js';
import { checkPageLimit } from '../domain/paging.js';
import { MarkedCache } from '../lib/marked-cache.js';

/** Link languages: "0" no link, "1" English … "11" Indonesian (the intl SDK's list). */
export const UNSUBSCRIBE_LANGUAGES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11'] as const;
const UNSUBSCRIBE_PAGE_DEFAULT = 20;

/** One address's setting as the API shows it. */
export interface UnsubscribeSettingView { address: string; language: string; enabled: boolean }

/** Unsubscribe setting rules. */
export class UnsubscribeSettingService {
  /** Each sender's setting (or none), asked for every message: kept while the table is unchanged (Db.changeMark). */
  private readonly kept: MarkedCache<string, UnsubscribeSettingRow | null>;

  constructor(private readonly store: UnsubscribeSettingStore, private readonly senders: SenderService) {
    this.kept = new MarkedCache({ ttlMs: 10 * 60_000, maxEntries: 10_000 }, () => store.changeMark());
  }

  /** Creates the setting of one of the account's sender addresses. */
  async create(accountId: number, address: string, language: string, status: number): Promise<void> {
    const a = normalizeAddress(address);
    // The store looks the sender up under a lock, in the same transaction as the insert.
    const r = await this.store.create(accountId, a, checkLanguage(language), checkStatus(status), Date.now());
    if (r === 'no-sender') noSuchSender(address);
    if (r === 'exists') {
      fail('InvalidParameterValue.RepeatCreation', `${a} already has an unsubscribe setting; change it with UpdateAddressUnsubscribeConfig.`);
    }
  }

  /** Changes the setting of an address. */
  async update(accountId: number, address: string, language: string, status: number): Promise<void> {
    const a = (await this.senders.get(accountId, address)).address;
    if (!(await this.store.update(accountId, a, checkLanguage(language), checkStatus(status), Date.now()))) notFound(a);
  }

  /** Removes the setting of an address. */
  async delete(accountId: number, address: string | undefined): Promise<void> {
    if (!address) fail('MissingParameter', 'Address names the sender address whose setting to delete.');
    const a = normalizeAddress(address);
    if (!(await this.store.delete(accountId, a))) notFound(a);
  }

  /** A page of the account's settings. Limit is a string in this action's model. */
  async list(accountId: number, offset: number | undefined, limitText: string | undefined): Promise<{ items: UnsubscribeSettingView[]; total: number }> {
    let limit = UNSUBSCRIBE_PAGE_DEFAULT;
    if (limitText !== undefined && limitText !== '') {
      if (!/^\d{1,9}$/.test(limitText)) fail('InvalidParameterValue', 'Limit must be a whole number (given as a string).');
      limit = Number(limitText);
    }
    checkPageLimit(limit);
    const { rows, total } = await this.store.list(accountId, limit, offset ?? 0);
    return { total, items: rows.map((r) => ({ address: r.address, language: r.language, enabled: r.enabled === 1 })) };
  }

  /** The link language for a message: the request's when it asks for one, else the sender's enabled setting, else none ("0"). */
  async linkLanguage(accountId: number, sender: string, requested: string | undefined): Promise<string> {
    if (requested !== undefined && requested !== '' && requested !== '0') return checkLanguage(requested, 'Unsubscribe');
    const s = await this.kept.get(`${accountId} ${sender}`, async () => (await this.store.get(accountId, sender)) ?? null);
    return s && s.enabled === 1 ? s.language : '0';
  }

}

function checkLanguage(l: string, field = 'UnsubscribeConfig'): string {
  if (!(UNSUBSCRIBE_LANGUAGES as readonly string[]).includes(l)) {
    fail('InvalidParameterValue', `${field} must be "0" (no link) or a language from "1" to "11".`);
  }
  return l;
}

function checkStatus(s: number): boolean {
  if (s !== 0 && s !== 1) fail('InvalidParameterValue', 'Status must be 0 (disabled) or 1 (enabled).');
  return s === 1;
}

function notFound(address: string): never {
  fail('ResourceNotFound', `${address} has no unsubscribe setting.`);
}
