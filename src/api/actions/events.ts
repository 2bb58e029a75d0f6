/** Sesame's ListEmailEvents (extension): one delivery's events, for the console's Sending status screen. */
import { EVENT_NAMES } from '../../domain/events.js';
import type { DeliveryEvent, DeliveryHistoryService } from '../../services/delivery-history.js';
import type { EmailEvent } from '../../schema/actions.js';
import type { Handlers } from '../registry.js';

const seconds = (ms: number): number => Math.floor(ms / 1000);

/** Handlers of the event history action. */
export function eventActions(history: DeliveryHistoryService): Handlers {
  return {
    // No such delivery (or another account's) answers an empty list, as GetSendEmailStatus answers
    // an unknown MessageId: nothing tells whether a MessageId exists elsewhere.
    ListEmailEvents: async (ctx, req) => {
      const h = await history.history(ctx.accountId, req.MessageId, req.ToEmailAddress);
      return h ? { EventList: h.events.map(wire), RequestTime: seconds(h.requestedAt) } : { EventList: [], RequestTime: 0 };
    },
  };
}

/** An event as the answer gives it: the callbacks' event names (FACTS §5). */
const wire = (e: DeliveryEvent): EmailEvent => ({
  Event: EVENT_NAMES[e.kind], Timestamp: seconds(e.at), BounceType: e.bounceType, Reason: e.reason, Link: e.link, UserAgent: e.userAgent, Prefetch: e.prefetch,
});
