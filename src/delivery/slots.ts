/**
 * The worker's delivery slots: at most `concurrency` deliveries held at once, and at most
 * `perDestination` of them working on one destination (a recipient domain, or the relay), so one
 * slow or stalled destination cannot take every slot (as Postfix's per-destination concurrency
 * limit). A claimed delivery whose destination is full waits here, leased, until one there ends.
 */
import type { ClaimedDelivery } from '../store/queue.js';

/** A delivery this worker holds (working on it, or waiting for room at its destination). */
export interface Flight {
  readonly c: ClaimedDelivery;
  readonly destination: string;
  /** Its attempt has begun (a claim that never started is not an attempt). */
  started: boolean;
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
  waiting: Flight[];
}

/** How many deliveries are held, in all and per destination. */
export interface SlotLimits {
  concurrency: number;
  perDestination: number;
  /** Everything goes to one destination (a relay). */
  single: boolean;
}

/** The held deliveries and their destinations. */
export class Slots {
  readonly held = new Map<number, Flight>();
  private readonly destinations = new Map<string, Destination>();

  /**
   * `start` begins a delivery's attempt; `roomMade` says a slot or a destination came free (the
   * claim loop may look again).
   */
  constructor(private readonly limits: SlotLimits, private readonly start: (f: Flight) => void, private readonly roomMade: () => void) {}

  /** Slots free for new claims. */
  free(): number {
    return this.limits.concurrency - this.held.size;
  }

  /**
   * Destinations at their cap, which the next claim passes over. Null when everything goes to
   * one destination and that one is full: nothing may be claimed.
   */
  fullDestinations(): string[] | null {
    const cap = this.limits.perDestination;
    const full = [...this.destinations].filter(([, d]) => d.active + d.waiting.length >= cap).map(([name]) => name);
    if (this.limits.single) return full.length ? null : [];
    return full;
  }

  /** Takes a claimed delivery in: started when its destination has room, else waiting (leased) for it. */
  hold(c: ClaimedDelivery, destination: string): void {
    // Ours already (its lease lapsed while we worked on it, and we claimed it again): one is enough.
    if (this.held.has(c.id)) return;
    let dest = this.destinations.get(destination);
    if (!dest) {
      dest = { active: 0, waiting: [] };
      this.destinations.set(destination, dest);
    }
    const flight: Flight = { c, destination, started: false, left: false, done: Promise.resolve(), lost: false, settled: false };
    this.held.set(c.id, flight);
    if (dest.active < this.limits.perDestination) this.launch(flight, dest);
    else dest.waiting.push(flight);
  }

  /**
   * A delivery is done with its destination: the next one waiting there starts (unless `stopping`:
   * what waits then stays unstarted, to be given back to the queue).
   */
  leave(flight: Flight, stopping: boolean): void {
    if (flight.left) return;
    flight.left = true;
    const dest = this.destinations.get(flight.destination);
    if (!dest) return;
    const wasFull = dest.active + dest.waiting.length >= this.limits.perDestination;
    dest.active--;
    const next = stopping ? undefined : dest.waiting.shift();
    if (next) this.launch(next, dest);
    else if (dest.active === 0 && dest.waiting.length === 0) this.destinations.delete(flight.destination);
    // A destination with room again may have deliveries due that the last claim skipped.
    if (wasFull) this.roomMade();
  }

  /** A delivery is over (its outcome written, or given up): its slot is free. */
  release(flight: Flight, stopping: boolean): void {
    this.leave(flight, stopping);
    const wasFull = this.held.size >= this.limits.concurrency;
    this.held.delete(flight.c.id);
    if (wasFull) this.roomMade();
  }

  private launch(flight: Flight, dest: Destination): void {
    dest.active++;
    flight.started = true;
    this.start(flight);
  }
}
