/** When a deferred delivery is tried again: a schedule kept as data, and the age at which it is given up. */

/**
 * Delay before the next attempt after `attempts` attempts have failed (1 = the first one), by the
 * schedule in minutes (SESAME_RETRY_MINUTES; the last value repeats).
 */
export function retryDelayMs(attempts: number, schedule: readonly number[]): number {
  const i = Math.min(Math.max(attempts, 1), schedule.length) - 1;
  return schedule[i] * 60_000;
}
