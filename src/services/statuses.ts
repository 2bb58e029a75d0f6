/** GetSendEmailStatus: one status per recipient of the mail requested on one day. */
import { fail } from '../errors/coded-error.js';
import { normalizeAddress } from '../domain/address.js';
import { formatDate, nextDay, parseDate } from '../lib/time.js';
import type { StatusRow, StatusStore } from '../store/statuses.js';
import { checkPageLimit } from '../domain/paging.js';

/** Reads delivery statuses. */
export class StatusService {
  constructor(private readonly store: StatusStore, private readonly opts: { timezone: string; retentionDays: number }) {}

  /** Statuses of the account's mail requested on `requestDate` (a day in SESAME_TIMEZONE), oldest first. */
  async list(accountId: number, q: { requestDate: string; offset: number; limit: number; messageId?: string; toEmailAddress?: string }): Promise<StatusRow[]> {
    const tz = this.opts.timezone;
    const from = parseDate(q.requestDate, tz);
    if (from === null) fail('InvalidParameterValue.WrongDate', 'RequestDate must be a date (YYYY-MM-DD).');
    const today = formatDate(Date.now(), tz);
    const oldest = formatDate(Date.now() - this.opts.retentionDays * 86_400_000, tz);
    if (q.requestDate < oldest) {
      fail('FailedOperation.NotSupportDate', `Statuses are kept for ${this.opts.retentionDays} days: RequestDate must be ${oldest} or later.`);
    }
    if (q.requestDate > today) fail('InvalidParameterValue.WrongDate', `RequestDate ${q.requestDate} is in the future (today is ${today}).`);
    checkPageLimit(q.limit);
    const to = parseDate(nextDay(q.requestDate), tz) as number;
    const recipient = q.toEmailAddress ? normalizeAddress(q.toEmailAddress) : undefined;
    return this.store.statuses(accountId, { from, to, messageId: q.messageId || undefined, recipient, limit: q.limit, offset: q.offset });
  }
}
