/**
 * ListCapturedEmails and GetCapturedEmail (Sesame's extensions, for local development): what
 * capture mode (SESAME_DELIVERY=capture) kept of each delivery, the message exactly as its recipient
 * would have had it. Outside capture mode nothing is kept: the list shows what an earlier capture
 * run kept (until retention takes it), usually nothing, and a missing message says why.
 */
import { normalizeAddress } from '../domain/address.js';
import { checkPageLimit } from '../domain/paging.js';
import { fail } from '../errors/coded-error.js';
import { viewMessage, type HeaderLine } from '../mail/captured.js';
import type { CapturedMailStore, CapturedRow } from '../store/captured-mail.js';

/** A captured mail as the list shows it. */
export interface CapturedSummary {
  id: number;
  /** The MessageId the send answered. */
  messageId: string;
  from: string;
  to: string;
  subject: string;
  size: number;
  capturedAt: number;
}

/** A captured mail whole. */
export interface CapturedMail extends CapturedSummary {
  message: Buffer;
  headers: HeaderLine[];
  html: string;
  text: string;
}

/** Lists and shows an account's captured mail. */
export class CapturedMailService {
  constructor(private readonly d: {
    store: CapturedMailStore;
    /** Whether this server's delivery mode is capture (only for what a missing message's error says). */
    capturing: boolean;
  }) {}

  /** A page of the account's captured mail, newest first (to `recipient` only, when given), and how many there are. */
  async list(accountId: number, q: { offset: number; limit: number; recipient?: string }): Promise<{ items: CapturedSummary[]; total: number }> {
    checkPageLimit(q.limit);
    const { rows, total } = await this.d.store.list(accountId, {
      recipient: q.recipient ? normalizeAddress(q.recipient) : undefined, limit: q.limit, offset: q.offset,
    });
    return { items: rows.map(summary), total };
  }

  /** One captured mail of the account, read; another account's is not found, as a missing one. */
  async get(accountId: number, id: number): Promise<CapturedMail> {
    const row = await this.d.store.get(accountId, id);
    if (!row) {
      fail('ResourceNotFound', this.d.capturing
        ? `No captured email has Id ${id} (it may have passed retention).`
        : `No captured email has Id ${id}: this server delivers mail (SESAME_DELIVERY is not capture), so none is kept.`);
    }
    return { ...summary(row), message: row.message, ...(await viewMessage(row.message)) };
  }
}

function summary(r: CapturedRow): CapturedSummary {
  return { id: Number(r.id), messageId: r.message_id, from: r.sender, to: r.recipient, subject: r.subject, size: Number(r.size), capturedAt: Number(r.captured_at) };
}
