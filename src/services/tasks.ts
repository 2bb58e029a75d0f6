/**
 * Batch tasks, the owner's side: BatchSendEmail's checks and the task it creates; ListSendTasks;
 * and pause, resume and end (UpdateSendTask, a Sesame extension). The steps a runner takes through
 * a task are in task-runs.ts.
 */
import { checkPageLimit } from '../domain/paging.js';
import { parseTemplateData } from '../domain/template.js';
import { fail } from '../errors/coded-error.js';
import { formatDateTime, parseDateTime } from '../lib/time.js';
import { ReceiverStatus, receiverStatusAt, type ReceiverStore } from '../store/receivers.js';
import { TaskStatus, type TaskRow, type TaskStore } from '../store/tasks.js';
import { checkAttachments, checkReplyTo, checkSubject, decodeSimple, parseFrom, type AttachmentInput, type SimpleInput } from './message-parts.js';
import type { SendingRules } from './sending-rules.js';
import { givenVariables, plannedStart, TaskType, type TaskContent, type TaskPolicy } from './task-content.js';
import type { UnsubscribeSettingService } from './unsubscribe-settings.js';

/** The ad mark ADLocation puts before (1) or after (2) the subject. */
export const AD_MARK = '(AD)';

/** Owner operations of UpdateSendTask. */
export const TASK_OPERATIONS = ['pause', 'resume', 'end'] as const;

/** BeginTime may be this far in the past (the clocks of client and server differ a little). */
const BEGIN_GRACE_MS = 60_000;

/** A batch task to create (BatchSendEmail's parameters). */
export interface BatchRequest {
  /** `address@domain` or `Alias <address@domain>`. */
  from: string;
  receiverId: number;
  subject: string;
  /** 1 now, 2 scheduled (`timed`), 3 recurring (`cycle`). */
  taskType: number;
  replyTo?: string;
  /** A template of the account and the data for every recipient (JSON); or `simple`. */
  template?: { id: number; data?: string };
  simple?: SimpleInput;
  attachments: readonly AttachmentInput[];
  cycle?: { beginTime?: string; intervalTime?: number; termCycle?: number };
  timed?: { beginTime?: string };
  unsubscribe?: string;
  /** 0 no ad mark, 1 before the subject, 2 after it. */
  adLocation?: number;
}

/** A task as ListSendTasks shows it. */
export interface TaskView {
  id: number; from: string; receiverId: number; receiversName: string; status: number; taskType: number;
  requestCount: number; sendCount: number; cacheCount: number; createTime: string; updateTime: string;
  subject: string; template: { id: number; data: string } | null;
  cycle: { beginTime: string; intervalTime: number; termCycle: number } | null; timed: { beginTime: string } | null; errMsg: string;
}

/** What the owner's side of tasks needs. */
export interface TaskDeps {
  tasks: TaskStore;
  receivers: ReceiverStore;
  rules: SendingRules;
  unsubscribeSettings: UnsubscribeSettingService;
  policy: Pick<TaskPolicy, 'timezone'>;
  /** Wakes this process's task runner after a task is created or changed. */
  changed(): void;
}

/** Batch task rules, for the task's owner. */
export class TaskService {
  constructor(private readonly d: TaskDeps) {}

  /** Checks a batch task and creates it; the TaskId. */
  async create(account: { id: number }, req: BatchRequest): Promise<number> {
    const now = Date.now();
    const from = parseFrom(req.from);
    const checked = await this.d.rules.sender(account.id, from.address);
    if (!checked.ok) {
      fail('OperationDenied.SendAddressStatusError', `${from.address.address} is not a sender address of this account on a domain that verifies.`);
    }
    checkSubject(req.subject);
    if (![1, 2, 3].includes(req.taskType)) fail('InvalidParameterValue', 'TaskType must be 1 (now), 2 (scheduled) or 3 (recurring).');
    const group = await this.d.receivers.get(account.id, req.receiverId);
    if (!group) fail('OperationDenied.ReceiverNotExist', `There is no recipient group with ReceiverId ${req.receiverId} in this account.`);
    if (receiverStatusAt(group, now) !== ReceiverStatus.Uploaded || group.count - group.invalid_count === 0) {
      fail('OperationDenied.ReceiverStatusError', `Recipient group ${group.id} is empty, has no valid address, or is taking an upload.`);
    }
    const ad = req.adLocation ?? 0;
    if (![0, 1, 2].includes(ad)) fail('InvalidParameterValue', 'ADLocation must be 0 (none), 1 (before the subject) or 2 (after it).');
    const subject = ad === 1 ? `${AD_MARK} ${req.subject}` : ad === 2 ? `${req.subject} ${AD_MARK}` : req.subject;

    let data: Record<string, string> = {};
    let simple: TaskContent['simple'] = null;
    if (req.template) {
      data = taskData(req.template.data);
      const t = await this.d.rules.template(account.id, req.template.id, subject, givenVariables(data, group.data_keys));
      if (!t.ok && t.problem === 'not-approved') {
        fail('OperationDenied.TemplateStatusError', `Template ${req.template.id} does not exist in this account or is not approved.`);
      }
      if (!t.ok) fail('InvalidParameterValue.TemplateNotMatchData', `Neither the group's data nor TemplateData gives ${t.names.map((m) => `{{${m}}}`).join(', ')}.`);
    } else if (req.simple) {
      if (!(await this.d.rules.freeContent(account.id))) {
        fail('FailedOperation.WithOutPermission', 'This account may only send from templates; use Template instead of Simple.');
      }
      simple = decodeSimple(req.simple);
    } else {
      fail('MissingParameter.SendParamNecessary', 'A batch task needs Template (or Simple) content.');
    }
    const content: TaskContent = {
      from: { name: from.name || checked.sender.sender_name, address: from.address.address },
      replyTo: checkReplyTo(req.replyTo),
      subject,
      simple,
      data,
      attachments: checkAttachments(req.attachments),
      unsubscribeLanguage: await this.d.unsubscribeSettings.linkLanguage(account.id, from.address.address, req.unsubscribe),
    };
    const schedule = this.schedule(req, now);
    const id = await this.d.tasks.create(account.id, {
      receiver_id: group.id,
      receivers_name: group.name,
      from_address: req.from.trim(),
      subject,
      task_type: req.taskType,
      content: JSON.stringify(content),
      template_id: req.template?.id ?? null,
      template_data: req.template ? req.template.data ?? null : null,
      begin_at: schedule.beginAt,
      interval_hours: schedule.interval,
      term_cycle: schedule.termCycle,
      next_run_at: Math.max(schedule.beginAt ?? now, now),
    }, now);
    if (id === null) fail('OperationDenied.ReceiverNotExist', `Recipient group ${group.id} was deleted.`);
    this.d.changed();
    return id;
  }

  /** A page of the account's tasks, newest first. */
  async list(accountId: number, q: { offset: number; limit: number; status?: number; receiverId?: number; taskType?: number }): Promise<{ items: TaskView[]; total: number }> {
    checkPageLimit(q.limit);
    const { rows, total } = await this.d.tasks.list(accountId, q);
    return { total, items: rows.map((r) => this.view(r)) };
  }

  /** The owner pauses, resumes or ends a task (UpdateSendTask). */
  async operate(accountId: number, taskId: number, operation: string, now = Date.now()): Promise<void> {
    if (!(TASK_OPERATIONS as readonly string[]).includes(operation)) fail('InvalidParameterValue', 'Operation must be pause, resume or end.');
    const live: readonly number[] = [TaskStatus.Waiting, TaskStatus.Sending, TaskStatus.Paused];
    const r = await this.d.tasks.change(accountId, taskId, now, (t) => {
      if (operation === 'pause') {
        if (t.status !== TaskStatus.Waiting && t.status !== TaskStatus.Sending) return null;
        return { status: TaskStatus.Paused, nextRunAt: null, errMsg: 'Paused by its owner (UpdateSendTask).', endRun: false };
      }
      if (operation === 'resume') {
        if (t.status !== TaskStatus.Paused) return null;
        // A run under way goes on; otherwise the task waits for its next planned start.
        if (t.run_message_row !== null) return { status: TaskStatus.Sending, nextRunAt: now, errMsg: '', endRun: false };
        return { status: TaskStatus.Waiting, nextRunAt: Math.max(now, plannedStart(t, now)), errMsg: '', endRun: false };
      }
      if (!live.includes(t.status)) return null;
      return { status: TaskStatus.Sent, nextRunAt: null, termCycle: t.task_type === TaskType.Recurring ? 1 : undefined, errMsg: 'Ended by its owner (UpdateSendTask).', endRun: true };
    });
    if (r === 'changed') this.d.changed();
    if (r === 'missing') fail('InvalidParameterValue', `There is no task with TaskId ${taskId} in this account.`);
    if (r === 'refused') fail('OperationDenied', `Task ${taskId} cannot be ${operation === 'end' ? 'ended' : `${operation}d`} in its present state.`);
  }

  /** When a scheduled or recurring task begins, and how it recurs. */
  private schedule(req: BatchRequest, now: number): { beginAt: number | null; interval: number | null; termCycle: number } {
    if (req.taskType === TaskType.Scheduled) {
      if (!req.timed?.beginTime) fail('MissingParameter.TimedParamNecessary', 'A scheduled task (TaskType 2) needs TimedParam.BeginTime.');
      return { beginAt: this.beginTime(req.timed.beginTime, 'TimedParam.BeginTime', now), interval: null, termCycle: 0 };
    }
    if (req.taskType === TaskType.Recurring) {
      const c = req.cycle;
      if (!c?.beginTime || !c.intervalTime) fail('MissingParameter.CycleParamNecessary', 'A recurring task (TaskType 3) needs CycleParam.BeginTime and CycleParam.IntervalTime (hours, 1 or more).');
      const beginAt = this.beginTime(c.beginTime, 'CycleParam.BeginTime', now);
      if (c.intervalTime > 24 * 366) fail('InvalidParameterValue', 'CycleParam.IntervalTime is in hours, at most a year.');
      const termCycle = c.termCycle ?? 0;
      if (termCycle !== 0 && termCycle !== 1) fail('InvalidParameterValue', 'CycleParam.TermCycle must be 0 or 1.');
      return { beginAt, interval: c.intervalTime, termCycle };
    }
    return { beginAt: null, interval: null, termCycle: 0 };
  }

  private beginTime(text: string, field: string, now: number): number {
    const at = parseDateTime(text.trim(), this.d.policy.timezone);
    if (at === null) fail('InvalidParameterValue', `${field} must be YYYY-MM-DD hh:mm:ss (${this.d.policy.timezone}).`);
    if (at < now - BEGIN_GRACE_MS) fail('InvalidParameterValue.BeginTimeBeforeNow', `${field} ${text} is in the past.`);
    return at;
  }

  private view(r: TaskRow): TaskView {
    const tz = this.d.policy.timezone;
    const at = (ms: number | null): string => (ms === null ? '' : formatDateTime(ms, tz));
    return {
      id: r.id, from: r.from_address, receiverId: r.receiver_id, receiversName: r.receivers_name, status: r.status, taskType: r.task_type,
      requestCount: r.request_count, sendCount: r.send_count, cacheCount: r.cache_count,
      createTime: at(r.created_at), updateTime: at(r.updated_at), subject: r.subject,
      template: r.template_id === null ? null : { id: r.template_id, data: r.template_data ?? '' },
      cycle: r.task_type === TaskType.Recurring ? { beginTime: at(r.begin_at), intervalTime: r.interval_hours ?? 0, termCycle: r.term_cycle } : null,
      timed: r.task_type === TaskType.Scheduled ? { beginTime: at(r.begin_at) } : null,
      errMsg: r.err_msg,
    };
  }
}

/** The task's Template.TemplateData: a JSON object of text, or nothing. */
function taskData(json: string | undefined): Record<string, string> {
  if (json === undefined || json.trim() === '') return {};
  try {
    return parseTemplateData(json);
  } catch {
    fail('InvalidParameterValue.TemplateDataError', 'Template.TemplateData must be a JSON object of variable names to text.');
  }
}
