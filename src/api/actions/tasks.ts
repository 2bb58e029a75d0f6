/** Batch task actions: BatchSendEmail, ListSendTasks, and UpdateSendTask (a Sesame extension). */
import type { TaskService } from '../../services/tasks.js';
import type { Handlers } from '../registry.js';

/** Handlers of the batch task actions. */
export function taskActions(tasks: TaskService): Handlers {
  return {
    UpdateSendTask: async (ctx, req) => {
      await tasks.operate(ctx.accountId, req.TaskId, req.Operation);
      return {};
    },

    BatchSendEmail: async (ctx, req) => ({
      TaskId: await tasks.create({ id: ctx.accountId }, {
        from: req.FromEmailAddress,
        receiverId: req.ReceiverId,
        subject: req.Subject,
        taskType: req.TaskType,
        replyTo: req.ReplyToAddresses,
        template: req.Template ? { id: req.Template.TemplateID, data: req.Template.TemplateData } : undefined,
        simple: req.Simple ? { html: req.Simple.Html, text: req.Simple.Text } : undefined,
        attachments: (req.Attachments ?? []).map((a) => ({ fileName: a.FileName, content: a.Content })),
        cycle: req.CycleParam ? { beginTime: req.CycleParam.BeginTime, intervalTime: req.CycleParam.IntervalTime, termCycle: req.CycleParam.TermCycle } : undefined,
        timed: req.TimedParam ? { beginTime: req.TimedParam.BeginTime } : undefined,
        unsubscribe: req.Unsubscribe,
        adLocation: req.ADLocation,
      }),
    }),

    ListSendTasks: async (ctx, req) => {
      const page = await tasks.list(ctx.accountId, { offset: req.Offset, limit: req.Limit, status: req.Status, receiverId: req.ReceiverId, taskType: req.TaskType });
      return {
        TotalCount: page.total,
        Data: page.items.map((t) => ({
          TaskId: t.id,
          FromEmailAddress: t.from,
          ReceiverId: t.receiverId,
          TaskStatus: t.status,
          TaskType: t.taskType,
          RequestCount: t.requestCount,
          SendCount: t.sendCount,
          CacheCount: t.cacheCount,
          CreateTime: t.createTime,
          UpdateTime: t.updateTime,
          Subject: t.subject,
          // Null where there is none, as Tencent's SendTaskData says these may be.
          Template: (t.template && { TemplateID: t.template.id, TemplateData: t.template.data }) as never,
          CycleParam: (t.cycle && { BeginTime: t.cycle.beginTime, IntervalTime: t.cycle.intervalTime, TermCycle: t.cycle.termCycle }) as never,
          TimedParam: (t.timed && { BeginTime: t.timed.beginTime }) as never,
          ErrMsg: t.errMsg,
          ReceiversName: t.receiversName,
        })),
      };
    },
  };
}
