/** The status codes of a delivery as GetSendEmailStatus shows them (FACTS §3.2). */

/** DeliverStatus values. */
export const DeliverStatus = { Queued: 0, Delivered: 1, Dropped: 2, Bounced: 3, Deferred: 8 } as const;

/** SendStatus values Sesame sets after acceptance. */
export const SendStatus = { DomainNotVerified: 3014, Blocklisted: 3020, Unsubscribed: 1013 } as const;
