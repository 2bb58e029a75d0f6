/** Sender address actions: CreateEmailAddress, ListEmailAddress, DeleteEmailAddress, UpdateEmailSmtpPassWord. */
import type { SenderService } from '../../services/senders.js';
import type { Handlers } from '../registry.js';

/** Handlers of the sender-address actions. */
export function senderActions(senders: SenderService): Handlers {
  return {
    CreateEmailAddress: async (ctx, req) => {
      await senders.create(ctx.accountId, req.EmailAddress, req.EmailSenderName);
      return {};
    },

    ListEmailAddress: async (ctx) => ({
      EmailSenders: (await senders.list(ctx.accountId)).map((s) => ({
        EmailAddress: s.address,
        EmailSenderName: s.senderName,
        CreatedTimestamp: Math.floor(s.createdAt / 1000),
        SmtpPwdType: s.hasSmtpPassword ? 1 : 0,
      })),
    }),

    DeleteEmailAddress: async (ctx, req) => {
      await senders.delete(ctx.accountId, req.EmailAddress);
      return {};
    },

    UpdateEmailSmtpPassWord: async (ctx, req) => {
      await senders.setSmtpPassword(ctx.accountId, req.EmailAddress, req.Password);
      return {};
    },
  };
}
