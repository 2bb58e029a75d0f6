/**
 * GetStatisticsReport and GetAbuseReport: the daily counters summed per day, and the complaints the
 * feedback loops sent. Days are in SESAME_TIMEZONE, and a day's counters are those of the mail
 * requested that day (an open three days later counts on the day the mail was sent).
 */
import { normalizeAddress, normalizeDomain } from '../domain/address.js';
import { VOLUME_FIELDS } from '../domain/events.js';
import { fail } from '../errors/coded-error.js';
import { nextDay, parseDate, parseDateTime } from '../lib/time.js';
import type { ComplaintRow, StatisticsStore, Volumes } from '../store/statistics.js';

/** Longest report, in days (both ends included). */
export const REPORT_MAX_DAYS = 90;
/** Complaints one GetAbuseReport call returns at most (and by default). */
export const ABUSE_LIMIT_MAX = 1000;

/** A day's counters (or the sum of several). */
export type DayVolumes = Volumes & { day: string };

/** Reads statistics and complaints. */
export class StatisticsService {
  constructor(private readonly store: StatisticsStore, private readonly opts: { timezone: string }) {}

  /** The account's counters per day with any, oldest first, and their sum. */
  async report(accountId: number, q: { startDate: string; endDate: string; domain?: string; mailboxType?: string }): Promise<{ days: DayVolumes[]; overall: Volumes }> {
    const tz = this.opts.timezone;
    if (parseDate(q.startDate, tz) === null) fail('InvalidParameterValue.WrongDate', 'StartDate must be a date (YYYY-MM-DD).');
    if (parseDate(q.endDate, tz) === null) fail('InvalidParameterValue.WrongDate', 'EndDate must be a date (YYYY-MM-DD).');
    if (q.endDate < q.startDate) fail('InvalidParameterValue', `EndDate ${q.endDate} is before StartDate ${q.startDate}.`);
    if (daysBetween(q.startDate, q.endDate) >= REPORT_MAX_DAYS) {
      fail('InvalidParameterValue', `A report covers at most ${REPORT_MAX_DAYS} days; ${q.startDate} to ${q.endDate} is longer.`);
    }
    const days = await this.store.daily(accountId, {
      fromDay: q.startDate,
      toDay: q.endDate,
      senderDomain: q.domain ? domainOrFail(q.domain, 'Domain') : undefined,
      recipientDomain: q.mailboxType ? domainOrFail(q.mailboxType, 'ReceivingMailboxType') : undefined,
    });
    const overall = Object.fromEntries(VOLUME_FIELDS.map((f) => [f, days.reduce((n, d) => n + d[f], 0)])) as Volumes;
    return { days, overall };
  }

  /** The account's complaints received from StartTime to EndTime, newest first. */
  async complaints(accountId: number, q: {
    startTime: string; endTime: string; offset?: number; limit?: number;
    fromDomain?: string; fromAddress?: string; mta?: string; toAddress?: string; templateId?: string;
  }): Promise<{ rows: ComplaintRow[]; total: number }> {
    const from = this.instant(q.startTime, 'start');
    if (from === null) fail('InvalidParameter.InvalidStartTimeFormat', 'StartTime must be YYYY-MM-DD or YYYY-MM-DD hh:mm:ss.');
    const to = this.instant(q.endTime, 'end');
    if (to === null) fail('InvalidParameter.InvalidEndTimeFormat', 'EndTime must be YYYY-MM-DD or YYYY-MM-DD hh:mm:ss.');
    const limit = q.limit ?? ABUSE_LIMIT_MAX;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > ABUSE_LIMIT_MAX) fail('FailedOperation.InvalidLimit', `Limit must be from 1 to ${ABUSE_LIMIT_MAX}.`);
    const offset = q.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) fail('InvalidParameterValue', 'Offset must be 0 or more.');
    let templateId: number | undefined;
    if (q.templateId) {
      if (!/^[0-9]{1,15}$/.test(q.templateId)) fail('InvalidParameterValue', 'TemplateId must be a template\'s number.');
      templateId = Number(q.templateId);
    }
    return this.store.complaints(accountId, {
      from, to, limit, offset, templateId,
      fromDomain: q.fromDomain ? domainOrFail(q.fromDomain, 'FromDomain') : undefined,
      fromAddress: q.fromAddress ? normalizeAddress(q.fromAddress) : undefined,
      recipientDomain: q.mta ? domainOrFail(q.mta, 'Mta') : undefined,
      toAddress: q.toAddress ? normalizeAddress(q.toAddress) : undefined,
    });
  }

  /** A time of the request: a whole day stands for its first or last millisecond. */
  private instant(text: string, end: 'start' | 'end'): number | null {
    const tz = this.opts.timezone;
    if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
      const day = parseDate(text, tz);
      if (day === null) return null;
      return end === 'start' ? day : (parseDate(nextDay(text), tz) as number) - 1;
    }
    const t = parseDateTime(text, tz);
    return t === null ? null : end === 'start' ? t : t + 999;
  }
}

function domainOrFail(name: string, field: string): string {
  const d = normalizeDomain(name);
  if (d === null) fail('InvalidParameterValue', `${field} must be a domain name.`);
  return d;
}

/** Whole days from `a` to `b` (YYYY-MM-DD, calendar arithmetic). */
function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}
