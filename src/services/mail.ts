/**
 * Accepting mail one message at a time: SendEmail and SMTP submission. Every check of the request,
 * then the acceptance transaction; the caller gets a MessageId (or `250`) only once the message
 * and one queued delivery per recipient are committed.
 */
import type { DailyQuota } from '../config/schema.js';
import { domainOf, normalizeAddress, parseAddress } from '../domain/address.js';
import { bounceDomainOf } from '../domain/dns-records.js';
import { newMessageId, newMessageIdHeader } from '../domain/message-id.js';
import { blockedToday, dailyQuotaOf } from '../domain/reputation.js';
import { parseTemplateData, renderTemplated } from '../domain/template.js';
import { fail } from '../errors/coded-error.js';
import { formatDate } from '../lib/time.js';
import type { ComposedContent, MessageContent, SubmittedContent } from '../mail/content.js';
import { CALLBACK_CUSTOM_FIELD, prepareSubmitted } from '../mail/submitted.js';
import type { AcceptanceStore } from '../store/acceptance.js';
import type { DomainRow } from '../store/domains.js';
import type { UnsubscriptionStore } from '../store/unsubscriptions.js';
import type { BlocklistService } from './blocklists.js';
import {
  checkAttachments, checkHeaderFrom, checkRecipients, checkReplyTo, checkSmtpHeaders, checkSmtpMessageId, checkSubject,
  checkTriggerType, decodeSimple, parseFrom, type AttachmentInput, type SimpleInput,
} from './message-parts.js';
import type { SendingRules } from './sending-rules.js';
import type { UnsubscribeSettingService } from './unsubscribe-settings.js';

/** How sending is configured. */
export interface MailPolicy {
  timezone: string;
  /** Mails per hour from one sender to one recipient; 0: no limit. */
  frequencyLimit: number;
  dailyQuota: DailyQuota;
  bounceSubdomain: string | undefined;
}

/** What sending needs from the rest of the program. */
export interface MailDeps {
  acceptance: AcceptanceStore;
  unsubscriptions: UnsubscriptionStore;
  rules: SendingRules;
  blocklists: BlocklistService;
  unsubscribeSettings: UnsubscribeSettingService;
  policy: MailPolicy;
  /** Called after each acceptance, so an idle delivery worker starts at once. */
  accepted(): void;
}

/** One message to send (SendEmail's parameters). */
export interface SendRequest {
  /** `address@domain` or `Alias <address@domain>`. */
  from: string;
  to: readonly string[];
  cc: readonly string[];
  bcc: readonly string[];
  subject: string;
  /** A template of the account and its data (JSON); or `simple`. */
  template?: { id: number; data: string };
  simple?: SimpleInput;
  attachments: readonly AttachmentInput[];
  replyTo?: string;
  headerFrom?: string;
  /** JSON object of extra headers. */
  smtpHeaders?: string;
  smtpMessageId?: string;
  /** Unsubscribe link language ("0" none), overriding the sender address's setting. */
  unsubscribe?: string;
  triggerType?: number;
}

/** A message submitted over SMTP: its envelope (sender already authenticated) and its bytes. */
export interface Submission {
  /** The authenticated sender address (MAIL FROM), lower case. */
  sender: string;
  /** As named at RCPT TO, each accepted by checkSubmissionRecipient. */
  recipients: readonly string[];
  /** The message as received, CRLF line endings. */
  raw: Buffer;
}

/** The body of a message before composition. */
interface Body { subject: string; html: string | null; text: string | null; templateId: number | null }

/** Accepts mail for delivery. */
export class MailService {
  constructor(private readonly d: MailDeps) {}

  /** Checks a message to send, accepts it, and answers its MessageId. */
  async send(account: { id: number; appId: number }, req: SendRequest): Promise<string> {
    const from = parseFrom(req.from);
    const checked = await this.d.rules.sender(account.id, from.address);
    if (!checked.ok && checked.problem === 'no-sender') {
      fail('InvalidParameterValue.NoSuchSender', `${from.address.address} is not a sender address of this account.`);
    }
    if (!checked.ok) fail('FailedOperation.NotAuthenticatedSender', `${from.address.domain} does not verify (DKIM and SPF records); it cannot send until it does.`);
    const { domain, sender } = checked;
    const recipients = checkRecipients(req);
    const body = await this.body(account.id, req);
    const attachments = checkAttachments(req.attachments);
    // A plain FromEmailAddress shows the name registered with the address (EmailSenderName).
    const headerFrom = checkHeaderFrom(req.headerFrom, from.name ? from : { ...from, name: sender.sender_name });
    const content: ComposedContent = {
      from: { name: headerFrom.name, address: headerFrom.address.address },
      domain: domain.name,
      bounceDomain: bounceDomainOf(domain.name, this.d.policy.bounceSubdomain),
      to: recipients.to,
      cc: recipients.cc,
      replyTo: checkReplyTo(req.replyTo),
      ...body,
      attachments,
      headers: checkSmtpHeaders(req.smtpHeaders),
      messageIdHeader: checkSmtpMessageId(req.smtpMessageId) ?? newMessageIdHeader(domain.name),
      date: Date.now(),
      unsubscribeLanguage: await this.d.unsubscribeSettings.linkLanguage(account.id, from.address.address, req.unsubscribe),
      triggerType: checkTriggerType(req.triggerType),
    };
    await this.checkRecipientsMaySend(account.id, domain.name, recipients.all);
    return this.accept(account, domain, from.address.address, content, recipients.all);
  }

  /**
   * Whether the account may submit a message now, checked for each message (at MAIL FROM): it must
   * not be suspended (a session that logged in before the suspension sends no more), and, as SMTP
   * submission sends content of the client's own, it must be allowed free content (Simple): an
   * operator who turned that off, or who reviews the account's templates, did not mean it to go
   * around that through SMTP.
   */
  async checkSubmissionAllowed(accountId: number): Promise<void> {
    const standing = await this.d.rules.standing(accountId);
    if (!standing.active) {
      fail('AuthFailure.UnauthorizedOperation', 'This account is suspended by the operator of this service: it sends nothing until it is enabled again.');
    }
    if (!standing.freeContent) {
      fail('FailedOperation.WithOutPermission', 'This account may only send from approved templates (through the API): SMTP submission is not allowed for it.');
    }
  }

  /**
   * One SMTP recipient, checked as it is named (RCPT TO): valid, not blocklisted, not unsubscribed
   * from the sender's domain.
   */
  async checkSubmissionRecipient(accountId: number, sender: string, recipient: string): Promise<void> {
    const a = parseAddress(recipient);
    if (!a) fail('FailedOperation.IncorrectEmail', `${JSON.stringify(recipient)} is not a valid email address.`);
    await this.checkRecipientsMaySend(accountId, domainOf(sender), [a.address]);
  }

  /**
   * Accepts a message submitted over SMTP: the From field's domain must be a domain of the sender's
   * account that verifies; then the same acceptance transaction as SendEmail (daily quota,
   * frequency limit). The account has passed checkSubmissionAllowed at MAIL FROM, and each
   * recipient checkSubmissionRecipient when it was named (RCPT TO), against the sender address's
   * domain; only a From on another domain needs its own unsubscribe check.
   */
  async submit(account: { id: number; appId: number }, s: Submission): Promise<string> {
    const now = Date.now();
    const prepared = prepareSubmitted(s.raw, new Date(now));
    if (!prepared.ok) fail('FailedOperation', `The message cannot be sent: ${prepared.reason}.`);
    const domain = await this.d.rules.domain(account.id, prepared.from.domain);
    if (!domain) fail('FailedOperation.NotAuthenticatedSender', `From: ${prepared.from.address} is not on a verified domain of this account.`);
    // Stored in the form the checks used (lower case, IDN domains as A-labels).
    const recipients = [...new Set(s.recipients.map(normalizeAddress))];
    if (domain.name !== domainOf(s.sender)) await this.checkNotUnsubscribed(account.id, domain.name, recipients);
    const content: SubmittedContent = {
      kind: 'submitted',
      raw: prepared.raw.toString('base64'),
      domain: domain.name,
      bounceDomain: bounceDomainOf(domain.name, this.d.policy.bounceSubdomain),
      messageIdHeader: prepared.messageIdHeader,
      date: now,
      unsubscribeLanguage: '0',
      triggerType: 0,
    };
    return this.accept(account, domain, s.sender, content, recipients, prepared.subject, prepared.callbackCustom);
  }

  /** Subject and bodies, from a template and its data or from the Simple content. */
  private async body(accountId: number, req: SendRequest): Promise<Body> {
    checkSubject(req.subject);
    if (req.template) {
      const data = parseTemplateData(req.template.data);
      const t = await this.d.rules.template(accountId, req.template.id, req.subject, new Set(Object.keys(data)));
      if (!t.ok && t.problem === 'not-approved') {
        fail('FailedOperation.InvalidTemplateID', `Template ${req.template.id} does not exist in this account or is not approved.`);
      }
      if (!t.ok) fail('InvalidParameterValue.TemplateNotMatchData', `TemplateData gives no value for ${t.names.map((m) => `{{${m}}}`).join(', ')}.`);
      return { ...renderTemplated({ subject: req.subject, html: t.template.html, text: t.template.text }, data), templateId: t.template.id };
    }
    if (req.simple) {
      if (!(await this.d.rules.freeContent(accountId))) {
        fail('FailedOperation.WithOutPermission', 'This account may only send from templates; use Template instead of Simple.');
      }
      return { subject: req.subject, ...decodeSimple(req.simple), templateId: null };
    }
    fail('FailedOperation.MissingEmailContent', 'The request needs Template (or Simple) content.');
  }

  /** No recipient may be blocklisted or unsubscribed from this sender domain. */
  private async checkRecipientsMaySend(accountId: number, domain: string, recipients: readonly string[]): Promise<void> {
    const blocked = await this.d.blocklists.blocked(accountId, recipients);
    if (blocked.size) fail('FailedOperation.EmailAddrInBlacklist', `${[...blocked].join(', ')} is on the blocklist.`);
    await this.checkNotUnsubscribed(accountId, domain, recipients);
  }

  private async checkNotUnsubscribed(accountId: number, domain: string, recipients: readonly string[]): Promise<void> {
    const gone = await this.d.unsubscriptions.among(accountId, domain, recipients);
    if (gone.size) fail('FailedOperation.ReceiverHasUnsubscribed', `${[...gone].join(', ')} unsubscribed from ${domain}.`);
  }

  /** The acceptance transaction, with the daily quota and frequency limit checked inside it. */
  private async accept(account: { id: number; appId: number }, domain: DomainRow, sender: string, content: MessageContent, recipients: string[], subject?: string, callbackCustom?: string | null): Promise<string> {
    const now = content.date;
    const quota = dailyQuotaOf(this.d.policy.dailyQuota, domain.reputation_level);
    const frequency = this.d.policy.frequencyLimit;
    const messageId = newMessageId(account.appId, now);
    const day = formatDate(now, this.d.policy.timezone);
    if (blockedToday(this.d.policy.dailyQuota, domain, day)) {
      fail('FailedOperation.TemporaryBlocked', `${domain.name} is blocked for the rest of ${day}: its invalid-address or spam-bounce rate crossed the reputation rules' blocking threshold. Sending resumes tomorrow.`);
    }
    const r = await this.d.acceptance.accept(account.id, {
      messageId, domainId: domain.id, sender, content: JSON.stringify({ ...content, recipients: recipients.length }), now, day, priority: content.triggerType === 1 ? 1 : 0,
      subject: content.kind === 'submitted' ? subject ?? '' : content.subject, templateId: content.kind === 'submitted' ? null : content.templateId,
      headerId: content.messageIdHeader,
      callbackCustom: content.kind === 'submitted' ? callbackCustom ?? null : content.kind === 'batch' ? null
        : content.headers.find(([k]) => k.toLowerCase() === CALLBACK_CUSTOM_FIELD)?.[1] ?? null,
    }, recipients.map((e) => ({ recipient: e, recipientDomain: domainOf(e) })), {
      daily: { day, quota },
      frequency: frequency > 0 ? { since: now - 3_600_000, limit: frequency } : null,
    });
    if (r.kind === 'quota') {
      fail('FailedOperation.ExceedSendLimit', `${domain.name} has sent ${r.sent} of its ${quota} mails today; this request needs ${recipients.length} more.`);
    }
    if (r.kind === 'frequency') {
      fail('FailedOperation.FrequencyLimit', `${sender} has sent ${frequency} mails to ${r.recipient} in the last hour, the most allowed.`);
    }
    this.d.accepted();
    return messageId;
  }
}
