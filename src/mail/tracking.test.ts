import { describe, expect, it } from 'vitest';
import { applyTracking, planTracking, type TrackingPlan } from './tracking.js';

const PIXEL_URL = 'https://mail.sesame.test/o/1.abc';
const PIXEL = `<img src="${PIXEL_URL}" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />`;
const UNSUBSCRIBE = 'https://mail.sesame.test/unsubscribe/';
const keepUnsubscribe = (url: string): boolean => url.startsWith(UNSUBSCRIBE);
const keepNone = (): boolean => false;

/** Each link `i` becomes `https://t.test/c/<i>`. */
const numbered = (i: number): string => `https://t.test/c/${i}`;

/** Plans, checks the shape every plan has, and returns it. */
function plan(html: string, keep: (url: string) => boolean = keepNone): TrackingPlan {
  const p = planTracking(html, keep);
  expect(p.parts.length).toBe(p.links.length + 2);
  return p;
}

describe('planTracking and applyTracking', () => {
  it('decode character references in the links and escape the URLs written in their place', () => {
    const p = plan('<p><a href="https://shop.test/p?a=1&amp;b=2&#38;c=3&#x26;d=&quot;4&quot;">x</a></p>');
    expect(p.links).toEqual(['https://shop.test/p?a=1&b=2&c=3&d="4"']);
    const out = applyTracking(p, () => 'https://t.test/c?x=1&y="2"<\'3\'>', null);
    expect(out).toBe('<p><a href="https://t.test/c?x=1&amp;y=&quot;2&quot;&lt;&#39;3&#39;&gt;">x</a></p>');
  });

  it('decode as browsers do inside attributes: a legacy reference without `;` before `=` stays text', () => {
    // HTML §13.2.5.73 (named character reference state): in an attribute, `&copy=` is not ©, or query strings would break.
    expect(plan('<a href="https://shop.test/?a=1&copy=2&amp=3">x</a>').links).toEqual(['https://shop.test/?a=1&copy=2&amp=3']);
  });

  it('keep the links the caller keeps (its unsubscribe link) as they were written', () => {
    const html = `<a href="https://shop.test/">shop</a> <a href="${UNSUBSCRIBE}tok?l=en&amp;x=1">unsubscribe</a>`;
    const p = plan(html, keepUnsubscribe);
    expect(p.links).toEqual(['https://shop.test/']);
    expect(applyTracking(p, numbered, null)).toBe(`<a href="https://t.test/c/0">shop</a> <a href="${UNSUBSCRIBE}tok?l=en&amp;x=1">unsubscribe</a>`);
  });

  it('leave mailto, tel, javascript, relative, fragment and scheme-relative links alone', () => {
    const html = [
      '<a href="mailto:ann@shop.test">m</a>', '<a href="tel:+33123456789">t</a>', '<a href="javascript:void(0)">j</a>',
      '<a href="/account">r</a>', '<a href="page.html">r</a>', '<a href="#top">f</a>', '<a href="//shop.test/x">s</a>',
      '<a href="ftp://shop.test/x">f</a>', '<a href="https:shop.test">h</a>', '<a href="https://">e</a>', '<a href>n</a>', '<a>n</a>',
    ].join('\n');
    const p = plan(html);
    expect(p.links).toEqual([]);
    expect(applyTracking(p, numbered, null)).toBe(html);
  });

  it('read tag and attribute names in any case, and <area> links', () => {
    const p = plan('<A HREF="HTTPS://Shop.test/A">a</A><map><AREA Shape="rect" hRef="http://shop.test/b"></map>');
    expect(p.links).toEqual(['HTTPS://Shop.test/A', 'http://shop.test/b']);
    expect(applyTracking(p, numbered, null)).toBe('<A HREF="https://t.test/c/0">a</A><map><AREA Shape="rect" hRef="https://t.test/c/1"></map>');
  });

  it('write each URL inside the quotes it had, adding double quotes where there were none', () => {
    const html = `<a href='https://a.test/?q=1'>1</a><a href=https://b.test/x?y=1&amp;z=2>2</a><a class=x href = https://c.test/ title=t>3</a><a href="https://d.test/">4</a>`;
    const p = plan(html);
    expect(p.links).toEqual(['https://a.test/?q=1', 'https://b.test/x?y=1&z=2', 'https://c.test/', 'https://d.test/']);
    expect(applyTracking(p, (i) => `https://t.test/c/${i}?a='b"`, null)).toBe(
      `<a href='https://t.test/c/0?a=&#39;b&quot;'>1</a><a href="https://t.test/c/1?a=&#39;b&quot;">2</a>` +
        `<a class=x href = "https://t.test/c/2?a=&#39;b&quot;" title=t>3</a><a href="https://t.test/c/3?a=&#39;b&quot;">4</a>`,
    );
  });

  it('track the URL a browser would follow, without the spaces around it', () => {
    const p = plan('<a href="  https://shop.test/x \n">x</a>');
    expect(p.links).toEqual(['https://shop.test/x']);
    expect(applyTracking(p, numbered, null)).toBe('<a href="https://t.test/c/0">x</a>');
  });

  it('put the pixel before </body>, or at the end when there is none', () => {
    expect(applyTracking(plan('<html><body><p>Hi</p></body></html>'), numbered, PIXEL_URL)).toBe(`<html><body><p>Hi</p>${PIXEL}</body></html>`);
    expect(applyTracking(plan('<p>Hi</p></BODY >'), numbered, PIXEL_URL)).toBe(`<p>Hi</p>${PIXEL}</BODY >`);
    expect(applyTracking(plan('<p>Hi</p>'), numbered, PIXEL_URL)).toBe(`<p>Hi</p>${PIXEL}`);
    expect(applyTracking(plan(''), numbered, PIXEL_URL)).toBe(PIXEL);
    // Not a body end: in a comment, in a script, or `</ body>` (a bogus comment to HTML).
    const fake = '<!-- </body> --><script>"</body>"</script></ body><p>Hi</p>';
    expect(applyTracking(plan(fake), numbered, PIXEL_URL)).toBe(`${fake}${PIXEL}`);
    // A link after </body> keeps the pixel after it, so the pixel stays the last slot.
    const late = '<body>a</body><a href="https://shop.test/">b</a>';
    expect(applyTracking(plan(late), numbered, PIXEL_URL)).toBe(`<body>a</body><a href="https://t.test/c/0">b</a>${PIXEL}`);
    // Escaped like any URL.
    expect(applyTracking(plan('x'), numbered, 'https://t.test/o?a=1&b="2"')).toContain('src="https://t.test/o?a=1&amp;b=&quot;2&quot;"');
  });

  it('give back the input, plus the pixel, when each link is written as the URL it was', () => {
    const html = [
      '<!DOCTYPE html><html><head><title>Sale &amp; more</title><style>a{color:red}</style></head>',
      '<body><table><tr><td><a href="https://shop.test/a?x=1&amp;y=2" style="color:#111">A</a></td></tr></table>',
      "<p><a class='btn' href='https://shop.test/b#c'>B</a> <a href=\"mailto:ann@shop.test\">mail</a></p>",
      `<a href="${UNSUBSCRIBE}tok">unsubscribe</a>`,
      '<img src="https://shop.test/logo.png" alt="">',
      '</body></html>\n',
    ].join('\n');
    const p = plan(html, keepUnsubscribe);
    expect(p.links).toEqual(['https://shop.test/a?x=1&y=2', 'https://shop.test/b#c']);
    const identity = (i: number): string => p.links[i];
    const at = html.indexOf('</body>');
    expect(applyTracking(p, identity, PIXEL_URL)).toBe(`${html.slice(0, at)}${PIXEL}${html.slice(at)}`);
    expect(applyTracking(p, identity, null)).toBe(html);
    // The same plan serves every recipient.
    expect(applyTracking(p, (i) => `https://t.test/${i}`, PIXEL_URL)).toContain("href='https://t.test/1'");
  });

  it('see no link in comments, scripts, styles, titles or text, nor in a tag the input cuts off', () => {
    const html = [
      '<!-- <a href="https://c.test/"> -->', '<script>document.write(\'<a href="https://s.test/">\')</script>',
      '<style>/* <a href="https://y.test/"> */</style>', '<title><a href="https://t.test/"></title>',
      '<textarea><a href="https://x.test/"></textarea>', '<p>https://plain.test/ and &lt;a href="https://e.test/"&gt;</p>',
      '<a href="https://cut.test/"',
    ].join('\n');
    const p = plan(html);
    expect(p.links).toEqual([]);
    expect(applyTracking(p, numbered, null)).toBe(html);
  });

  it('track only the first href of an element, as browsers follow only it', () => {
    expect(plan('<a href="https://one.test/" href="https://two.test/">x</a>').links).toEqual(['https://one.test/']);
    expect(plan('<a href="mailto:a@b.test" HREF="https://two.test/">x</a>').links).toEqual([]);
    expect(plan('<a data-href="https://d.test/" title="https://t.test/">x</a><img src="https://i.test/">').links).toEqual([]);
  });

  it('leave links longer than 2048 bytes alone (no click token holds them) and refuse control characters', () => {
    const at = (n: number): string => `https://shop.test/${'é'.repeat((n - 18) / 2)}`;
    expect(Buffer.byteLength(at(2048))).toBe(2048);
    expect(plan(`<a href="${at(2048)}">x</a>`).links).toEqual([at(2048)]);
    expect(plan(`<a href="${at(2050)}">x</a>`).links).toEqual([]);
    expect(plan('<a href="https://shop.test/a&#9;b">x</a><a href="https://shop.test/a\nb">y</a>').links).toEqual([]);
  });

  it('never throw: a failing keep leaves a plan with the pixel only', () => {
    const html = '<a href="https://shop.test/">x</a></body>';
    const p = planTracking(html, () => { throw new Error('boom'); });
    expect(p).toEqual({ parts: [html, ''], links: [] });
    expect(applyTracking(p, numbered, PIXEL_URL)).toBe(`${html}${PIXEL}`);
  });
});

describe('planTracking on the worst inputs', () => {
  const MB = 1_000_000;
  const BUDGET_MS = 1_000;
  const timed = (fn: () => unknown): number => {
    const start = performance.now();
    fn();
    return performance.now() - start;
  };

  it('answers within a second on 5 MB shaped to hurt', () => {
    const link = '<a href="https://shop.test/">x</a>';
    const cases: Record<string, string> = {
      'a 5 MB href': `<a href="https://shop.test/${'a'.repeat(5 * MB)}">x</a>`,
      'a 5 MB href of references': `<a href="https://shop.test/${'&amp;'.repeat(MB)}">x</a>`,
      'a 5 MB unquoted href': `<a href=https://shop.test/${'b'.repeat(5 * MB)}>x</a>`,
      'a 5 MB attribute of another tag': `<div title="${'&'.repeat(5 * MB)}">x</div>${link}`,
      'an unclosed 5 MB attribute': `<a href="${'c'.repeat(5 * MB)}`,
      '100k unclosed tags': '<div><span><a>'.repeat(100_000) + link,
      '100k unclosed link tags': '<a href="https://shop.test/" '.repeat(100_000),
      '100k links': link.repeat(100_000),
      '100k body ends': '</body>'.repeat(100_000) + link,
      '5 MB of `<`': '<'.repeat(5 * MB),
      '5 MB of `&`': '&'.repeat(5 * MB),
      'an unclosed comment': `<!--${'-'.repeat(5 * MB)}`,
      'an unclosed script': `<script>${'</scrip'.repeat(700_000)}`,
      '1M attributes': `<a ${'h=1 '.repeat(MB)}href="https://shop.test/">x</a>`,
      'a 5 MB tag name': `<${'a'.repeat(5 * MB)} href="https://shop.test/">`,
    };
    for (const [name, html] of Object.entries(cases)) {
      let p: TrackingPlan | undefined;
      const ms = timed(() => { p = planTracking(html, keepNone); });
      expect(ms, name).toBeLessThan(BUDGET_MS);
      expect(p!.parts.length, name).toBe(p!.links.length + 2);
      expect(applyTracking(p!, (i) => p!.links[i], null), name).toBe(html);
    }
  });

  it('applies a plan of 100k links within a second', () => {
    const p = planTracking('<a href="https://shop.test/">x</a>'.repeat(100_000), keepNone);
    expect(p.links.length).toBe(100_000);
    expect(timed(() => applyTracking(p, numbered, PIXEL_URL))).toBeLessThan(BUDGET_MS);
  });
});
