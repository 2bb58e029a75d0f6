/**
 * The size bounds of request parameters: the longest value of every string parameter and the most
 * items of every list, as rules by the kind of value. scripts/gen-api-schema.ts writes them into
 * the schema of each field (ses.ts), Sesame's own actions (actions.ts) take them from here, and the
 * protocol layer checks them when it decodes a request, before any parser sees a value: whatever
 * a check later does with a value (a pattern, a scan, a JSON parse), it never does it to megabytes
 * of it. A request over a bound is refused with InvalidParameterValue naming the parameter.
 *
 * Each bound is at least the largest value the service itself accepts (the service keeps its own,
 * exact check and Tencent's specific error code, e.g. SubjectLengthError), rounded up with room, so
 * that a value just over the service's limit still gets that code; the bound only keeps absurd sizes
 * out. Lengths are counted in UTF-16 code units (JavaScript's `length`): a limit the service counts
 * in characters (code points) is doubled, since a character outside the BMP takes two units.
 */

/** Base64 length of `bytes` bytes (RFC 4648 §4: 4 characters for every 3 bytes, padded). */
const base64Length = (bytes: number): number => 4 * Math.ceil(bytes / 3);
const MiB = 1024 * 1024;

/** The kinds of string parameter and the longest value of each, in UTF-16 code units. */
export const STRING_LIMITS = {
  /**
   * An address: RFC 5321 §4.5.3.1.1 and .2 allow a local part of 64 octets, `@` and a domain of 255;
   * the service takes up to 254 (domain/address.ts ADDRESS_MAX).
   */
  address: 320,
  /**
   * One line of an uploaded address list (recipient groups, the custom blocklist): the service counts
   * a line over 254 as TooLong rather than refusing the upload, so a stray long line gets room.
   */
  listedAddress: 1024,
  /**
   * `Name <address>` (FACTS §3.2): a display name of 128 characters (domain/address.ts
   * DISPLAY_NAME_MAX; 256 units), ` <`, an address (320) and `>` make 579; rounded up.
   */
  mailbox: 640,
  /** A domain name (RFC 1035 §2.3.4: 255 octets); the service takes 253 and a trailing dot. */
  domain: 255,
  /**
   * A name a person gives: the longest the service takes is a recipient group's 200 characters
   * (400 units); a tag value 256, an attachment's file name 255, a template's 100, a sender's 64.
   */
  name: 512,
  /** A recipient group's description: the service takes 300 characters (600 units). */
  description: 1024,
  /** A subject: one header line, 998 characters (RFC 5322 §2.1.1), 1,996 units; rounded up. */
  subject: 2048,
  /** A URL: 2,048, what browsers and most servers have long accepted (RFC 9110 §4.1 sets no limit). */
  url: 2048,
  /** A date or time, `YYYY-MM-DD` or `YYYY-MM-DD hh:mm:ss` (19 characters), with room. */
  date: 32,
  /** An enumeration value or a number carried as text (Unsubscribe "0"–"11", Limit, TaskID). */
  word: 64,
  /** An identifier: a MessageId (about 60 characters), a Message-ID header (the service takes 250), an API key's SecretId (36). */
  identifier: 256,
  /** An SMTP password: Tencent documents at most 64 (FACTS §3.2); the service takes 10 to 20. */
  password: 64,
  /** SmtpHeaders: JSON of a few headers, each value at most 900 (domain/smtp-headers.ts); 16 of them. */
  headers: 16 * 1024,
  /**
   * TemplateData of one message (SendEmail, BatchSendEmail): JSON of short text values (FACTS §3.2:
   * no HTML). Tencent caps one recipient's data at 800 bytes; 64 KiB is eighty times that, and room
   * for SDKs that escape every non-ASCII character as `\uXXXX` (six units each).
   */
  templateData: 64 * 1024,
  /** TemplateData of one uploaded recipient: the service refuses over 800 bytes (TemplateDataLenLimit). */
  recipientData: 1024,
  /**
   * Base64 content of a template or of Simple: the service's bound is SESAME_TEMPLATE_MAX_BYTES (1 MB
   * by default, configurable), so this one is the largest any request can carry (a TC3 body, 10 MB)
   * and never stands in for the configured check.
   */
  content: 10 * MiB,
  /**
   * Base64 content of one attachment: the service takes 4 MB (AttachContentToolarge beyond); some
   * Tencent documents say 5 MB (FACTS §4), so the bound is the base64 of 5 MiB.
   */
  attachment: base64Length(5 * MiB),
} as const;
export type StringKind = keyof typeof STRING_LIMITS;

/** The kinds of list parameter and the most items of each. */
export const LIST_LIMITS = {
  /** Destination, Cc, Bcc: the service takes 50, 20 and 20 (TooManyRecipients beyond); ten times 50. */
  recipients: 500,
  /** Attachments: the service takes 10 (TooManyAttachments beyond). */
  attachments: 100,
  /** Tags of a domain: the service takes 50. */
  tags: 500,
  /**
   * Addresses uploaded or removed in one request: the service takes 20,000 (FACTS §3.2,
   * ReceiverDetailRequestLimit beyond); the bound is the one every list had before (100,000).
   */
  bulk: 100_000,
} as const;
export type ListKind = keyof typeof LIST_LIMITS;

/**
 * The kind of every string parameter: `Model.Field` for one model's field, `Field` for the field of
 * that name in any model. A parameter with neither makes the generator stop (every string is bounded).
 * Parameters of type `date` or `datetime` are dates without being named here.
 */
export const STRING_FIELDS: Readonly<Record<string, StringKind>> = {
  // Addresses.
  Destination: 'address',
  Cc: 'address',
  Bcc: 'address',
  EmailAddress: 'address',
  EmailAddressList: 'address',
  Email: 'address',
  Address: 'address',
  ToEmailAddress: 'address',
  FromAddress: 'address',
  ToAddress: 'address',
  Emails: 'listedAddress',
  'ReceiverInputData.Email': 'listedAddress',
  'DeleteCustomBlackListRequest.Emails': 'address',
  'ListCapturedEmailsRequest.Recipient': 'address',
  // Mailboxes: parsed as `Name <address>`.
  FromEmailAddress: 'mailbox',
  HeaderFrom: 'mailbox',
  ReplyToAddresses: 'mailbox',
  // Domains (ReceivingMailboxType and Mta name the recipients' domain, e.g. gmail.com).
  EmailIdentity: 'domain',
  Domain: 'domain',
  FromDomain: 'domain',
  ReceivingMailboxType: 'domain',
  Mta: 'domain',
  // Names.
  TemplateName: 'name',
  ReceiversName: 'name',
  EmailSenderName: 'name',
  KeyWord: 'name',
  TagKey: 'name',
  TagValue: 'name',
  FileName: 'name',
  Desc: 'description',
  Subject: 'subject',
  FileURL: 'url',
  CallbackUrl: 'url',
  // Dates and times given as strings.
  BeginTime: 'date',
  StartTime: 'date',
  EndTime: 'date',
  CreateTimeBegin: 'date',
  CreateTimeEnd: 'date',
  ExpireDate: 'date',
  // Words and numbers as text.
  Unsubscribe: 'word',
  UnsubscribeConfig: 'word',
  Operation: 'word',
  Limit: 'word',
  TemplateId: 'word',
  TaskID: 'word',
  MessageId: 'identifier',
  SmtpMessageId: 'identifier',
  SecretId: 'identifier',
  Password: 'password',
  SmtpHeaders: 'headers',
  'Template.TemplateData': 'templateData',
  'ReceiverInputData.TemplateData': 'recipientData',
  'TemplateContent.Html': 'content',
  'TemplateContent.Text': 'content',
  'Simple.Html': 'content',
  'Simple.Text': 'content',
  'Attachment.Content': 'attachment',
};

/** The kind of every list parameter, named as in STRING_FIELDS. */
export const LIST_FIELDS: Readonly<Record<string, ListKind>> = {
  Destination: 'recipients',
  Cc: 'recipients',
  Bcc: 'recipients',
  Attachments: 'attachments',
  TagList: 'tags',
  Emails: 'bulk',
  EmailAddressList: 'bulk',
  Datas: 'bulk',
};

/** What a field of a request model is, as far as its bounds go. */
export interface BoundedField { model: string; name: string; scalar: string | null; array: boolean }

/** The bounds of a field of a request model: maxLength for strings (each item of a list), maxItems for lists. */
export function boundsOf(f: BoundedField): { maxLength?: number; maxItems?: number } {
  const out: { maxLength?: number; maxItems?: number } = {};
  if (f.scalar === 'string' || f.scalar === 'date' || f.scalar === 'datetime') {
    const kind = STRING_FIELDS[`${f.model}.${f.name}`] ?? STRING_FIELDS[f.name] ?? (f.scalar === 'string' ? undefined : 'date');
    if (!kind) throw new Error(`${f.model}.${f.name} is a string with no length rule in src/schema/limits.ts`);
    out.maxLength = STRING_LIMITS[kind];
  }
  if (f.array) {
    const kind = LIST_FIELDS[`${f.model}.${f.name}`] ?? LIST_FIELDS[f.name];
    if (!kind) throw new Error(`${f.model}.${f.name} is a list with no item rule in src/schema/limits.ts`);
    out.maxItems = LIST_LIMITS[kind];
  }
  return out;
}
