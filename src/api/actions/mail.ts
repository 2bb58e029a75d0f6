/** Sending and status actions: SendEmail, GetSendEmailStatus. */
import type { MailService } from '../../services/mail.js';
import type { StatusService } from '../../services/statuses.js';
import type { Handlers } from '../registry.js';

const seconds = (ms: number | null): number => (ms === null ? 0 : Math.floor(ms / 1000));

/** Handlers of SendEmail and GetSendEmailStatus. */
export function mailActions(mail: MailService, statuses: StatusService): Handlers {
  return {
    SendEmail: async (ctx, req) => ({
      MessageId: await mail.send({ id: ctx.accountId, appId: ctx.appId }, {
        from: req.FromEmailAddress,
        to: req.Destination ?? [],
        cc: req.Cc ?? [],
        bcc: req.Bcc ?? [],
        subject: req.Subject,
        template: req.Template ? { id: req.Template.TemplateID, data: req.Template.TemplateData } : undefined,
        simple: req.Simple ? { html: req.Simple.Html, text: req.Simple.Text } : undefined,
        attachments: (req.Attachments ?? []).map((a) => ({ fileName: a.FileName, content: a.Content })),
        replyTo: req.ReplyToAddresses,
        headerFrom: req.HeaderFrom,
        smtpHeaders: req.SmtpHeaders,
        smtpMessageId: req.SmtpMessageId,
        unsubscribe: req.Unsubscribe,
        triggerType: req.TriggerType,
      }),
    }),

    GetSendEmailStatus: async (ctx, req) => {
      const rows = await statuses.list(ctx.accountId, {
        requestDate: req.RequestDate, offset: req.Offset, limit: req.Limit, messageId: req.MessageId, toEmailAddress: req.ToEmailAddress,
      });
      return {
        EmailStatusList: rows.map((r) => ({
          MessageId: r.message_id,
          ToEmailAddress: r.recipient,
          FromEmailAddress: r.sender,
          SendStatus: r.send_status,
          DeliverStatus: r.deliver_status,
          DeliverMessage: r.deliver_message,
          RequestTime: seconds(r.created_at),
          DeliverTime: seconds(r.deliver_time),
          UserOpened: r.opened === 1,
          UserClicked: r.clicked === 1,
          UserUnsubscribed: r.unsubscribed === 1,
          UserComplainted: r.complained === 1,
          UserComplained: r.complained === 1,
        })),
      };
    },
  };
}
