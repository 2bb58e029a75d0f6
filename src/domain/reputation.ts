/** Tencent's reputation levels and their daily sending limits (FACTS §6.3). */
import type { DailyQuota } from '../config/schema.js';

/** Daily limit of each level, 1 to 20. */
export const DAILY_LIMIT_BY_LEVEL: readonly number[] = [
  500, 1_000, 2_000, 5_000, 10_000, 20_000, 40_000, 60_000, 80_000, 100_000,
  150_000, 200_000, 300_000, 400_000, 500_000, 600_000, 700_000, 800_000, 900_000, 1_000_000,
];

/** The highest level reached automatically. */
export const MAX_REPUTATION_LEVEL = DAILY_LIMIT_BY_LEVEL.length;

/** The daily limit of a level (levels outside 1–20 are clamped). */
export function dailyLimitOfLevel(level: number): number {
  const i = Math.min(MAX_REPUTATION_LEVEL, Math.max(1, Math.trunc(level))) - 1;
  return DAILY_LIMIT_BY_LEVEL[i];
}

/** Whether the reputation rules blocked the domain for `day` (only under the reputation policy). */
export function blockedToday(policy: DailyQuota, domain: { blocked_day: string }, day: string): boolean {
  return policy.kind === 'reputation' && domain.blocked_day === day;
}

/** The daily quota of a domain at `level` under the configured policy; null: no limit. */
export function dailyQuotaOf(policy: DailyQuota, level: number): number | null {
  if (policy.kind === 'unlimited') return null;
  return policy.kind === 'fixed' ? policy.perDay : dailyLimitOfLevel(level);
}
