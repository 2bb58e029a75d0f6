/**
 * Dates in the API's time zone (SESAME_TIMEZONE): `YYYY-MM-DD hh:mm:ss` strings out, `YYYY-MM-DD`
 * days in. The store keeps UTC milliseconds.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function parts(ms: number, tz: string): Record<string, string> {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(tz, f);
  }
  const out: Record<string, string> = {};
  for (const p of f.formatToParts(new Date(ms))) out[p.type] = p.value;
  return out;
}

/** `YYYY-MM-DD hh:mm:ss` in `tz`. */
export function formatDateTime(ms: number, tz: string): string {
  const p = parts(ms, tz);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** The last day computed, per zone: every offset in use is whole minutes, so a minute has one day. */
const lastDay = new Map<string, { minute: number; day: string }>();

/** `YYYY-MM-DD` in `tz`. */
export function formatDate(ms: number, tz: string): string {
  const minute = Math.floor(ms / 60_000);
  const hit = lastDay.get(tz);
  if (hit && hit.minute === minute) return hit.day;
  const day = formatDateTime(ms, tz).slice(0, 10);
  lastDay.set(tz, { minute, day });
  return day;
}

/** Milliseconds by which `tz` is ahead of UTC at `ms`. */
function offset(ms: number, tz: string): number {
  const p = parts(ms, tz);
  const asUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The UTC instant of a wall-clock time in `tz`: the earlier one when a clock change repeats that
 * time, and the first instant after it when a change skips it (some zones skip midnight itself).
 */
export function zonedToUtc(y: number, mo: number, d: number, h: number, mi: number, s: number, tz: string): number {
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s);
  const wanted = formatDateTime(asUtc, 'UTC');
  // The offsets in force a day either side bracket any change near this time.
  const candidates = [offset(asUtc - 86_400_000, tz), offset(asUtc, tz), offset(asUtc + 86_400_000, tz)].map((o) => asUtc - o);
  const fits = candidates.filter((t) => formatDateTime(t, tz) >= wanted).sort((a, b) => a - b);
  return fits[0] ?? candidates[0];
}

/** `YYYY-MM-DD` as the UTC instant of that day's midnight in `tz`; null when it is not a real date. */
export function parseDate(text: string, tz: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  return zonedToUtc(y, mo, d, 0, 0, 0, tz);
}

/** `YYYY-MM-DD hh:mm:ss` as a UTC instant; null when malformed. */
export function parseDateTime(text: string, tz: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(text);
  if (!m || parseDate(`${m[1]}-${m[2]}-${m[3]}`, tz) === null) return null;
  const [h, mi, s] = [Number(m[4]), Number(m[5]), Number(m[6])];
  if (h > 23 || mi > 59 || s > 59) return null;
  return zonedToUtc(Number(m[1]), Number(m[2]), Number(m[3]), h, mi, s, tz);
}

/** The day after `YYYY-MM-DD` (calendar arithmetic, no time zone involved). */
export function nextDay(text: string): string {
  const [y, mo, d] = text.split('-').map(Number);
  return new Date(Date.UTC(y, mo - 1, d + 1)).toISOString().slice(0, 10);
}
