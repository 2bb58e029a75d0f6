/**
 * The delivery worker. It claims due deliveries from the queue (with a lease in its own name, which
 * it keeps renewing while it works), and takes each through named steps: load what was accepted,
 * check it may still go, find the route, render and sign, send over a reused connection, record the
 * outcome. A crash loses nothing: an unrenewed lease expires and the delivery comes due again. A
 * worker whose lease was lost (a store outage longer than the lease) does not send what it no
 * longer holds, and cannot overwrite the outcome of the worker that took it over.
 */
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { condemnsRecipient } from '../domain/bounce.js';
import { retryDelayMs } from '../domain/retry.js';
import { ByteBudget } from '../lib/byte-budget.js';
import type { TokenSigner } from '../lib/tokens.js';
import { TtlCache } from '../lib/ttl-cache.js';
import type { MessageContent } from '../mail/content.js';
import { personalise } from '../mail/personalise.js';
import type { RenderKey, UnsubscribeLinks } from '../mail/render.js';
import type { Renderer } from '../mail/render-pool.js';
import type { BlocklistService } from '../services/blocklists.js';
import type { IdentityService } from '../services/identities.js';
import type { DomainStore } from '../store/domains.js';
import { SendStatus, type ClaimedDelivery, type MessageStore, type Outcome } from '../store/messages.js';
import type { Route, RouteHost, Router } from './route.js';
import type { SmtpPool } from './smtp-pool.js';

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
  /**
   * Deliveries in flight to one destination (a recipient domain, or the relay) at most, so a slow
   * one cannot take every slot.
   */
  perDomain: number;
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
  unsubscribeAddressTokens: TokenSigner;
  bounceTokens: TokenSigner;
  policy: EnginePolicy;
  log: Logger;
}

/** A sending domain's keys, opened once and kept briefly. */
interface DomainKeys { verified: boolean; keys: RenderKey[] }

const IDLE_POLL_MS = 1000;
/** After a claim that found nothing, the next waits at least this long (new mail arrives in bursts). */
const EMPTY_CLAIM_GAP_MS = 20;
/** Outcomes arriving within this window are written in one transaction. */
const OUTCOME_BATCH_MS = 5;
const CACHE_MS = 30_000;
/** Message contents kept for the next recipients of the same message, in bytes at most. */
const CONTENT_CACHE_BYTES = 64 * 1024 * 1024;
/** Bytes of message content being rendered and sent at once, at most (a large one waits its turn). */
const IN_FLIGHT_BYTES = 256 * 1024 * 1024;

/** A message's content, the domain it was accepted from, and its size. */
type Loaded = MessageContent & { domainId: number; bytes: number };

/** Counters for the periodic progress line. */
interface Tally { delivered: number; deferred: number; bounced: number; dropped: number }

/** A delivery this worker holds (working on it, or waiting for room at its destination). */
interface Flight {
  destination: string;
  dest: Destination;
  /** Its turn at the destination is over (its outcome is known, or it was abandoned). */
  left: boolean;
  done: Promise<void>;
  /** Its lease could not be renewed: another worker may have it now. */
  lost: boolean;
  /** Its outcome is waiting to be written: no more renewals. */
  settled: boolean;
}

/**
 * What this worker holds for one destination, until each outcome is known (a delivery whose
 * outcome is only waiting to be committed no longer counts: it is done with the remote).
 */
interface Destination {
  /** Being worked on (at most the per-destination cap). */
  active: number;
  /** Claimed, waiting for room. */
  waiting: { c: ClaimedDelivery; flight: Flight }[];
}

/** Thrown to stop working on a delivery whose lease was lost. */
class LeaseLost extends Error {}

/** Claims and delivers until stopped. */
export class DeliveryEngine {
  /** This worker's token in `lease_owner`. */
  private readonly owner = randomInt(1, 2 ** 47);
  private running = false;
  /** Past the shutdown deadline: what is still in flight was released, its outcomes are not written. */
  private abandoned = false;
  private loopDone: Promise<void> | null = null;
  /** Something changed (mail accepted, a slot or a destination freed) since the loop last looked. */
  private poked = false;
  private resume: (() => void) | null = null;
  private readonly inFlight = new Map<number, Flight>();
  private readonly destinations = new Map<string, Destination>();
  private readonly contents = new TtlCache<number, Loaded>({ ttlMs: CACHE_MS, maxEntries: 2000, maxWeight: CONTENT_CACHE_BYTES });
  private readonly domainKeys = new TtlCache<number, DomainKeys>({ ttlMs: CACHE_MS, maxEntries: 10_000 });
  /** Signed messages that are the same for every recipient (no unsubscribe link), by message. */
  private readonly rendered = new TtlCache<number, Buffer>({ ttlMs: CACHE_MS, maxEntries: 2000, maxWeight: CONTENT_CACHE_BYTES });
  private readonly bytes = new ByteBudget(IN_FLIGHT_BYTES);
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
    this.poke();
  }

  /** Makes the loop look again now; a poke while it is busy is kept for when it would pause. */
  private poke(): void {
    this.poked = true;
    this.resume?.();
  }

  /**
   * Pauses the loop until poked, or `ms` passes; returns at once if poked meanwhile, but not before
   * `minMs` (so a stream of pokes cannot turn into a stream of claims that find nothing).
   */
  private async pause(ms: number, minMs = 0): Promise<void> {
    if (minMs > 0 && this.running) await new Promise((r) => setTimeout(r, minMs));
    if (this.poked) { this.poked = false; return; }
    await new Promise<void>((r) => {
      const t = Number.isFinite(ms) ? setTimeout(r, ms) : null;
      this.resume = () => { if (t) clearTimeout(t); r(); };
    });
    this.resume = null;
    this.poked = false;
  }

  /**
   * Stops claiming, waits up to `deadlineMs` for deliveries in flight, and gives the rest back to
   * the queue at once (they are retried by the next worker, possibly after this one sent them).
   */
  async stop(deadlineMs: number): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.poke();
    await this.loopDone;
    const pending = [...this.inFlight.values()].map((f) => f.done);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(pending), new Promise((r) => { timer = setTimeout(r, deadlineMs); })]);
    clearTimeout(timer);
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.progressTimer) clearInterval(this.progressTimer);
    const left = [...this.inFlight.keys()];
    this.abandoned = true;
    if (left.length) {
      await this.d.messages.release(left, this.owner, Date.now());
      this.d.log.warn({ deliveries: left.length }, 'stopped with deliveries in flight: released to the queue (they may be sent twice)');
    }
    await this.d.pool.close();
    await this.d.renderer.close();
    this.reportProgress();
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const free = this.d.policy.concurrency - this.inFlight.size;
      const skip = this.fullDestinations();
      // No room at all, or (through a relay) the one destination is full: wait for a delivery to end.
      if (free <= 0 || skip === null) {
        await this.pause(Infinity);
        continue;
      }
      let claimed: ClaimedDelivery[] = [];
      // Pokes from here on are news the claim may not have seen.
      this.poked = false;
      try {
        // A claim takes at most one destination's worth, so what a destination has no room for
        // (held here, waiting) stays small whatever the queue holds.
        claimed = await this.d.messages.claim(Date.now(), Math.min(free, 200, this.d.policy.perDomain), this.d.policy.leaseMs, this.owner, skip);
      } catch (err) {
        this.d.log.error({ err }, 'claiming deliveries failed; retrying');
      }
      if (claimed.length === 0) {
        await this.pause(IDLE_POLL_MS, EMPTY_CLAIM_GAP_MS);
        continue;
      }
      for (const c of claimed) this.hold(c);
    }
  }

  /** Where a delivery goes, for the per-destination cap: its domain, or the relay. */
  private destinationOf(c: ClaimedDelivery): string {
    const p = this.d.policy;
    return p.mode === 'relay' && p.relay ? `relay:${p.relay.hostname}` : c.recipient_domain;
  }

  /**
   * Recipient domains this worker holds its cap of: the next claim skips them. Null when everything
   * goes to one destination (a relay) and that one is full.
   */
  private fullDestinations(): string[] | null {
    const cap = this.d.policy.perDomain;
    const full = [...this.destinations].filter(([, d]) => d.active + d.waiting.length >= cap).map(([name]) => name);
    if (this.d.policy.mode === 'relay') return full.length ? null : [];
    return full;
  }

  /** Takes a claimed delivery in: started when its destination has room, else waiting (leased) for it. */
  private hold(c: ClaimedDelivery): void {
    // Ours already (its lease lapsed while we worked on it, and we claimed it again): one is enough.
    if (this.inFlight.has(c.id)) return;
    const name = this.destinationOf(c);
    let dest = this.destinations.get(name);
    if (!dest) {
      dest = { active: 0, waiting: [] };
      this.destinations.set(name, dest);
    }
    const flight: Flight = { destination: name, dest, left: false, done: Promise.resolve(), lost: false, settled: false };
    this.inFlight.set(c.id, flight);
    if (dest.active < this.d.policy.perDomain) this.launch(c, flight);
    else dest.waiting.push({ c, flight });
  }

  private launch(c: ClaimedDelivery, flight: Flight): void {
    flight.dest.active++;
    flight.done = this.deliver(c, flight).catch((err: unknown) => {
      // The outcome could not even be recorded (the store is failing): the lease brings it back.
      this.d.log.error({ err, delivery: c.id }, 'recording a delivery failed; it will be retried when its lease ends');
    }).finally(() => {
      this.leave(flight);
      const wasFull = this.inFlight.size >= this.d.policy.concurrency;
      this.inFlight.delete(c.id);
      if (wasFull) this.poke();
    });
  }

  /** A delivery is done with its destination: the next one waiting there starts. */
  private leave(flight: Flight): void {
    if (flight.left) return;
    flight.left = true;
    const dest = flight.dest;
    const wasFull = dest.active + dest.waiting.length >= this.d.policy.perDomain;
    dest.active--;
    // Stopping: what waits stays unstarted, and is given back to the queue.
    const next = this.running ? dest.waiting.shift() : undefined;
    if (next) this.launch(next.c, next.flight);
    else if (dest.active === 0) this.destinations.delete(flight.destination);
    // A destination with room again may have deliveries due that the last claim skipped.
    if (wasFull) this.poke();
  }

  /**
   * The steps of one delivery. A failure of our own (rendering, say) counts as a failed attempt:
   * it is retried on the schedule and dropped at the maximum age like any other.
   */
  private async deliver(c: ClaimedDelivery, flight: Flight): Promise<void> {
    let outcome: Outcome;
    try {
      outcome = await this.attempt(c, flight);
    } catch (err) {
      if (err instanceof LeaseLost) {
        this.d.log.warn({ delivery: c.id }, 'lease lost before sending (store unreachable for longer than the lease): left to whoever holds it now');
        return;
      }
      this.d.log.error({ err, delivery: c.id }, 'delivery attempt failed inside Sesame');
      outcome = this.deferral(c, `451 4.3.0 Internal error: ${(err as Error).message}`);
    }
    this.leave(flight);
    return this.record(c, flight, outcome);
  }

  private async attempt(c: ClaimedDelivery, flight: Flight): Promise<Outcome> {
    if (Date.now() - c.created_at > this.d.policy.maxAgeMs) {
      return { kind: 'dropped', reply: `Gave up after ${c.attempts - 1} attempts: in the queue longer than the maximum age`, at: Date.now() };
    }
    const content = await this.loadContent(c);
    const refusal = await this.checkStillAllowed(c, content);
    if (refusal) return refusal;
    if (this.d.policy.mode === 'capture') {
      return { kind: 'delivered', reply: '250 2.0.0 Captured (SESAME_DELIVERY=capture): not sent', at: Date.now() };
    }
    const hosts = await this.findHosts(c);
    if (!Array.isArray(hosts)) return hosts;
    // Large messages take their share of a memory budget while they are rendered and sent.
    const giveBack = await this.bytes.take(content.bytes);
    try {
      const message = await this.render(c, content);
      if (flight.lost) throw new LeaseLost();
      return await this.send(c, content, hosts, message);
    } finally {
      giveBack();
    }
  }

  /** The message's content, read and parsed once for all its deliveries in flight. */
  private loadContent(c: ClaimedDelivery): Promise<Loaded> {
    return this.contents.load(c.message_row, async () => {
      const row = await this.d.messages.content(c.message_row);
      if (!row) throw new Error(`message ${c.message_row} of delivery ${c.id} is missing`);
      return { ...(JSON.parse(row.content) as MessageContent), domainId: row.domain_id, bytes: Buffer.byteLength(row.content) };
    }, (content) => ({ weight: content.bytes }));
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

  private keysOf(domainId: number): Promise<DomainKeys> {
    return this.domainKeys.load(domainId, async () => {
      const row = await this.d.domains.byId(domainId);
      return row ? { verified: row.verified === 1, keys: this.d.identities.signingKeys(row) } : { verified: false, keys: [] };
    });
  }

  /** The addresses to try, or the outcome when there are none. */
  private async findHosts(c: ClaimedDelivery): Promise<RouteHost[] | Outcome> {
    const p = this.d.policy;
    const route: Route = p.mode === 'relay' && p.relay ? await this.d.router.host(p.relay.hostname) : await this.d.router.route(c.recipient_domain);
    if (route.kind === 'hosts') return route.hosts;
    if (route.kind === 'defer') return this.deferral(c, route.reply);
    return { kind: 'bounced', reply: route.reply, at: Date.now(), blocklist: condemnsRecipient('route', Number(route.reply.slice(0, 3)), route.reply) };
  }

  private async render(c: ClaimedDelivery, content: Loaded): Promise<Buffer> {
    const keys = (await this.keysOf(content.domainId)).keys;
    const whole = content.kind === 'batch' ? personalise(content, { id: c.id, recipient: c.recipient, templateData: c.template_data, queuedAt: c.created_at }) : content;
    if (content.unsubscribeLanguage === '0') {
      // Without an unsubscribe link nothing in the message depends on the recipient (the VERP
      // address is in the envelope only): it is composed and signed once for all of them. A batch
      // message is each recipient's own, and one with a single recipient is not worth keeping.
      if (content.kind === 'batch' || content.recipients === 1) return this.d.renderer.render({ content: whole, keys, links: null });
      return this.rendered.load(c.message_row, () => this.d.renderer.render({ content: whole, keys, links: null }), (m) => ({ weight: m.length }));
    }
    const token = this.d.unsubscribeTokens.sign(c.id);
    const links: UnsubscribeLinks = {
      url: new URL(`unsubscribe/${token}?l=${content.unsubscribeLanguage}`, withSlash(this.d.policy.publicUrl)).href,
      // Mail to this address reaches the inbound listener (the bounce domain's MX) and unsubscribes.
      mailto: `mailto:unsubscribe-${this.d.unsubscribeAddressTokens.sign(c.id)}@${content.bounceDomain}?subject=unsubscribe`,
    };
    return this.d.renderer.render({ content: whole, keys, links });
  }

  /** Tries each address in turn while the failure is the connection's; the first real answer decides. */
  private async send(c: ClaimedDelivery, content: MessageContent, hosts: RouteHost[], message: Buffer): Promise<Outcome> {
    const envelope = { from: `b-${this.d.bounceTokens.sign(c.id)}@${content.bounceDomain}`, to: [c.recipient] };
    const port = this.d.policy.mode === 'relay' && this.d.policy.relay ? this.d.policy.relay.port : this.d.policy.port;
    let last = '';
    for (const host of hosts) {
      const r = await this.d.pool.send({ address: host.address, port, hostname: host.hostname }, envelope, message);
      const now = Date.now();
      if (r.kind === 'sent') return { kind: 'delivered', reply: r.response, at: now };
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
      return r.permanent
        ? { kind: 'bounced', reply: r.response, at: now, blocklist: condemnsRecipient(r.stage, r.code, r.response) }
        : this.deferral(c, r.response);
    }
    return this.deferral(c, last || 'no mail host could be reached');
  }

  /** Deferred until the next attempt on the schedule, or dropped when past the maximum age. */
  private deferral(c: ClaimedDelivery, reply: string): Outcome {
    const now = Date.now();
    const retryAt = now + retryDelayMs(c.attempts, this.d.policy.retryMinutes);
    if (retryAt - c.created_at > this.d.policy.maxAgeMs) {
      return { kind: 'dropped', reply: `Gave up after ${c.attempts} attempts: ${reply}`, at: now };
    }
    return { kind: 'deferred', reply, retryAt };
  }

  /**
   * Records an outcome. Outcomes are written together, a few milliseconds' worth per transaction:
   * under load that saves a commit per delivery. The delivery stays leased (in flight) until its
   * outcome is committed, but its lease is no longer renewed (the outcome sets the next attempt).
   */
  private async record(c: ClaimedDelivery, flight: Flight, outcome: Outcome): Promise<void> {
    if (this.abandoned) return;
    flight.settled = true;
    await new Promise<void>((resolve, reject) => {
      this.outcomes.push({ c, outcome, resolve, reject });
      this.outcomeTimer ??= setTimeout(() => { void this.writeOutcomes(); }, OUTCOME_BATCH_MS);
    });
    this.tally[outcome.kind]++;
    if (outcome.kind !== 'delivered') {
      this.d.log.info({ delivery: c.id, recipient: c.recipient, outcome: outcome.kind, reply: outcome.reply }, `delivery ${outcome.kind}`);
    }
  }

  /** Writes the waiting outcomes in one transaction; if that fails, one by one, so one bad row cannot sink the others. */
  private async writeOutcomes(): Promise<void> {
    this.outcomeTimer = null;
    const batch = this.outcomes.splice(0);
    if (batch.length === 0) return;
    try {
      await this.writeBatch(batch);
      for (const b of batch) b.resolve();
      return;
    } catch (err) {
      if (batch.length === 1) { batch[0].reject(err as Error); return; }
      this.d.log.warn({ err, outcomes: batch.length }, 'writing a batch of outcomes failed; writing them one by one');
    }
    for (const b of batch) {
      try {
        await this.writeBatch([b]);
        b.resolve();
      } catch (err) {
        b.reject(err as Error);
      }
    }
  }

  private async writeBatch(batch: typeof this.outcomes): Promise<void> {
    const byId = new Map(batch.map((b) => [b.c.id, b]));
    const notHeld = await this.d.messages.recordOutcomes(batch.map((b) => ({ id: b.c.id, outcome: b.outcome })), this.owner, async (q, recorded) => {
      for (const id of recorded) {
        const b = byId.get(id)!;
        if (b.outcome.kind === 'bounced' && b.outcome.blocklist) {
          await this.d.blocklists.recordHardBounce(b.c.account_id, b.c.recipient, b.outcome.reply, Date.now(), q);
        }
      }
    });
    if (notHeld.length) {
      this.d.log.warn({ deliveries: notHeld }, 'outcomes not recorded: the lease had passed to another worker, whose outcome counts');
    }
  }

  /** Renews the leases of deliveries still being worked on; one not renewed is lost to this worker. */
  private async renewLeases(): Promise<void> {
    const ids = [...this.inFlight].filter(([, f]) => !f.settled && !f.lost).map(([id]) => id);
    if (ids.length === 0) return;
    try {
      const held = await this.d.messages.renewLeases(ids, this.owner, Date.now() + this.d.policy.leaseMs);
      for (const id of ids) {
        const f = this.inFlight.get(id);
        if (f && !f.settled && !held.has(id)) f.lost = true;
      }
    } catch (err) {
      this.d.log.error({ err }, 'renewing delivery leases failed');
    }
  }

  private reportProgress(): void {
    const t = this.tally;
    if (t.delivered + t.deferred + t.bounced + t.dropped === 0) return;
    const m = process.memoryUsage();
    const mb = (n: number): number => Math.round(n / 1048576);
    this.d.log.info({ ...t, inFlight: this.inFlight.size, rssMb: mb(m.rss), heapMb: mb(m.heapUsed), externalMb: mb(m.external) }, 'delivery progress (last 10 s)');
    this.tally = { delivered: 0, deferred: 0, bounced: 0, dropped: 0 };
  }
}

const withSlash = (u: URL): URL => new URL(u.href.endsWith('/') ? u.href : `${u.href}/`);
