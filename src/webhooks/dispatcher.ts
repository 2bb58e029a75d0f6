/**
 * The webhook dispatcher (worker role): claim due events from the outbox → build Tencent's payload
 * → sign it → POST → settle. At most `concurrency` requests at once, and `perCallback` to one
 * endpoint, so a slow receiver holds a few slots and no more; it runs apart from delivery, so a
 * receiver that never answers slows no mail. Results are settled in batches (one transaction for
 * those that end within a few milliseconds).
 *
 * A request succeeds with a 2xx answer within the timeout. Anything else is retried on the schedule
 * (the same `webhook-id` each time); `410 Gone` refuses the event for good; after the last retry the
 * event is given up. An endpoint whose every request has failed for `disableAfterMs` is disabled.
 */
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { retrying, type RetryPolicy } from '../lib/retry.js';
import type { SecretBox } from '../lib/secret-box.js';
import { secretPurpose } from '../services/callbacks.js';
import { signWebhook } from '../lib/webhook-signature.js';
import type { DnsClient } from '../net/dns.js';
import type { OutboxItem, OutboxResult, WebhookAttempt, WebhookOutbox } from '../store/outbox.js';
import { webhookId } from '../domain/webhook-id.js';
import { callbackPayload } from './payload.js';
import { postJson } from './post.js';

/** How the dispatcher works. */
export interface DispatchPolicy {
  /** Delays before each retry; after the last, the event is given up. */
  retryScheduleMs: readonly number[];
  disableAfterMs: number;
  allowPrivateNetworks: boolean;
  /** Requests in flight at most, and to one endpoint. */
  concurrency: number;
  perCallback: number;
  /** A request's deadline (Tencent-style receivers answer within seconds). */
  timeoutMs: number;
  /** How long a claim holds an event (well over the timeout). */
  leaseMs: number;
  /** How often the outbox is looked at when it had nothing due. */
  pollMs: number;
}

/** The default policy; the schedule and disabling come from configuration. */
export const DISPATCH_DEFAULTS = { concurrency: 128, perCallback: 32, timeoutMs: 15_000, leaseMs: 60_000, pollMs: 200 } as const;

/** Results ending within this window are settled in one transaction. */
const SETTLE_BATCH_MS = 10;
/** A settlement the store refuses is tried again for this long, with growing pauses (while the dispatcher runs). */
const SETTLE_RETRY: RetryPolicy = { forMs: 60_000, firstMs: 200, maxMs: 5_000 };
/** On stop, requests in flight get this long to end; the rest are cut, and their events come back when the lease lapses. */
const STOP_GRACE_MS = 2_000;

/** Claimed events of one callback: those being posted, and those waiting for one of its slots. */
interface Held { inFlight: number; waiting: OutboxItem[] }

/** Posts the outbox's events. */
export class WebhookDispatcher {
  private readonly owner = randomInt(1, 2 ** 47);
  private running = false;
  private loop: Promise<void> | null = null;
  /** Claimed events per callback. Claims come in batches (each is a commit): a callback's slots are filled from here. */
  private readonly held = new Map<number, Held>();
  private heldTotal = 0;
  private total = 0;
  private wakeUp: (() => void) | null = null;
  private pending: { result: OutboxResult; attempt: WebhookAttempt | null }[] = [];
  private settleTimer: NodeJS.Timeout | null = null;
  private settling: Promise<void> = Promise.resolve();
  private readonly secrets = new Map<string, string>();
  /** Cuts the requests in flight when a stop's grace is over. */
  private readonly abort = new AbortController();

  constructor(private readonly d: {
    outbox: WebhookOutbox; box: SecretBox; dns: Pick<DnsClient, 'addresses'>; policy: DispatchPolicy; log: Logger;
    /** Told what became of each event dealt with (the metrics). */
    onResult?: (kind: OutboxResult['kind']) => void;
  }) {}

  /** Starts dispatching. */
  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Stops claiming, lets requests in flight end (for a grace period; the rest are cut) and settles what ended. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    // Events claimed and not started go back with their lease.
    for (const h of this.held.values()) { this.heldTotal -= h.waiting.length; h.waiting = []; }
    const deadline = Date.now() + STOP_GRACE_MS;
    while (this.total > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.abort.abort();
    while (this.total > 0) await new Promise((r) => setTimeout(r, 5));
    await this.flush();
  }

  /** Looks at the outbox now (events were just recorded). */
  wake(): void {
    this.wakeUp?.();
  }

  /**
   * Claims while fewer than `concurrency` events are held, up to twice that, passing over callbacks
   * that hold two rounds of their slots already; then waits for the held to run low, a wake-up or the poll.
   */
  private async run(): Promise<void> {
    const p = this.d.policy;
    while (this.running) {
      let claimed = 0;
      if (this.heldTotal < p.concurrency) {
        const full = [...this.held].filter(([, h]) => h.inFlight + h.waiting.length >= 2 * p.perCallback).map(([id]) => id);
        try {
          const items = await this.d.outbox.claim(Date.now(), 2 * p.concurrency - this.heldTotal, p.leaseMs, this.owner, full);
          for (const item of items) this.hold(item);
          claimed = items.length;
        } catch (err) {
          this.d.log.error({ err }, 'claiming webhook events failed; retrying');
        }
        this.pump();
      }
      if (claimed > 0 && this.heldTotal < p.concurrency) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, p.pollMs);
        this.wakeUp = () => { clearTimeout(timer); this.wakeUp = null; resolve(); };
      });
    }
  }

  private hold(item: OutboxItem): void {
    let h = this.held.get(item.callback_id);
    if (!h) this.held.set(item.callback_id, h = { inFlight: 0, waiting: [] });
    h.waiting.push(item);
    this.heldTotal++;
  }

  /** Starts what the slots allow: `perCallback` per callback, `concurrency` in all. */
  private pump(): void {
    const p = this.d.policy;
    for (const [id, h] of this.held) {
      while (h.waiting.length && h.inFlight < p.perCallback && this.total < p.concurrency) this.dispatch(h, h.waiting.shift()!);
      if (h.inFlight === 0 && h.waiting.length === 0) this.held.delete(id);
    }
  }

  private dispatch(h: Held, item: OutboxItem): void {
    this.total++;
    h.inFlight++;
    void this.attempt(item)
      .catch((err: unknown): { result: OutboxResult; attempt: WebhookAttempt | null } => {
        this.d.log.error({ err, event: item.event_id }, 'a webhook attempt failed inside Sesame; retrying it');
        return { result: this.retryOrGiveUp(item), attempt: null };
      })
      .then((r) => {
        this.total--;
        h.inFlight--;
        this.heldTotal--;
        this.d.onResult?.(r.result.kind);
        // A request cut by a stop says nothing of the receiver: its event is left to its lease.
        if (!(this.abort.signal.aborted && r.attempt && !r.attempt.ok)) {
          this.pending.push(r);
          this.settleTimer ??= setTimeout(() => { void this.flush(); }, SETTLE_BATCH_MS);
        }
        if (this.running) this.pump();
        if (this.heldTotal < this.d.policy.concurrency) this.wake();
      });
  }

  /** One request for a claimed event, and what it comes to. */
  private async attempt(item: OutboxItem): Promise<{ result: OutboxResult; attempt: WebhookAttempt | null }> {
    // The callback was removed or disabled, or the event, its delivery or message are gone
    // (retention): nothing to post.
    const payload = callbackPayload(item);
    if (item.url === null || item.secret_sealed === null || item.callback_address === null || item.callback_status !== 1 || payload === null) {
      return { result: { id: item.id, kind: 'dropped' }, attempt: null };
    }
    const body = JSON.stringify(payload);
    const secret = this.secretOf(item.secret_sealed, secretPurpose(item.account_id, item.callback_address));
    const id = webhookId(item.event_id);
    const timestamp = Math.floor(Date.now() / 1000);
    const at = Date.now();
    const r = await postJson(new URL(item.url), {
      'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secret, id, timestamp, body),
    }, body, { dns: this.d.dns, allowPrivateNetworks: this.d.policy.allowPrivateNetworks, timeoutMs: this.d.policy.timeoutMs, signal: this.abort.signal });
    const ok = r.status !== null && r.status >= 200 && r.status < 300;
    const attempt: WebhookAttempt = {
      accountId: item.account_id, callbackId: item.callback_id, eventId: item.event_id, at, httpStatus: r.status ?? 0, latencyMs: r.latencyMs,
      // A 410 refuses this event, from an endpoint that answers: not a failure of the endpoint.
      error: ok ? '' : r.error || `HTTP ${r.status}`, ok: ok || r.status === 410,
    };
    if (ok) return { result: { id: item.id, kind: 'posted' }, attempt };
    if (r.status === 410) return { result: { id: item.id, kind: 'refused' }, attempt };
    return { result: this.retryOrGiveUp(item), attempt };
  }

  /** A callback's secret, opened once per sealed value (a new URL gets a new one). */
  private secretOf(sealed: string, purpose: string): string {
    let s = this.secrets.get(sealed);
    if (s === undefined) {
      s = this.d.box.open(sealed, purpose);
      if (this.secrets.size >= 10_000) this.secrets.clear();
      this.secrets.set(sealed, s);
    }
    return s;
  }

  /** The next attempt on the schedule, or giving up after the last. */
  private retryOrGiveUp(item: OutboxItem): OutboxResult {
    const delay = this.d.policy.retryScheduleMs[item.attempts - 1];
    if (delay === undefined) {
      this.d.log.warn({ event: item.event_id, callback: item.callback_id, attempts: item.attempts }, 'webhook event given up after its last retry');
      return { id: item.id, kind: 'given-up' };
    }
    return { id: item.id, kind: 'retry', at: Date.now() + delay };
  }

  /** Settles what has ended, in one transaction; one at a time. */
  private flush(): Promise<void> {
    if (this.settleTimer) { clearTimeout(this.settleTimer); this.settleTimer = null; }
    const batch = this.pending.splice(0);
    if (batch.length === 0) return this.settling;
    this.settling = this.settling.then(async () => {
      const attempts = batch.flatMap((b) => (b.attempt ? [b.attempt] : []));
      // The store failing (restarting, say) is waited out for a while: the events were posted, and
      // results not settled would have them posted again once their leases lapse.
      try {
        const disabled = await retrying(
          () => this.d.outbox.settle(batch.map((b) => b.result), attempts, this.owner, Date.now() - this.d.policy.disableAfterMs),
          SETTLE_RETRY,
          {
            giveUp: () => !this.running,
            onRetry: (err, pause) => this.d.log.warn({ err, results: batch.length, retryInMs: pause }, 'settling webhook results failed; trying again'),
          },
        );
        for (const id of disabled) this.d.log.warn({ callback: id }, 'callback endpoint disabled: every request failed for SESAME_WEBHOOK_DISABLE_AFTER; set its URL again to enable it');
      } catch (err) {
        // The leases lapse and the events come back: posted again (receivers deduplicate on webhook-id).
        this.d.log.error({ err, results: batch.length }, 'settling webhook results failed; those events will be retried');
      }
    });
    return this.settling;
  }
}
