/**
 * Machines that fetch a message's images (or follow its links) without a person reading it, known by
 * their User-Agent. An open recorded from one of them says the message arrived somewhere that loads
 * images, not that someone read it; reports count them apart.
 *
 * Every test is a substring search or a pattern with no nested quantifier, so a header of any
 * length is read in one pass.
 */

/** A fetcher recognised by its User-Agent: its name in reports, and how it shows. */
export interface Prefetcher {
  name: string;
  test: (userAgent: string) => boolean;
}

/**
 * The fetchers, first match wins: the mail providers' own proxies before the generic marks.
 *
 * Not here: Microsoft's Safe Links and Defender scanners. They fetch with an ordinary Chrome User-Agent
 * from Microsoft's networks, and their time-of-click check says `ms-office`/`Microsoft Office`, as
 * Outlook itself does when a person opens the message; no mark in the header tells them apart, only
 * their addresses and timing would.
 */
export const PREFETCHERS: readonly Prefetcher[] = [
  // Gmail loads every image through its proxy (`… (via ggpht.com GoogleImageProxy)`), when the
  // message is opened, and caches it: a first fetch is usually a person, but the reader's address,
  // client and later opens are hidden behind it.
  { name: 'gmail-image-proxy', test: (ua) => ua.includes('GoogleImageProxy') },
  // `Mozilla/5.0 (compatible; YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html)`.
  { name: 'yahoo-mail-proxy', test: (ua) => ua.includes('YahooMailProxy') },
  // Apple Mail Privacy Protection fetches every remote image when the message arrives, through
  // Apple's relays, with the User-Agent `Mozilla/5.0` and nothing after it (since 20 September 2021:
  // ua-parser/uap-core issue #509, "Apple Mail proxy"). No browser sends that bare string. Apple Mail
  // itself, with the protection off, sends `Mozilla/5.0 (Macintosh; …) AppleWebKit/… (KHTML, like
  // Gecko)`, a person opening the message: not matched. The relays are iCloud Private Relay's
  // (mask.icloud.com), whose egress ranges Apple publishes; the address is the stronger sign, and
  // belongs to the caller that has it.
  { name: 'apple-mail-privacy', test: (ua) => ua.trim() === 'Mozilla/5.0' },
  // Bing's link previews (Outlook.com, Teams, Skype) say so in their User-Agent.
  { name: 'bing-preview', test: (ua) => ua.includes('BingPreview') },
  { name: 'headless-browser', test: (ua) => ua.includes('HeadlessChrome') },
  // isbot's pattern (omrilotan/isbot src/patterns.json): `bot` as a word, but not the phone maker
  // CUBOT (`; CUBOT P30`), whose owners are people.
  { name: 'bot', test: (ua) => /(?<! cu)bots?(?:\b|_)/i.test(ua) },
  { name: 'crawler', test: (ua) => /crawl|spider/i.test(ua) },
  { name: 'http-library', test: (ua) => /\bcurl\/|python-requests\/|python-urllib\/|\bwget\/|go-http-client\//i.test(ua) },
  // Every browser and mail client sends one; a fetch without is a script.
  { name: 'no-user-agent', test: (ua) => ua.trim() === '' },
];

/** The name of the machine a User-Agent shows, or null when it looks like a person's client. */
export function prefetcherOf(userAgent: string | undefined): string | null {
  const ua = userAgent ?? '';
  for (const p of PREFETCHERS) if (p.test(ua)) return p.name;
  return null;
}
