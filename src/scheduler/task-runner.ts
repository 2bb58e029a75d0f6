/**
 * The batch task runner of the worker role: claims due tasks under a lease (so across processes
 * exactly one runner works on each), steps through each (services/task-runs.ts) while renewing its
 * lease, and lets go when the task is done for now. A new task wakes it at once; otherwise it looks
 * for due ones every second. Progress of each task is logged as it goes.
 */
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { TaskRuns } from '../services/task-runs.js';

/** How the runner works. */
export interface TaskRunnerOptions {
  /** Tasks one process works on at once. */
  concurrency: number;
  leaseMs: number;
  /** How often it looks for due tasks when nothing wakes it. */
  pollMs: number;
}

const PROGRESS_MS = 10_000;

/** Runs due batch tasks. */
export class TaskRunner {
  private running = false;
  private readonly active = new Map<number, Promise<void>>();
  private wake: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();

  constructor(private readonly tasks: TaskRuns, private readonly log: Logger, private readonly o: TaskRunnerOptions) {}

  start(): void {
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Looks for due tasks now (a task was created or changed). */
  poke(): void {
    this.wake?.();
  }

  /** Stops claiming, lets the tasks in hand finish their step, and lets go of them. */
  async stop(): Promise<void> {
    this.running = false;
    this.poke();
    await this.loopDone;
    await Promise.all(this.active.values());
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let claimed = false;
      if (this.active.size < this.o.concurrency) {
        try {
          // A token of its own for each claim: should this runner's lease on a task lapse while it
          // still works on it and the task be claimed again (by anyone, this runner included), the
          // first holder's next step finds the token changed and stops.
          const token = randomInt(1, 2 ** 47);
          const t = await this.tasks.claim(token, this.o.leaseMs, [...this.active.keys()]);
          if (t) {
            claimed = true;
            const work = this.work(t.id, token).finally(() => {
              this.active.delete(t.id);
              this.poke();
            });
            this.active.set(t.id, work);
          }
        } catch (err) {
          this.log.error({ err }, 'claiming a batch task failed; retrying');
        }
      }
      if (!claimed || this.active.size >= this.o.concurrency) await this.pause(this.o.pollMs);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void { clearTimeout(timer); resolve(); }
      this.wake = () => { this.wake = null; done(); };
    });
  }

  /** Steps through one task until it is done for now, renewing the lease as it goes. */
  private async work(taskId: number, token: number): Promise<void> {
    let renewedAt = Date.now();
    let reportedAt = Date.now();
    try {
      while (this.running) {
        const r = await this.tasks.step(taskId, token);
        if (r.kind === 'release') break;
        if (r.kind === 'wait') await new Promise((resolve) => setTimeout(resolve, r.ms));
        const now = Date.now();
        if (now - renewedAt > this.o.leaseMs / 3) {
          if (!(await this.tasks.renew(taskId, token, this.o.leaseMs))) return;
          renewedAt = now;
        }
        if (now - reportedAt > PROGRESS_MS) {
          reportedAt = now;
          this.log.info({ task: taskId, ...(await this.tasks.progress(taskId)) }, 'batch task progress');
        }
      }
    } catch (err) {
      // Not a rule of the task (those end it with an ErrMsg): the store failing, say. It is tried
      // again after a lease period, not at once.
      this.log.error({ err, task: taskId }, 'batch task step failed; retrying after a lease period');
      await this.tasks.postpone(taskId, token, this.o.leaseMs).catch(() => undefined);
      return;
    }
    await this.tasks.release(taskId, token).catch((err: unknown) => this.log.warn({ err, task: taskId }, 'releasing a batch task failed'));
    this.log.info({ task: taskId, ...(await this.tasks.progress(taskId).catch(() => ({}))) }, 'batch task step done');
  }
}
