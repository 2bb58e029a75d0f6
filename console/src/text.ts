/** What several screens share: template content's base64, its {{variables}}, and days as the API writes them. */

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

/** `YYYY-MM-DD` of the day `offsetDays` from today (UTC, as the browser's clock says). */
export function dayFromNow(offsetDays = 0): string {
  return new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);
}
