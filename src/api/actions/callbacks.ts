/** Sesame's callback actions (extensions): SetEmailCallback and ListEmailCallbacks. */
import type { CallbackService } from '../../services/callbacks.js';
import type { Handlers } from '../registry.js';
import { webhookId } from '../../domain/webhook-id.js';

/** Handlers of the callback actions. */
export function callbackActions(callbacks: CallbackService): Handlers {
  return {
    SetEmailCallback: async (ctx, req) => ({
      Secret: await callbacks.set(ctx.accountId, { url: req.CallbackUrl, address: req.Address }),
    }),

    ListEmailCallbackLogs: async (ctx, req) => ({
      LogList: (await callbacks.requests(ctx.accountId, { address: req.Address, limit: req.Limit })).map((r) => ({
        EventId: webhookId(r.eventId), Timestamp: Math.floor(r.at / 1000), HttpStatus: r.httpStatus, LatencyMs: r.latencyMs, Error: r.error,
      })),
    }),

    ListEmailCallbacks: async (ctx) => {
      const list = await callbacks.list(ctx.accountId);
      return {
        CallbackList: list.map((c) => ({
          Address: c.address, CallbackUrl: c.url, Secret: c.secret, Status: c.active ? 1 : 0, CreatedTimestamp: Math.floor(c.createdAt / 1000),
        })),
        TotalCount: list.length,
      };
    },
  };
}
