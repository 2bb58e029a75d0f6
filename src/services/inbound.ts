/**
 * Mail to the bounce MX, and what it means. Only addresses Sesame can verify are taken:
 * - `b-<token>@…`, the VERP envelope sender of one delivery (HMAC-checked, and the delivery still
 *   kept): the later bounces (DSNs) of that delivery, and the callouts of receivers that verify a
 *   sender before taking its mail;
 * - `unsubscribe-<token>@…`, a message's List-Unsubscribe address;
 * - `fbl@` and `abuse@` at the bounce domain of a verified sender domain: complaints from
 *   mailbox providers' feedback loops (ARF, RFC 5965), matched to the mail by its VERP
 *   Return-Path or its Message-ID.
 * A report is acted on once and the sender answered 250 whatever it said: what cannot be matched
 * or read is kept for the operator, so nothing comes back in a loop. Auto-replies are dropped.
 */
import type { Logger } from 'pino';
import { condemnsRecipient } from '../domain/bounce.js';
import type { TokenSigner } from '../lib/tokens.js';
import type { DsnRecipient, InboundReport, OriginalMessage } from '../mail/reports.js';
import type { DomainStore } from '../store/domains.js';
import type { DeliveryFacts, FeedbackStore } from '../store/feedback.js';
import { EVERY_DOMAIN, type UnsubscriptionStore } from '../store/unsubscriptions.js';
import type { BlocklistService } from './blocklists.js';
import type { UnsubscribeService } from './unsubscribe.js';

/** What an inbound recipient address is. */
export type InboundRecipient =
  | { kind: 'bounce'; deliveryId: number; address: string }
  | { kind: 'unsubscribe'; token: string; address: string }
  | { kind: 'feedback'; address: string };

/** What became of one inbound message. */
export interface InboundResult {
  /** Per recipient address: bounced, deferred, complaint, unsubscribed, kept (for the operator), ignored. */
  outcomes: string[];
}

/** Where the message came from. */
export interface InboundEnvelope { client: string; mailFrom: string; recipients: readonly InboundRecipient[] }

const VERP = /^b-([0-9a-z]{1,12}\.[a-z2-7]+)$/i;
const UNSUBSCRIBE = /^unsubscribe-(.+)$/i;
const FEEDBACK_LOCALS: ReadonlySet<string> = new Set(['fbl', 'abuse']);

/** Reads inbound mail and records what it says. */
export class InboundService {
  constructor(private readonly d: {
    feedback: FeedbackStore;
    blocklists: BlocklistService;
    unsubscriptions: UnsubscriptionStore;
    unsubscribes: UnsubscribeService;
    domains: Pick<DomainStore, 'isVerifiedName'>;
    bounceTokens: TokenSigner;
    /** The bounce domain's label under each sender domain, or undefined for the domain itself. */
    bounceSubdomain: string | undefined;
    parse: (raw: Buffer) => Promise<InboundReport>;
    log: Logger;
  }) {}

  /** What `address` is, or null when no mail to it is taken (then `550 5.1.1`). */
  async recipient(address: string): Promise<InboundRecipient | null> {
    const at = address.lastIndexOf('@');
    if (at <= 0) return null;
    const local = address.slice(0, at);
    const domain = address.slice(at + 1).toLowerCase();
    const verp = VERP.exec(local);
    if (verp) {
      const id = this.d.bounceTokens.verify(verp[1]);
      return id !== null && (await this.d.feedback.delivery(id)) ? { kind: 'bounce', deliveryId: id, address } : null;
    }
    const unsubscribe = UNSUBSCRIBE.exec(local);
    if (unsubscribe) return (await this.d.unsubscribes.isAddressToken(unsubscribe[1])) ? { kind: 'unsubscribe', token: unsubscribe[1], address } : null;
    if (FEEDBACK_LOCALS.has(local.toLowerCase()) && await this.isBounceDomain(domain)) return { kind: 'feedback', address };
    return null;
  }

  /** Reads and records one message to the recipients of `env`. */
  async receive(env: InboundEnvelope, raw: Buffer): Promise<InboundResult> {
    const outcomes: string[] = [];
    let report: InboundReport | null = null;
    const read = async (): Promise<InboundReport> => (report ??= await this.d.parse(raw));
    for (const r of env.recipients) {
      if (r.kind === 'unsubscribe') {
        outcomes.push((await this.d.unsubscribes.unsubscribeByMail(r.token)) ? 'unsubscribed' : 'ignored');
        continue;
      }
      const rep = await read();
      const outcome = await this.act(rep, r.kind === 'bounce' ? r.deliveryId : null);
      if (outcome.kept) {
        const id = await this.d.feedback.keep({ client: env.client, mailFrom: env.mailFrom, rcptTo: r.address, reason: outcome.kept, raw, at: Date.now() });
        this.d.log.info({ kept: id, rcpt: r.address, reason: outcome.kept }, 'inbound mail kept for the operator: it could not be matched to a delivery');
      }
      outcomes.push(outcome.done);
    }
    return { outcomes };
  }

  /** Acts on a report, for the delivery its VERP address named (null: to a feedback address). */
  private async act(rep: InboundReport, deliveryId: number | null): Promise<{ done: string; kept?: string }> {
    if (rep.kind === 'auto-reply') return { done: 'ignored' };
    if (rep.kind === 'unrecognised') return { done: 'kept', kept: rep.reason };
    if (rep.kind === 'arf') {
      const id = deliveryId ?? await this.match(rep.original, rep.originalMailFrom, rep.originalRcptTo);
      if (id === null) return { done: 'kept', kept: 'a complaint about mail that is not (or no longer) kept here' };
      return (await this.complaint(id, rep)) ? { done: 'complaint' } : { done: 'kept', kept: 'a complaint about a delivery that is no longer kept' };
    }
    const id = deliveryId ?? await this.match(rep.original, null, rep.recipients.map((x) => x.finalRecipient ?? '').filter(Boolean));
    if (id === null) return { done: 'kept', kept: 'a bounce of mail that is not (or no longer) kept here' };
    return this.bounce(id, rep.recipients);
  }

  /** The delivery a report's original names: by its VERP Return-Path (or envelope sender), else its Message-ID. */
  private async match(original: OriginalMessage, mailFrom: string | null, recipients: readonly string[]): Promise<number | null> {
    for (const sender of [original.returnPath, mailFrom]) {
      const local = sender ? VERP.exec(sender.slice(0, sender.lastIndexOf('@'))) : null;
      const id = local ? this.d.bounceTokens.verify(local[1]) : null;
      if (id !== null) return id;
    }
    if (!original.messageId) return null;
    const to = original.to ? original.to.split(', ') : [];
    return this.d.feedback.deliveryByHeader(original.messageId, [...recipients, ...to]);
  }

  /**
   * A DSN for the delivery: its recipient's `failed` status bounces it (hard when the status says
   * the address is bad, by the rules of synchronous replies: then it is blocklisted with the
   * remote's diagnostic), `delayed` is a deferred event; other actions say nothing to act on.
   */
  private async bounce(deliveryId: number, recipients: readonly DsnRecipient[]): Promise<{ done: string; kept?: string }> {
    const d = await this.d.feedback.delivery(deliveryId);
    if (!d) return { done: 'kept', kept: 'a bounce of a delivery that is no longer kept' };
    const r = recipients.find((x) => x.finalRecipient === d.recipient || x.originalRecipient === d.recipient)
      ?? (recipients.length === 1 ? recipients[0] : recipients.find((x) => x.action === 'failed'));
    if (!r || (r.action !== 'failed' && r.action !== 'delayed')) return { done: 'ignored' };
    const reason = [r.status, r.diagnostic].filter(Boolean).join(' ') || (r.action === 'failed' ? 'bounced (no diagnostic given)' : 'delayed');
    const hard = r.action === 'failed' && condemnsRecipient('rcpt', null, r.status ? `${r.status} ${r.diagnostic}` : r.diagnostic);
    const recorded = await this.d.feedback.recordBounce({ deliveryId, action: r.action, hard, reason, at: Date.now() },
      (q, facts: DeliveryFacts) => this.d.blocklists.recordHardBounce(Number(facts.account_id), facts.recipient, reason, Date.now(), q));
    if (!recorded) return { done: 'kept', kept: 'a bounce of a delivery that is no longer kept' };
    this.d.log.info({ delivery: deliveryId, action: r.action, hard, status: r.status }, r.action === 'failed' ? 'later bounce recorded' : 'delay notice recorded');
    return { done: r.action === 'failed' ? 'bounced' : 'deferred' };
  }

  /** A complaint: the event, the flag, and the recipient suppressed for the whole account. */
  private async complaint(deliveryId: number, rep: Extract<InboundReport, { kind: 'arf' }>): Promise<boolean> {
    const now = Date.now();
    const recorded = await this.d.feedback.recordComplaint({
      deliveryId, feedbackType: rep.feedbackType || 'abuse', sourceIp: rep.sourceIp, arrivalDate: rep.arrivalDate, userAgent: rep.userAgent ?? '', at: now,
    }, (q, facts) => this.d.unsubscriptions.suppress(q, Number(facts.account_id), EVERY_DOMAIN, facts.recipient, now));
    if (recorded) this.d.log.info({ delivery: deliveryId, feedbackType: rep.feedbackType }, 'complaint recorded; the recipient gets no more mail from the account');
    return recorded;
  }

  /** Whether `domain` is the bounce domain of a verified sender domain. */
  private isBounceDomain(domain: string): Promise<boolean> {
    const sub = this.d.bounceSubdomain;
    if (sub === undefined) return this.d.domains.isVerifiedName(domain);
    const prefix = `${sub}.`;
    return domain.startsWith(prefix) ? this.d.domains.isVerifiedName(domain.slice(prefix.length)) : Promise.resolve(false);
  }
}
