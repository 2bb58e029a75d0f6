/**
 * SendEmail: every check of the request, then the acceptance transaction. The caller gets a
 * MessageId only once the message and one queued delivery per recipient are committed.
 */
import type { SendEmailRequest } from '../api/schema/ses.js';
import type { DailyQuota } from '../config/schema.js';
import { domainOf, normalizeAddress, parseAddress, parseMailbox, type Mailbox } from '../domain/address.js';
import {
  ATTACHMENT_MAX_BYTES, ATTACHMENTS_MAX, ATTACHMENTS_TOTAL_MAX_BYTES, attachmentType,
} from '../domain/attachment.js';
import { decodeBase64, decodeBase64Utf8 } from '../domain/base64.js';
import { isMessageIdHeader, newMessageId, newMessageIdHeader } from '../domain/message-id.js';
import { dailyQuotaOf } from '../domain/reputation.js';
import { bounceDomainOf } from '../domain/dns-records.js';
import { isAllowedCustomHeader, isSafeHeaderValue } from '../domain/smtp-headers.js';
import { missingVariables, parseTemplateData, renderTemplated, TemplateStatus } from '../domain/template.js';
import { fail } from '../errors/coded-error.js';
import { formatDate } from '../lib/time.js';
import type { AttachmentContent, ComposedContent, MessageContent, SubmittedContent } from '../mail/content.js';
import { prepareSubmitted } from '../mail/submitted.js';
import type { AccountStore } from '../store/accounts.js';
import type { DomainRow, DomainStore } from '../store/domains.js';
import type { MessageStore } from '../store/messages.js';
import type { TemplateStore } from '../store/templates.js';
import type { BlocklistService } from './blocklists.js';
import type { UnsubscribeSettingService } from './unsubscribe-settings.js';

/** Recipient limits of one SendEmail (FACTS §3.2). */
export const RECIPIENT_LIMITS = { Destination: 50, Cc: 20, Bcc: 20 } as const;
/** Longest subject (one header line, RFC 5322 §2.1.1). */
export const SUBJECT_MAX = 998;

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
  accounts: AccountStore;
  messages: MessageStore;
  domains: DomainStore;
  templates: TemplateStore;
  blocklists: BlocklistService;
  unsubscribeSettings: UnsubscribeSettingService;
  policy: MailPolicy;
  /** Called after each acceptance, so an idle delivery worker starts at once. */
  accepted(): void;
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

  /** Checks a SendEmail request, accepts it, and answers its MessageId. */
  async send(account: { id: number; appId: number }, req: SendEmailRequest): Promise<string> {
    const from = parseFrom(req.FromEmailAddress);
    const { domain, senderName } = await this.senderDomain(account.id, from);
    const recipients = checkRecipients(req);
    const body = await this.body(account.id, req);
    const attachments = checkAttachments(req.Attachments ?? []);
    // A plain FromEmailAddress shows the name registered with the address (EmailSenderName).
    const headerFrom = checkHeaderFrom(req.HeaderFrom, from.name ? from : { ...from, name: senderName });
    const content: ComposedContent = {
      from: { name: headerFrom.name, address: headerFrom.address.address },
      domain: domain.name,
      bounceDomain: bounceDomainOf(domain.name, this.d.policy.bounceSubdomain),
      to: recipients.to,
      cc: recipients.cc,
      replyTo: checkReplyTo(req.ReplyToAddresses),
      ...body,
      attachments,
      headers: checkSmtpHeaders(req.SmtpHeaders),
      messageIdHeader: checkSmtpMessageId(req.SmtpMessageId) ?? newMessageIdHeader(domain.name),
      date: Date.now(),
      unsubscribeLanguage: await this.d.unsubscribeSettings.linkLanguage(account.id, from.address.address, req.Unsubscribe),
      triggerType: checkTriggerType(req.TriggerType),
    };
    await this.checkRecipientsMaySend(account.id, domain.name, recipients.all);
    return this.accept(account, domain, from.address.address, content, recipients.all);
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
   * Accepts a message submitted over SMTP: the From field's domain must be a verified domain of the
   * sender's account; then the same acceptance transaction as SendEmail (daily quota, frequency
   * limit). Each recipient has passed checkSubmissionRecipient when it was named (RCPT TO), against
   * the sender address's domain; only a From on another domain needs its own unsubscribe check.
   */
  async submit(account: { id: number; appId: number }, s: Submission): Promise<string> {
    const now = Date.now();
    const prepared = prepareSubmitted(s.raw, new Date(now));
    if (!prepared.ok) fail('FailedOperation', `The message cannot be sent: ${prepared.reason}.`);
    const domain = await this.d.domains.get(account.id, prepared.from.domain);
    if (!domain || domain.verified !== 1) {
      fail('FailedOperation.NotAuthenticatedSender', `From: ${prepared.from.address} is not on a verified domain of this account.`);
    }
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
    return this.accept(account, domain, s.sender, content, recipients);
  }


  /** The sender address must be this account's, on a domain that verifies. */
  private async senderDomain(accountId: number, from: Mailbox): Promise<{ domain: DomainRow; senderName: string }> {
    const sender = await this.d.domains.getSender(accountId, from.address.address);
    if (!sender) fail('InvalidParameterValue.NoSuchSender', `${from.address.address} is not a sender address of this account.`);
    const domain = await this.d.domains.get(accountId, from.address.domain);
    if (!domain || domain.verified !== 1) {
      fail('FailedOperation.NotAuthenticatedSender', `${from.address.domain} does not verify (DKIM and SPF records); it cannot send until it does.`);
    }
    return { domain, senderName: sender.sender_name };
  }

  /** Subject and bodies, from a template and its data or from the Simple content. */
  private async body(accountId: number, req: SendEmailRequest): Promise<Body> {
    checkSubject(req.Subject);
    if (req.Template) {
      const t = await this.d.templates.get(accountId, req.Template.TemplateID);
      if (!t || t.status !== TemplateStatus.Approved) {
        fail('FailedOperation.InvalidTemplateID', `Template ${req.Template.TemplateID} does not exist in this account or is not approved.`);
      }
      const data = parseTemplateData(req.Template.TemplateData);
      const missing = missingVariables(`${req.Subject}\n${t.html ?? ''}\n${t.text ?? ''}`, data);
      if (missing.length) {
        fail('InvalidParameterValue.TemplateNotMatchData', `TemplateData gives no value for ${missing.map((m) => `{{${m}}}`).join(', ')}.`);
      }
      return { ...renderTemplated({ subject: req.Subject, html: t.html, text: t.text }, data), templateId: t.id };
    }
    if (req.Simple) return { subject: req.Subject, ...(await simpleContent(this.d.accounts, accountId, req.Simple)), templateId: null };
    fail('FailedOperation.MissingEmailContent', 'The request needs Template (or Simple) content.');
  }

  /** No recipient may be blocklisted or unsubscribed from this sender domain. */
  private async checkRecipientsMaySend(accountId: number, domain: string, recipients: readonly string[]): Promise<void> {
    const blocked = await this.d.blocklists.blocked(accountId, recipients);
    if (blocked.size) fail('FailedOperation.EmailAddrInBlacklist', `${[...blocked].join(', ')} is on the blocklist.`);
    await this.checkNotUnsubscribed(accountId, domain, recipients);
  }

  private async checkNotUnsubscribed(accountId: number, domain: string, recipients: readonly string[]): Promise<void> {
    const gone = await this.d.messages.unsubscribed(accountId, domain, recipients);
    if (gone.size) fail('FailedOperation.ReceiverHasUnsubscribed', `${[...gone].join(', ')} unsubscribed from ${domain}.`);
  }

  /** The acceptance transaction, with the daily quota and frequency limit checked inside it. */
  private async accept(account: { id: number; appId: number }, domain: DomainRow, sender: string, content: MessageContent, recipients: string[]): Promise<string> {
    const now = content.date;
    const quota = dailyQuotaOf(this.d.policy.dailyQuota, domain.reputation_level);
    const frequency = this.d.policy.frequencyLimit;
    const messageId = newMessageId(account.appId, now);
    const r = await this.d.messages.accept(account.id, {
      messageId, domainId: domain.id, sender, content: JSON.stringify({ ...content, recipients: recipients.length }), now, priority: content.triggerType === 1 ? 1 : 0,
    }, recipients.map((e) => ({ recipient: e, recipientDomain: domainOf(e) })), {
      daily: { day: formatDate(now, this.d.policy.timezone), quota },
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

/** A subject: one line of 1 to SUBJECT_MAX characters. */
export function checkSubject(subject: string): void {
  if ([...subject].length < 1 || [...subject].length > SUBJECT_MAX || /[\r\n]/.test(subject)) {
    fail('InvalidParameterValue.SubjectLengthError', `Subject must be one line of 1 to ${SUBJECT_MAX} characters.`);
  }
}

/** Simple content (base64 Html and Text), if the account may send it. */
export async function simpleContent(accounts: AccountStore, accountId: number, simple: { Html?: string; Text?: string }): Promise<{ html: string | null; text: string | null }> {
  const account = await accounts.get(accountId);
  if (!account || account.simple_allowed !== 1) {
    fail('FailedOperation.WithOutPermission', 'This account may only send from templates; use Template instead of Simple.');
  }
  const decode = (field: 'Html' | 'Text'): string | null => {
    const v = simple[field];
    if (v === undefined || v === '') return null;
    const d = decodeBase64Utf8(v);
    if (!d) fail('InvalidParameterValue.EmailContentIsWrong', `Simple.${field} is not base64-encoded UTF-8 text.`);
    return d.text;
  };
  const html = decode('Html');
  const text = decode('Text');
  if (html === null && text === null) fail('FailedOperation.MissingEmailContent', 'Simple needs Html or Text (base64).');
  return { html, text };
}

export function parseFrom(text: string): Mailbox {
  const m = parseMailbox(text);
  if (!m) fail('FailedOperation.IncorrectSender', 'FromEmailAddress must be address@domain or "Alias <address@domain>" (the alias without ":").');
  return m;
}

/** Destination, Cc and Bcc: valid, within their limits, Bcc apart from Destination, at least one in all. */
function checkRecipients(req: SendEmailRequest): { to: string[]; cc: string[]; all: string[] } {
  const lists = { Destination: req.Destination ?? [], Cc: req.Cc ?? [], Bcc: req.Bcc ?? [] };
  for (const [name, list] of Object.entries(lists) as [keyof typeof RECIPIENT_LIMITS, string[]][]) {
    if (list.length > RECIPIENT_LIMITS[name]) {
      fail('FailedOperation.TooManyRecipients', `${name} holds ${list.length} addresses; at most ${RECIPIENT_LIMITS[name]} are allowed.`);
    }
  }
  const parse = (list: string[]): string[] => list.map((e) => {
    const a = parseAddress(e);
    if (!a) fail('FailedOperation.IncorrectEmail', `${JSON.stringify(e)} is not a valid email address.`);
    return a.address;
  });
  const to = parse(lists.Destination);
  const cc = parse(lists.Cc);
  const bcc = parse(lists.Bcc);
  if (to.length + cc.length + bcc.length === 0) fail('MissingParameter', 'Name at least one recipient in Destination, Cc or Bcc.');
  const overlap = bcc.filter((b) => to.includes(b));
  if (overlap.length) fail('InvalidParameterValue', `Bcc may not repeat addresses of Destination (${overlap.join(', ')}).`);
  // One delivery per distinct address, whatever list names it.
  return { to, cc, all: [...new Set([...to, ...cc, ...bcc])] };
}

export function checkAttachments(list: NonNullable<SendEmailRequest['Attachments']>): AttachmentContent[] {
  if (list.length > ATTACHMENTS_MAX) fail('FailedOperation.TooManyAttachments', `At most ${ATTACHMENTS_MAX} attachments per message.`);
  let total = 0;
  return list.map((a, i) => {
    const contentType = attachmentType(a.FileName);
    if (!contentType) {
      fail('FailedOperation.InvalidAttachName', `Attachments.${i}.FileName ${JSON.stringify(a.FileName)} is not allowed: up to 255 characters, no spaces or ? \\ * | " < > : /, and a supported file type.`);
    }
    if (a.Content === undefined || a.Content === '') {
      fail('InvalidParameterValue.AttachContentIsWrong', `Attachments.${i} needs its Content in base64 (FileURL is not supported).`);
    }
    const bytes = decodeBase64(a.Content);
    if (!bytes) fail('InvalidParameterValue.AttachContentIsWrong', `Attachments.${i}.Content is not valid base64.`);
    total += bytes.length;
    if (bytes.length > ATTACHMENT_MAX_BYTES || total > ATTACHMENTS_TOTAL_MAX_BYTES) {
      fail('FailedOperation.AttachContentToolarge', `Each attachment may be at most 4 MB and all together 8 MB (after base64 decoding).`);
    }
    return { filename: a.FileName, contentType, base64: bytes.toString('base64') };
  });
}

/** HeaderFrom must be a mailbox on the sender's own domain (anything else would be spoofing). */
function checkHeaderFrom(value: string | undefined, from: Mailbox): Mailbox {
  if (value === undefined || value === '') return from;
  const m = parseMailbox(value);
  if (!m) fail('FailedOperation.IncorrectSender', 'HeaderFrom must be address@domain or "Alias <address@domain>".');
  if (m.address.domain !== from.address.domain) {
    fail('FailedOperation.IncorrectSender', `HeaderFrom must be on ${from.address.domain}, the domain of FromEmailAddress.`);
  }
  return m;
}

export function checkReplyTo(value: string | undefined): string | null {
  if (value === undefined || value === '') return null;
  const m = parseMailbox(value);
  if (!m) fail('FailedOperation.IncorrectEmail', `ReplyToAddresses ${JSON.stringify(value)} is not a valid email address.`);
  return m.address.address;
}

/** SmtpHeaders: a JSON object of allowed header names to one-line values. */
function checkSmtpHeaders(json: string | undefined): [string, string][] {
  if (json === undefined || json === '') return [];
  let parsed: unknown;
  try { parsed = JSON.parse(json); } catch { fail('InvalidParameterValue', 'SmtpHeaders must be a JSON object of header names to values.'); }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    fail('InvalidParameterValue', 'SmtpHeaders must be a JSON object of header names to values.');
  }
  return Object.entries(parsed).map(([name, value]): [string, string] => {
    if (!isAllowedCustomHeader(name)) {
      fail('InvalidParameterValue', `SmtpHeaders may not set ${JSON.stringify(name)}: only X- headers (not X-Sesame-) and In-Reply-To, References, List-Id, Feedback-ID, Precedence, Keywords, Comments.`);
    }
    if (typeof value !== 'string' || !isSafeHeaderValue(value)) {
      fail('InvalidParameterValue', `SmtpHeaders.${name} must be one line of text (no CR or LF, at most 900 characters).`);
    }
    return [name, value];
  });
}

function checkSmtpMessageId(value: string | undefined): string | null {
  if (value === undefined || value === '') return null;
  if (!isMessageIdHeader(value)) fail('InvalidParameterValue', 'SmtpMessageId must look like <unique-part@domain> (RFC 5322).');
  return value;
}


function checkTriggerType(value: number | undefined): number {
  if (value !== undefined && value !== 0 && value !== 1) fail('InvalidParameterValue', 'TriggerType must be 0 (bulk) or 1 (triggered).');
  return value ?? 0;
}
