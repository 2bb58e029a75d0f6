/** Domain verification actions: Create/Get/Update/List/DeleteEmailIdentity. */
import type { IdentityService, IdentityView } from '../../services/identities.js';
import type { Handlers } from '../registry.js';

const IDENTITY_TYPE = 'DOMAIN';

function records(v: IdentityView) {
  return { IdentityType: IDENTITY_TYPE, VerifiedForSendingStatus: v.verified, Attributes: v.records, DKIMOption: v.dkimOption };
}

/** Handlers of the sender-domain actions. */
export function identityActions(identities: IdentityService): Handlers {
  return {
    CreateEmailIdentity: async (ctx, req) => records(await identities.create(ctx.accountId, req.EmailIdentity, req.DKIMOption, req.TagList)),

    GetEmailIdentity: async (ctx, req) => {
      const v = await identities.get(ctx.accountId, req.EmailIdentity);
      return { ...records(v), TagList: v.tags };
    },

    // NewAPI only chose between console behaviours at Tencent; verification is the same either way.
    UpdateEmailIdentity: async (ctx, req) => records(await identities.verify(ctx.accountId, req.EmailIdentity, req.DKIMOption)),

    ListEmailIdentities: async (ctx, req) => {
      const page = await identities.list(ctx.accountId, req.Limit, req.Offset, req.TagList);
      const max = identities.maximum();
      return {
        EmailIdentities: page.items.map((d) => ({
          IdentityName: d.name,
          IdentityType: IDENTITY_TYPE,
          SendingEnabled: d.sendingEnabled,
          CurrentReputationLevel: d.reputationLevel,
          DailyQuota: d.dailyQuota,
          SendIp: identities.sendingIps(),
          TagList: d.tags,
          DKIMOption: d.dkimOption,
        })),
        MaxReputationLevel: max.level,
        MaxDailyQuota: max.dailyQuota,
        Total: page.total,
      };
    },

    DeleteEmailIdentity: async (ctx, req) => {
      await identities.delete(ctx.accountId, req.EmailIdentity);
      return {};
    },
  };
}
