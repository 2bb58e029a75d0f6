/** What several screens share: template content's base64, its {{variables}}, and days and times as the API writes them. */

/** UTF-8 text as base64, as the API takes template content. */
export function toBase64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** Base64 of UTF-8, as the API answers template content, as text. */
export function fromBase64(b64: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
}

/** A template's `{{variable}}` (the same names the server finds). */
export const VARIABLE = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

/** The distinct variables of `text`, in order of first use. */
export function variablesOf(text: string): string[] {
  return [...new Set([...text.matchAll(VARIABLE)].map((m) => m[1]))];
}

/** `YYYY-MM-DDThh:mm` in `timeZone`, `aheadMs` from now: the value a datetime-local field takes. */
export function zonedNow(timeZone: string, aheadMs = 0): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    .formatToParts(new Date(Date.now() + aheadMs));
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '00';
  return `${part('year')}-${part('month')}-${part('day')}T${part('hour')}:${part('minute')}`;
}

/**
 * `YYYY-MM-DD` of the day `offsetDays` from today in `timeZone`: the server's (SESAME_TIMEZONE),
 * whose calendar the API's days follow, whatever the browser's clock says.
 */
export function dayFromNow(timeZone: string, offsetDays = 0): string {
  return zonedNow(timeZone, offsetDays * 86_400_000).slice(0, 10);
}
