/** Statistics actions: GetStatisticsReport (the daily counters) and GetAbuseReport (complaints). */
import { recipientMessageIdHeader } from '../../domain/message-id.js';
import { formatDateTime } from '../../lib/time.js';
import type { StatisticsService } from '../../services/statistics.js';
import type { Volumes } from '../../store/statistics.js';
import type { Handlers } from '../registry.js';

/** A Volume as the API shows it. */
function volume(v: Volumes, day: string) {
  return {
    SendDate: day,
    RequestCount: v.requested,
    AcceptedCount: v.accepted,
    DeliveredCount: v.delivered,
    OpenedCount: v.opened,
    ClickedCount: v.clicked,
    BounceCount: v.bounced,
    UnsubscribeCount: v.unsubscribed,
  };
}

/** Handlers of the statistics actions; times are shown in `timezone`. */
export function statisticsActions(statistics: StatisticsService, timezone: string): Handlers {
  const time = (ms: number | null): string => (ms === null ? '' : formatDateTime(ms, timezone));
  return {
    GetStatisticsReport: async (ctx, req) => {
      const r = await statistics.report(ctx.accountId, { startDate: req.StartDate, endDate: req.EndDate, domain: req.Domain, mailboxType: req.ReceivingMailboxType });
      return {
        DailyVolumes: r.days.map((d) => volume(d, d.day)),
        // The sum of the period is no one day: its SendDate is empty.
        OverallVolume: volume(r.overall, ''),
      };
    },

    GetAbuseReport: async (ctx, req) => {
      const r = await statistics.complaints(ctx.accountId, {
        startTime: req.StartTime, endTime: req.EndTime, offset: req.Offset, limit: req.Limit,
        fromDomain: req.FromDomain, fromAddress: req.FromAddress, mta: req.Mta, toAddress: req.ToAddress, templateId: req.TemplateId,
      });
      return {
        TotalCount: r.total,
        Data: r.rows.map((c) => ({
          DeliverTime: time(c.deliver_time),
          OriginalMailFrom: c.sender,
          OriginalRcptTo: c.recipient,
          FromDomain: c.sender.slice(c.sender.lastIndexOf('@') + 1),
          ComplainTime: time(c.created_at),
          Mta: c.recipient_domain,
          SourceIp: c.source_ip,
          InsertTime: time(c.created_at),
          TemplateId: c.template_id === null ? '' : String(c.template_id),
          BulkId: c.message_id,
          // A batch run's recipient had a Message-ID of their own, derived from the run's.
          MessageId: c.header_id === null ? '' : c.task_id === null ? c.header_id : recipientMessageIdHeader(c.header_id, c.delivery_id),
          AbuseTime: time(c.reported_at ?? c.created_at),
          Subject: c.subject,
        })),
      };
    },
  };
}
