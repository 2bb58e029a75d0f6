/** When a deferred delivery is tried again: a schedule kept as data, and the age at which it is given up. */

/** Minutes after each failed attempt (the last value repeats): 1, 5, 15, 30 minutes, then hourly. */
export const DEFAULT_RETRY_MINUTES: readonly number[] = [1, 5, 15, 30, 60];

/** Delay before the next attempt after `attempts` attempts have failed (1 = the first one). */
export function retryDelayMs(attempts: number, schedule: readonly number[] = DEFAULT_RETRY_MINUTES): number {
  const i = Math.min(Math.max(attempts, 1), schedule.length) - 1;
  return schedule[i] * 60_000;
}
