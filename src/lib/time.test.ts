/** Dates in the configured time zone, across clock changes. */
import { describe, expect, it } from 'vitest';
import { formatDate, formatDateTime, nextDay, parseDate, parseDateTime } from './time.js';

describe('time zone dates', () => {
  it('formats in the zone', () => {
    const ms = Date.UTC(2026, 0, 1, 20, 30, 5);
    expect(formatDateTime(ms, 'UTC')).toBe('2026-01-01 20:30:05');
    expect(formatDateTime(ms, 'Asia/Singapore')).toBe('2026-01-02 04:30:05');
    expect(formatDate(ms, 'America/New_York')).toBe('2026-01-01');
  });

  it('parses days and times as instants in the zone', () => {
    expect(parseDate('2026-01-02', 'Asia/Singapore')).toBe(Date.UTC(2026, 0, 1, 16));
    expect(parseDateTime('2026-07-01 09:00:00', 'Europe/Berlin')).toBe(Date.UTC(2026, 6, 1, 7));
    // The day the clocks go forward in New York starts at 05:00 UTC.
    expect(parseDate('2026-03-08', 'America/New_York')).toBe(Date.UTC(2026, 2, 8, 5));
    expect(parseDateTime('2026-03-08 12:00:00', 'America/New_York')).toBe(Date.UTC(2026, 2, 8, 16));
    // Santiago skips midnight on 2024-09-08 (00:00 becomes 01:00): the day starts at 01:00 local.
    expect(parseDate('2024-09-08', 'America/Santiago')).toBe(Date.UTC(2024, 8, 8, 4));
    expect(formatDateTime(parseDate('2024-09-08', 'America/Santiago')!, 'America/Santiago')).toBe('2024-09-08 01:00:00');
    // When a time repeats (clocks go back), the earlier instant.
    expect(parseDateTime('2026-11-01 01:30:00', 'America/New_York')).toBe(Date.UTC(2026, 10, 1, 5, 30));
    for (const bad of ['2026-02-29', '2026-13-01', '26-01-01', '2026-1-1']) expect(parseDate(bad, 'UTC'), bad).toBeNull();
    expect(parseDateTime('2026-01-01 24:00:00', 'UTC')).toBeNull();
    expect(nextDay('2026-12-31')).toBe('2027-01-01');
  });
});
