/**
 * The delivery worker. It claims due deliveries from the queue (with a lease it keeps renewing
 * while it works), and takes each through named steps: load what was accepted, check it may still
 * go, find the route, render and sign, send over a reused connection, record the outcome. A crash
 * loses nothing: an unrenewed lease expires and the delivery comes due again.
 */
import type { Logger } from 'pino';
import { retryDelayMs } from '../domain/retry.js';
import type { TokenSigner } from '../lib/tokens.js';
import type { MessageContent } from '../mail/content.js';
import type { RenderKey, UnsubscribeLinks } from '../mail/render.js';
import type { Renderer } from '../mail/render-pool.js';
import type { BlocklistService } from '../services/blocklists.js';
import type { IdentityService } from '../services/identities.js';
import type { DomainStore } from '../store/domains.js';
import type { ClaimedDelivery, MessageStore, Outcome } from '../store/messages.js';
import type { RouteHost, Router } from './route.js';
import type { SmtpPool } from './smtp-pool.js';

/** SendStatus of a delivery refused after acceptance (FACTS §3.2). */
const SendStatus = { DomainNotVerified: 3014, Blocklisted: 3020, Unsubscribed: 1013 } as const;

/** How the worker delivers. */
export interface EnginePolicy {
  /** `mx`: the recipients' MX hosts; `relay`: one relay for everything; `capture`: record as delivered, send nothing. */
  mode: 'mx' | 'relay' | 'capture';
  /** The relay host (relay mode). */
  relay?: { hostname: string; port: number };
  /** Port of remote MX hosts. */
  port: number;
  /** Deliveries in flight at most. */
  concurrency: number;
  /** A claim's lease; renewed while the delivery is in flight. */
  leaseMs: number;
  /** Deferred deliveries older than this are dropped. */
  maxAgeMs: number;
  /** Minutes between attempts (the last repeats). */
  retryMinutes: readonly number[];
  /** Public base URL for unsubscribe links. */
  publicUrl: URL;
}

/** What the worker works with. */
export interface EngineDeps {
  messages: MessageStore;
  domains: DomainStore;
  identities: IdentityService;
  blocklists: BlocklistService;
  router: Router;
  pool: SmtpPool;
  renderer: Renderer;
  unsubscribeTokens: TokenSigner;
  bounceTokens: TokenSigner;
  policy: EnginePolicy;
  log: Logger;
}

/** A sending domain's keys, opened once and kept briefly. */
interface DomainKeys { verified: boolean; keys: RenderKey[]; until: number }

const IDLE_POLL_MS = 1000;
/** Outcomes arriving within this window are written in one transaction. */
const OUTCOME_BATCH_MS = 5;
const CACHE_MS = 30_000;

/** A message's content and the domain it was accepted from. */
type Loaded = MessageContent & { domainId: number };

/** Counters for the periodic progress line. */
interface Tally { delivered: number; deferred: number; bounced: number; dropped: number }

/** Claims and delivers until stopped. */
export class DeliveryEngine {
  private running = false;
  private loopDone: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private readonly inFlight = new Map<number, Promise<void>>();
  private slotFreed: (() => void) | null = null;
  private readonly contents = new Map<number, { content: Loaded; until: number }>();
  private readonly domainKeys = new Map<number, DomainKeys>();
  private renewTimer: NodeJS.Timeout | null = null;
  private progressTimer: NodeJS.Timeout | null = null;
  private tally: Tally = { delivered: 0, deferred: 0, bounced: 0, dropped: 0 };
  private outcomes: { c: ClaimedDelivery; outcome: Outcome; resolve: () => void; reject: (e: Error) => void }[] = [];
  private outcomeTimer: NodeJS.Timeout | null = null;

  constructor(private readonly d: EngineDeps) {}

  /** Starts claiming. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.renewTimer = setInterval(() => { void this.renewLeases(); }, Math.max(1000, this.d.policy.leaseMs / 3));
    this.progressTimer = setInterval(() => this.reportProgress(), 10_000);
    this.progressTimer.unref();
    this.loopDone = this.loop();
  }

  /** New mail was accepted: look at the queue now rather than at the next poll. */
  wake(): void {
    this.wakeUp?.();
  }

  /**
   * Stops claiming, waits up to `deadlineMs` for deliveries in flight, and gives the rest back to
   * the queue at once (they are retried by the next worker, possibly after this one sent them).
   */
  async stop(deadlineMs: number): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    this.slotFreed?.();
    await this.loopDone;
    const pending = [...this.inFlight.values()];
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(pending), new Promise((r) => { timer = setTimeout(r, deadlineMs); })]);
    clearTimeout(timer);
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.progressTimer) clearInterval(this.progressTimer);
    const left = [...this.inFlight.keys()];
    if (left.length) {
      await this.d.messages.release(left, Date.now());
      this.d.log.warn({ deliveries: left.length }, 'stopped with deliveries in flight: released to the queue (they may be sent twice)');
    }
    await this.d.pool.close();
    await this.d.renderer.close();
    this.reportProgress();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const free = this.d.policy.concurrency - this.inFlight.size;
      if (free <= 0) {
        await new Promise<void>((r) => { this.slotFreed = r; });
        this.slotFreed = null;
        continue;
      }
      let claimed: ClaimedDelivery[] = [];
      try {
        claimed = await this.d.messages.claim(Date.now(), Math.min(free, 200), this.d.policy.leaseMs);
      } catch (err) {
        this.d.log.error({ err }, 'claiming deliveries failed; retrying');
      }
      if (claimed.length === 0) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, IDLE_POLL_MS);
          this.wakeUp = () => { clearTimeout(t); r(); };
        });
        this.wakeUp = null;
        continue;
      }
      for (const c of claimed) {
        const p = this.deliver(c).catch((err: unknown) => {
          // The outcome could not even be recorded (the store is failing): the lease brings it back.
          this.d.log.error({ err, delivery: c.id }, 'recording a delivery failed; it will be retried when its lease ends');
        }).finally(() => {
          this.inFlight.delete(c.id);
          this.slotFreed?.();
        });
        this.inFlight.set(c.id, p);
      }
    }
  }

  /**
   * The steps of one delivery. A failure of our own (rendering, say) counts as a failed attempt:
   * it is retried on the schedule and dropped at the maximum age like any other.
   */
  private async deliver(c: ClaimedDelivery): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = await this.attempt(c);
    } catch (err) {
      this.d.log.error({ err, delivery: c.id }, 'delivery attempt failed inside Sesame');
      outcome = this.deferral(c, `451 4.3.0 Internal error: ${(err as Error).message}`);
    }
    return this.record(c, outcome);
  }

  private async attempt(c: ClaimedDelivery): Promise<Outcome> {
    const content = await this.loadContent(c);
    const refusal = await this.checkStillAllowed(c, content);
    if (refusal) return refusal;
    if (this.d.policy.mode === 'capture') {
      return { kind: 'delivered', reply: '250 2.0.0 Captured (SESAME_DELIVERY=capture): not sent', at: Date.now() };
    }
    const hosts = await this.findHosts(c);
    if (!Array.isArray(hosts)) return hosts;
    const message = await this.render(c, content);
    return this.send(c, content, hosts, message);
  }

  private async loadContent(c: ClaimedDelivery): Promise<Loaded> {
    const now = Date.now();
    const hit = this.contents.get(c.message_row);
    if (hit && hit.until > now) return hit.content;
    const row = await this.d.messages.content(c.message_row);
    if (!row) throw new Error(`message ${c.message_row} of delivery ${c.id} is missing`);
    const content: Loaded = { ...(JSON.parse(row.content) as MessageContent), domainId: row.domain_id };
    if (this.contents.size > 2000) this.contents.clear();
    this.contents.set(c.message_row, { content, until: now + CACHE_MS });
    return content;
  }

  /** The domain must still verify; the recipient must not have been blocklisted or unsubscribed since acceptance. */
  private async checkStillAllowed(c: ClaimedDelivery, content: Loaded): Promise<Outcome | null> {
    const now = Date.now();
    const keys = await this.keysOf(content.domainId);
    if (!keys.verified) {
      return { kind: 'dropped', reply: `${content.domain} no longer verifies (DKIM/SPF records); the mail was not sent`, at: now, sendStatus: SendStatus.DomainNotVerified };
    }
    if ((await this.d.blocklists.blocked(c.account_id, [c.recipient], now)).size) {
      return { kind: 'dropped', reply: `${c.recipient} was blocklisted after the mail was accepted`, at: now, sendStatus: SendStatus.Blocklisted };
    }
    if ((await this.d.messages.unsubscribed(c.account_id, content.domain, [c.recipient])).size) {
      return { kind: 'dropped', reply: `${c.recipient} unsubscribed from ${content.domain} after the mail was accepted`, at: now, sendStatus: SendStatus.Unsubscribed };
    }
    return null;
  }

  private async keysOf(domainId: number): Promise<DomainKeys> {
    const now = Date.now();
    const hit = this.domainKeys.get(domainId);
    if (hit && hit.until > now) return hit;
    const row = await this.d.domains.byId(domainId);
    const entry: DomainKeys = row
      ? { verified: row.verified === 1, keys: this.d.identities.signingKeys(row), until: now + CACHE_MS }
      : { verified: false, keys: [], until: now + CACHE_MS };
    this.domainKeys.set(domainId, entry);
    return entry;
  }

  /** The addresses to try, or the outcome when there are none. */
  private async findHosts(c: ClaimedDelivery): Promise<RouteHost[] | Outcome> {
    const p = this.d.policy;
    if (p.mode === 'relay' && p.relay) {
      const relay = await this.d.router.route(p.relay.hostname);
      if (relay.kind === 'hosts') return relay.hosts;
      // A relay named by IP address, or one DNS cannot resolve: connect to the name as given.
      return [{ hostname: p.relay.hostname, address: p.relay.hostname }];
    }
    const route = await this.d.router.route(c.recipient_domain);
    if (route.kind === 'hosts') return route.hosts;
    return route.kind === 'bounce' ? { kind: 'bounced', reply: route.reply, at: Date.now() } : this.deferral(c, route.reply);
  }

  private async render(c: ClaimedDelivery, content: Loaded): Promise<Buffer> {
    const keys = (await this.keysOf(content.domainId)).keys;
    let links: UnsubscribeLinks | null = null;
    if (content.unsubscribeLanguage !== '0') {
      const token = this.d.unsubscribeTokens.sign(c.id);
      links = {
        url: new URL(`unsubscribe/${token}?l=${content.unsubscribeLanguage}`, withSlash(this.d.policy.publicUrl)).href,
        mailto: `mailto:unsubscribe-${token}@${content.bounceDomain}?subject=unsubscribe`,
      };
    }
    return this.d.renderer.render({ content, keys, links });
  }

  /** Tries each address in turn while the failure is the connection's; the first real answer decides. */
  private async send(c: ClaimedDelivery, content: MessageContent, hosts: RouteHost[], message: Buffer): Promise<Outcome> {
    const envelope = { from: `b-${this.d.bounceTokens.sign(c.id)}@${content.bounceDomain}`, to: [c.recipient] };
    const port = this.d.policy.mode === 'relay' && this.d.policy.relay ? this.d.policy.relay.port : this.d.policy.port;
    let last = '';
    for (const host of hosts) {
      const r = await this.d.pool.send({ address: host.address, port, hostname: host.hostname }, envelope, message);
      const now = Date.now();
      if (r.kind === 'sent') {
        const rejected = r.rejected.find((x) => x.recipient === c.recipient);
        if (!rejected) return { kind: 'delivered', reply: r.response, at: now };
        return rejected.code >= 500 ? { kind: 'bounced', reply: rejected.response, at: now } : this.deferral(c, rejected.response);
      }
      // No transaction happened (refused, unreachable, cut before the data): the next host may do better.
      if (r.connection && !r.afterData) {
        last = `${host.hostname} [${host.address}]: ${r.response}`;
        continue;
      }
      if (r.code === null) {
        this.d.log.warn({ delivery: c.id, host: host.hostname, reply: r.response },
          'connection lost after the message was sent, before the reply: retrying, so it may arrive twice');
        return this.deferral(c, r.response);
      }
      // The remote answered: its reply decides.
      return r.permanent ? { kind: 'bounced', reply: r.response, at: now } : this.deferral(c, r.response);
    }
    return this.deferral(c, last || 'no mail host could be reached');
  }

  /** Deferred until the next attempt on the schedule, or dropped when past the maximum age. */
  private deferral(c: ClaimedDelivery, reply: string): Outcome {
    const now = Date.now();
    const retryAt = now + retryDelayMs(c.attempts, this.d.policy.retryMinutes);
    if (retryAt - c.created_at > this.d.policy.maxAgeMs) {
      return { kind: 'dropped', reply: `Gave up after ${c.attempts} attempts: ${reply}`.slice(0, 1000), at: now };
    }
    return { kind: 'deferred', reply: reply.slice(0, 1000), retryAt };
  }

  /**
   * Records an outcome. Outcomes are written together, a few milliseconds' worth per transaction:
   * under load that saves a commit per delivery. The delivery stays leased (in flight) until its
   * outcome is committed.
   */
  private async record(c: ClaimedDelivery, outcome: Outcome): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.outcomes.push({ c, outcome, resolve, reject });
      this.outcomeTimer ??= setTimeout(() => { void this.writeOutcomes(); }, OUTCOME_BATCH_MS);
    });
    this.tally[outcome.kind]++;
    if (outcome.kind !== 'delivered') {
      this.d.log.info({ delivery: c.id, recipient: c.recipient, outcome: outcome.kind, reply: outcome.reply }, `delivery ${outcome.kind}`);
    }
  }

  private async writeOutcomes(): Promise<void> {
    this.outcomeTimer = null;
    const batch = this.outcomes.splice(0);
    if (batch.length === 0) return;
    const bounces = batch.filter((b) => b.outcome.kind === 'bounced');
    try {
      await this.d.messages.recordOutcomes(batch.map((b) => ({ id: b.c.id, outcome: b.outcome })), bounces.length
        ? async (q) => {
          for (const b of bounces) await this.d.blocklists.recordHardBounceIn(q, b.c.account_id, b.c.recipient, b.outcome.reply, Date.now());
        }
        : undefined);
      for (const b of batch) b.resolve();
    } catch (err) {
      for (const b of batch) b.reject(err as Error);
    }
  }

  private async renewLeases(): Promise<void> {
    if (this.inFlight.size === 0) return;
    try {
      await this.d.messages.renewLeases([...this.inFlight.keys()], Date.now() + this.d.policy.leaseMs);
    } catch (err) {
      this.d.log.error({ err }, 'renewing delivery leases failed');
    }
  }

  private reportProgress(): void {
    const t = this.tally;
    if (t.delivered + t.deferred + t.bounced + t.dropped === 0) return;
    this.d.log.info({ ...t, inFlight: this.inFlight.size }, 'delivery progress (last 10 s)');
    this.tally = { delivered: 0, deferred: 0, bounced: 0, dropped: 0 };
  }
}

const withSlash = (u: URL): URL => new URL(u.href.endsWith('/') ? u.href : `${u.href}/`);
