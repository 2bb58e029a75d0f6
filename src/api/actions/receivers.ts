/**
 * Recipient group actions: CreateReceiver, CreateReceiverDetail, CreateReceiverDetailWithData,
 * ListReceivers, ListReceiverDetails, DeleteReceiver.
 */
import type { ReceiverService, UploadCounts } from '../../services/receivers.js';
import type { Handlers } from '../registry.js';

const counts = (c: UploadCounts) => ({
  TotalCount: c.total, ValidCount: c.valid, TooLongCount: c.tooLong, EmptyEmailCount: c.empty, RepeatCount: c.repeat,
});

/** Handlers of the recipient group actions. */
export function receiverActions(receivers: ReceiverService): Handlers {
  return {
    CreateReceiver: async (ctx, req) => ({ ReceiverId: await receivers.create(ctx.accountId, req.ReceiversName, req.Desc) }),

    CreateReceiverDetail: async (ctx, req) => counts(await receivers.addEmails(ctx.accountId, req.ReceiverId, req.Emails)),

    CreateReceiverDetailWithData: async (ctx, req) => counts(await receivers.addWithData(ctx.accountId, req.ReceiverId, req.Datas.map((d) => ({ email: d.Email, templateData: d.TemplateData })))),

    ListReceivers: async (ctx, req) => {
      const page = await receivers.list(ctx.accountId, { offset: req.Offset, limit: req.Limit, status: req.Status, keyword: req.KeyWord });
      return {
        TotalCount: page.total,
        Data: page.items.map((r) => ({
          ReceiverId: r.id, ReceiversName: r.name, Count: r.count, Desc: r.description, ReceiversStatus: r.status, CreateTime: r.createTime, InvalidCount: r.invalidCount,
        })),
      };
    },

    ListReceiverDetails: async (ctx, req) => {
      const page = await receivers.details(ctx.accountId, req.ReceiverId, {
        offset: req.Offset, limit: req.Limit, email: req.Email, status: req.Status, begin: req.CreateTimeBegin, end: req.CreateTimeEnd,
      });
      return {
        TotalCount: page.total,
        ValidCount: page.valid,
        InvalidCount: page.invalid,
        Data: page.items.map((d) => ({ Email: d.email, CreateTime: d.createTime, TemplateData: d.templateData, Reason: d.reason, Status: d.status, EmailId: d.id })),
      };
    },

    DeleteReceiver: async (ctx, req) => {
      await receivers.delete(ctx.accountId, req.ReceiverId);
      return {};
    },
  };
}
