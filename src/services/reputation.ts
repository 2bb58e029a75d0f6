/**
 * Reputation that moves (SESAME_DAILY_QUOTA=reputation): the rules of FACTS §6.3
 * (domain/reputation-rules.ts) applied to each verified sender domain's daily counters. During the
 * day a domain rises as soon as it earns it (several levels a day if it keeps earning them) or is
 * blocked for the rest of the day; once a day has ended, its final counters may lower the level.
 * Every change is logged with the rule and figures that made it.
 */
import type { Logger } from 'pino';
import { reputationAfterDay, reputationDuringDay, type ReputationCounters } from '../domain/reputation-rules.js';
import { MAX_REPUTATION_LEVEL } from '../domain/reputation.js';
import { formatDate } from '../lib/time.js';
import type { ReputationRow, ReputationStore } from '../store/reputation.js';
import type { StatisticsStore, Volumes } from '../store/statistics.js';

/** What one pass changed. */
export interface ReputationPass { raised: number; lowered: number; blocked: number; domains: number }

/** Applies the reputation rules. */
export class ReputationService {
  constructor(
    private readonly store: ReputationStore,
    private readonly statistics: Pick<StatisticsStore, 'ofDomainDay'>,
    private readonly opts: { timezone: string },
    private readonly log: Logger,
  ) {}

  /** One pass over every verified domain at `now`. */
  async pass(now = Date.now(), shouldStop: () => boolean = () => false): Promise<ReputationPass> {
    const today = formatDate(now, this.opts.timezone);
    const yesterday = formatDate(now - 86_400_000, this.opts.timezone);
    const done: ReputationPass = { raised: 0, lowered: 0, blocked: 0, domains: 0 };
    let after = 0;
    for (;;) {
      const page = await this.store.verifiedAfter(after);
      for (const d of page) {
        if (shouldStop()) return done;
        done.domains++;
        await this.judgeYesterday(d, yesterday, done);
        await this.judgeToday(d, today, done);
      }
      if (page.length === 0) return done;
      after = page[page.length - 1].id;
    }
  }

  /** A finished day's counters may lower the level (once per day, whichever worker comes first). */
  private async judgeYesterday(d: ReputationRow, day: string, done: ReputationPass): Promise<void> {
    if (d.judged_day >= day) return;
    const decision = reputationAfterDay(d.reputation_level, countersOf(await this.statistics.ofDomainDay(d.account_id, d.name, day)));
    const to = decision.kind === 'lower' ? decision.to : d.reputation_level;
    if (!(await this.store.judge(d.id, day, d.reputation_level, to))) return;
    d.judged_day = day;
    if (decision.kind === 'lower') {
      d.reputation_level = to;
      done.lowered++;
      this.log.info({ domain: d.name, account: d.account_id, day, level: to, reason: decision.reason }, 'reputation level lowered');
    }
  }

  /** Today's counters so far may raise the level (again and again) or block the domain for the day. */
  private async judgeToday(d: ReputationRow, day: string, done: ReputationPass): Promise<void> {
    if (d.blocked_day === day) return;
    const counters = countersOf(await this.statistics.ofDomainDay(d.account_id, d.name, day));
    for (let steps = 0; steps < MAX_REPUTATION_LEVEL; steps++) {
      const decision = reputationDuringDay(d.reputation_level, counters);
      if (decision.kind === 'keep') return;
      if (decision.kind === 'block') {
        if (await this.store.block(d.id, day)) {
          done.blocked++;
          this.log.warn({ domain: d.name, account: d.account_id, day, reason: decision.reason }, 'sender domain blocked for the rest of the day by the reputation rules');
        }
        return;
      }
      if (!(await this.store.setLevel(d.id, d.reputation_level, decision.to))) return;
      d.reputation_level = decision.to;
      done.raised++;
      this.log.info({ domain: d.name, account: d.account_id, day, level: decision.to, reason: decision.reason }, 'reputation level raised');
    }
  }
}

/** The rules' counters from a day's volumes: `sent` is what was accepted for delivery. */
function countersOf(v: Volumes): ReputationCounters {
  return {
    sent: v.accepted, delivered: v.delivered, bounced: v.bounced, hardBounced: v.hard_bounced,
    spamBounced: v.spam_bounced, complained: v.complained, opened: v.opened,
  };
}
