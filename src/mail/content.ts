/**
 * What an accepted message is made of: everything the composer needs, fixed at acceptance, so the
 * mail delivered is the mail accepted whatever happens to the template or settings afterwards.
 */

/** An attachment as accepted (content base64, already checked). */
export interface AttachmentContent { filename: string; contentType: string; base64: string }

/** The composition input of one message. */
export interface MessageContent {
  /** From: display name and address (HeaderFrom, or the sender address and its name). */
  from: { name: string; address: string };
  /** Sender domain: DKIM d= and the domain whose unsubscriptions apply. */
  domain: string;
  /** Envelope sender domain (VERP bounce addresses live here). */
  bounceDomain: string;
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
  /** The Message-ID header, `<…>`. */
  messageIdHeader: string;
  /** Acceptance time (the Date header), ms. */
  date: number;
  /** Unsubscribe link language, "0" for none. */
  unsubscribeLanguage: string;
  templateId: number | null;
  triggerType: number;
}
