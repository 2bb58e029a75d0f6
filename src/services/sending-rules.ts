/**
 * The rules every way of sending shares (SendEmail, BatchSendEmail and each run of its task, SMTP
 * submission, and the delivery worker's last look before it sends), each written once:
 * - a sender domain may send only while it verifies (its DKIM and SPF records are published);
 * - a sender address sends only as an address of its account, on such a domain;
 * - a template is used only when approved, with a value for every variable it uses;
 * - free content (Simple, or a whole message over SMTP) only where the account allows it.
 * The callers choose the error code their action answers with; the rule itself is here.
 */
import type { Address } from '../domain/address.js';
import { findVariables, TemplateStatus } from '../domain/template.js';
import { MarkedCache } from '../lib/marked-cache.js';
import type { AccountRow, AccountStore } from '../store/accounts.js';
import type { DomainRow, DomainStore, SenderRow } from '../store/domains.js';
import type { TemplateRow, TemplateStore } from '../store/templates.js';

/** A sender address that may send, with its domain; or why it may not. */
export type SenderCheck =
  | { ok: true; sender: SenderRow; domain: DomainRow }
  | { ok: false; problem: 'no-sender' | 'not-verified' };

/** A template that may be used; or why not (with the variables nobody gives). */
export type TemplateCheck =
  | { ok: true; template: TemplateRow }
  | { ok: false; problem: 'not-approved' }
  | { ok: false; problem: 'missing'; names: string[] };

/**
 * What an account may do now: send at all (it exists and is not suspended), send content of its
 * own; and whether its HTML mail is tracked.
 */
export interface Standing { active: boolean; freeContent: boolean; tracking: boolean }

/**
 * Whether the account may send content of its own (Simple, or whole messages over SMTP), not only
 * approved templates: as the operator set it, or by default unless its templates need review
 * (an operator who reviews templates controls content; free content would go around that).
 */
export function allowsFreeContent(a: Pick<AccountRow, 'free_content' | 'template_review'>): boolean {
  return a.free_content === null ? a.template_review === 0 : a.free_content === 1;
}

/** Whether a sender domain may send now: it exists and verifies. */
export function maySend(domain: DomainRow | undefined): domain is DomainRow {
  return domain !== undefined && domain.verified === 1;
}

/** How long, and how many, of each kind of row the rules keep while their tables are unchanged. */
const KEPT = { ttlMs: 10 * 60_000, maxEntries: 10_000 };
/** Template text kept at most, in UTF-16 code units. */
const TEMPLATE_TEXT_KEPT = 32 * 1024 * 1024;

/**
 * The rules, over the stores they read. What they read for every message (the account's
 * standing, the sender address and its domain, the template) is kept while the store's change
 * mark for those tables holds (Db.changeMark), so a change made anywhere applies from the next
 * message on; where the store has no mark (PostgreSQL) it is read afresh each time.
 */
export class SendingRules {
  private readonly standings: MarkedCache<number, Standing>;
  private readonly senders: MarkedCache<string, SenderCheck>;
  private readonly domains: MarkedCache<string, DomainRow | null>;
  private readonly templates: MarkedCache<string, { row: TemplateRow; variables: readonly string[] } | null>;

  constructor(private readonly d: { accounts: AccountStore; domains: DomainStore; templates: TemplateStore }) {
    this.standings = new MarkedCache(KEPT, () => d.accounts.changeMark());
    this.senders = new MarkedCache(KEPT, () => d.domains.changeMark());
    this.domains = new MarkedCache(KEPT, () => d.domains.changeMark());
    this.templates = new MarkedCache({ ...KEPT, maxWeight: TEMPLATE_TEXT_KEPT }, () => d.templates.changeMark(), Date.now,
      (t) => (t ? (t.row.html?.length ?? 0) + (t.row.text?.length ?? 0) : 0));
  }

  /** The account's sender address, on a domain of the account that verifies. */
  sender(accountId: number, address: Address): Promise<SenderCheck> {
    return this.senders.get(`${accountId} ${address.address}`, async () => {
      const sender = await this.d.domains.getSender(accountId, address.address);
      if (!sender) return { ok: false, problem: 'no-sender' };
      const domain = await this.d.domains.get(accountId, address.domain);
      return maySend(domain) ? { ok: true, sender, domain } : { ok: false, problem: 'not-verified' };
    });
  }

  /** The account's domain of this name, if it may send. */
  async domain(accountId: number, name: string): Promise<DomainRow | undefined> {
    const domain = (await this.domains.get(`${accountId} ${name}`, async () => (await this.d.domains.get(accountId, name)) ?? null)) ?? undefined;
    return maySend(domain) ? domain : undefined;
  }

  /**
   * The account's template, if approved and every variable of `subject` and its bodies is among
   * `given` (the request's data, and for a batch task also the group's). The bodies' variables are
   * those found when the template was saved.
   */
  async template(accountId: number, id: number, subject: string, given: ReadonlySet<string>): Promise<TemplateCheck> {
    const t = await this.templates.get(`${accountId} ${id}`, async () => {
      const row = await this.d.templates.get(accountId, id);
      return row ? { row, variables: JSON.parse(row.variables) as string[] } : null;
    });
    if (!t || t.row.status !== TemplateStatus.Approved) return { ok: false, problem: 'not-approved' };
    const used = new Set([...findVariables(subject), ...t.variables]);
    const names = [...used].filter((v) => !given.has(v));
    return names.length ? { ok: false, problem: 'missing', names } : { ok: true, template: t.row };
  }

  /** Whether the account's template is still approved (a run under way sends the text it began with). */
  async templateApproved(accountId: number, id: number): Promise<boolean> {
    return (await this.d.templates.status(accountId, id)) === TemplateStatus.Approved;
  }

  /**
   * The account's standing, asked for every message submitted over SMTP and every step of a task:
   * kept while the account store's change mark says nothing changed (see AccountStore.changeMark),
   * read afresh otherwise, unless the caller accepts one up to `staleMs` old (the delivery worker,
   * asking for every delivery, where the store has no mark).
   */
  standing(accountId: number, staleMs = 0): Promise<Standing> {
    return this.standings.get(accountId, async () => {
      const a = await this.d.accounts.get(accountId);
      return {
        active: a !== undefined && a.disabled_at === null,
        freeContent: a !== undefined && allowsFreeContent(a),
        tracking: a !== undefined && a.tracking === 1,
      };
    }, staleMs);
  }

  /** Whether the account may send content of its own now (allowsFreeContent). */
  async freeContent(accountId: number): Promise<boolean> {
    return (await this.standing(accountId)).freeContent;
  }
}
