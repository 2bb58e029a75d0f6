/**
 * Batch tasks: BatchSendEmail's checks and the task it creates; ListSendTasks; the owner's pause,
 * resume and end (UpdateSendTask, a Sesame extension); and the steps a runner takes through a task
 * (scheduler/task-runner.ts): begin a run over the group as it is then, expand it in chunks into
 * the delivery queue with back-pressure, pause at the domain's daily quota and resume the next day,
 * finish, and schedule the next run of a recurring task.
 */
import type { BatchSendEmailRequest } from '../api/schema/ses.js';
import type { DailyQuota } from '../config/schema.js';
import { domainOf } from '../domain/address.js';
import { bounceDomainOf } from '../domain/dns-records.js';
import { newMessageId, newMessageIdHeader } from '../domain/message-id.js';
import { checkPageLimit } from '../domain/paging.js';
import { dailyQuotaOf } from '../domain/reputation.js';
import { findVariables, parseTemplateData, TemplateStatus } from '../domain/template.js';
import { CodedError, fail } from '../errors/coded-error.js';
import { formatDate, formatDateTime, nextDay, parseDate, parseDateTime } from '../lib/time.js';
import type { AttachmentContent, BatchContent } from '../mail/content.js';
import type { AccountStore } from '../store/accounts.js';
import type { DomainStore } from '../store/domains.js';
import { SendStatus, type MessageStore } from '../store/messages.js';
import { ReceiverStatus, receiverStatusAt, type ReceiverStore } from '../store/receivers.js';
import { TaskLeaseLost, TaskStatus, type TaskRow, type TaskStore } from '../store/tasks.js';
import type { TemplateStore } from '../store/templates.js';
import type { BlocklistService } from './blocklists.js';
import { checkAttachments, checkReplyTo, checkSubject, parseFrom, simpleContent } from './mail.js';
import type { UnsubscribeSettingService } from './unsubscribe-settings.js';

/** TaskType values. */
export const TaskType = { Immediate: 1, Scheduled: 2, Recurring: 3 } as const;

/** The ad mark ADLocation puts before (1) or after (2) the subject. */
export const AD_MARK = '(AD)';

/** What a task sends, fixed when it is created (the template itself is read at each run). */
interface TaskContent {
  from: { name: string; address: string };
  replyTo: string | null;
  /** With the ad mark, `{{variables}}` not yet substituted. */
  subject: string;
  simple: { html: string | null; text: string | null } | null;
  /** The task's Template.TemplateData: values for every recipient. */
  data: Record<string, string>;
  attachments: AttachmentContent[];
  unsubscribeLanguage: string;
}

/** How batch tasks run. */
export interface TaskPolicy {
  timezone: string;
  dailyQuota: DailyQuota;
  bounceSubdomain: string | undefined;
  /** Addresses expanded per step. */
  chunk: number;
  /** Undelivered deliveries a task may have queued before it waits for the delivery engine. */
  maxPending: number;
}

/** What tasks need from the rest of the program. */
export interface TaskDeps {
  tasks: TaskStore;
  receivers: ReceiverStore;
  domains: DomainStore;
  templates: TemplateStore;
  accounts: AccountStore;
  messages: MessageStore;
  blocklists: BlocklistService;
  unsubscribeSettings: UnsubscribeSettingService;
  policy: TaskPolicy;
  /** Wakes the delivery engine after a chunk is queued. */
  accepted(): void;
  /** Wakes this process's task runner after a task is created or changed. */
  changed(): void;
}

/** A task as ListSendTasks shows it. */
export interface TaskView {
  id: number; from: string; receiverId: number; receiversName: string; status: number; taskType: number;
  requestCount: number; sendCount: number; cacheCount: number; createTime: string; updateTime: string;
  subject: string; template: { TemplateID: number; TemplateData: string } | null;
  cycle: { BeginTime: string; IntervalTime: number; TermCycle: number } | null; timed: { BeginTime: string } | null; errMsg: string;
}

/** What a runner does after a step: step again now, wait and step again, or let go of the task. */
export type StepResult = { kind: 'again' } | { kind: 'wait'; ms: number } | { kind: 'release' };

/** Owner operations of UpdateSendTask. */
export const TASK_OPERATIONS = ['pause', 'resume', 'end'] as const;

/** BeginTime may be this far in the past (the clocks of client and server differ a little). */
const BEGIN_GRACE_MS = 60_000;
const HOUR = 3_600_000;
/** How often a task of a suspended account is looked at again (an enabled account's tasks resume within this). */
const SUSPENDED_RECHECK_MS = 30_000;

/** Batch task rules. */
export class TaskService {
  constructor(private readonly d: TaskDeps) {}

  /** Checks a BatchSendEmail request and creates its task; the TaskId. */
  async create(account: { id: number }, req: BatchSendEmailRequest): Promise<number> {
    const now = Date.now();
    const from = parseFrom(req.FromEmailAddress);
    const sender = await this.d.domains.getSender(account.id, from.address.address);
    const domain = sender ? await this.d.domains.get(account.id, from.address.domain) : undefined;
    if (!sender || !domain || domain.verified !== 1) {
      fail('OperationDenied.SendAddressStatusError', `${from.address.address} is not a sender address of this account on a domain that verifies.`);
    }
    checkSubject(req.Subject);
    if (![1, 2, 3].includes(req.TaskType)) fail('InvalidParameterValue', 'TaskType must be 1 (now), 2 (scheduled) or 3 (recurring).');
    const group = await this.d.receivers.get(account.id, req.ReceiverId);
    if (!group) fail('OperationDenied.ReceiverNotExist', `There is no recipient group with ReceiverId ${req.ReceiverId} in this account.`);
    if (receiverStatusAt(group, now) !== ReceiverStatus.Uploaded || group.count - group.invalid_count === 0) {
      fail('OperationDenied.ReceiverStatusError', `Recipient group ${group.id} is empty, has no valid address, or is taking an upload.`);
    }
    const ad = req.ADLocation ?? 0;
    if (![0, 1, 2].includes(ad)) fail('InvalidParameterValue', 'ADLocation must be 0 (none), 1 (before the subject) or 2 (after it).');
    const subject = ad === 1 ? `${AD_MARK} ${req.Subject}` : ad === 2 ? `${req.Subject} ${AD_MARK}` : req.Subject;

    let data: Record<string, string> = {};
    let simple: TaskContent['simple'] = null;
    if (req.Template) {
      const t = await this.d.templates.get(account.id, req.Template.TemplateID);
      if (!t || t.status !== TemplateStatus.Approved) {
        fail('OperationDenied.TemplateStatusError', `Template ${req.Template.TemplateID} does not exist in this account or is not approved.`);
      }
      data = taskData(req.Template.TemplateData);
      const missing = missingFrom(`${subject}\n${t.html ?? ''}\n${t.text ?? ''}`, data, group.data_keys);
      if (missing.length) {
        fail('InvalidParameterValue.TemplateNotMatchData', `Neither the group's data nor TemplateData gives ${missing.map((m) => `{{${m}}}`).join(', ')}.`);
      }
    } else if (req.Simple) {
      simple = await simpleContent(this.d.accounts, account.id, req.Simple);
    } else {
      fail('MissingParameter.SendParamNecessary', 'A batch task needs Template (or Simple) content.');
    }
    const content: TaskContent = {
      from: { name: from.name || sender.sender_name, address: from.address.address },
      replyTo: checkReplyTo(req.ReplyToAddresses),
      subject,
      simple,
      data,
      attachments: checkAttachments(req.Attachments ?? []),
      unsubscribeLanguage: await this.d.unsubscribeSettings.linkLanguage(account.id, from.address.address, req.Unsubscribe),
    };

    let beginAt: number | null = null;
    let interval: number | null = null;
    let termCycle = 0;
    if (req.TaskType === TaskType.Scheduled) {
      if (!req.TimedParam?.BeginTime) fail('MissingParameter.TimedParamNecessary', 'A scheduled task (TaskType 2) needs TimedParam.BeginTime.');
      beginAt = this.beginTime(req.TimedParam.BeginTime, 'TimedParam.BeginTime', now);
    } else if (req.TaskType === TaskType.Recurring) {
      const c = req.CycleParam;
      if (!c?.BeginTime || !c.IntervalTime) fail('MissingParameter.CycleParamNecessary', 'A recurring task (TaskType 3) needs CycleParam.BeginTime and CycleParam.IntervalTime (hours, 1 or more).');
      beginAt = this.beginTime(c.BeginTime, 'CycleParam.BeginTime', now);
      interval = c.IntervalTime;
      if (interval > 24 * 366) fail('InvalidParameterValue', 'CycleParam.IntervalTime is in hours, at most a year.');
      termCycle = c.TermCycle ?? 0;
      if (termCycle !== 0 && termCycle !== 1) fail('InvalidParameterValue', 'CycleParam.TermCycle must be 0 or 1.');
    }
    const id = await this.d.tasks.create(account.id, {
      receiver_id: group.id,
      receivers_name: group.name,
      from_address: req.FromEmailAddress.trim(),
      subject,
      task_type: req.TaskType,
      content: JSON.stringify(content),
      template_id: req.Template?.TemplateID ?? null,
      template_data: req.Template ? req.Template.TemplateData : null,
      begin_at: beginAt,
      interval_hours: interval,
      term_cycle: termCycle,
      next_run_at: Math.max(beginAt ?? now, now),
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
        return { status: TaskStatus.Waiting, nextRunAt: Math.max(now, this.plannedStart(t, now)), errMsg: '', endRun: false };
      }
      if (!live.includes(t.status)) return null;
      return { status: TaskStatus.Sent, nextRunAt: null, termCycle: t.task_type === TaskType.Recurring ? 1 : undefined, errMsg: 'Ended by its owner (UpdateSendTask).', endRun: true };
    });
    if (r === 'changed') this.d.changed();
    if (r === 'missing') fail('InvalidParameterValue', `There is no task with TaskId ${taskId} in this account.`);
    if (r === 'refused') fail('OperationDenied', `Task ${taskId} cannot be ${operation === 'end' ? 'ended' : `${operation}d`} in its present state.`);
  }

  /** A task's counters, for the runner's progress log. */
  async progress(taskId: number): Promise<Record<string, number>> {
    const t = await this.d.tasks.byId(taskId);
    return t ? { status: t.status, requestCount: t.request_count, sendCount: t.send_count, cacheCount: t.cache_count, skipCount: t.skip_count } : {};
  }

  /** Leases the next due task to a runner. */
  claim(owner: number, leaseMs: number, exclude: readonly number[] = []): Promise<TaskRow | null> {
    const now = Date.now();
    return this.d.tasks.claim(now, owner, now + leaseMs, exclude);
  }

  /** Lets go of a task whose step failed inside Sesame; it is due again after `ms`. */
  postpone(taskId: number, owner: number, ms: number): Promise<void> {
    return this.d.tasks.postpone(taskId, owner, Date.now() + ms);
  }

  renew(taskId: number, owner: number, leaseMs: number): Promise<boolean> {
    return this.d.tasks.renew(taskId, owner, Date.now() + leaseMs);
  }

  release(taskId: number, owner: number): Promise<void> {
    return this.d.tasks.release(taskId, owner);
  }

  /** One step of a runner through a task it holds. */
  async step(taskId: number, owner: number): Promise<StepResult> {
    const t = await this.d.tasks.byId(taskId);
    if (!t || t.lease_owner !== owner) return { kind: 'release' };
    const now = Date.now();
    if (t.next_run_at === null || t.next_run_at > now) return { kind: 'release' };
    // A suspended account's task starts no run and queues no chunk; it is looked at again later.
    if (!(await this.d.accounts.isActive(t.account_id))) {
      await this.d.tasks.postpone(t.id, owner, now + SUSPENDED_RECHECK_MS);
      return { kind: 'release' };
    }
    try {
      switch (t.status) {
        case TaskStatus.Waiting: return await this.beginRun(t, owner, now);
        case TaskStatus.Paused:
          // The quota's day has turned (a pause by the owner has no next run): carry on.
          await this.d.tasks.settle(t, owner, { status: TaskStatus.Sending, nextRunAt: now, errMsg: '', midRun: true, now });
          return { kind: 'again' };
        case TaskStatus.Sending: return await this.expand(t, owner, now);
        default: return { kind: 'release' };
      }
    } catch (e) {
      if (e instanceof TaskLeaseLost) return { kind: 'release' };
      if (e instanceof CodedError) {
        await this.d.tasks.settle(t, owner, { status: TaskStatus.Error, nextRunAt: null, errMsg: e.message, now }).catch(() => undefined);
        return { kind: 'release' };
      }
      throw e;
    }
  }

  /** Checks what the task needs still holds, and starts a run over the group as it is now. */
  private async beginRun(t: TaskRow, owner: number, now: number): Promise<StepResult> {
    const { content, domain, group } = await this.prerequisites(t);
    const account = await this.d.accounts.get(t.account_id);
    if (!account) throw new Error(`account ${t.account_id} is missing`);
    let body: { html: string | null; text: string | null; templateId: number | null } = { html: content.simple?.html ?? null, text: content.simple?.text ?? null, templateId: null };
    if (t.template_id !== null) {
      const tpl = await this.d.templates.get(t.account_id, t.template_id);
      body = { html: tpl?.html ?? null, text: tpl?.text ?? null, templateId: t.template_id };
      // The template may have changed since the task was created: every variable must still be given.
      const missing = missingFrom(`${content.subject}\n${body.html ?? ''}\n${body.text ?? ''}`, content.data, group.data_keys);
      if (missing.length) fail('InvalidParameterValue.TemplateNotMatchData', `The template now uses ${missing.map((m) => `{{${m}}}`).join(', ')}, which neither the group's data nor TemplateData gives.`);
    }
    const batch: BatchContent = {
      kind: 'batch',
      domain: domain.name,
      bounceDomain: bounceDomainOf(domain.name, this.d.policy.bounceSubdomain),
      messageIdHeader: newMessageIdHeader(domain.name),
      date: now,
      unsubscribeLanguage: content.unsubscribeLanguage,
      triggerType: 0,
      from: content.from,
      replyTo: content.replyTo,
      subject: content.subject,
      ...body,
      data: content.data,
      attachments: content.attachments,
    };
    const extent = await this.d.receivers.runExtent(t.receiver_id);
    await this.d.tasks.beginRun(t, owner, t.account_id, {
      messageId: newMessageId(account.app_id, now), domainId: domain.id, sender: content.from.address, priority: 0, content: JSON.stringify(batch), now,
    }, extent.end, extent.valid);
    return { kind: 'again' };
  }

  /** One chunk of the run into the delivery queue, or the run's end. */
  private async expand(t: TaskRow, owner: number, now: number): Promise<StepResult> {
    const pending = await this.d.tasks.pending(t.id);
    const room = this.d.policy.maxPending - pending;
    // Waits for the delivery engine rather than queueing the whole group at once.
    if (room < Math.min(this.d.policy.chunk, this.d.policy.maxPending / 4)) return { kind: 'wait', ms: 100 };
    const { content, domain } = await this.prerequisites(t);
    const rows = await this.d.receivers.validAfter(t.receiver_id, t.run_cursor, t.run_end, Math.min(this.d.policy.chunk, room));
    if (rows.length === 0) return this.finishRun(t, owner, now);
    const emails = rows.map((r) => r.email);
    const blocked = await this.d.blocklists.blocked(t.account_id, emails, now);
    const gone = await this.d.messages.unsubscribed(t.account_id, domain.name, emails);
    const tz = this.d.policy.timezone;
    const day = formatDate(now, tz);
    const resumeAt = parseDate(nextDay(day), tz) ?? now + 86_400_000;
    const skip = (email: string): { sendStatus: number; reason: string } | null => {
      if (blocked.has(email)) return { sendStatus: SendStatus.Blocklisted, reason: `${email} is on the blocklist; not sent` };
      if (gone.has(email)) return { sendStatus: SendStatus.Unsubscribed, reason: `${email} unsubscribed from ${domain.name}; not sent` };
      return null;
    };
    const r = await this.d.tasks.expand(t, owner, rows.map((x) => ({ detailId: x.id, email: x.email, templateData: x.template_data, skip: skip(x.email) })), {
      sender: content.from.address,
      domainId: domain.id,
      day,
      quota: dailyQuotaOf(this.d.policy.dailyQuota, domain.reputation_level),
      now,
      resumeAt,
      pauseNote: `Paused for today: ${domain.name} has used its daily quota; sending resumes at ${formatDateTime(resumeAt, tz)}.`,
    });
    if (r.sent > 0) this.d.accepted();
    return r.paused ? { kind: 'release' } : { kind: 'again' };
  }

  /** The run has been expanded whole: the task is sent, or (recurring) waits for its next run. */
  private async finishRun(t: TaskRow, owner: number, now: number): Promise<StepResult> {
    const again = t.task_type === TaskType.Recurring && t.term_cycle !== 1;
    await this.d.tasks.settle(t, owner, again
      ? { status: TaskStatus.Waiting, nextRunAt: this.plannedStart(t, now), now }
      : { status: TaskStatus.Sent, nextRunAt: null, now });
    return { kind: 'release' };
  }

  /** When the task should next begin a run: BeginTime, then (recurring) every IntervalTime hours, the first such time after `now`. */
  private plannedStart(t: TaskRow, now: number): number {
    if (t.begin_at === null) return now;
    if (t.task_type !== TaskType.Recurring || t.interval_hours === null || t.runs === 0) return t.begin_at;
    const step = t.interval_hours * HOUR;
    const k = Math.max(t.runs, Math.floor((now - t.begin_at) / step) + 1);
    return t.begin_at + k * step;
  }

  /** The sender, its domain and the template must still be there and usable, and the group too. */
  private async prerequisites(t: TaskRow) {
    const content = JSON.parse(t.content) as TaskContent;
    const sender = await this.d.domains.getSender(t.account_id, content.from.address);
    const domain = await this.d.domains.get(t.account_id, domainOf(content.from.address));
    if (!sender) fail('OperationDenied.SendAddressStatusError', `The sender address ${content.from.address} was deleted.`);
    if (!domain || domain.verified !== 1) fail('OperationDenied.SendAddressStatusError', `The sender domain of ${content.from.address} no longer verifies.`);
    if (t.template_id !== null) {
      const tpl = await this.d.templates.get(t.account_id, t.template_id);
      if (!tpl || tpl.status !== TemplateStatus.Approved) fail('OperationDenied.TemplateStatusError', `Template ${t.template_id} was deleted or is no longer approved.`);
    }
    const group = await this.d.receivers.get(t.account_id, t.receiver_id);
    if (!group) fail('OperationDenied.ReceiverNotExist', `Recipient group ${t.receiver_id} was deleted.`);
    return { content, domain, group };
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
      template: r.template_id === null ? null : { TemplateID: r.template_id, TemplateData: r.template_data ?? '' },
      cycle: r.task_type === TaskType.Recurring ? { BeginTime: at(r.begin_at), IntervalTime: r.interval_hours ?? 0, TermCycle: r.term_cycle } : null,
      timed: r.task_type === TaskType.Scheduled ? { BeginTime: at(r.begin_at) } : null,
      errMsg: r.err_msg,
    };
  }
}

/** Variables of `text` that neither the task's data nor the group's data (its keys, JSON) gives. */
function missingFrom(text: string, data: Record<string, string>, groupKeys: string | null): string[] {
  const given = new Set([...Object.keys(data), ...(JSON.parse(groupKeys ?? '[]') as string[])]);
  return findVariables(text).filter((v) => !given.has(v));
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
