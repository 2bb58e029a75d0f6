/** Domain verification actions: Create/Get/Update/List/DeleteEmailIdentity. */
import type { IdentityService, IdentityView, Tag } from '../../services/identities.js';
import type { Handlers } from '../registry.js';

const IDENTITY_TYPE = 'DOMAIN';

/** Tags on the wire (TagList). */
const wireTags = (tags: readonly Tag[]) => tags.map((t) => ({ TagKey: t.key, TagValue: t.value }));
const tagsOf = (list: readonly { TagKey: string; TagValue: string }[] | undefined): Tag[] | undefined =>
  list?.map((t) => ({ key: t.TagKey, value: t.TagValue }));

function records(v: IdentityView) {
  return {
    IdentityType: IDENTITY_TYPE,
    VerifiedForSendingStatus: v.verified,
    Attributes: v.records.map((r) => ({ Type: r.type, SendDomain: r.name, ExpectedValue: r.expectedValue, CurrentValue: r.currentValue, Status: r.ok })),
    DKIMOption: v.dkimOption,
  };
}

/** Handlers of the sender-domain actions. */
export function identityActions(identities: IdentityService): Handlers {
  return {
    CreateEmailIdentity: async (ctx, req) => records(await identities.create(ctx.accountId, req.EmailIdentity, req.DKIMOption, tagsOf(req.TagList))),

    GetEmailIdentity: async (ctx, req) => {
      const v = await identities.get(ctx.accountId, req.EmailIdentity);
      return { ...records(v), TagList: wireTags(v.tags) };
    },

    // NewAPI only chose between console behaviours at Tencent; verification is the same either way.
    UpdateEmailIdentity: async (ctx, req) => records(await identities.verify(ctx.accountId, req.EmailIdentity, req.DKIMOption)),

    ListEmailIdentities: async (ctx, req) => {
      const page = await identities.list(ctx.accountId, req.Limit, req.Offset, tagsOf(req.TagList));
      const max = identities.maximum();
      return {
        EmailIdentities: page.items.map((d) => ({
          IdentityName: d.name,
          IdentityType: IDENTITY_TYPE,
          SendingEnabled: d.sendingEnabled,
          CurrentReputationLevel: d.reputationLevel,
          DailyQuota: d.dailyQuota,
          SendIp: identities.sendingIps(),
          TagList: wireTags(d.tags),
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
