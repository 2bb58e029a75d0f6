/**
 * Open and click tracking end to end on both stores: the pixel and rewritten links in the HTML that
 * arrives (text and mailto left alone), the pixel's GIF, a click's redirect to the very URL of the
 * message, UserOpened/UserClicked, prefetchers told apart, forged tokens that record nothing, an
 * account with tracking off, and GetStatisticsReport counting it all per day and domain.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, type TestApp } from './helpers/app.js';
import { b64, errorCode } from './helpers/sdk.js';
import { eventually, receivedMail, RECIPIENT_DOMAIN, SENDER_DOMAIN, startSending, statusesOf, type SendingFixture } from './helpers/sending.js';

/**
 * Keeps the store busy until the returned function is called. On PostgreSQL another client locks
 * the events table. On SQLite (one writer: Sesame's own connection, whose transactions queue) a
 * transaction of Sesame's stays open; a lock taken by another process would stall the whole
 * process instead (better-sqlite3 waits synchronously), which is why nothing else writes to the file.
 */
async function holdStore(store: string, t: TestApp): Promise<() => Promise<void>> {
  if (store === 'sqlite') {
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    let started!: () => void;
    const begun = new Promise<void>((r) => { started = r; });
    const tx = t.app.services.db.tx(async (q) => { await q.run('UPDATE accounts SET name = name WHERE id = 0'); started(); await held; });
    await begun;
    return async () => { release(); await tx; };
  }
  const c = new pg.Client({ connectionString: t.env.SESAME_DATABASE_URL });
  await c.connect();
  await c.query('BEGIN');
  await c.query('LOCK TABLE events IN EXCLUSIVE MODE');
  return async () => { await c.query('ROLLBACK'); await c.end(); };
}

/** A request as a mail client makes it (redirects not followed); the body as bytes. */
async function httpSend(url: string, o: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, string | undefined>; body: Buffer }> {
  const r = await fetch(url, { method: o.method ?? 'GET', headers: o.headers, redirect: 'manual' });
  return { status: r.status, headers: { 'content-type': r.headers.get('content-type') ?? undefined, 'cache-control': r.headers.get('cache-control') ?? undefined, location: r.headers.get('location') ?? undefined }, body: Buffer.from(await r.arrayBuffer()) };
}

const HTML = '<html><body><p>Hi {{name}}</p>'
  + '<a href="https://shop.example/sale?a=1&amp;b=2">Sale</a> '
  + '<a href="mailto:help@shop.example">Mail us</a> '
  + "<a href='http://shop.example/second'>Second</a>"
  + '</body></html>';

describe.each(STORES)('tracking on %s', (store) => {
  let f: SendingFixture;
  let templateId: number;
  const today = (): string => new Date().toISOString().slice(0, 10);

  /** Sends to `to` and answers the MessageId and the HTML and text that arrived, with tracking URLs pointed at the test server. */
  async function sendAndReceive(to: string, unsubscribe?: string): Promise<{ id: string; html: string; text: string }> {
    const before = f.mx1.received.length;
    const id = (await f.call('SendEmail', {
      FromEmailAddress: f.sender, Destination: [to], Subject: 'Sale', Unsubscribe: unsubscribe,
      Template: { TemplateID: templateId, TemplateData: '{"name":"Ann"}' },
    })).MessageId;
    const mail = await receivedMail(f, to, before);
    const local = (s: string): string => s.replace(/http:\/\/localhost:8080\//g, f.t.url);
    return { id, html: local(String(mail.html)), text: mail.text ?? '' };
  }
  const pixelOf = (html: string): string => /<img src="([^"]+\/t\/o\/[^"]+)"/.exec(html)![1];
  const clicksOf = (html: string): string[] => [...html.matchAll(/href=(["'])([^"']+\/t\/c\/[^"']+)\1/g)].map((m) => m[2].replace(/&amp;/g, '&'));
  const eventsOf = (id: string) => f.t.app.services.db.all<{ event: number; link: string; prefetch: string; user_agent: string }>(
    'SELECT e.event, e.link, e.prefetch, e.user_agent FROM events e JOIN deliveries d ON d.id = e.delivery_id JOIN messages m ON m.id = d.message_row WHERE m.message_id = ? ORDER BY e.id', [id]);
  const statsOf = async (q: Record<string, string> = {}) => f.call('GetStatisticsReport', { StartDate: today(), EndDate: today(), ...q });

  beforeAll(async () => {
    f = await startSending(store);
    templateId = (await f.call('CreateEmailTemplate', { TemplateName: 'sale', TemplateContent: { Html: b64(HTML), Text: b64('Hi {{name}}: https://shop.example/sale') } })).TemplateID;
  });
  afterAll(async () => { await f?.stop(); });

  it('adds the pixel and rewrites http(s) links in HTML only; opening and clicking set UserOpened and UserClicked', async () => {
    const m = await sendAndReceive('reader@dest.test');
    expect(m.html).toContain('href="mailto:help@shop.example"');
    expect(m.html).not.toContain('https://shop.example/sale');
    expect(m.text).toContain('https://shop.example/sale');
    expect(m.text).not.toContain('/t/');
    const clicks = clicksOf(m.html);
    expect(clicks).toHaveLength(2);

    const [before] = await statusesOf(f, m.id, (l) => l[0].DeliverStatus === 1);
    expect(before).toMatchObject({ UserOpened: false, UserClicked: false });

    const pixel = await httpSend(pixelOf(m.html), { headers: { 'User-Agent': 'Mozilla/5.0 (Windows NT 10.0) Thunderbird/128.0' } });
    expect(pixel.status).toBe(200);
    expect(pixel.headers['content-type']).toBe('image/gif');
    expect(pixel.headers['cache-control']).toContain('no-store');
    expect(pixel.body.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect(pixel.body.length).toBe(43);

    const first = await httpSend(clicks[0], { headers: { 'User-Agent': 'Mozilla/5.0 (X11; Linux) Firefox/130.0' } });
    expect(first.status).toBe(302);
    expect(first.headers.location).toBe('https://shop.example/sale?a=1&b=2');
    const second = await httpSend(clicks[1]);
    expect(second.headers.location).toBe('http://shop.example/second');

    const [after] = await statusesOf(f, m.id, (l) => (l[0] as { UserClicked?: boolean }).UserClicked === true);
    expect(after).toMatchObject({ UserOpened: true, UserClicked: true });
    const events = await eventually(async () => { const e = await eventsOf(m.id); return e.length >= 4 ? e : undefined; });
    expect(events.map((e) => e.event)).toEqual([1, 4, 5, 5]);
    expect(events[1].user_agent).toContain('Thunderbird');
    expect(events[2].link).toBe('https://shop.example/sale?a=1&b=2');
  });

  it('records a prefetcher\'s open apart: an event, flagged, and no UserOpened', async () => {
    const m = await sendAndReceive('proxied@dest.test');
    await statusesOf(f, m.id, (l) => l[0].DeliverStatus === 1);
    const r = await httpSend(pixelOf(m.html), { headers: { 'User-Agent': 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)' } });
    expect(r.status).toBe(200);
    const events = await eventually(async () => { const e = await eventsOf(m.id); return e.length >= 2 ? e : undefined; });
    expect(events[1]).toMatchObject({ event: 4, prefetch: 'gmail-image-proxy' });
    const [s] = await statusesOf(f, m.id, () => true);
    expect(s).toMatchObject({ UserOpened: false });
  });

  it('answers 404 to a forged or altered token and records nothing; HEAD records nothing', async () => {
    const m = await sendAndReceive('forged@dest.test');
    await statusesOf(f, m.id, (l) => l[0].DeliverStatus === 1);
    const pixel = pixelOf(m.html);
    const click = clicksOf(m.html)[0];
    const flip = (u: string, at: number): string => u.slice(0, at) + (u[at] === 'A' ? 'B' : 'A') + u.slice(at + 1);
    for (const bad of [flip(pixel, pixel.length - 3), flip(click, click.length - 3), flip(click, click.indexOf('/t/c/') + 8),
      `${f.t.url}t/c/1.0.${Buffer.from('https://evil.example/').toString('base64url')}.AAAAAAAAAAAAAAAAAAAAAA`, pixel.replace('/t/o/', '/t/c/')]) {
      const r = await httpSend(bad);
      expect(r.status, bad).toBe(404);
      expect(r.headers.location).toBeUndefined();
    }
    expect((await httpSend(pixel, { method: 'HEAD' })).status).toBe(200);
    expect((await httpSend(click, { method: 'HEAD' })).status).toBe(302);
    // Give a wrongly recorded hit the time to be written, then look: only the delivery is there.
    await f.t.app.services.tracking.flush();
    expect((await eventsOf(m.id)).map((e) => e.event)).toEqual([1]);
  });

  it('keeps answering while the store is busy, and records the hits once it is free', async () => {
    const m = await sendAndReceive('busy@dest.test');
    await statusesOf(f, m.id, (l) => l[0].DeliverStatus === 1);
    // The store is busy: a long transaction ahead of every write (SQLite), the events table locked (PostgreSQL).
    const release = await holdStore(store, f.t);
    try {
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        expect((await httpSend(pixelOf(m.html))).status).toBe(200);
        expect((await httpSend(clicksOf(m.html)[1])).status).toBe(302);
        expect(performance.now() - t0).toBeLessThan(1_000);
      }
      expect((await eventsOf(m.id)).map((e) => e.event)).toEqual([1]);
    } finally {
      await release();
    }
    await f.t.app.services.tracking.flush();
    const events = await eventually(async () => { const e = await eventsOf(m.id); return e.length === 11 ? e : undefined; }, 20_000, 'the ten hits');
    expect(events.filter((e) => e.event === 4)).toHaveLength(5);
  });

  it('leaves the HTML alone for an account with tracking off', async () => {
    const { services } = f.t.app;
    const accountId = (await services.accounts.byAppId(f.t.creds.AppId))!.id;
    await services.accounts.update(f.t.creds.AppId, { tracking: false });
    // The worker reads the setting within the few seconds it may keep an account's standing
    // (PostgreSQL cannot tell it that the account changed).
    await eventually(async () => !(await services.rules.standing(accountId, 5_000)).tracking, 10_000, 'the worker to see tracking off');
    try {
      const m = await sendAndReceive('untracked@dest.test');
      expect(m.html).toContain('href="https://shop.example/sale?a=1&amp;b=2"');
      expect(m.html).not.toMatch(/\/t\/[oc]\//);
    } finally {
      await services.accounts.update(f.t.creds.AppId, { tracking: true });
      await eventually(async () => (await services.rules.standing(accountId, 5_000)).tracking, 10_000, 'the worker to see tracking on');
    }
  });

  it('GetStatisticsReport counts requests, deliveries, people who opened and clicked, bounces and unsubscribes per day and domain', async () => {
    const base = (await statsOf()).OverallVolume;
    const m = await sendAndReceive('counted@dest.test', '1');
    await statusesOf(f, m.id, (l) => l[0].DeliverStatus === 1);
    // Two opens and two clicks by one person count once each.
    for (let i = 0; i < 2; i++) {
      await httpSend(pixelOf(m.html));
      await httpSend(clicksOf(m.html)[0]);
    }
    // The unsubscribe link is left as it is (not tracked); its one-click POST counts the recipient once.
    const unsubscribe = /href="([^"]+\/unsubscribe\/[^"]+)"/.exec(m.html)![1].replace(/&amp;/g, '&');
    for (let i = 0; i < 2; i++) {
      const r = await fetch(unsubscribe, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
      expect(r.status).toBe(200);
    }
    await f.t.app.services.tracking.flush();
    const after = await eventually(async () => {
      const r = await statsOf();
      return r.OverallVolume.ClickedCount > base.ClickedCount ? r : undefined;
    });
    expect(after.DailyVolumes).toHaveLength(1);
    expect(after.DailyVolumes[0].SendDate).toBe(today());
    const o = after.OverallVolume;
    expect([o.RequestCount - base.RequestCount, o.AcceptedCount - base.AcceptedCount, o.DeliveredCount - base.DeliveredCount,
      o.OpenedCount - base.OpenedCount, o.ClickedCount - base.ClickedCount, o.UnsubscribeCount - base.UnsubscribeCount, o.BounceCount - base.BounceCount]).toEqual([1, 1, 1, 1, 1, 1, 0]);
    expect(after.DailyVolumes[0]).toMatchObject({ ...o, SendDate: today() });
    // Per sender and recipient domain: the same figures; other domains have none.
    expect((await statsOf({ Domain: SENDER_DOMAIN, ReceivingMailboxType: RECIPIENT_DOMAIN })).OverallVolume).toMatchObject({ ClickedCount: o.ClickedCount });
    expect((await statsOf({ Domain: 'other.test' })).DailyVolumes).toEqual([]);
    expect((await statsOf({ ReceivingMailboxType: 'gmail.com' })).OverallVolume.RequestCount).toBe(0);
  });

  it('GetStatisticsReport refuses a period over 90 days, an end before the start, and bad dates', async () => {
    expect(await errorCode(f.call('GetStatisticsReport', { StartDate: '2026-01-01', EndDate: '2026-04-01' }))).toBe('InvalidParameterValue');
    expect((await f.call('GetStatisticsReport', { StartDate: '2026-01-01', EndDate: '2026-03-31' })).DailyVolumes).toEqual([]);
    expect(await errorCode(f.call('GetStatisticsReport', { StartDate: '2026-02-02', EndDate: '2026-02-01' }))).toBe('InvalidParameterValue');
    expect(await errorCode(f.call('GetStatisticsReport', { StartDate: '2026-02-30', EndDate: '2026-03-01' }))).toMatch(/^InvalidParameterValue/);
  });
});
