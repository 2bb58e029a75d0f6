/** Email templates: create, update, read, list, delete, and the operator's review. */
import { fail } from '../errors/coded-error.js';
import { checkTemplateName, decodeTemplateContent, TemplateStatus, type DecodedContent } from '../domain/template.js';
import type { TemplateMetaRow, TemplateRow, TemplateStore } from '../store/templates.js';
import { checkPageLimit } from '../domain/paging.js';

/** Limits that apply to every account. */
export interface TemplateLimits {
  /** Templates per account. */
  perAccount: number;
  /** HTML plus text after decoding, in bytes. */
  maxBytes: number;
}

/** A template's name and review state, as lists show it. */
export interface TemplateSummary {
  id: number;
  name: string;
  status: number;
  reviewReason: string;
  createdAt: number;
}

/** A whole template. */
export interface TemplateView extends TemplateSummary {
  html: string | null;
  text: string | null;
  variables: string[];
}

/** The review state a new or changed template starts in. */
const initialStatus = (templateReview: boolean): number => (templateReview ? TemplateStatus.Pending : TemplateStatus.Approved);

/** Template rules over the template store. */
export class TemplateService {
  constructor(private readonly store: TemplateStore, private readonly limits: TemplateLimits) {}

  /** Creates a template; it is approved at once unless the account requires review. */
  async create(accountId: number, name: string, content: { html?: string; text?: string }): Promise<number> {
    const row = this.prepare(name, content);
    const id = await this.store.create(accountId, row, this.limits.perAccount);
    if (id === null) {
      fail('FailedOperation.ExceedTemplateLimit', `This account already has ${this.limits.perAccount} templates, the most allowed.`);
    }
    return id;
  }

  /** Replaces a template's name and content; a reviewed account's template goes back to pending. */
  async update(accountId: number, id: number, name: string, content: { html?: string; text?: string }): Promise<void> {
    const row = this.prepare(name, content);
    if (!(await this.store.update(accountId, id, row))) notFound(id);
  }

  /** One template of the account. */
  async get(accountId: number, id: number): Promise<TemplateView> {
    const row = await this.store.get(accountId, id);
    if (!row) notFound(id);
    return view(row);
  }

  /** A page of templates, newest first, with the total count. */
  async list(accountId: number, limit: number, offset: number): Promise<{ items: TemplateSummary[]; total: number }> {
    checkPageLimit(limit);
    const { rows, total } = await this.store.list(accountId, limit, offset);
    return { items: rows.map(summary), total };
  }

  /** Deletes a template. */
  async delete(accountId: number, id: number): Promise<void> {
    if (!(await this.store.delete(accountId, id))) notFound(id);
  }

  /** Operator decision on a template: approve, or reject with a reason. */
  async review(accountId: number, id: number, decision: 'approve' | 'reject', reason: string): Promise<void> {
    const status = decision === 'approve' ? TemplateStatus.Approved : TemplateStatus.Rejected;
    if (!(await this.store.review(accountId, id, status, reason, Date.now()))) notFound(id);
  }

  /** Templates waiting for review in the account. */
  async pending(accountId: number): Promise<TemplateView[]> {
    return (await this.store.pending(accountId)).map(view);
  }

  private prepare(name: string, content: { html?: string; text?: string }) {
    const checkedName = checkTemplateName(name);
    const decoded: DecodedContent = decodeTemplateContent(content, this.limits.maxBytes);
    return {
      name: checkedName,
      html: decoded.html,
      text: decoded.text,
      variables: JSON.stringify(decoded.variables),
      status: initialStatus,
      now: Date.now(),
    };
  }
}

function notFound(id: number): never {
  fail('InvalidParameterValue.TemplateNotExist', `There is no template with TemplateID ${id} in this account.`);
}

function summary(r: TemplateMetaRow): TemplateSummary {
  return { id: r.id, name: r.name, status: r.status, reviewReason: r.review_reason, createdAt: r.created_at };
}

function view(r: TemplateRow): TemplateView {
  return { ...summary(r), html: r.html, text: r.text, variables: JSON.parse(r.variables) as string[] };
}
