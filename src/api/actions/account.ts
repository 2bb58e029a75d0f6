/**
 * The account's own actions (Sesame extensions, for the console's Settings screen): its API keys
 * (ListApiKeys, CreateApiKey, DeleteApiKey) and its settings (GetAccountSettings,
 * UpdateAccountSettings).
 */
import { API_KEY_LIMIT, type AccountService } from '../../services/accounts.js';
import type { Handlers } from '../registry.js';

/** Handlers of the account's own actions. */
export function accountActions(accounts: AccountService): Handlers {
  return {
    ListApiKeys: async (ctx) => {
      const keys = await accounts.listKeys(ctx.accountId);
      return {
        ApiKeyList: keys.map((k) => ({ SecretId: k.secret_id, CreatedTimestamp: Math.floor(k.created_at / 1000), Current: k.secret_id === ctx.secretId })),
        TotalCount: keys.length,
      };
    },

    CreateApiKey: async (ctx) => {
      const key = await accounts.createKey({ id: ctx.accountId, app_id: ctx.appId }, { max: API_KEY_LIMIT });
      return { SecretId: key.SecretId, SecretKey: key.SecretKey };
    },

    DeleteApiKey: async (ctx, req) => {
      await accounts.revokeOwnKey(ctx.accountId, req.SecretId, ctx.secretId);
      return {};
    },

    GetAccountSettings: async (ctx) => {
      const s = await accounts.settings(ctx.accountId);
      return { Tracking: s.tracking ? 1 : 0, TemplateReview: s.templateReview ? 1 : 0, Simple: s.freeContent ? 1 : 0 };
    },

    UpdateAccountSettings: async (ctx, req) => {
      await accounts.setTracking(ctx.appId, req.Tracking);
      return {};
    },
  };
}
