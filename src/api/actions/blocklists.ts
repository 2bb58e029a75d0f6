/**
 * Blocklist actions: ListBlackEmailAddress and DeleteBlackList (hard bounces), and
 * Create/Update/Delete/ListCustomBlacklist (the account's own list).
 */
import { formatDateTime } from '../../lib/time.js';
import type { BlocklistService } from '../../services/blocklists.js';
import type { Handlers } from '../registry.js';

/** Handlers of the blocklist actions; times are shown in `timezone`. */
export function blocklistActions(blocklists: BlocklistService, timezone: string): Handlers {
  return {
    ListBlackEmailAddress: async (ctx, req) => {
      const page = await blocklists.listBounces(ctx.accountId, {
        startDate: req.StartDate, endDate: req.EndDate, limit: req.Limit, offset: req.Offset, email: req.EmailAddress,
      });
      return {
        BlackList: page.items.map((b) => ({ BounceTime: formatDateTime(b.bouncedAt, timezone), EmailAddress: b.email, IspDesc: b.reason })),
        TotalCount: page.total,
      };
    },

    DeleteBlackList: async (ctx, req) => {
      await blocklists.deleteBounces(ctx.accountId, req.EmailAddressList);
      return {};
    },

    CreateCustomBlacklist: async (ctx, req) => {
      const c = await blocklists.addCustom(ctx.accountId, req.Emails, req.ExpireDate);
      return { TotalCount: c.total, ValidCount: c.valid, TooLongCount: c.tooLong, RepeatCount: c.repeat, InvalidCount: c.invalid };
    },

    UpdateCustomBlackList: async (ctx, req) => {
      await blocklists.updateCustom(ctx.accountId, req.Id, req.Email, req.ExpireDate);
      return {};
    },

    DeleteCustomBlackList: async (ctx, req) => {
      await blocklists.deleteCustom(ctx.accountId, req.Emails);
      return {};
    },

    ListCustomBlacklist: async (ctx, req) => {
      const page = await blocklists.listCustom(ctx.accountId, { offset: req.Offset, limit: req.Limit, status: req.Status, email: req.Email });
      return {
        TotalCount: page.total,
        Data: page.items.map((e) => ({
          Id: e.id, Email: e.email, CreateTime: formatDateTime(e.createdAt, timezone), ExpireDate: e.expireDate ?? '', Status: e.active ? 1 : 0,
        })),
      };
    },
  };
}
