/**
 * Open and click tracking of an HTML body, in two steps: `planTracking` reads the HTML once per
 * message and cuts it where the tracked URLs go; `applyTracking` fills the cuts for one recipient,
 * which is a join of strings.
 */
import { escapeHtml } from '../domain/template.js';
import { TRACKED_URL_MAX_BYTES } from '../lib/tracking-tokens.js';
import { findHrefs, type HtmlHrefs } from './html-hrefs.js';

/**
 * An HTML body cut for tracking. `parts.length === links.length + 2`: between `parts[i]` and
 * `parts[i + 1]` goes the value of link `i` (for `i < links.length`), and between the last two parts
 * goes the open pixel, before the `</body>` that follows the last link (or at the end when none does).
 */
export interface TrackingPlan {
  parts: string[];
  /** Each tracked link's URL, character references decoded: what the click redirect sends to. */
  links: string[];
}

/** The pixel's markup: `display:block` so it adds no line of its own height under the text. */
function pixelTag(url: string): string {
  return `<img src="${escapeHtml(url)}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />`;
}

/**
 * Cuts `html` at every `href` of an `<a>` or `<area>` that is an absolute http(s) URL of at most 2048
 * bytes (longer ones would not fit a click token), except those `keep` returns true for (the
 * caller's own unsubscribe link), and before `</body>` for the pixel. Never throws: on any failure
 * the plan has no link and the pixel goes at the end.
 */
export function planTracking(html: string, keep: (url: string) => boolean): TrackingPlan {
  try {
    return cut(html, findHrefs(html, TRACKED_URL_MAX_BYTES), keep);
  } catch {
    return { parts: [html, ''], links: [] };
  }
}

/**
 * The tracked HTML for one recipient: link `i`'s value becomes `clickUrl(i)`, HTML-escaped inside the
 * quotes it had (added where it had none), and the pixel loads `pixelUrl` (no pixel when null).
 */
export function applyTracking(plan: TrackingPlan, clickUrl: (index: number) => string, pixelUrl: string | null): string {
  const out: string[] = [plan.parts[0]];
  for (let i = 0; i < plan.links.length; i++) out.push(escapeHtml(clickUrl(i)), plan.parts[i + 1]);
  if (pixelUrl !== null) out.push(pixelTag(pixelUrl));
  out.push(plan.parts[plan.links.length + 1]);
  return out.join('');
}

function cut(html: string, found: HtmlHrefs, keep: (url: string) => boolean): TrackingPlan {
  const parts: string[] = [];
  const links: string[] = [];
  let from = 0;
  let reopen = ''; // the closing quote an unquoted value was given, which starts the next part
  for (const href of found.hrefs) {
    const url = href.value === null ? null : trackable(href.value);
    if (url === null || keep(url)) continue;
    // An unquoted value gets quotes in the parts around it, so the URL written there may hold anything.
    const quote = href.unquoted ? '"' : '';
    parts.push(reopen + html.slice(from, href.start) + quote);
    links.push(url);
    from = href.end;
    reopen = quote;
  }
  const pixelAt = found.bodyEnds.find((at) => at >= from) ?? html.length;
  parts.push(reopen + html.slice(from, pixelAt), html.slice(pixelAt));
  return { parts, links };
}

/**
 * The URL a browser would follow for an `href` value, when it is one to track: ASCII whitespace
 * around it dropped (the URL parser drops it too), absolute http or https, no control characters
 * (the parser would drop tabs and newlines inside it, but the redirect's Location header must not
 * carry them), at most TRACKED_URL_MAX_BYTES. `mailto:`, `tel:`, `javascript:`, relative and `#`
 * links are not.
 */
function trackable(value: string): string | null {
  const url = value.replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '');
  if (!/^https?:\/\//i.test(url) || /[\u0000-\u001f\u007f]/.test(url)) return null;
  if (Buffer.byteLength(url, 'utf8') > TRACKED_URL_MAX_BYTES || !URL.canParse(url)) return null;
  return url;
}
