/**
 * The account's blocklists: hard bounces (listed by delivery, expiring after SESAME_BLOCKLIST_DAYS)
 * and its own custom list (expiring at the end of an ExpireDate, or never).
 */
import { fail } from '../errors/coded-error.js';
import { ADDRESS_MAX, normalizeAddress, parseAddress } from '../domain/address.js';
import { formatDate, nextDay, parseDate } from '../lib/time.js';
import type { BlocklistStore } from '../store/blocklists.js';
import type { Queryable } from '../store/db.js';
import { checkPageLimit } from '../domain/paging.js';

/** Most addresses one CreateCustomBlacklist may carry. */
export const CUSTOM_BLOCKLIST_REQUEST_MAX = 20_000;

/** What CreateCustomBlacklist reports; the four counts add up to `total`. */
export interface AddCounts { total: number; valid: number; tooLong: number; repeat: number; invalid: number }

/** A listed hard bounce. */
export interface BounceView { email: string; reason: string; bouncedAt: number }

/** An entry of the account's own list. */
export interface CustomView { id: number; email: string; createdAt: number; expireDate: string | null; active: boolean }

/** Blocklist rules over the blocklist store. */
export class BlocklistService {
  constructor(private readonly store: BlocklistStore, private readonly opts: { timezone: string; bounceDays: number }) {}

  /**
   * Lists an address after a hard bounce, for SESAME_BLOCKLIST_DAYS; delivery passes its
   * transaction `q`, so the bounce is recorded with the outcome.
   */
  async recordHardBounce(accountId: number, email: string, reason: string, at = Date.now(), q?: Queryable): Promise<void> {
    await this.store.recordBounce(accountId, normalizeAddress(email), reason, at, at + this.opts.bounceDays * 86_400_000, q);
  }

  /** Moves whenever either list may have changed (Db.changeMark). */
  changeMark(): string | null {
    return this.store.changeMark();
  }

  /** Which of these (normalised) addresses may not be sent to now, by either list. */
  blocked(accountId: number, emails: readonly string[], now = Date.now()): Promise<Set<string>> {
    return this.store.blocked(accountId, emails, now, formatDate(now, this.opts.timezone));
  }

  /** Hard bounces from StartDate to EndDate (whole days, in SESAME_TIMEZONE), newest first. */
  async listBounces(accountId: number, q: { startDate: string; endDate: string; limit: number; offset: number; email?: string }): Promise<{ items: BounceView[]; total: number }> {
    checkPageLimit(q.limit);
    const from = parseDate(q.startDate, this.opts.timezone);
    const endDay = parseDate(q.endDate, this.opts.timezone);
    if (from === null || endDay === null || endDay < from) {
      fail('InvalidParameterValue.WrongDate', 'StartDate and EndDate must be dates (YYYY-MM-DD), StartDate not after EndDate.');
    }
    const to = parseDate(nextDay(q.endDate), this.opts.timezone) as number;
    const email = q.email?.trim().toLowerCase() || undefined;
    const { rows, total } = await this.store.listBounces(accountId, { from, to, email, now: Date.now(), limit: q.limit, offset: q.offset });
    return { total, items: rows.map((r) => ({ email: r.email, reason: r.reason, bouncedAt: r.bounced_at })) };
  }

  /** Takes addresses off the bounce list. */
  async deleteBounces(accountId: number, emails: readonly string[]): Promise<void> {
    if (emails.length === 0) fail('MissingParameter', 'EmailAddressList must name at least one address.');
    await this.store.deleteBounces(accountId, emails.map(normalizeAddress));
  }

  /** Adds addresses to the account's own list; counts what happened to each. */
  async addCustom(accountId: number, emails: readonly string[], expireDate: string | undefined): Promise<AddCounts> {
    if (emails.length === 0) fail('MissingParameter.EmailsNecessary', 'Emails must name at least one address.');
    if (emails.length > CUSTOM_BLOCKLIST_REQUEST_MAX) {
      fail('LimitExceeded.ReceiverDetailRequestLimit', `At most ${CUSTOM_BLOCKLIST_REQUEST_MAX} addresses per request.`);
    }
    const expiry = this.checkExpireDate(expireDate);
    const counts: AddCounts = { total: emails.length, valid: 0, tooLong: 0, repeat: 0, invalid: 0 };
    const fresh = new Set<string>();
    for (const e of emails) {
      if (e.trim().length > ADDRESS_MAX) { counts.tooLong++; continue; }
      const a = parseAddress(e);
      if (!a) counts.invalid++;
      else if (fresh.has(a.address)) counts.repeat++;
      else fresh.add(a.address);
    }
    const added = await this.store.addCustom(accountId, [...fresh], expiry, Date.now());
    counts.valid = added.size;
    counts.repeat += fresh.size - added.size;
    return counts;
  }

  /** Changes one entry's address and expiry (an empty ExpireDate: for ever). */
  async updateCustom(accountId: number, id: number, email: string, expireDate: string | undefined): Promise<void> {
    const a = parseAddress(email);
    if (!a) fail('InvalidParameterValue.IllegalEmailAddress', `${JSON.stringify(email)} is not a valid email address.`);
    const r = await this.store.updateCustom(accountId, id, a.address, this.checkExpireDate(expireDate));
    if (r === 'missing') fail('InvalidParameterValue', `There is no entry with Id ${id} in this account's blocklist.`);
    if (r === 'duplicate') fail('InvalidParameterValue.RepeatEmailAddress', `${a.address} is already on this account's blocklist.`);
  }

  /** Takes addresses off the account's own list. */
  async deleteCustom(accountId: number, emails: readonly string[]): Promise<void> {
    if (emails.length === 0) fail('MissingParameter.EmailsNecessary', 'Emails must name at least one address.');
    await this.store.deleteCustom(accountId, emails.map(normalizeAddress));
  }

  /** A page of the account's own list; Status 0 expired, 1 active, 2 all. */
  async listCustom(accountId: number, q: { offset: number; limit: number; status: number; email?: string }): Promise<{ items: CustomView[]; total: number }> {
    checkPageLimit(q.limit);
    const status = ({ 0: 'expired', 1: 'active', 2: 'all' } as const)[q.status as 0 | 1 | 2];
    if (!status) fail('InvalidParameterValue', 'Status must be 0 (expired), 1 (active) or 2 (all).');
    const today = formatDate(Date.now(), this.opts.timezone);
    const email = q.email?.trim().toLowerCase() || undefined;
    const { rows, total } = await this.store.listCustom(accountId, { status, email, today, limit: q.limit, offset: q.offset });
    return {
      total,
      items: rows.map((r) => ({
        id: r.id, email: r.email, createdAt: r.created_at, expireDate: r.expire_date, active: r.expire_date === null || r.expire_date >= today,
      })),
    };
  }

  /** A `YYYY-MM-DD` from today on, or null (none: for ever). */
  private checkExpireDate(text: string | undefined): string | null {
    if (text === undefined || text.trim() === '') return null;
    const today = formatDate(Date.now(), this.opts.timezone);
    if (parseDate(text, this.opts.timezone) === null || text < today) {
      fail('InvalidParameterValue.WrongDate', `ExpireDate must be a date (YYYY-MM-DD) from today (${today}) on.`);
    }
    return text;
  }
}

