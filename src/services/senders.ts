/** Sender addresses: create on a verified domain, list, delete, and their SMTP passwords. */
import { fail } from '../errors/coded-error.js';
import { parseAddress } from '../domain/address.js';
import { isAcceptableSmtpPassword } from '../domain/smtp-password.js';
import { hashPassword, verifyPassword } from '../lib/password-hash.js';
import type { DomainStore, SenderRow } from '../store/domains.js';

/** Longest sender name (the display name of From:), in characters. */
export const SENDER_NAME_MAX = 64;

/** A sender address as the API shows it. */
export interface SenderView {
  address: string;
  senderName: string;
  createdAt: number;
  hasSmtpPassword: boolean;
}

/** Sender address rules over the domain store. */
export class SenderService {
  constructor(private readonly store: DomainStore, private readonly limits: { perDomain: number }) {}

  /** Creates a sender address on one of the account's verified domains. */
  async create(accountId: number, emailAddress: string, senderName: string | undefined): Promise<void> {
    const parsed = parseAddress(emailAddress);
    if (!parsed) fail('InvalidParameterValue.IllegalEmailAddress', `${JSON.stringify(emailAddress)} is not a valid email address.`);
    const name = checkSenderName(senderName ?? '');
    const notVerified = (): never => fail('OperationDenied.DomainNotVerified',
      `${parsed.domain} is not a verified sender domain of this account; verify it with UpdateEmailIdentity first.`);
    const domain = (await this.store.get(accountId, parsed.domain)) ?? notVerified();
    // Whether it is verified is checked in the store's transaction (domain-not-verified below).
    const r = await this.store.createSender(accountId, domain.id, parsed.address, name, this.limits.perDomain, Date.now());
    if (r.kind === 'domain-not-verified') notVerified();
    if (r.kind === 'exists') fail('InvalidParameterValue.RepeatEmailAddress', `${parsed.address} is already a sender address.`);
    if (r.kind === 'limit') fail('OperationDenied.ExceedSenderLimit', `${parsed.domain} already has ${this.limits.perDomain} sender addresses, the most allowed.`);
  }

  /** Every sender address of the account. */
  async list(accountId: number): Promise<SenderView[]> {
    return (await this.store.listSenders(accountId)).map(view);
  }

  /** One sender address of the account. */
  async get(accountId: number, emailAddress: string): Promise<SenderRow> {
    const parsed = parseAddress(emailAddress);
    const row = parsed && await this.store.getSender(accountId, parsed.address);
    if (!row) noSuchSender(emailAddress);
    return row;
  }

  /** Deletes a sender address (and its unsubscribe setting). */
  async delete(accountId: number, emailAddress: string): Promise<void> {
    const parsed = parseAddress(emailAddress);
    if (!parsed || !(await this.store.deleteSender(accountId, parsed.address))) noSuchSender(emailAddress);
  }

  /** Sets the SMTP password: only its slow salted hash is stored; the previous password is refused. */
  async setSmtpPassword(accountId: number, emailAddress: string, password: string): Promise<void> {
    if (!isAcceptableSmtpPassword(password)) {
      fail('InvalidParameterValue.InvalidSmtpPassWord', 'The SMTP password must be 10 to 20 characters with at least one digit, one lower-case and one upper-case letter.');
    }
    const sender = await this.get(accountId, emailAddress);
    if (sender.smtp_password_hash && await verifyPassword(password, sender.smtp_password_hash)) {
      fail('OperationDenied.RepeatPassWord', 'The new SMTP password is the same as the current one.');
    }
    await this.store.setSmtpPasswordHash(accountId, sender.address, await hashPassword(password));
  }
}

/** 0–64 characters, no control characters, and none of `< > " :` (they would break the From: header). */
function checkSenderName(name: string): string {
  const trimmed = name.trim();
  if ([...trimmed].length > SENDER_NAME_MAX || /[\u0000-\u001f\u007f<>":]/.test(trimmed)) {
    fail('InvalidParameterValue.IllegalSenderName', `EmailSenderName must be at most ${SENDER_NAME_MAX} characters, without control characters or < > " :.`);
  }
  return trimmed;
}

export function noSuchSender(address: string): never {
  fail('InvalidParameterValue.NoSuchSender', `${JSON.stringify(address)} is not a sender address of this account.`);
}

function view(r: SenderRow): SenderView {
  return { address: r.address, senderName: r.sender_name, createdAt: r.created_at, hasSmtpPassword: r.smtp_password_hash !== null };
}
