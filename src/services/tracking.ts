/**
 * Opens and clicks. A tracking request is answered from its token alone (the click token carries
 * the URL it was signed for), and its hit is queued for the store: the queue is written every few
 * milliseconds in one transaction, so a burst of hits costs one commit, and a store that is busy or
 * down slows nobody's pixel or redirect. Hits wait in memory meanwhile, up to a bound; past it new
 * ones are dropped and counted (a lost open is a statistic a little low, never mail lost), and hits
 * still queued when the process is killed are lost the same way. A stop writes what is queued.
 */
import type { Logger } from 'pino';
import { prefetcherOf } from '../domain/prefetch.js';
import type { TrackingTokens } from '../lib/tracking-tokens.js';
import type { FeedbackStore, TrackingHit } from '../store/feedback.js';

/** How hits are written. */
export interface TrackingPolicy {
  /** A queue is written this long after its first hit. */
  flushMs: number;
  /** Hits written per transaction at most. */
  batch: number;
  /** Hits kept waiting at most (while the store is slow or down). */
  maxQueued: number;
}

/** The default policy. */
export const TRACKING_POLICY: TrackingPolicy = { flushMs: 20, batch: 1000, maxQueued: 100_000 };

/** Longest pause between tries to write hits while the store fails. */
const MAX_RETRY_MS = 5_000;

/** Answers tracking requests and records their hits. */
export class TrackingService {
  private queue: TrackingHit[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private retryMs = 0;
  private dropped = 0;

  constructor(
    private readonly store: FeedbackStore,
    private readonly tokens: TrackingTokens,
    private readonly log: Logger,
    private readonly policy: TrackingPolicy = TRACKING_POLICY,
  ) {}

  /** Whether an open token is ours; if so its hit is queued. */
  open(token: string, userAgent: string | undefined): boolean {
    const claim = this.tokens.verifyOpen(token);
    if (!claim) return false;
    this.hit({ kind: 'open', deliveryId: claim.deliveryId, userAgent: userAgent ?? '', prefetch: prefetcherOf(userAgent), at: Date.now() });
    return true;
  }

  /** The URL a click token sends to, or null when the token is not ours; its hit is queued. */
  click(token: string, userAgent: string | undefined): string | null {
    const claim = this.tokens.verifyClick(token);
    if (!claim) return null;
    this.hit({ kind: 'click', deliveryId: claim.deliveryId, link: claim.url, userAgent: userAgent ?? '', prefetch: prefetcherOf(userAgent), at: Date.now() });
    return claim.url;
  }

  /** Whether an open token is ours (records nothing). */
  isOpen(token: string): boolean {
    return this.tokens.verifyOpen(token) !== null;
  }

  /** The URL a click token sends to, or null when the token is not ours (records nothing). */
  clickTarget(token: string): string | null {
    return this.tokens.verifyClick(token)?.url ?? null;
  }

  /** Writes every hit queued (a stopping process calls it last). */
  async flush(): Promise<void> {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    while (this.writing) await this.writing;
    while (this.queue.length) {
      await this.write();
      if (this.retryMs) return;
    }
  }

  private hit(h: TrackingHit): void {
    if (this.queue.length >= this.policy.maxQueued) {
      if (this.dropped++ % 10_000 === 0) this.log.warn({ queued: this.queue.length, dropped: this.dropped }, 'tracking hits are not being written fast enough: new ones are dropped');
      return;
    }
    this.queue.push(h);
    this.schedule(this.policy.flushMs);
  }

  private schedule(ms: number): void {
    if (this.timer || this.writing) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      // A write under way reschedules what is left when it ends.
      if (this.queue.length && !this.writing) void this.write();
    }, ms);
    this.timer.unref();
  }

  /** Writes one batch; on failure puts it back and backs off. */
  private write(): Promise<void> {
    const batch = this.queue.splice(0, this.policy.batch);
    this.writing = this.store.recordHits(batch).then(
      (gone) => {
        this.retryMs = 0;
        if (gone) this.log.debug({ hits: gone }, 'tracking hits for deliveries no longer kept were dropped');
      },
      (err: unknown) => {
        this.queue.unshift(...batch);
        this.retryMs = Math.min(MAX_RETRY_MS, Math.max(50, this.retryMs * 2));
        this.log.warn({ err, queued: this.queue.length, retryMs: this.retryMs }, 'writing tracking hits failed; retrying');
      },
    ).finally(() => {
      this.writing = null;
      // Whoever wrote (the timer or a flush), what is left is written next: after a failure, once
      // the back-off has passed.
      if (this.queue.length) this.schedule(this.retryMs || this.policy.flushMs);
    });
    return this.writing;
  }
}
