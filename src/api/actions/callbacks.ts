/** Sesame's callback actions (extensions): SetEmailCallback and ListEmailCallbacks. */
import type { CallbackService } from '../../services/callbacks.js';
import type { Handlers } from '../registry.js';

/** Handlers of the callback actions. */
export function callbackActions(callbacks: CallbackService): Handlers {
  return {
    SetEmailCallback: async (ctx, req) => ({
      Secret: await callbacks.set(ctx.accountId, { url: req.CallbackUrl, address: req.Address }),
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
