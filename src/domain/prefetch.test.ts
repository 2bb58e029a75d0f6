import { describe, expect, it } from 'vitest';
import { prefetcherOf } from './prefetch.js';

describe('prefetcherOf', () => {
  it('names the machines that fetch without a person', () => {
    const cases: [string | undefined, string][] = [
      ['Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)', 'gmail-image-proxy'],
      ['Mozilla/5.0 (compatible; YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html)', 'yahoo-mail-proxy'],
      ['Mozilla/5.0', 'apple-mail-privacy'],
      [' Mozilla/5.0 ', 'apple-mail-privacy'],
      ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0 BingPreview/1.0b', 'bing-preview'],
      ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.0 Safari/537.36', 'headless-browser'],
      ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'bot'],
      ['Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)', 'bot'],
      ['Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)', 'bot'],
      ['Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)', 'bot'],
      ['Mozilla/5.0 (compatible; SemrushBot_x/7; +http://www.semrush.com/bot.html)', 'bot'],
      ['Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)', 'crawler'],
      ['Mozilla/5.0 (compatible; some-crawler/1.0)', 'crawler'],
      ['python-requests/2.31.0', 'http-library'],
      ['curl/8.4.0', 'http-library'],
      ['Wget/1.21.4', 'http-library'],
      ['Go-http-client/2.0', 'http-library'],
      ['Python-urllib/3.11', 'http-library'],
      [undefined, 'no-user-agent'],
      ['', 'no-user-agent'],
      ['   ', 'no-user-agent'],
    ];
    for (const [ua, name] of cases) expect(prefetcherOf(ua), ua).toBe(name);
  });

  it('names no machine for a person’s browser or mail client', () => {
    const people = [
      // Apple Mail with the protection off: a person opening the message.
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)',
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
      'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0 Thunderbird/115.6.0',
      'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)',
      'Mozilla/4.0 (compatible; ms-office; MSOffice 16)',
      // The CUBOT phones are not robots.
      'Mozilla/5.0 (Linux; Android 9; CUBOT P30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36',
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Mozilla/5.0',
      'Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0 botanic',
    ];
    for (const ua of people) expect(prefetcherOf(ua), ua).toBeNull();
  });

  it('reads a header of any length in one pass', () => {
    for (const ua of ['a'.repeat(5_000_000), ' '.repeat(5_000_000), ' cu'.repeat(1_000_000), 'bo'.repeat(2_000_000)]) {
      const start = performance.now();
      prefetcherOf(ua);
      expect(performance.now() - start).toBeLessThan(1_000);
    }
  });
});
