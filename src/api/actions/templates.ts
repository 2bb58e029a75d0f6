/** Template actions: CreateEmailTemplate, UpdateEmailTemplate, GetEmailTemplate, ListEmailTemplates, DeleteEmailTemplate. */
import type { TemplateService } from '../../services/templates.js';
import type { Handlers } from '../registry.js';

const b64 = (s: string | null): string | undefined => (s === null ? undefined : Buffer.from(s, 'utf8').toString('base64'));
const unixSeconds = (ms: number): number => Math.floor(ms / 1000);

/** Handlers of the template actions. */
export function templateActions(templates: TemplateService): Handlers {
  return {
    CreateEmailTemplate: async (ctx, req) => ({
      TemplateID: await templates.create(ctx.accountId, req.TemplateName, { html: req.TemplateContent.Html, text: req.TemplateContent.Text }),
    }),

    UpdateEmailTemplate: async (ctx, req) => {
      await templates.update(ctx.accountId, req.TemplateID, req.TemplateName, { html: req.TemplateContent.Html, text: req.TemplateContent.Text });
      return {};
    },

    GetEmailTemplate: async (ctx, req) => {
      const t = await templates.get(ctx.accountId, req.TemplateID);
      return {
        TemplateContent: { Html: b64(t.html), Text: b64(t.text) },
        TemplateStatus: t.status,
        TemplateName: t.name,
      };
    },

    ListEmailTemplates: async (ctx, req) => {
      const page = await templates.list(ctx.accountId, req.Limit, req.Offset);
      return {
        TemplatesMetadata: page.items.map((t) => ({
          CreatedTimestamp: unixSeconds(t.createdAt),
          TemplateName: t.name,
          TemplateStatus: t.status,
          TemplateID: t.id,
          ReviewReason: t.reviewReason,
        })),
        TotalCount: page.total,
      };
    },

    DeleteEmailTemplate: async (ctx, req) => {
      await templates.delete(ctx.accountId, req.TemplateID);
      return {};
    },
  };
}
