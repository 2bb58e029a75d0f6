/**
 * What a batch task is, shared by its API side (services/tasks.ts) and the steps of its runs
 * (services/task-runs.ts): its types, what it sends, and when it next begins a run.
 */
import type { DailyQuota } from '../config/schema.js';
import type { AttachmentContent } from '../mail/content.js';
import type { TaskRow } from '../store/tasks.js';

/** TaskType values. */
export const TaskType = { Immediate: 1, Scheduled: 2, Recurring: 3 } as const;

/** What a task sends, fixed when it is created (the template itself is read at each run). */
export interface TaskContent {
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

const HOUR = 3_600_000;

/** When the task should next begin a run: BeginTime, then (recurring) every IntervalTime hours, the first such time after `now`. */
export function plannedStart(t: TaskRow, now: number): number {
  if (t.begin_at === null) return now;
  if (t.task_type !== TaskType.Recurring || t.interval_hours === null || t.runs === 0) return t.begin_at;
  const step = t.interval_hours * HOUR;
  const k = Math.max(t.runs, Math.floor((now - t.begin_at) / step) + 1);
  return t.begin_at + k * step;
}

/** Variable names a run has values for: the task's data and every recipient's (the group's keys, JSON). */
export function givenVariables(data: Record<string, string>, groupKeys: string | null): Set<string> {
  return new Set([...Object.keys(data), ...(JSON.parse(groupKeys ?? '[]') as string[])]);
}
