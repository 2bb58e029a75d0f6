/**
 * When a sender domain's reputation level rises, falls, or the domain is blocked for the rest of
 * the day (FACTS §6.3, Tencent doc 1084/48864). Pure: the caller brings one domain's counters for
 * one day and applies the decision; nothing here reads a clock or a store.
 */
import { dailyLimitOfLevel, MAX_REPUTATION_LEVEL } from './reputation.js';

/**
 * One sender domain's counters for one day (the quota day, in the configured time zone), all
 * counted per recipient, as the daily quota is, and all about the mails accepted that day: a mail
 * accepted today and delivered, bounced or complained about later still counts for today, so no
 * rate exceeds 100 %. Non-negative integers.
 */
export interface ReputationCounters {
  /** Mails accepted (handed to delivery) that day, one per recipient: the denominator of every rate. */
  sent: number;
  /** Of those, delivered (the remote's 2xx after DATA). */
  delivered: number;
  /** Of those, bounced for any reason (no rule reads it; the two kinds below are part of it). */
  bounced: number;
  /** Of the bounced, refused because the recipient address is bad (`condemnsRecipient`). */
  hardBounced: number;
  /** Of the bounced, refused as spam or by content or reputation policy (`isSpamRefusal`). */
  spamBounced: number;
  /** Of those, complained about (a feedback-loop report or the recipient's complaint). */
  complained: number;
  /** Distinct recipients who opened, known prefetchers (image proxies that fetch on receipt) excluded. */
  opened: number;
}

/**
 * The rates the rules read, each a share of `sent`. Tencent's doc names the rates but never their
 * denominator; `sent` is chosen for all of them so that they share one base, can only be judged
 * on what the domain itself sent, and are defined (zero) before the first mail:
 * - invalidAddress: hardBounced / sent ("invalid address rate").
 * - deliverability: delivered / sent. During the day, mails still in flight count as not delivered,
 *   so the running figure is lower than the final one: a raise waits for the deliveries, never the
 *   other way round.
 * - spamBounce: spamBounced / sent ("spam bounce rate").
 * - complaint: complained / sent ("spam complaint rate").
 * - open: opened / sent ("open rate"; Tencent does not say whether prefetches count; they do not).
 */
export type ReputationRate = 'invalidAddress' | 'deliverability' | 'spamBounce' | 'complaint' | 'open';

/** A bound on one rate, in percent as Tencent's doc writes it: `rate op percent` must hold. */
export interface RateBound {
  readonly rate: ReputationRate;
  readonly op: '<' | '>';
  readonly percent: number;
}

/** The shape of the rules: each a set of rate bounds and the volume at which it applies. */
export interface ReputationRuleSet {
  /** Raise one level when sent ≥ this share of the current level's limit and every bound of any one alternative holds. */
  readonly raise: {
    readonly sentAtLeastPercentOfLimit: number;
    readonly anyOf: readonly { readonly name: string; readonly allOf: readonly RateBound[] }[];
  };
  /** Lower one level (the next day) when sent > `sentAbove` and any bound holds. */
  readonly lower: { readonly sentAbove: number; readonly anyOf: readonly RateBound[] };
  /** Block for the rest of the day when sent > `sentAbove` and any bound holds. */
  readonly block: { readonly sentAbove: number; readonly anyOf: readonly RateBound[] };
}

/**
 * Tencent's reputation rules, FACTS §6.3 (doc 1084/48864, "Reputation Level"), figure for figure.
 * Strict and non-strict comparisons are the doc's own ("≥ 70 %", "< 5 %", "> 92 %", "daily sent > 300").
 */
export const REPUTATION_RULES = {
  raise: {
    sentAtLeastPercentOfLimit: 70,
    anyOf: [
      {
        name: 'clean sending',
        allOf: [
          { rate: 'invalidAddress', op: '<', percent: 5 },
          { rate: 'deliverability', op: '>', percent: 92 },
          { rate: 'spamBounce', op: '<', percent: 2.5 },
          { rate: 'complaint', op: '<', percent: 0.1 },
        ],
      },
      {
        name: 'engaged readers',
        allOf: [
          { rate: 'deliverability', op: '>', percent: 90 },
          { rate: 'complaint', op: '<', percent: 0.1 },
          { rate: 'open', op: '>', percent: 50 },
        ],
      },
    ],
  },
  lower: {
    sentAbove: 300,
    anyOf: [
      { rate: 'invalidAddress', op: '>', percent: 9 },
      { rate: 'deliverability', op: '<', percent: 65 },
      { rate: 'spamBounce', op: '>', percent: 5 },
      { rate: 'complaint', op: '>', percent: 0.5 },
    ],
  },
  block: {
    sentAbove: 300,
    anyOf: [
      { rate: 'invalidAddress', op: '>', percent: 11 },
      { rate: 'spamBounce', op: '>', percent: 15 },
    ],
  },
} as const satisfies ReputationRuleSet;

/** What today's running counters decide: block wins over raise. */
export type DuringDayDecision =
  | { kind: 'raise'; to: number; reason: string }
  | { kind: 'block'; reason: string }
  | { kind: 'keep' };

/** What a finished day's counters decide for the next day. */
export type AfterDayDecision = { kind: 'lower'; to: number; reason: string } | { kind: 'keep' };

/** The counter each rate divides by `sent`. */
const NUMERATOR: Readonly<Record<ReputationRate, keyof ReputationCounters>> = {
  invalidAddress: 'hardBounced',
  deliverability: 'delivered',
  spamBounce: 'spamBounced',
  complaint: 'complained',
  open: 'opened',
};

/** How each rate is named in a reason. */
const LABEL: Readonly<Record<ReputationRate, string>> = {
  invalidAddress: 'invalid-address rate',
  deliverability: 'deliverability',
  spamBounce: 'spam-bounce rate',
  complaint: 'complaint rate',
  open: 'open rate',
};

/** Each rate in percent (0 when nothing was sent), for display and logs. */
export function reputationRates(c: ReputationCounters): Record<ReputationRate, number> {
  const pct = (rate: ReputationRate): number => (c.sent > 0 ? (c[NUMERATOR[rate]] * 100) / c.sent : 0);
  return { invalidAddress: pct('invalidAddress'), deliverability: pct('deliverability'), spamBounce: pct('spamBounce'), complaint: pct('complaint'), open: pct('open') };
}

/**
 * Raise or block on today's running counters at the current `level`. A raise is judged against
 * the current level's limit and is one level, so the caller applies it and asks again: a domain
 * can climb several levels a day, never past MAX_REPUTATION_LEVEL.
 */
export function reputationDuringDay(level: number, c: ReputationCounters): DuringDayDecision {
  const current = clampLevel(level);
  const block = REPUTATION_RULES.block;
  if (c.sent > block.sentAbove) {
    const met = block.anyOf.filter((b) => holds(b, c));
    if (met.length) return { kind: 'block', reason: `${met.map((b) => describe(b, c)).join('; ')} with ${c.sent} sent` };
  }
  if (current >= MAX_REPUTATION_LEVEL) return { kind: 'keep' };
  const raise = REPUTATION_RULES.raise;
  const limit = dailyLimitOfLevel(current);
  // Integers on both sides: 70 % of every limit is exact.
  if (c.sent * 100 < raise.sentAtLeastPercentOfLimit * limit) return { kind: 'keep' };
  const rule = raise.anyOf.find((r) => r.allOf.every((b) => holds(b, c)));
  if (!rule) return { kind: 'keep' };
  const volume = `${c.sent} sent ≥ ${raise.sentAtLeastPercentOfLimit} % of level ${current}'s daily limit of ${limit}`;
  return { kind: 'raise', to: current + 1, reason: `${volume}, ${rule.name}: ${rule.allOf.map((b) => describe(b, c)).join(', ')}` };
}

/** Lower by one level (never below 1) on a finished day's counters; takes effect the next day. */
export function reputationAfterDay(level: number, c: ReputationCounters): AfterDayDecision {
  const current = clampLevel(level);
  const lower = REPUTATION_RULES.lower;
  if (current <= 1 || c.sent <= lower.sentAbove) return { kind: 'keep' };
  const met = lower.anyOf.filter((b) => holds(b, c));
  if (!met.length) return { kind: 'keep' };
  return { kind: 'lower', to: current - 1, reason: `${met.map((b) => describe(b, c)).join('; ')} with ${c.sent} sent` };
}

function clampLevel(level: number): number {
  return Math.min(MAX_REPUTATION_LEVEL, Math.max(1, Math.trunc(level) || 1));
}

/**
 * Whether `count / sent` stands to the bound as it says, compared exactly: the percent becomes
 * hundredths of a percent (every figure of the doc is a whole number of them), and both sides are
 * integers well within 2^53, so 0.1 % of 1000 is 1 mail, not 1.0000000000000002.
 */
function holds(b: RateBound, c: ReputationCounters): boolean {
  const left = c[NUMERATOR[b.rate]] * 10_000;
  const right = Math.round(b.percent * 100) * c.sent;
  return b.op === '<' ? left < right : left > right;
}

/** "invalid-address rate 12.0 % > 11 %": the measured figure and the bound it crossed. */
function describe(b: RateBound, c: ReputationCounters): string {
  return `${LABEL[b.rate]} ${formatPercent(reputationRates(c)[b.rate], b.percent)} % ${b.op} ${b.percent} %`;
}

/** One decimal more than the bound has, and more while rounding would make the figure equal to it. */
function formatPercent(value: number, bound: number): string {
  let digits = Math.max(1, (String(bound).split('.')[1]?.length ?? 0) + 1);
  while (digits < 6 && value !== bound && Number(value.toFixed(digits)) === bound) digits++;
  return value.toFixed(digits);
}
