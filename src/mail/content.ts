/**
 * What an accepted message is made of: everything the composer needs, fixed at acceptance, so the
 * mail delivered is the mail accepted whatever happens to the template or settings afterwards.
 */

/** An attachment as accepted (content base64, already checked). */
export interface AttachmentContent { filename: string; contentType: string; base64: string }

/** What every accepted message has, however it arrived. */
interface ContentBase {
  /** Sender domain: DKIM d= and the domain whose unsubscriptions apply. */
  domain: string;
  /** Envelope sender domain (VERP bounce addresses live here). */
  bounceDomain: string;
  /** The Message-ID header, `<…>`. */
  messageIdHeader: string;
  /** Acceptance time (the Date header of composed mail), ms. */
  date: number;
  /** Unsubscribe link language, "0" for none. */
  unsubscribeLanguage: string;
  triggerType: number;
  /** How many recipients share this message (unset: a batch run's, or stored before this was kept). */
  recipients?: number;
}

/** The composition input of one message accepted by SendEmail. */
export interface ComposedContent extends ContentBase {
  kind?: undefined;
  /** From: display name and address (HeaderFrom, or the sender address and its name). */
  from: { name: string; address: string };
  to: string[];
  cc: string[];
  replyTo: string | null;
  /** Rendered (template variables substituted). */
  subject: string;
  html: string | null;
  text: string | null;
  attachments: AttachmentContent[];
  /** Extra headers the caller was allowed to add. */
  headers: [string, string][];
  templateId: number | null;
}

/**
 * A message submitted over SMTP: the client's own MIME, kept as it came (Bcc removed, Message-ID
 * and Date added when missing, CRLF line endings throughout); only signed at delivery.
 */
export interface SubmittedContent extends ContentBase {
  kind: 'submitted';
  /** The message, base64. */
  raw: string;
}

/**
 * One run of a batch task: a message for each recipient of the group, addressed to them alone and
 * rendered at delivery with their own template data (a row per recipient, not a message per
 * recipient, stays in the store).
 */
export interface BatchContent extends ContentBase {
  kind: 'batch';
  from: { name: string; address: string };
  replyTo: string | null;
  /** As written: `{{variables}}` are substituted per recipient. */
  subject: string;
  html: string | null;
  text: string | null;
  /** Values for every recipient (the task's Template.TemplateData); a recipient's own data wins. */
  data: Record<string, string>;
  attachments: AttachmentContent[];
  templateId: number | null;
}

/** An accepted message, as stored. */
export type MessageContent = ComposedContent | SubmittedContent | BatchContent;

/** What the renderer takes: a message whole (batch messages are personalised first). */
export type RenderableContent = ComposedContent | SubmittedContent;
