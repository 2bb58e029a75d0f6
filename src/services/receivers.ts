/**
 * Recipient groups: create, upload addresses (with per-recipient template data or without), list,
 * list addresses, delete. Uploads are checked whole before anything is written, and written in one
 * transaction: a request is taken entirely or not at all, and its counts are exact.
 */
import { ADDRESS_MAX, parseAddress } from '../domain/address.js';
import { checkPageLimit } from '../domain/paging.js';
import { fail } from '../errors/coded-error.js';
import { formatDateTime, nextDay, parseDate, parseDateTime } from '../lib/time.js';
import type { Queryable } from '../store/db.js';
import { ReceiverStatus, receiverStatusAt, type NewDetail, type ReceiverRow, type ReceiverStore } from '../store/receivers.js';

/** Limits of recipient groups. */
export interface ReceiverLimits {
  /** Groups per account. */
  groups: number;
  /** Addresses per group, valid and invalid. */
  perGroup: number;
  timezone: string;
}

/** Addresses per upload request (FACTS §3.2). */
export const UPLOAD_REQUEST_MAX = 20_000;
/** Longest TemplateData of one recipient, in bytes of its JSON. */
export const RECIPIENT_DATA_MAX_BYTES = 800;
const NAME_MAX = 200;
const DESC_MAX = 300;
const EMAIL_FILTER_MAX = 50;
/** How long an upload may hold its group before a crash is assumed and the group is free again. */
const UPLOAD_MARK_MS = 5 * 60_000;

/** What an upload request did, address by address. */
export interface UploadCounts { total: number; valid: number; tooLong: number; empty: number; repeat: number }

/** A group as ListReceivers shows it. */
export interface ReceiverView { id: number; name: string; description: string; count: number; invalidCount: number; status: number; createTime: string }

/** An address as ListReceiverDetails shows it. */
export interface ReceiverDetailView { id: number; email: string; templateData: string; status: number; reason: string; createTime: string }

/** Says whether something (a batch task) is using a group; the reason when it is. */
export type GroupInUse = (accountId: number, receiverId: number, q: Queryable) => Promise<string | null>;

/** Recipient group rules over the receiver store. */
export class ReceiverService {
  /** `inUse` says whether a batch task still sends to a group: DeleteReceiver is refused while one does. */
  constructor(private readonly store: ReceiverStore, private readonly limits: ReceiverLimits, private readonly inUse: GroupInUse) {}

  /** Creates an empty group. */
  async create(accountId: number, name: string, desc: string | undefined): Promise<number> {
    const n = name.trim();
    if (n.length === 0 || [...n].length > NAME_MAX || /[\u0000-\u001f\u007f<>]/.test(n)) {
      fail('InvalidParameterValue.ReceiverNameIllegal', `ReceiversName must be 1 to ${NAME_MAX} characters, without control characters or < >.`);
    }
    const d = (desc ?? '').trim();
    if ([...d].length > DESC_MAX || /[\u0000-\u001f\u007f<>]/.test(d)) {
      fail('InvalidParameterValue.ReceiverDescIllegal', `Desc must be at most ${DESC_MAX} characters, without control characters or < >.`);
    }
    const r = await this.store.create(accountId, n, d, this.limits.groups, Date.now());
    if (r === 'limit') fail('LimitExceeded.ExceedReceiverLimit', `This account already has ${this.limits.groups} recipient groups, the most allowed.`);
    if (r === 'duplicate') fail('InvalidParameterValue.RepeatReceiverName', `This account already has a recipient group named ${JSON.stringify(n)}.`);
    return r;
  }

  /** Adds addresses without template data. */
  addEmails(accountId: number, receiverId: number, emails: readonly string[]): Promise<UploadCounts> {
    return this.upload(accountId, receiverId, emails.map((email) => ({ email, data: null })), '[]');
  }

  /** Adds addresses, each with its template data: JSON objects of strings, all with the same variable names. */
  addWithData(accountId: number, receiverId: number, datas: readonly { email: string; templateData: string }[]): Promise<UploadCounts> {
    let keys: string | null = null;
    const entries = datas.map((d, i) => {
      const data = checkRecipientData(d.templateData, i);
      const k = JSON.stringify(Object.keys(data).sort());
      if (keys === null) keys = k;
      else if (k !== keys) inconsistent(`Datas.${i}.TemplateData names ${k}, but Datas.0 names ${keys}`);
      return { email: d.email, data: JSON.stringify(data) };
    });
    return this.upload(accountId, receiverId, entries, keys ?? '[]');
  }

  private async upload(accountId: number, receiverId: number, entries: readonly { email: string; data: string | null }[], keys: string): Promise<UploadCounts> {
    if (entries.length === 0) fail('MissingParameter.EmailsNecessary', 'Name at least one recipient address.');
    if (entries.length > UPLOAD_REQUEST_MAX) {
      fail('LimitExceeded.ReceiverDetailRequestLimit', `At most ${UPLOAD_REQUEST_MAX} addresses per request; this one has ${entries.length}.`);
    }
    const counts: UploadCounts = { total: entries.length, valid: 0, tooLong: 0, empty: 0, repeat: 0 };
    const details: NewDetail[] = [];
    const seen = new Set<string>();
    for (const e of entries) {
      const text = e.email.trim();
      if (text === '') { counts.empty++; continue; }
      if (text.length > ADDRESS_MAX) { counts.tooLong++; continue; }
      const a = parseAddress(text);
      const email = a ? a.address : text;
      if (seen.has(email)) { counts.repeat++; continue; }
      seen.add(email);
      details.push(a
        ? { email, templateData: e.data, status: 1, reason: '' }
        : { email, templateData: e.data, status: 2, reason: 'not a valid email address' });
    }
    const now = Date.now();
    const mark = now + UPLOAD_MARK_MS;
    const refused = await this.store.beginUpload(accountId, receiverId, mark, (r) => {
      if (receiverStatusAt(r, now) === ReceiverStatus.Uploading) return 'busy' as const;
      if (r.data_keys !== null && r.data_keys !== keys) return 'inconsistent' as const;
      if (r.count + details.length > this.limits.perGroup) return 'full' as const;
      return null;
    });
    if (refused === undefined) notFound(receiverId);
    if (refused === 'busy') fail('OperationDenied.ReceiverIsOperating', `Recipient group ${receiverId} is taking another upload; try again when it ends.`);
    if (refused === 'inconsistent') inconsistent(keys === '[]' ? 'this group\'s recipients have template data, and this upload has none' : 'this upload\'s variable names differ from the group\'s');
    if (refused === 'full') fail('LimitExceeded.ReceiverDetailCountLimit', `A recipient group holds at most ${this.limits.perGroup} addresses; this upload would take it past that.`);
    let added: { valid: number; invalid: number } | null;
    try {
      added = await this.store.finishUpload(accountId, receiverId, mark, details, keys, now);
    } catch (e) {
      await this.store.abandonUpload(accountId, receiverId, mark).catch(() => undefined);
      throw e;
    }
    if (!added) fail('OperationDenied.ReceiverIsOperating', `Recipient group ${receiverId}'s upload took too long and lost its turn; upload again.`);
    counts.valid = added.valid;
    // Addresses the group already held are repeats too.
    counts.repeat += details.length - added.valid - added.invalid;
    return counts;
  }

  /** A page of the account's groups, newest first. */
  async list(accountId: number, q: { offset: number; limit: number; status?: number; keyword?: string }): Promise<{ items: ReceiverView[]; total: number }> {
    checkPageLimit(q.limit);
    if (q.status !== undefined && ![1, 2, 3].includes(q.status)) fail('InvalidParameterValue', 'Status must be 1 (empty), 2 (uploading) or 3 (uploaded).');
    const now = Date.now();
    const { rows, total } = await this.store.list(accountId, { status: q.status, keyword: q.keyword?.trim() || undefined, now, limit: q.limit, offset: q.offset });
    return { total, items: rows.map((r) => this.view(r, now)) };
  }

  /** A page of a group's addresses in upload order, and the group's valid and invalid counts. */
  async details(accountId: number, receiverId: number, q: { offset: number; limit: number; email?: string; status?: number; begin?: string; end?: string }) {
    checkPageLimit(q.limit);
    const r = await this.store.get(accountId, receiverId);
    if (!r) notFound(receiverId);
    const email = q.email?.trim();
    if (email && email.length > EMAIL_FILTER_MAX) fail('InvalidParameterValue', `Email must be at most ${EMAIL_FILTER_MAX} characters.`);
    if (q.status !== undefined && q.status !== 1 && q.status !== 2) fail('InvalidParameterValue', 'Status must be 1 (valid) or 2 (invalid).');
    const from = q.begin ? this.instant(q.begin, 'CreateTimeBegin', false) : undefined;
    const to = q.end ? this.instant(q.end, 'CreateTimeEnd', true) : undefined;
    const { rows, total } = await this.store.details(accountId, receiverId, { email: email || undefined, status: q.status, from, to, limit: q.limit, offset: q.offset });
    return {
      total,
      valid: r.count - r.invalid_count,
      invalid: r.invalid_count,
      items: rows.map((d): ReceiverDetailView => ({
        id: d.id, email: d.email, templateData: d.template_data ?? '', status: d.status, reason: d.reason, createTime: formatDateTime(d.created_at, this.limits.timezone),
      })),
    };
  }

  /** Deletes a group and its addresses; refused while it takes an upload or a task sends to it. */
  async delete(accountId: number, receiverId: number): Promise<void> {
    const now = Date.now();
    const r = await this.store.delete(accountId, receiverId, async (row, q) => {
      if (receiverStatusAt(row, now) === ReceiverStatus.Uploading) return 'it is taking an upload';
      return this.inUse(accountId, receiverId, q);
    });
    if (r === 'missing') notFound(receiverId);
    if (r !== 'deleted') fail('OperationDenied.ReceiverIsOperating', `Recipient group ${receiverId} cannot be deleted now: ${r.refused}.`);
  }

  private view(r: ReceiverRow, now: number): ReceiverView {
    return {
      id: r.id, name: r.name, description: r.description, count: r.count, invalidCount: r.invalid_count,
      status: receiverStatusAt(r, now), createTime: formatDateTime(r.created_at, this.limits.timezone),
    };
  }

  /** `YYYY-MM-DD hh:mm:ss`, or a day `YYYY-MM-DD` (its start; with `endOfDay`, the start of the next). */
  private instant(text: string, field: string, endOfDay: boolean): number {
    const tz = this.limits.timezone;
    const t = text.trim();
    const at = /^\d{4}-\d{2}-\d{2}$/.test(t) ? parseDate(endOfDay && parseDate(t, tz) !== null ? nextDay(t) : t, tz) : parseDateTime(t, tz);
    if (at === null) fail('InvalidParameterValue.WrongDate', `${field} must be YYYY-MM-DD or YYYY-MM-DD hh:mm:ss.`);
    // An end given to the second includes that second.
    return endOfDay && t.length > 10 ? at + 1000 : at;
  }
}

function notFound(id: number): never {
  fail('OperationDenied.ReceiverNotExist', `There is no recipient group with ReceiverId ${id} in this account.`);
}

function inconsistent(detail: string): never {
  fail('InvalidParameterValue.TemplateDataInconsistent', `Every recipient of a group must have template data with the same variable names: ${detail}.`);
}

/** A recipient's TemplateData: a JSON object of strings, at most 800 bytes, with no HTML in it. */
function checkRecipientData(json: string, i: number): Record<string, string> {
  if (Buffer.byteLength(json) > RECIPIENT_DATA_MAX_BYTES) {
    fail('InvalidParameterValue.TemplateDataLenLimit', `Datas.${i}.TemplateData is ${Buffer.byteLength(json)} bytes; at most ${RECIPIENT_DATA_MAX_BYTES} are allowed.`);
  }
  let parsed: unknown;
  try { parsed = JSON.parse(json); } catch { parsed = undefined; }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    fail('InvalidParameterValue.TemplateDataError', `Datas.${i}.TemplateData must be a JSON object of variable names to text.`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'string' && typeof v !== 'number') {
      fail('InvalidParameterValue.TemplateDataError', `Datas.${i}.TemplateData.${k} must be text.`);
    }
    const text = String(v);
    // Markup is for templates; a value that brings its own could restyle or hide the mail.
    if (/<\s*[A-Za-z!/?]/.test(text)) fail('InvalidParameterValue.InValidTemplateData', `Datas.${i}.TemplateData.${k} contains HTML, which values may not.`);
    out[k] = text;
  }
  return out;
}
