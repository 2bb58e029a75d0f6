/** Sesame's capture-mode actions (extensions): ListCapturedEmails and GetCapturedEmail. */
import type { CapturedMailService, CapturedSummary } from '../../services/captured-mail.js';
import type { CapturedEmail } from '../../schema/actions.js';
import type { Handlers } from '../registry.js';

/** Handlers of the captured-mail actions. */
export function capturedMailActions(captured: CapturedMailService): Handlers {
  return {
    ListCapturedEmails: async (ctx, req) => {
      const page = await captured.list(ctx.accountId, { offset: req.Offset, limit: req.Limit, recipient: req.Recipient });
      return { CapturedEmailList: page.items.map(wire), TotalCount: page.total };
    },

    GetCapturedEmail: async (ctx, req) => {
      const m = await captured.get(ctx.accountId, req.Id);
      return {
        ...wire(m),
        Raw: m.message.toString('base64'),
        Headers: m.headers.map((h) => ({ Name: h.name, Value: h.value })),
        Html: m.html,
        Text: m.text,
      };
    },
  };
}

const wire = (m: CapturedSummary): CapturedEmail => ({
  Id: m.id, MessageId: m.messageId, FromEmailAddress: m.from, ToEmailAddress: m.to, Subject: m.subject, Size: m.size, CapturedTimestamp: Math.floor(m.capturedAt / 1000),
});
