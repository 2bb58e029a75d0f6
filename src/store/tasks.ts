/**
 * Batch tasks and their runs. A runner holds a task under a lease (lease_owner, lease_until), so
 * with several worker processes exactly one runs each task at a time, and a runner that dies hands
 * it on when its lease lapses. Each step of a run is one transaction that checks the lease: the
 * deliveries of a chunk, the task's cursor and counters, and the domain's day count move together,
 * so a crash never loses a chunk or queues one twice.
 */
import { domainOf } from '../domain/address.js';
import type { Db, Param, Queryable } from './db.js';
import { insertDeliveries, insertMessage, type NewDelivery, type NewMessage } from './acceptance.js';
import { VolumeTally } from './events.js';
import type { SendCounts } from './send-counts.js';

/** TaskStatus values (FACTS §3.2). */
export const TaskStatus = { Waiting: 1, Sending: 5, Paused: 6, Error: 7, Sent: 10 } as const;

/** A task as stored. */
export interface TaskRow {
  id: number;
  account_id: number;
  receiver_id: number;
  receivers_name: string;
  from_address: string;
  subject: string;
  task_type: number;
  status: number;
  /** JSON of what the task sends (see TaskContent in services/tasks.ts). */
  content: string;
  template_id: number | null;
  template_data: string | null;
  begin_at: number | null;
  interval_hours: number | null;
  term_cycle: number;
  next_run_at: number | null;
  run_message_row: number | null;
  run_cursor: number;
  run_end: number;
  runs: number;
  request_count: number;
  send_count: number;
  cache_count: number;
  skip_count: number;
  err_msg: string;
  lease_owner: number | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
}

/** A task being created. */
export type NewTask = Pick<TaskRow, 'receiver_id' | 'receivers_name' | 'from_address' | 'subject' | 'task_type' | 'content' | 'template_id' | 'template_data' | 'begin_at' | 'interval_hours' | 'term_cycle' | 'next_run_at'>;

/** A recipient of a chunk being expanded. */
export interface ChunkRecipient { detailId: number; email: string; templateData: string | null; /** Why it is not sent (recorded as dropped), if so. */ skip: { sendStatus: number; reason: string } | null }

/** What a chunk did. */
export interface ExpandResult { sent: number; skipped: number; paused: boolean }

const COLUMNS = `id, account_id, receiver_id, receivers_name, from_address, subject, task_type, status, content, template_id, template_data,
  begin_at, interval_hours, term_cycle, next_run_at, run_message_row, run_cursor, run_end, runs, request_count, send_count, cache_count,
  skip_count, err_msg, lease_owner, lease_until, created_at, updated_at`;

/** Thrown inside a step's transaction when the lease has passed to another runner, or the task was changed: nothing is written. */
export class TaskLeaseLost extends Error {
  constructor(id: number) { super(`task ${id}: lease lost or task changed`); }
}

/** Reads and writes batch tasks. */
export class TaskStore {
  constructor(private readonly db: Db, private readonly counts: SendCounts) {}

  /**
   * Inserts a task; its id, or null when its group is gone. The group's row is locked first:
   * DeleteReceiver locks it too, so a delete either sees this task or comes before it.
   */
  async create(accountId: number, t: NewTask, now: number): Promise<number | null> {
    return this.db.tx(async (q) => {
      if (!(await q.get(`SELECT id FROM receivers WHERE account_id = ? AND id = ?${this.db.dialect.forUpdate}`, [accountId, t.receiver_id]))) return null;
      const row = await q.get<{ id: number }>(
        `INSERT INTO send_tasks (account_id, receiver_id, receivers_name, from_address, subject, task_type, status, content, template_id,
           template_data, begin_at, interval_hours, term_cycle, next_run_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        [accountId, t.receiver_id, t.receivers_name, t.from_address, t.subject, t.task_type, TaskStatus.Waiting, t.content, t.template_id,
          t.template_data, t.begin_at, t.interval_hours, t.term_cycle, t.next_run_at, now, now],
      );
      if (!row) throw new Error('task insert returned nothing');
      return row.id;
    });
  }

  /** One task of the account. */
  get(accountId: number, id: number): Promise<TaskRow | undefined> {
    return this.db.get<TaskRow>(`SELECT ${COLUMNS} FROM send_tasks WHERE account_id = ? AND id = ?`, [accountId, id]);
  }

  /** A task by id (runner use: spans accounts). */
  byId(id: number): Promise<TaskRow | undefined> {
    return this.db.get<TaskRow>(`SELECT ${COLUMNS} FROM send_tasks WHERE id = ?`, [id]);
  }

  /** A page of the account's tasks, newest first, and how many match in all. */
  async list(accountId: number, f: { status?: number; receiverId?: number; taskType?: number; limit: number; offset: number }): Promise<{ rows: TaskRow[]; total: number }> {
    const where = ['account_id = ?'];
    const params: Param[] = [accountId];
    if (f.status !== undefined) { where.push('status = ?'); params.push(f.status); }
    if (f.receiverId !== undefined) { where.push('receiver_id = ?'); params.push(f.receiverId); }
    if (f.taskType !== undefined) { where.push('task_type = ?'); params.push(f.taskType); }
    const total = await this.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM send_tasks WHERE ${where.join(' AND ')}`, params);
    const rows = f.limit === 0 ? [] : await this.db.all<TaskRow>(
      `SELECT ${COLUMNS} FROM send_tasks WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ? OFFSET ?`, [...params, f.limit, f.offset],
    );
    return { rows, total: total?.n ?? 0 };
  }

  /** A task of the account that will still send to the group (in the caller's transaction), if any. */
  activeForGroup(q: Queryable, accountId: number, receiverId: number): Promise<{ id: number } | undefined> {
    return q.get<{ id: number }>(
      `SELECT id FROM send_tasks WHERE account_id = ? AND receiver_id = ? AND status IN (?, ?, ?) LIMIT 1`,
      [accountId, receiverId, TaskStatus.Waiting, TaskStatus.Sending, TaskStatus.Paused],
    );
  }

  /** Leases the due task waiting longest (not among `exclude`) to `owner` until `until`; null when none is due. */
  async claim(now: number, owner: number, until: number, exclude: readonly number[] = []): Promise<TaskRow | null> {
    const not = exclude.length ? ` AND id NOT IN (${exclude.map(() => '?').join(', ')})` : '';
    const rows = await this.db.tx((q) => q.all<TaskRow>(
      `UPDATE send_tasks SET lease_owner = ?, lease_until = ? WHERE id IN (
         SELECT id FROM send_tasks WHERE next_run_at IS NOT NULL AND next_run_at <= ? AND (lease_until IS NULL OR lease_until < ?)${not}
         ORDER BY next_run_at LIMIT 1${this.db.dialect.skipLocked})
       RETURNING ${COLUMNS}`,
      [owner, until, now, now, ...exclude],
    ));
    return rows[0] ?? null;
  }

  /** Lets go of a task `owner` holds and makes it due at `at`. */
  async postpone(id: number, owner: number, at: number): Promise<void> {
    await this.db.run('UPDATE send_tasks SET lease_owner = NULL, lease_until = NULL, next_run_at = ? WHERE id = ? AND lease_owner = ? AND next_run_at IS NOT NULL', [at, id, owner]);
  }

  /** Extends `owner`'s lease; false when it no longer holds the task. */
  async renew(id: number, owner: number, until: number): Promise<boolean> {
    return (await this.db.run('UPDATE send_tasks SET lease_until = ? WHERE id = ? AND lease_owner = ?', [until, id, owner])) > 0;
  }

  /** Lets go of a task `owner` holds. */
  async release(id: number, owner: number): Promise<void> {
    await this.db.run('UPDATE send_tasks SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?', [id, owner]);
  }

  /**
   * Runs `fn` in a transaction that first checks (and locks) that `owner` still holds the task and
   * that it is still as the runner saw it (status, run and cursor): the owner may have paused or
   * ended it meanwhile, and nothing else may have moved it on.
   */
  private held<T>(t: TaskRow, owner: number, fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.db.tx(async (q) => {
      const row = await q.get(
        `SELECT id FROM send_tasks WHERE id = ? AND lease_owner = ? AND status = ? AND run_cursor = ? AND runs = ?${this.db.dialect.forUpdate}`,
        [t.id, owner, t.status, t.run_cursor, t.runs],
      );
      if (!row) throw new TaskLeaseLost(t.id);
      return fn(q);
    });
  }

  /** Starts a run: its message, where in the group it ends, and the recipients it adds to RequestCount. */
  beginRun(t: TaskRow, owner: number, accountId: number, m: NewMessage, runEnd: number, recipients: number): Promise<void> {
    return this.held(t, owner, async (q) => {
      const messageRow = await insertMessage(q, accountId, m);
      await q.run(
        `UPDATE send_tasks SET status = ?, run_message_row = ?, run_cursor = 0, run_end = ?, runs = runs + 1, request_count = request_count + ?,
         cache_count = 0, err_msg = '', updated_at = ? WHERE id = ?`,
        [TaskStatus.Sending, messageRow, runEnd, recipients, m.now, t.id],
      );
    });
  }

  /**
   * Deliveries of the task queued and not yet attempted: what its back-pressure counts. Those
   * deferred by a slow or greylisting domain do not count (they may wait for days; the rest of the
   * group need not).
   */
  async pending(taskId: number): Promise<number> {
    return (await this.db.get<{ n: number }>(
      'SELECT COUNT(*) AS n FROM deliveries WHERE task_id = ? AND next_attempt_at IS NOT NULL AND attempts = 0', [taskId],
    ))?.n ?? 0;
  }

  /**
   * Expands one chunk of the run, in group order: skipped recipients are counted, the others queued
   * while the domain's day has quota (null: no limit); at the first one the quota does not cover,
   * the task pauses until `resumeAt` with the rest of the run held back (CacheCount).
   */
  expand(t: TaskRow, owner: number, chunk: readonly ChunkRecipient[], o: {
    sender: string; domainId: number; day: string; quota: number | null; now: number; resumeAt: number; pauseNote: string;
  }): Promise<ExpandResult> {
    return this.held(t, owner, async (q) => {
      const allowed = o.quota === null ? Infinity : Math.max(0, o.quota - await this.counts.lock(q, t.account_id, o.domainId, o.day));
      const rows: NewDelivery[] = [];
      let sent = 0;
      let skipped = 0;
      let cursor = t.run_cursor;
      let paused = false;
      for (const r of chunk) {
        const recipientDomain = domainOf(r.email);
        if (r.skip) {
          skipped++;
          rows.push({ recipient: r.email, recipientDomain, dropped: r.skip });
        } else {
          if (sent >= allowed) { paused = true; break; }
          sent++;
          rows.push({ recipient: r.email, recipientDomain, templateData: r.templateData });
        }
        cursor = r.detailId;
      }
      // The domain's counter row before its volume row, as every acceptance takes them (no deadlock).
      const tally = new VolumeTally();
      if (rows.length) await insertDeliveries(q, t.account_id, t.run_message_row!, { sender: o.sender, priority: 0, now: o.now, day: o.day }, rows, t.id, tally);
      if (sent) await this.counts.add(q, t.account_id, o.domainId, o.day, sent);
      await tally.write(q);
      const send = t.send_count + sent;
      const skip = t.skip_count + skipped;
      await q.run(
        `UPDATE send_tasks SET run_cursor = ?, send_count = ?, skip_count = ?, status = ?, cache_count = ?, next_run_at = ?, err_msg = ?, updated_at = ?
         WHERE id = ?`,
        [cursor, send, skip, paused ? TaskStatus.Paused : TaskStatus.Sending, paused ? t.request_count - send - skip : 0,
          paused ? o.resumeAt : t.next_run_at, paused ? o.pauseNote : t.err_msg, o.now, t.id],
      );
      return { sent, skipped, paused };
    });
  }

  /** Sets status, next look and error text of a task `owner` holds; unless `midRun`, its run is over. */
  settle(t: TaskRow, owner: number, s: { status: number; nextRunAt: number | null; errMsg?: string; midRun?: boolean; now: number }): Promise<void> {
    return this.held(t, owner, async (q) => {
      await q.run(
        `UPDATE send_tasks SET status = ?, next_run_at = ?, err_msg = COALESCE(?, err_msg), cache_count = 0,
         run_message_row = CASE WHEN ? = 1 THEN run_message_row ELSE NULL END, updated_at = ? WHERE id = ?`,
        [s.status, s.nextRunAt, s.errMsg ?? null, s.midRun ? 1 : 0, s.now, t.id],
      );
    });
  }

  /**
   * Changes a task of the account as its owner asks (pause, resume, end), whoever runs it: `decide`
   * sees the locked row and gives the new state, or null to refuse. The runner holding it notices at
   * its next step. 'missing' when the account has no such task.
   */
  async change(accountId: number, id: number, now: number, decide: (r: TaskRow) => { status: number; nextRunAt: number | null; termCycle?: number; errMsg: string; endRun: boolean } | null): Promise<'changed' | 'missing' | 'refused'> {
    return this.db.tx(async (q) => {
      const r = await q.get<TaskRow>(`SELECT ${COLUMNS} FROM send_tasks WHERE account_id = ? AND id = ?${this.db.dialect.forUpdate}`, [accountId, id]);
      if (!r) return 'missing';
      const set = decide(r);
      if (!set) return 'refused';
      await q.run(
        `UPDATE send_tasks SET status = ?, next_run_at = ?, term_cycle = COALESCE(?, term_cycle), err_msg = ?, cache_count = 0,
         run_message_row = CASE WHEN ? = 1 THEN NULL ELSE run_message_row END, updated_at = ? WHERE id = ?`,
        [set.status, set.nextRunAt, set.termCycle ?? null, set.errMsg, set.endRun ? 1 : 0, now, id],
      );
      return 'changed';
    });
  }
}
