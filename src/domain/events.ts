/**
 * The events of a delivery, with the ids Tencent's callbacks give them (FACTS §5): every outcome
 * and every later signal is one of these.
 */

/** Event ids. */
export const EventKind = {
  Delivered: 1,
  Dropped: 2,
  Bounce: 3,
  Open: 4,
  Click: 5,
  SpamReport: 6,
  Unsubscribe: 7,
  Deferred: 8,
} as const;
export type EventKind = (typeof EventKind)[keyof typeof EventKind];

/** The `event` names of callbacks, by id. */
export const EVENT_NAMES: Readonly<Record<EventKind, string>> = {
  1: 'delivered', 2: 'dropped', 3: 'bounce', 4: 'open', 5: 'click', 6: 'spamreport', 7: 'unsubscribe', 8: 'deferred',
};

/** `bounceType` of a bounce: the address is bad (and blocklisted), or the refusal was about something else. */
export type BounceType = 'hard_bounce' | 'soft_bounce';

/**
 * The daily counters an event can move (table `daily_volumes`). `opened` and `clicked` count
 * recipients, once each, and only for opens and clicks not made by a known prefetcher or scanner;
 * `prefetched` counts recipients whose mail such a machine fetched.
 */
export const VOLUME_FIELDS = [
  'requested', 'accepted', 'delivered', 'dropped', 'bounced', 'hard_bounced', 'spam_bounced', 'deferred',
  'opened', 'prefetched', 'clicked', 'unsubscribed', 'complained',
] as const;
export type VolumeField = (typeof VOLUME_FIELDS)[number];
