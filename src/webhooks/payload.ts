/**
 * The body of a callback: Tencent's payload for the event, field by field (FACTS §5), so an
 * application moved from Tencent reads it unchanged.
 */
import { encodeWords } from 'nodemailer/lib/mime-funcs';
import { domainOf } from '../domain/address.js';
import { EVENT_NAMES, EventKind } from '../domain/events.js';
import { recipientMessageIdHeader } from '../domain/message-id.js';
import type { OutboxItem } from '../store/outbox.js';

/** A callback's JSON body. */
export type CallbackPayload = Record<string, string | number>;

const seconds = (ms: number): number => Math.floor(ms / 1000);
/** Events whose payload says why: bounce, deferred, dropped. */
const WITH_REASON: ReadonlySet<number> = new Set([EventKind.Bounce, EventKind.Deferred, EventKind.Dropped]);

/** The payload of a claimed event, or null when its event, delivery or message is no longer kept. */
export function callbackPayload(i: OutboxItem): CallbackPayload | null {
  if (i.event === null || i.event_at === null || i.recipient === null || i.sender === null || i.requested_at === null || i.message_id === null) return null;
  const kind = i.event as EventKind;
  const p: CallbackPayload = {
    event: EVENT_NAMES[kind],
    eventid: kind,
    email: i.recipient,
    bulkId: i.message_id,
    timestamp: seconds(Number(i.event_at)),
    sentTimestamp: seconds(Number(i.requested_at)),
    username: String(i.app_id ?? ''),
    from: i.sender,
    fromDomain: domainOf(i.sender),
    subject: encodedSubject(i.subject ?? ''),
  };
  // A batch run's recipient had a Message-ID of their own, derived from the run's.
  if (i.header_id) p.messageId = i.task_id === null ? i.header_id : recipientMessageIdHeader(i.header_id, Number(i.delivery_id));
  if (i.template_id !== null) p.templateId = Number(i.template_id);
  if (i.task_id !== null) p.taskId = Number(i.task_id);
  if (WITH_REASON.has(kind)) p.reason = i.reason ?? '';
  if (kind === EventKind.Bounce) p.bounceType = i.bounce_type || 'soft_bounce';
  if (kind === EventKind.Open || kind === EventKind.Click) p.useragent = i.user_agent ?? '';
  if (kind === EventKind.Click) p.link = i.link ?? '';
  if (i.callback_custom !== null) p['X-Tencentcloudses-Cb-Custom'] = i.callback_custom;
  return p;
}

/** A subject as mail carries it: RFC 2047 encoded words when it is not ASCII (a submitted one already is). */
function encodedSubject(subject: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(subject) ? subject : encodeWords(subject, 'B', 52);
}
