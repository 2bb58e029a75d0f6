/**
 * The process's Prometheus metrics (prom-client), served at GET /metrics. The edges count into one
 * Metrics object through its methods; what lives in the store (queue depth, the oldest queued
 * delivery, the webhook backlog) is read when scraped, by a probe the composition root gives, at
 * most once per PROBE_MIN_MS however often scrapes come.
 *
 * Every label set is bounded: actions are the registry's names (else `unknown`), codes come from
 * the error catalogue, and destination domains are only the TOP_DOMAINS most delivered to (counted
 * in a table of TRACKED_DOMAINS at most), so no client and no recipient list can grow the series.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Destination domains shown in sesame_deliveries_by_domain_total. */
export const TOP_DOMAINS = 20;
/** Domains counted to find the top ones; the least counted is forgotten for a new one. */
const TRACKED_DOMAINS = 1000;
/** The store is read for the queue gauges at most this often. */
const PROBE_MIN_MS = 5_000;

/** What the store says of the queues when scraped. */
export interface QueueProbe {
  /** Deliveries not yet finished, by state (queued: never tried; deferred: waiting for a retry; in_flight: held by a worker). */
  deliveries: { state: string; count: number; oldestCreatedAt: number | null }[];
  /** Webhook events waiting to be posted, and the oldest one's creation time. */
  webhooks: { count: number; oldestCreatedAt: number | null };
}

/** How the SMTP listeners are named in labels. */
export type SmtpListener = 'submission' | 'inbound';

const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One process's metrics. */
export class Metrics {
  readonly registry = new Registry();
  private readonly apiRequests = new Counter({
    name: 'sesame_api_requests_total', help: 'Tencent API requests answered, by action and code (OK or the error code).',
    labelNames: ['action', 'code'] as const, registers: [this.registry],
  });
  private readonly apiSeconds = new Histogram({
    name: 'sesame_api_request_duration_seconds', help: 'Time to answer an API request, by action.',
    labelNames: ['action'] as const, buckets: SECONDS_BUCKETS, registers: [this.registry],
  });
  private readonly smtpSessions = new Counter({
    name: 'sesame_smtp_sessions_total', help: 'SMTP connections taken, by listener (submission, inbound).',
    labelNames: ['listener'] as const, registers: [this.registry],
  });
  private readonly smtpMessages = new Counter({
    name: 'sesame_smtp_messages_total', help: 'SMTP transactions ended, by listener and result (accepted, refused).',
    labelNames: ['listener', 'result'] as const, registers: [this.registry],
  });
  private readonly deliveries = new Counter({
    name: 'sesame_deliveries_total', help: 'Delivery attempts ended, by outcome (delivered, deferred, bounced, dropped).',
    labelNames: ['outcome'] as const, registers: [this.registry],
  });
  private readonly commitSeconds = new Histogram({
    name: 'sesame_store_commit_duration_seconds', help: 'Time for a store transaction to commit durably (a group commit counts once).',
    buckets: SECONDS_BUCKETS, registers: [this.registry],
  });
  private readonly renderSeconds = new Counter({
    name: 'sesame_render_busy_seconds_total', help: 'Time the rendering threads spent composing and signing messages.', registers: [this.registry],
  });
  private readonly webhookResults = new Counter({
    name: 'sesame_webhook_attempts_total', help: 'Webhook events dealt with, by result (posted, refused, retry, given-up, dropped).',
    labelNames: ['result'] as const, registers: [this.registry],
  });
  private readonly domainCounts = new Map<string, Map<string, number>>();
  private probe: (() => Promise<QueueProbe>) | null = null;
  private probed: { at: number; value: Promise<QueueProbe | null> } | null = null;
  private processMetrics = false;

  constructor() {
    const self = this;
    new Counter({
      name: 'sesame_deliveries_by_domain_total',
      help: `Delivery attempts ended, by destination domain and outcome: the ${TOP_DOMAINS} domains delivered to most since the process started.`,
      labelNames: ['domain', 'outcome'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [domain, byOutcome] of self.topDomains()) for (const [outcome, n] of byOutcome) this.inc({ domain, outcome }, n);
      },
    });
    const probeGauge = (name: string, help: string, read: (p: QueueProbe, g: Gauge<'state'>) => void, labelNames: 'state'[] = []): void => {
      new Gauge({
        name, help, labelNames, registers: [this.registry],
        async collect() {
          this.reset();
          const p = await self.readProbe();
          if (p) read(p, this);
        },
      });
    };
    probeGauge('sesame_queue_deliveries', 'Deliveries not finished, by state (queued, deferred, in_flight).', (p, g) => {
      for (const s of ['queued', 'deferred', 'in_flight']) g.set({ state: s }, p.deliveries.find((d) => d.state === s)?.count ?? 0);
    }, ['state']);
    probeGauge('sesame_queue_oldest_age_seconds', 'Age of the oldest delivery waiting for an attempt (queued or deferred); 0 when none waits.', (p, g) => {
      const oldest = Math.min(...p.deliveries.filter((d) => d.state !== 'in_flight' && d.oldestCreatedAt !== null).map((d) => d.oldestCreatedAt!));
      g.set(Number.isFinite(oldest) ? Math.max(0, (Date.now() - oldest) / 1000) : 0);
    });
    probeGauge('sesame_webhook_backlog', 'Webhook events waiting to be posted.', (p, g) => g.set(p.webhooks.count));
    probeGauge('sesame_webhook_oldest_age_seconds', 'Age of the oldest webhook event waiting to be posted; 0 when none waits.', (p, g) => {
      g.set(p.webhooks.oldestCreatedAt === null ? 0 : Math.max(0, (Date.now() - p.webhooks.oldestCreatedAt) / 1000));
    });
  }

  /** Adds Node's own process metrics (CPU, memory, event-loop lag, GC): once, for a serving process. */
  withProcessMetrics(): this {
    if (!this.processMetrics) {
      this.processMetrics = true;
      collectDefaultMetrics({ register: this.registry, prefix: 'sesame_' });
    }
    return this;
  }

  /** Sets how the store's gauges are read (the queue depth and ages, the webhook backlog). */
  setProbe(probe: () => Promise<QueueProbe>): void {
    this.probe = probe;
    this.probed = null;
  }

  apiRequest(action: string, code: string, seconds: number): void {
    this.apiRequests.inc({ action, code });
    this.apiSeconds.observe({ action }, seconds);
  }

  smtpSession(listener: SmtpListener): void {
    this.smtpSessions.inc({ listener });
  }

  smtpMessage(listener: SmtpListener, result: 'accepted' | 'refused'): void {
    this.smtpMessages.inc({ listener, result });
  }

  delivery(outcome: string, domain: string): void {
    this.deliveries.inc({ outcome });
    let byOutcome = this.domainCounts.get(domain);
    if (!byOutcome) {
      if (this.domainCounts.size >= TRACKED_DOMAINS) this.forgetLeastCounted();
      this.domainCounts.set(domain, byOutcome = new Map());
    }
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
  }

  commit(seconds: number): void {
    this.commitSeconds.observe(seconds);
  }

  renderBusy(seconds: number): void {
    this.renderSeconds.inc(seconds);
  }

  webhook(result: string): void {
    this.webhookResults.inc({ result });
  }

  /** The text exposition format, and its content type. */
  async exposition(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }

  private topDomains(): [string, Map<string, number>][] {
    return [...this.domainCounts].sort((a, b) => total(b[1]) - total(a[1])).slice(0, TOP_DOMAINS);
  }

  private forgetLeastCounted(): void {
    let least: string | null = null;
    let leastCount = Infinity;
    for (const [domain, byOutcome] of this.domainCounts) {
      const n = total(byOutcome);
      if (n < leastCount) { least = domain; leastCount = n; }
    }
    if (least !== null) this.domainCounts.delete(least);
  }

  /** The probe's answer, read afresh at most once per PROBE_MIN_MS; null when there is none or it failed. */
  private readProbe(): Promise<QueueProbe | null> {
    const probe = this.probe;
    if (!probe) return Promise.resolve(null);
    const now = Date.now();
    if (!this.probed || now - this.probed.at >= PROBE_MIN_MS) {
      this.probed = { at: now, value: probe().catch(() => null) };
    }
    return this.probed.value;
  }
}

function total(byOutcome: Map<string, number>): number {
  let n = 0;
  for (const v of byOutcome.values()) n += v;
  return n;
}
