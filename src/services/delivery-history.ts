/**
 * ListEmailEvents (Sesame's extension, for the console's Sending status screen): what happened to
 * one delivery, event by event, from its acceptance on.
 */
import { normalizeAddress } from '../domain/address.js';
import type { EventKind } from '../domain/events.js';
import type { DeliveryHistoryStore, HistoryEventRow } from '../store/delivery-history.js';

/**
 * Most events answered for one delivery: the newest are kept. Outcomes are few (a deferral per
 * retry, one final outcome), but every open and click is an event, so a mail read or scanned
 * thousands of times would otherwise make an answer of any size.
 */
export const HISTORY_EVENTS_MAX = 200;

/** One event of a delivery. */
export interface DeliveryEvent {
  kind: EventKind;
  at: number;
  /** `hard_bounce` or `soft_bounce` for a bounce, '' otherwise. */
  bounceType: string;
  /** The remote's reply or diagnostic, or why Sesame dropped the mail. */
  reason: string;
  /** The URL clicked. */
  link: string;
  userAgent: string;
  /** The prefetcher or scanner that made this open or click ('' for a person). */
  prefetch: string;
}

/** A delivery's history. */
export interface DeliveryHistory {
  /** When the mail was accepted. */
  requestedAt: number;
  /** Its newest HISTORY_EVENTS_MAX events, oldest first. */
  events: DeliveryEvent[];
}

/** Reads the history of an account's deliveries. */
export class DeliveryHistoryService {
  constructor(private readonly store: DeliveryHistoryStore) {}

  /**
   * The account's delivery of `messageId` to `recipient` (compared in lower case, as
   * GetSendEmailStatus does), or null when the account has none such: another account's is not
   * told apart from one that does not exist.
   */
  async history(accountId: number, messageId: string, recipient: string): Promise<DeliveryHistory | null> {
    const found = await this.store.history(accountId, messageId, normalizeAddress(recipient), HISTORY_EVENTS_MAX);
    return found && { requestedAt: found.requestedAt, events: found.events.map(event) };
  }
}

function event(r: HistoryEventRow): DeliveryEvent {
  return {
    kind: r.event as EventKind, at: r.created_at, bounceType: r.bounce_type, reason: r.reason, link: r.link, userAgent: r.user_agent, prefetch: r.prefetch,
  };
}
