/**
 * Retention: what is old enough to go, and one round of removing it, a chunk at a time. Statuses
 * go once GetSendEmailStatus no longer shows their day (it refuses RequestDates more than
 * SESAME_STATUS_RETENTION_DAYS back), and with them the messages left without a delivery; expired
 * blocklist entries and old day counters go too, and events with the statuses they are about;
 * mail kept by capture mode goes with the statuses, and past an account's newest
 * CAPTURED_PER_ACCOUNT; the statistics' daily counters stay a year. Unsubscriptions, recipient
 * groups and tasks stay: the first are the recipients' wish, the others the account's own.
 */
import { formatDate, parseDate } from '../lib/time.js';
import type { RetentionStore, Step } from '../store/retention.js';

/** Rows one round removed (or freed), per kind. */
export interface RetentionCounts {
  /** Messages whose content was freed (the outcome writer frees most; these are the rest). */
  freedContents: number;
  deliveries: number;
  messages: number;
  bounceBlocklist: number;
  customBlocklist: number;
  sendCounts: number;
  events: number;
  dailyVolumes: number;
  inboundKept: number;
  webhookLog: number;
  consoleSessions: number;
  /** Mail kept by capture mode: past retention, or past an account's newest CAPTURED_PER_ACCOUNT. */
  capturedMail: number;
}

/**
 * Days of statistics kept (GetStatisticsReport's counters): a year, whatever the statuses' retention,
 * so a year-on-year look works. A row per account, day and pair of domains costs next to nothing.
 */
const VOLUME_DAYS = 366;

/**
 * Captured mails kept per account at most (the newest), so a capture-mode server left running
 * cannot fill the disk: each round cuts every account back to this (between rounds, ten minutes, an
 * account may go past it by what it sends meanwhile). Enough for any look a developer takes.
 */
export const CAPTURED_PER_ACCOUNT = 10_000;

/**
 * Called after each chunk with how long it took and the counts so far; resolves to false to end the
 * round early (the worker is stopping). The job pauses here so it never holds the store for long.
 */
export type BetweenChunks = (chunkMs: number, soFar: Readonly<RetentionCounts>) => Promise<boolean>;

/** Rows per chunk (per transaction). */
const CHUNK = 500;

/** Removes what retention allows, in chunks. */
export class RetentionService {
  constructor(private readonly store: RetentionStore, private readonly opts: { timezone: string; retentionDays: number }) {}

  /**
   * The oldest day still kept (YYYY-MM-DD in SESAME_TIMEZONE, the same day GetSendEmailStatus
   * computes), and the instant it starts: rows of days before it are no longer shown.
   */
  horizon(now: number): { day: string; start: number } {
    const day = formatDate(now - this.opts.retentionDays * 86_400_000, this.opts.timezone);
    return { day, start: parseDate(day, this.opts.timezone) as number };
  }

  /** One round: each kind in turn, a chunk per transaction, `between` after each chunk. */
  async round(now = Date.now(), between: BetweenChunks = async () => true): Promise<RetentionCounts> {
    const { day, start } = this.horizon(now);
    const counts: RetentionCounts = {
      freedContents: 0, deliveries: 0, messages: 0, bounceBlocklist: 0, customBlocklist: 0, sendCounts: 0, events: 0, dailyVolumes: 0, inboundKept: 0,
      webhookLog: 0, consoleSessions: 0, capturedMail: 0,
    };
    const volumeDay = formatDate(now - Math.max(VOLUME_DAYS, this.opts.retentionDays) * 86_400_000, this.opts.timezone);
    const steps: [keyof RetentionCounts, () => AsyncGenerator<number>][] = [
      ['freedContents', () => walk((from) => this.store.freeContent(from, CHUNK))],
      // Deliveries before messages: a message goes once its last delivery has.
      ['deliveries', () => walk((from) => this.store.deleteDeliveries(from, start, CHUNK))],
      ['messages', () => walk((from) => this.store.deleteMessages(from, start, CHUNK))],
      ['bounceBlocklist', () => drain(() => this.store.deleteExpiredBounces(now, CHUNK))],
      // An entry the account listed stays for the retention period after its last day, as statuses
      // do: ListCustomBlacklist shows expired entries (Status 0), and UpdateCustomBlackList can
      // give one a new ExpireDate.
      ['customBlocklist', () => drain(() => this.store.deleteExpiredCustom(day, CHUNK))],
      // The daily quota reads only today's counter; older ones are kept as long as the statuses.
      ['sendCounts', () => drain(() => this.store.deleteOldCounts(day, CHUNK))],
      // Events go with the statuses they are about.
      ['events', () => walk((from) => this.store.deleteEvents(from, start, CHUNK))],
      ['dailyVolumes', () => drain(() => this.store.deleteOldVolumes(volumeDay, CHUNK))],
      ['inboundKept', () => drain(() => this.store.deleteOldInbound(start, CHUNK))],
      ['webhookLog', () => drain(() => this.store.deleteOldWebhookLog(start, CHUNK))],
      ['consoleSessions', () => drain(() => this.store.deleteEndedSessions(now, CHUNK))],
      // Captured mail goes with the statuses, then each account's past its newest CAPTURED_PER_ACCOUNT.
      ['capturedMail', () => walk((from) => this.store.deleteCapturedMail(from, start, CHUNK))],
      ['capturedMail', () => this.trimCaptured()],
    ];
    for (const [kind, chunks] of steps) {
      let t0 = performance.now();
      for await (const n of chunks()) {
        counts[kind] += n;
        if (!(await between(performance.now() - t0, counts))) return counts;
        t0 = performance.now();
      }
    }
    return counts;
  }

  /** Chunks of deletes that cut each account's captured mail back to its newest CAPTURED_PER_ACCOUNT. */
  private async *trimCaptured(): AsyncGenerator<number> {
    for (let next = await this.store.nextCapturingAccount(0); next !== null; next = await this.store.nextCapturingAccount(next + 1)) {
      const account = next;
      const cut = await this.store.capturedCut(account, CAPTURED_PER_ACCOUNT);
      if (cut !== null) yield* drain(() => this.store.deleteCapturedUpTo(account, cut, CHUNK));
    }
  }
}

/** The chunks of a walk through a table, each yielding how many rows it changed. */
async function* walk(step: (from: number) => Promise<Step>): AsyncGenerator<number> {
  let from: number | null = 0;
  while (from !== null) {
    const s: Step = await step(from);
    yield s.changed;
    from = s.next;
  }
}

/** Chunks of a delete by an indexed predicate, until one finds less than a full chunk. */
async function* drain(step: () => Promise<number>): AsyncGenerator<number> {
  for (;;) {
    const n = await step();
    yield n;
    if (n < CHUNK) return;
  }
}
