/**
 * The delivery worker. It claims due deliveries from the queue (with a lease in its own name,
 * which it keeps renewing while it works: leases.ts), holds them in its slots (a capped number per
 * destination: slots.ts), takes each through the steps of an attempt (attempt.ts) and writes the
 * outcome (outcomes.ts). A crash loses nothing: an unrenewed lease expires and the delivery comes
 * due again. A worker whose lease was lost (a store outage longer than the lease) does not send
 * what it no longer holds, and cannot overwrite the outcome of the worker that took it over.
 */
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { BlocklistService } from '../services/blocklists.js';
import type { ClaimedDelivery, DeliveryQueue, Outcome } from '../store/queue.js';
import { Attempts, LeaseLost, type AttemptDeps, type AttemptPolicy } from './attempt.js';
import { LeaseKeeper } from './leases.js';
import { OutcomeWriter } from './outcomes.js';
import { Slots, type Flight } from './slots.js';

/** How the worker delivers. */
export interface EnginePolicy extends AttemptPolicy {
  /** Deliveries held at most. */
  concurrency: number;
  /**
   * Deliveries in flight to one destination (a recipient domain, or the relay) at most, so a slow
   * one cannot take every slot.
   */
  perDomain: number;
  /** A claim's lease; renewed while the delivery is in flight. */
  leaseMs: number;
}

/** What the worker works with. */
export interface EngineDeps extends Omit<AttemptDeps, 'policy'> {
  queue: DeliveryQueue;
  blocklists: BlocklistService;
  policy: EnginePolicy;
  log: Logger;
  /** Told each outcome and the recipient's domain (the metrics). */
  onOutcome?: (kind: Outcome['kind'], recipientDomain: string) => void;
}

const IDLE_POLL_MS = 1000;
/** After a claim that found nothing, the next waits at least this long (new mail arrives in bursts). */
const EMPTY_CLAIM_GAP_MS = 20;
/** A claim takes at most this many deliveries. */
const CLAIM_MAX = 200;
const PROGRESS_MS = 10_000;
/** A delivery whose attempt failed because the store did is due again this soon. */
const STORE_DOWN_RETRY_MS = 2_000;

/** Counters for the periodic progress line. */
type Tally = Record<Outcome['kind'], number>;

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
  private readonly slots: Slots;
  private readonly attempts: Attempts;
  private readonly outcomes: OutcomeWriter;
  private readonly leases: LeaseKeeper;
  private progressTimer: NodeJS.Timeout | null = null;
  private tally: Tally = { delivered: 0, deferred: 0, bounced: 0, dropped: 0 };

  constructor(private readonly d: EngineDeps) {
    const p = d.policy;
    this.slots = new Slots(
      { concurrency: p.concurrency, perDestination: p.perDomain, single: p.mode === 'relay' && p.relay !== undefined },
      (flight) => this.launch(flight),
      () => this.poke(),
    );
    this.attempts = new Attempts(d);
    this.outcomes = new OutcomeWriter({ queue: d.queue, blocklists: d.blocklists, owner: this.owner, log: d.log });
    this.leases = new LeaseKeeper({ queue: d.queue, owner: this.owner, leaseMs: p.leaseMs, held: this.slots.held, log: d.log });
  }

  /** Starts claiming. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.leases.start();
    this.progressTimer = setInterval(() => this.reportProgress(), PROGRESS_MS);
    this.progressTimer.unref();
    this.loopDone = this.loop();
  }

  /** New mail was accepted: look at the queue now rather than at the next poll. */
  wake(): void {
    this.poke();
  }

  /**
   * Stops claiming, waits up to `deadlineMs` for deliveries in flight, and gives the rest back to
   * the queue at once: those under way count as an attempt (they may have been sent: the next
   * worker may send them twice), those that never started do not.
   */
  async stop(deadlineMs: number): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.poke();
    await this.loopDone;
    const pending = [...this.slots.held.values()].map((f) => f.done);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(pending), new Promise((r) => { timer = setTimeout(r, deadlineMs); })]);
    clearTimeout(timer);
    await this.leases.stop();
    if (this.progressTimer) clearInterval(this.progressTimer);
    const left = [...this.slots.held.values()];
    this.abandoned = true;
    this.outcomes.close();
    const started = left.filter((f) => f.started).map((f) => f.c.id);
    const unstarted = left.filter((f) => !f.started).map((f) => f.c.id);
    if (started.length) {
      await this.d.queue.release(started, this.owner, Date.now());
      this.d.log.warn({ deliveries: started.length }, 'stopped with deliveries in flight: released to the queue (they may be sent twice)');
    }
    if (unstarted.length) await this.d.queue.release(unstarted, this.owner, Date.now(), true);
    // What was given back is no longer this worker's to finish: its connections go too.
    await this.d.pool.close(started.length > 0);
    await this.d.renderer.close();
    this.reportProgress();
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

  /** Claims while there are free slots and due deliveries for destinations with room. */
  private async loop(): Promise<void> {
    while (this.running) {
      const free = this.slots.free();
      const skip = this.slots.fullDestinations();
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
        claimed = await this.d.queue.claim(Date.now(), Math.min(free, CLAIM_MAX, this.d.policy.perDomain), this.d.policy.leaseMs, this.owner, skip);
      } catch (err) {
        this.d.log.error({ err }, 'claiming deliveries failed; retrying');
      }
      if (claimed.length === 0) {
        await this.pause(IDLE_POLL_MS, EMPTY_CLAIM_GAP_MS);
        continue;
      }
      if (!this.running) {
        // Stopped while the claim was under way: none of it started, so none of it is an attempt.
        await this.d.queue.release(claimed.map((c) => c.id), this.owner, Date.now(), true)
          .catch((err: unknown) => this.d.log.error({ err }, 'giving back a claim made while stopping failed; its lease will lapse'));
        break;
      }
      for (const c of claimed) this.slots.hold(c, this.destinationOf(c));
      this.d.log.debug({ claimed: claimed.length, inFlight: this.slots.held.size }, 'deliveries claimed');
    }
  }

  /** Where a delivery goes, for the per-destination cap: its domain, or the relay. */
  private destinationOf(c: ClaimedDelivery): string {
    const p = this.d.policy;
    return p.mode === 'relay' && p.relay ? `relay:${p.relay.hostname}` : c.recipient_domain;
  }

  private launch(flight: Flight): void {
    flight.done = this.deliver(flight).catch((err: unknown) => {
      // The outcome could not even be recorded (the store is failing): the lease brings it back.
      this.d.log.error({ err, delivery: flight.c.id }, 'recording a delivery failed; it will be retried when its lease ends');
    }).finally(() => this.slots.release(flight, !this.running));
  }

  /**
   * One delivery: its attempt, then its outcome. A failure of our own (rendering, say) counts as a
   * failed attempt: it is retried on the schedule and dropped at the maximum age like any other.
   */
  private async deliver(flight: Flight): Promise<void> {
    const c = flight.c;
    let outcome: Outcome;
    try {
      outcome = await this.attempts.run(c, () => flight.lost);
    } catch (err) {
      if (err instanceof LeaseLost) {
        this.d.log.warn({ delivery: c.id }, 'lease lost before sending (store unreachable for longer than the lease): left to whoever holds it now');
        return;
      }
      // The store failing (restarting, unreachable) is no fault of the message: it is tried again
      // as soon as the store answers (the outcome itself waits for it), not after the schedule's
      // first delay. Any other failure of ours waits as a remote deferral does.
      const storeDown = !(await this.d.queue.reachable());
      this.d.log.error({ err, delivery: c.id, storeDown }, 'delivery attempt failed inside Sesame');
      const reply = `451 4.3.0 Internal error: ${(err as Error).message}`;
      outcome = storeDown ? { kind: 'deferred', reply, retryAt: Date.now() + STORE_DOWN_RETRY_MS } : this.attempts.deferral(c, reply);
    }
    // Done with the remote: the next delivery waiting for this destination may start.
    this.slots.leave(flight, !this.running);
    if (this.abandoned) return;
    // The lease is no longer renewed: the outcome sets the next attempt.
    flight.settled = true;
    await this.outcomes.write(c, outcome);
    this.tally[outcome.kind]++;
    this.d.onOutcome?.(outcome.kind, c.recipient_domain);
    if (outcome.kind !== 'delivered') {
      this.d.log.info({ delivery: c.id, recipient: c.recipient, outcome: outcome.kind, reply: outcome.reply }, `delivery ${outcome.kind}`);
    }
  }

  private reportProgress(): void {
    const t = this.tally;
    if (t.delivered + t.deferred + t.bounced + t.dropped === 0) return;
    const m = process.memoryUsage();
    const mb = (n: number): number => Math.round(n / 1048576);
    this.d.log.info({ ...t, inFlight: this.slots.held.size, rssMb: mb(m.rss), heapMb: mb(m.heapUsed), externalMb: mb(m.external) }, 'delivery progress (last 10 s)');
    this.tally = { delivered: 0, deferred: 0, bounced: 0, dropped: 0 };
  }
}
