/**
 * A batch run's message for one recipient: addressed to them alone, with their template data
 * substituted (theirs wins over the task's), and a Message-ID and Date of its own that stay the
 * same across delivery attempts.
 */
import { recipientMessageIdHeader } from '../domain/message-id.js';
import { renderTemplated } from '../domain/template.js';
import type { BatchContent, ComposedContent } from './content.js';

/** The recipient's message of a batch run. */
export function personalise(c: BatchContent, delivery: { id: number; recipient: string; templateData: string | null; queuedAt: number }): ComposedContent {
  // The data was checked when the group was uploaded: a JSON object of text.
  const own = delivery.templateData ? (JSON.parse(delivery.templateData) as Record<string, string>) : {};
  return {
    domain: c.domain,
    bounceDomain: c.bounceDomain,
    messageIdHeader: recipientMessageIdHeader(c.messageIdHeader, delivery.id),
    // When this recipient's message was queued: a run held back by the quota may span days.
    date: delivery.queuedAt,
    unsubscribeLanguage: c.unsubscribeLanguage,
    triggerType: 0,
    from: c.from,
    to: [delivery.recipient],
    cc: [],
    replyTo: c.replyTo,
    ...renderTemplated(c, { ...c.data, ...own }),
    attachments: c.attachments,
    headers: [],
    templateId: c.templateId,
  };
}
