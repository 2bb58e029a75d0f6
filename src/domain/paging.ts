/** Paged list actions: Tencent caps Limit at 100 (FailedOperation.InvalidLimit beyond). */
import { fail } from '../errors/coded-error.js';

export const PAGE_MAX = 100;

/** Refuses a Limit over PAGE_MAX. */
export function checkPageLimit(limit: number): void {
  if (limit > PAGE_MAX) fail('FailedOperation.InvalidLimit', `Limit must be at most ${PAGE_MAX}.`);
}
