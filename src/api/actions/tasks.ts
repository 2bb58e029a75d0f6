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

    BatchSendEmail: async (ctx, req) => ({ TaskId: await tasks.create({ id: ctx.accountId }, req) }),

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
          Template: t.template as never,
          CycleParam: t.cycle as never,
          TimedParam: t.timed as never,
          ErrMsg: t.errMsg,
          ReceiversName: t.receiversName,
        })),
      };
    },
  };
}
