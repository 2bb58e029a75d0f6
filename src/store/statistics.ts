/**
 * Reads of the daily counters (GetStatisticsReport, reputation) and of complaints
 * (GetAbuseReport). Counters are summed from `daily_volumes`, never counted from deliveries.
 */
import { EventKind, VOLUME_FIELDS, type VolumeField } from '../domain/events.js';
import type { Db, Param } from './db.js';

/** The counters of one day (or of several, summed). */
export type Volumes = Record<VolumeField, number>;

/** Filters of a volume query. */
export interface VolumeFilter { fromDay: string; toDay: string; senderDomain?: string; recipientDomain?: string }

/** A complaint with what its delivery and message say. */
export interface ComplaintRow {
  created_at: number;
  reported_at: number | null;
  source_ip: string;
  sender: string;
  recipient: string;
  recipient_domain: string;
  deliver_time: number | null;
  delivery_id: number;
  task_id: number | null;
  message_id: string;
  header_id: string | null;
  subject: string;
  template_id: number | null;
}

/** Filters of a complaint query; times are UTC ms, [from, to]; domains and addresses normalised. */
export interface ComplaintFilter {
  from: number;
  to: number;
  fromDomain?: string;
  fromAddress?: string;
  recipientDomain?: string;
  toAddress?: string;
  templateId?: number;
  limit: number;
  offset: number;
}

const SUMS = VOLUME_FIELDS.map((f) => `SUM(${f}) AS ${f}`).join(', ');

/** Reads statistics. */
export class StatisticsStore {
  constructor(private readonly db: Db) {}

  /** The account's counters per day with any, oldest first. */
  async daily(accountId: number, f: VolumeFilter): Promise<(Volumes & { day: string })[]> {
    const where = ['account_id = ?', 'day >= ?', 'day <= ?'];
    const params: Param[] = [accountId, f.fromDay, f.toDay];
    if (f.senderDomain !== undefined) { where.push('sender_domain = ?'); params.push(f.senderDomain); }
    if (f.recipientDomain !== undefined) { where.push('recipient_domain = ?'); params.push(f.recipientDomain); }
    const rows = await this.db.all<Record<string, string | number>>(
      `SELECT day, ${SUMS} FROM daily_volumes WHERE ${where.join(' AND ')} GROUP BY day ORDER BY day`, params);
    return rows.map((r) => ({ day: String(r.day), ...volumesOf(r) }));
  }

  /** One sender domain's counters of one day, over every recipient domain (reputation). */
  async ofDomainDay(accountId: number, senderDomain: string, day: string): Promise<Volumes> {
    const row = await this.db.get<Record<string, string | number | null>>(
      `SELECT ${SUMS} FROM daily_volumes WHERE account_id = ? AND day = ? AND sender_domain = ?`, [accountId, day, senderDomain]);
    return volumesOf(row ?? {});
  }

  /** The account's complaints received in [from, to], newest first, and how many there are in all. */
  async complaints(accountId: number, f: ComplaintFilter): Promise<{ rows: ComplaintRow[]; total: number }> {
    const where = ['e.account_id = ?', 'e.event = ?', 'e.created_at >= ?', 'e.created_at <= ?'];
    const params: Param[] = [accountId, EventKind.SpamReport, f.from, f.to];
    // A normalised domain holds no LIKE wildcard (letters, digits, '-' and '.').
    if (f.fromDomain !== undefined) { where.push('d.sender LIKE ?'); params.push(`%@${f.fromDomain}`); }
    if (f.fromAddress !== undefined) { where.push('d.sender = ?'); params.push(f.fromAddress); }
    if (f.recipientDomain !== undefined) { where.push('d.recipient_domain = ?'); params.push(f.recipientDomain); }
    if (f.toAddress !== undefined) { where.push('d.recipient = ?'); params.push(f.toAddress); }
    if (f.templateId !== undefined) { where.push('m.template_id = ?'); params.push(f.templateId); }
    const from = `FROM events e JOIN deliveries d ON d.id = e.delivery_id AND d.account_id = e.account_id JOIN messages m ON m.id = d.message_row
      WHERE ${where.join(' AND ')}`;
    const total = (await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n ${from}`, params))?.n ?? 0;
    const rows = await this.db.all<ComplaintRow>(
      `SELECT e.created_at, e.reported_at, e.source_ip, d.sender, d.recipient, d.recipient_domain, d.deliver_time, d.id AS delivery_id, d.task_id,
              m.message_id, m.header_id, m.subject, m.template_id
       ${from} ORDER BY e.created_at DESC, e.id DESC LIMIT ? OFFSET ?`,
      [...params, f.limit, f.offset],
    );
    return { rows, total: Number(total) };
  }
}

function volumesOf(r: Record<string, string | number | null>): Volumes {
  return Object.fromEntries(VOLUME_FIELDS.map((f) => [f, Number(r[f] ?? 0)])) as Volumes;
}
