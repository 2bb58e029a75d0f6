/**
 * Rendering (composition and DKIM signing) is the heaviest part of a delivery and pure CPU, so it
 * runs on worker threads: the main thread keeps the API, the store and the SMTP connections. With
 * no threads configured it runs in place.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { RenderableContent } from './content.js';
import { TrackingTokens } from '../lib/tracking-tokens.js';
import { renderMessage, type RenderKey, type TrackingJob, type UnsubscribeLinks } from './render.js';

/** Young generation of each rendering thread's heap, in MB. */
const YOUNG_GENERATION_MB = 12;

/** One job for a render thread. */
export interface RenderJob { content: RenderableContent; keys: RenderKey[]; links: UnsubscribeLinks | null; tracking?: TrackingJob | null }

/** How a renderer is set up. */
export interface RendererOptions {
  /** A render that takes longer has hung. */
  timeoutMs?: number;
  /** The key of tracking tokens (jobs with `tracking` need it). */
  trackingKey?: Buffer;
  /** Told how long each render kept its thread busy, in seconds (the metrics). */
  onBusy?: (seconds: number) => void;
}

/** Renders a job on this thread, with `tokens` for its tracking. */
export function renderJob(j: RenderJob, tokens: TrackingTokens | null): Promise<Buffer> {
  if (j.tracking && !tokens) return Promise.reject(new Error('a tracked render needs the tracking key'));
  return renderMessage(j.content, j.keys, j.links, j.tracking && tokens ? { job: j.tracking, tokens } : null);
}

/** The reply of a render thread. */
export type RenderReply = { id: number; message: Uint8Array; busyMs: number } | { id: number; error: string; busyMs: number };

/** Renders messages, on threads when there are any. */
export interface Renderer {
  render(job: RenderJob): Promise<Buffer>;
  close(): Promise<void>;
}

/** Threads to use when the setting says `auto`: one per core, at least two (the main thread often waits on fsync). */
export const defaultRenderThreads = (): number => Math.max(2, availableParallelism());

/** A render that takes longer than this has hung: its thread is replaced and the delivery retried. */
export const RENDER_TIMEOUT_MS = 60_000;

/** A renderer on `threads` worker threads (0: on this thread). */
export function createRenderer(threads: number, o: RendererOptions = {}): Renderer {
  if (threads <= 0) {
    const tokens = o.trackingKey ? new TrackingTokens(o.trackingKey) : null;
    return {
      render: (j) => {
        const started = performance.now();
        return renderJob(j, tokens).finally(() => o.onBusy?.((performance.now() - started) / 1000));
      },
      close: async () => {},
    };
  }
  return new ThreadRenderer(threads, o.timeoutMs ?? RENDER_TIMEOUT_MS, o.trackingKey ?? null, o.onBusy);
}

interface Thread { worker: Worker; busy: number; startedAt: number; alive: boolean }

interface Job { resolve: (b: Buffer) => void; reject: (e: Error) => void; thread: Thread; timer: NodeJS.Timeout }

/** Respawning a thread that died young waits, growing up to this, so a broken start-up cannot spin. */
const MAX_RESPAWN_DELAY_MS = 30_000;

class ThreadRenderer implements Renderer {
  private readonly threads: Thread[] = [];
  private readonly pending = new Map<number, Job>();
  private nextId = 1;
  private closed = false;
  private respawnDelayMs = 0;

  constructor(count: number, private readonly timeoutMs: number, private readonly trackingKey: Buffer | null, private readonly onBusy?: (seconds: number) => void) {
    for (let i = 0; i < count; i++) this.threads.push(this.spawn());
  }

  render(job: RenderJob): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error('the renderer is closed'));
    const alive = this.threads.filter((t) => t.alive);
    if (alive.length === 0) return Promise.reject(new Error('no render thread is running (they keep failing to start)'));
    // The least busy thread takes the job.
    const thread = alive.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    thread.busy++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // A hung render (or one stuck behind it): replace the thread; its jobs fail and are retried.
        thread.alive = false;
        this.fail(thread, new Error(`rendering took longer than ${Math.round(this.timeoutMs / 1000)} s`));
        void thread.worker.terminate();
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, thread, timer });
      thread.worker.postMessage({ id, job });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.threads) this.fail(t, new Error('the renderer is closed'));
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }

  private spawn(): Thread {
    const here = import.meta.url;
    // Run from the sources (tests, tsx), the worker is TypeScript: it is loaded through tsx's
    // loader, registered inside the thread (a worker cannot take --import).
    // A small young generation: a thread's garbage is short-lived message buffers, and V8's default
    // (up to 48 MB per thread) would mostly be resident memory held for nothing.
    const resourceLimits = { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB };
    // The tracking key goes to each thread once, not with every job.
    const workerData = { trackingKey: this.trackingKey };
    const worker = here.endsWith('.ts')
      ? new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./render-worker.ts', here).href)}); });`, { eval: true, resourceLimits, workerData })
      : new Worker(new URL('./render-worker.js', here), { resourceLimits, workerData });
    const thread: Thread = { worker, busy: 0, startedAt: Date.now(), alive: true };
    worker.on('message', (r: RenderReply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      clearTimeout(p.timer);
      p.thread.busy--;
      this.onBusy?.(r.busyMs / 1000);
      if ('error' in r) p.reject(new Error(r.error));
      else p.resolve(Buffer.from(r.message.buffer, r.message.byteOffset, r.message.byteLength));
    });
    worker.on('error', (err) => this.fail(thread, err));
    worker.on('exit', (code) => {
      thread.alive = false;
      this.fail(thread, new Error(`a render thread exited (${code})`));
      if (this.closed) return;
      // Replace it, so one bad message cannot take rendering down; one that died young waits first.
      const young = Date.now() - thread.startedAt < 5_000;
      this.respawnDelayMs = young ? Math.min(MAX_RESPAWN_DELAY_MS, Math.max(100, this.respawnDelayMs * 2)) : 0;
      const replace = (): void => {
        if (this.closed) return;
        const i = this.threads.indexOf(thread);
        if (i >= 0) this.threads[i] = this.spawn();
      };
      if (this.respawnDelayMs === 0) replace(); else setTimeout(replace, this.respawnDelayMs).unref();
    });
    worker.unref();
    return thread;
  }

  /** Every job of a failed thread fails (its deliveries are retried). */
  private fail(thread: Thread, err: Error): void {
    for (const [id, p] of this.pending) {
      if (p.thread !== thread) continue;
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(err);
    }
    thread.busy = 0;
  }
}
