/**
 * The steps a runner (scheduler/task-runner.ts) takes through a batch task it holds: begin a run
 * over the group as it is then, expand the run in chunks into the delivery queue with
 * back-pressure, pause at the domain's daily quota and resume the next day, finish, and schedule
 * the next run of a recurring task. A rule that no longer holds (the sender, its domain, the
 * template or the group gone or unusable) ends the task with status 7 and its reason.
 */
import { bounceDomainOf } from '../domain/dns-records.js';
import { SendStatus } from '../domain/delivery-status.js';
import { newMessageId, newMessageIdHeader } from '../domain/message-id.js';
import { blockedToday, dailyQuotaOf } from '../domain/reputation.js';
import { parseAddress } from '../domain/address.js';
import { CodedError, fail } from '../errors/coded-error.js';
import { formatDate, formatDateTime, nextDay, parseDate } from '../lib/time.js';
import type { BatchContent } from '../mail/content.js';
import type { AccountStore } from '../store/accounts.js';
import type { ReceiverStore } from '../store/receivers.js';
import { TaskLeaseLost, TaskStatus, type TaskRow, type TaskStore } from '../store/tasks.js';
import type { UnsubscriptionStore } from '../store/unsubscriptions.js';
import type { BlocklistService } from './blocklists.js';
import type { SendingRules, Standing } from './sending-rules.js';
import { givenVariables, plannedStart, TaskType, type TaskContent, type TaskPolicy } from './task-content.js';

/** How often a task of a suspended account is looked at again (an enabled account's tasks resume within this). */
const SUSPENDED_RECHECK_MS = 30_000;

/** What a runner does after a step: step again now, wait and step again, or let go of the task. */
export type StepResult = { kind: 'again' } | { kind: 'wait'; ms: number } | { kind: 'release' };

/** What the runs of tasks need. */
export interface TaskRunDeps {
  tasks: TaskStore;
  receivers: ReceiverStore;
  accounts: AccountStore;
  unsubscriptions: UnsubscriptionStore;
  rules: SendingRules;
  blocklists: BlocklistService;
  policy: TaskPolicy;
  /** Wakes the delivery engine after a chunk is queued. */
  accepted(): void;
}

/** The runs of batch tasks, step by step. */
export class TaskRuns {
  constructor(private readonly d: TaskRunDeps) {}

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

  /** A task's counters, for the runner's progress log. */
  async progress(taskId: number): Promise<Record<string, number>> {
    const t = await this.d.tasks.byId(taskId);
    return t ? { status: t.status, requestCount: t.request_count, sendCount: t.send_count, cacheCount: t.cache_count, skipCount: t.skip_count } : {};
  }

  /** One step of a runner through a task it holds. */
  async step(taskId: number, owner: number): Promise<StepResult> {
    const t = await this.d.tasks.byId(taskId);
    if (!t || t.lease_owner !== owner) return { kind: 'release' };
    const now = Date.now();
    if (t.next_run_at === null || t.next_run_at > now) return { kind: 'release' };
    const standing = await this.d.rules.standing(t.account_id);
    // A suspended account's task starts no run and queues no chunk; it is looked at again later.
    if (!standing.active) {
      await this.d.tasks.postpone(t.id, owner, now + SUSPENDED_RECHECK_MS);
      return { kind: 'release' };
    }
    try {
      switch (t.status) {
        case TaskStatus.Waiting: return await this.beginRun(t, owner, now, standing);
        case TaskStatus.Paused:
          // The quota's day has turned (a pause by the owner has no next run): carry on.
          await this.d.tasks.settle(t, owner, { status: TaskStatus.Sending, nextRunAt: now, errMsg: '', midRun: true, now });
          return { kind: 'again' };
        case TaskStatus.Sending: return await this.expand(t, owner, now, standing);
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
  private async beginRun(t: TaskRow, owner: number, now: number, standing: Standing): Promise<StepResult> {
    const { content, domain, template } = await this.prerequisites(t, standing, false);
    const account = await this.d.accounts.get(t.account_id);
    if (!account) throw new Error(`account ${t.account_id} is missing`);
    // The template as it is now (it may have changed since the task was created), fixed for the run.
    const body = template
      ? { html: template.html, text: template.text, templateId: template.id }
      : { html: content.simple?.html ?? null, text: content.simple?.text ?? null, templateId: null };
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
      day: formatDate(now, this.d.policy.timezone), subject: batch.subject, templateId: batch.templateId, headerId: batch.messageIdHeader,
    }, extent.end, extent.valid);
    return { kind: 'again' };
  }

  /** One chunk of the run into the delivery queue, or the run's end. */
  private async expand(t: TaskRow, owner: number, now: number, standing: Standing): Promise<StepResult> {
    const pending = await this.d.tasks.pending(t.id);
    const room = this.d.policy.maxPending - pending;
    // Waits for the delivery engine rather than queueing the whole group at once.
    if (room < Math.min(this.d.policy.chunk, this.d.policy.maxPending / 4)) return { kind: 'wait', ms: 100 };
    const { content, domain } = await this.prerequisites(t, standing, true);
    const rows = await this.d.receivers.validAfter(t.receiver_id, t.run_cursor, t.run_end, Math.min(this.d.policy.chunk, room));
    if (rows.length === 0) return this.finishRun(t, owner, now);
    const emails = rows.map((r) => r.email);
    const blocked = await this.d.blocklists.blocked(t.account_id, emails, now);
    const gone = await this.d.unsubscriptions.among(t.account_id, domain.name, emails);
    const tz = this.d.policy.timezone;
    const day = formatDate(now, tz);
    const resumeAt = parseDate(nextDay(day), tz) ?? now + 86_400_000;
    const dayBlocked = blockedToday(this.d.policy.dailyQuota, domain, day);
    const skip = (email: string): { sendStatus: number; reason: string } | null => {
      if (blocked.has(email)) return { sendStatus: SendStatus.Blocklisted, reason: `${email} is on the blocklist; not sent` };
      if (gone.has(email)) return { sendStatus: SendStatus.Unsubscribed, reason: `${email} unsubscribed from ${domain.name}; not sent` };
      return null;
    };
    const r = await this.d.tasks.expand(t, owner, rows.map((x) => ({ detailId: x.id, email: x.email, templateData: x.template_data, skip: skip(x.email) })), {
      sender: content.from.address,
      domainId: domain.id,
      day,
      // A domain the reputation rules blocked for the day has no quota left: the run pauses.
      quota: dayBlocked ? 0 : dailyQuotaOf(this.d.policy.dailyQuota, domain.reputation_level),
      now,
      resumeAt,
      pauseNote: dayBlocked
        ? `Paused for today: ${domain.name} is blocked for the day by the reputation rules (invalid-address or spam-bounce rate too high); sending resumes at ${formatDateTime(resumeAt, tz)}.`
        : `Paused for today: ${domain.name} has used its daily quota; sending resumes at ${formatDateTime(resumeAt, tz)}.`,
    });
    if (r.sent > 0) this.d.accepted();
    return r.paused ? { kind: 'release' } : { kind: 'again' };
  }

  /** The run has been expanded whole: the task is sent, or (recurring) waits for its next run. */
  private async finishRun(t: TaskRow, owner: number, now: number): Promise<StepResult> {
    const again = t.task_type === TaskType.Recurring && t.term_cycle !== 1;
    await this.d.tasks.settle(t, owner, again
      ? { status: TaskStatus.Waiting, nextRunAt: plannedStart(t, now), now }
      : { status: TaskStatus.Sent, nextRunAt: null, now });
    return { kind: 'release' };
  }

  /**
   * The sender and its domain, the template and the group must still be there and usable, and free
   * content still allowed for a task that sends it (the rules of every send). A run under way sends
   * the template text it began with, so then only the template's approval is checked, not its variables.
   */
  private async prerequisites(t: TaskRow, standing: Standing, midRun: boolean) {
    const content = JSON.parse(t.content) as TaskContent;
    const address = parseAddress(content.from.address);
    const checked = address ? await this.d.rules.sender(t.account_id, address) : { ok: false as const, problem: 'no-sender' as const };
    if (!checked.ok && checked.problem === 'no-sender') fail('OperationDenied.SendAddressStatusError', `The sender address ${content.from.address} was deleted.`);
    if (!checked.ok) fail('OperationDenied.SendAddressStatusError', `The sender domain of ${content.from.address} no longer verifies.`);
    const group = await this.d.receivers.get(t.account_id, t.receiver_id);
    if (!group) fail('OperationDenied.ReceiverNotExist', `Recipient group ${t.receiver_id} was deleted.`);
    if (content.simple !== null && !standing.freeContent) {
      fail('FailedOperation.WithOutPermission', 'This account may no longer send content of its own (Simple): only approved templates.');
    }
    const notApproved = `Template ${t.template_id} was deleted or is no longer approved.`;
    let template = null;
    if (t.template_id !== null && midRun) {
      if (!(await this.d.rules.templateApproved(t.account_id, t.template_id))) fail('OperationDenied.TemplateStatusError', notApproved);
    } else if (t.template_id !== null) {
      const tc = await this.d.rules.template(t.account_id, t.template_id, content.subject, givenVariables(content.data, group.data_keys));
      if (!tc.ok && tc.problem === 'not-approved') fail('OperationDenied.TemplateStatusError', notApproved);
      if (!tc.ok) fail('InvalidParameterValue.TemplateNotMatchData', `The template now uses ${tc.names.map((m) => `{{${m}}}`).join(', ')}, which neither the group's data nor TemplateData gives.`);
      template = tc.template;
    }
    return { content, domain: checked.domain, group, template };
  }
}
