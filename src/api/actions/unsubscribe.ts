/** Unsubscribe setting actions: Create/Update/Delete/ListAddressUnsubscribeConfig. */
import type { UnsubscribeSettingService } from '../../services/unsubscribe-settings.js';
import type { Handlers } from '../registry.js';

/** Handlers of the unsubscribe-setting actions. */
export function unsubscribeActions(settings: UnsubscribeSettingService): Handlers {
  return {
    CreateAddressUnsubscribeConfig: async (ctx, req) => {
      await settings.create(ctx.accountId, req.Address, req.UnsubscribeConfig, req.Status);
      return {};
    },

    UpdateAddressUnsubscribeConfig: async (ctx, req) => {
      await settings.update(ctx.accountId, req.Address, req.UnsubscribeConfig, req.Status);
      return {};
    },

    DeleteAddressUnsubscribeConfig: async (ctx, req) => {
      await settings.delete(ctx.accountId, req.Address);
      return {};
    },

    ListAddressUnsubscribeConfig: async (ctx, req) => {
      const page = await settings.list(ctx.accountId, req.Offset, req.Limit);
      return {
        AddressUnsubscribeConfigList: page.items.map((s) => ({ Address: s.address, UnsubscribeConfig: s.language, Status: s.enabled ? 1 : 0 })),
        Total: page.total,
      };
    },
  };
}
