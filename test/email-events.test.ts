/**
 * ListEmailEvents (extension) end to end on both stores, through the SDK: a mail the receiver
 * defers once and then takes, opened and clicked by its reader and fetched by an image proxy, shows
 * each event in order with the reply, user agent, link and prefetcher; a hard bounce shows its
 * type; the newest HISTORY_EVENTS_MAX are kept of a mail opened more often; another account, an
 * unknown MessageId and missing parameters get what GetSendEmailStatus gives them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListEmailEventsRequest } from '../src/schema/actions.js';
import { HISTORY_EVENTS_MAX } from '../src/services/delivery-history.js';
import { STORES } from './helpers/app.js';
import { b64, errorCode, extensionCall, sdkClient } from './helpers/sdk.js';
import { eventually, receivedMail, retryNow, startSending, statusesOf, type SendingFixture } from './helpers/sending.js';

type Creds = { SecretId: string; SecretKey: string };

const HTML = '<html><body><p>Hi {{name}}</p><a href="https://shop.example/offer?id=7">Offer</a></body></html>';
const READER = 'Mozilla/5.0 (X11; Linux) Firefox/130.0';
const PROXY = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';

describe.each(STORES)('ListEmailEvents on %s', (store) => {
  let f: SendingFixture;
  let templateId: number;
  /** A second account. */
  let other: Creds;

  beforeAll(async () => {
    f = await startSending(store, { SESAME_FREQUENCY_LIMIT: '0' });
    templateId = (await f.call('CreateEmailTemplate', { TemplateName: 'offer', TemplateContent: { Html: b64(HTML), Text: b64('Hi {{name}}') } })).TemplateID;
    other = await f.t.app.services.accounts.create({ name: 'neighbour' });
  }, 60_000);
  afterAll(async () => { await f?.stop(); });

  const events = (req: ListEmailEventsRequest, creds: Creds = f.t.creds) => extensionCall(f.t.endpoint, creds, 'ListEmailEvents', req);
  /** The events of the delivery, once `done` says they are what the test waits for. */
  const eventsWhen = (req: ListEmailEventsRequest, done: (names: string[]) => boolean) => eventually(async () => {
    const r = await events(req);
    return done(r.EventList.map((e) => e.Event)) ? r : undefined;
  }, 20_000, `the events of ${req.ToEmailAddress}`);
  const send = async (to: string): Promise<string> => (await f.call('SendEmail', {
    FromEmailAddress: f.sender, Destination: [to], Subject: 'Offer', Template: { TemplateID: templateId, TemplateData: '{"name":"Ann"}' },
  })).MessageId;
  /** The pixel and the link of the HTML that arrived, pointed at the test server. */
  const trackingUrls = async (to: string, from: number): Promise<{ pixel: string; click: string }> => {
    const html = String((await receivedMail(f, to, from)).html).replace(/http:\/\/localhost:8080\//g, f.t.url);
    return { pixel: /<img src="([^"]+\/t\/o\/[^"]+)"/.exec(html)![1], click: /href="([^"]+\/t\/c\/[^"]+)"/.exec(html)![1].replace(/&amp;/g, '&') };
  };
  const hit = async (url: string, userAgent: string): Promise<void> => {
    const r = await fetch(url, { headers: { 'User-Agent': userAgent }, redirect: 'manual' });
    expect(r.status).toBeLessThan(400);
  };

  it('shows a deferral, the delivery, opens and a click, oldest first, with the replies, user agents and link', async () => {
    const to = 'busy@dest.test';
    f.mx1.mode = f.mx2.mode = { kind: 'defer', code: 451, message: '4.2.1 Mailbox busy' };
    const sentAt = Math.floor(Date.now() / 1000);
    const MessageId = await send(to);
    try {
      await eventsWhen({ MessageId, ToEmailAddress: to }, (l) => l.includes('deferred'));
    } finally {
      f.mx1.mode = f.mx2.mode = { kind: 'accept' };
    }
    const before = f.mx1.received.length;
    await retryNow(f);
    // Tracked once the delivery is recorded, so the delivery is the older event.
    const delivered = await eventsWhen({ MessageId, ToEmailAddress: to }, (l) => l.includes('delivered'));
    expect(delivered.EventList).toEqual([
      { Event: 'deferred', Timestamp: expect.any(Number), BounceType: '', Reason: expect.stringMatching(/451.*4\.2\.1 Mailbox busy/), Link: '', UserAgent: '', Prefetch: '' },
      { Event: 'delivered', Timestamp: expect.any(Number), BounceType: '', Reason: expect.stringMatching(/^250/), Link: '', UserAgent: '', Prefetch: '' },
    ]);
    expect(delivered.RequestTime).toBeGreaterThanOrEqual(sentAt);
    expect(delivered.RequestTime).toBeLessThanOrEqual(delivered.EventList[0].Timestamp);
    expect(delivered.EventList[0].Timestamp).toBeLessThanOrEqual(delivered.EventList[1].Timestamp);

    const { pixel, click } = await trackingUrls(to, before);
    await hit(pixel, READER);
    await hit(pixel, PROXY);
    await hit(click, READER);
    await f.t.app.services.tracking.flush();
    const r = await events({ MessageId, ToEmailAddress: to });
    expect(r.RequestTime).toBe(delivered.RequestTime);
    expect(r.EventList.slice(0, 2)).toEqual(delivered.EventList);
    expect(r.EventList.slice(2)).toEqual([
      { Event: 'open', Timestamp: expect.any(Number), BounceType: '', Reason: '', Link: '', UserAgent: READER, Prefetch: '' },
      { Event: 'open', Timestamp: expect.any(Number), BounceType: '', Reason: '', Link: '', UserAgent: PROXY, Prefetch: 'gmail-image-proxy' },
      { Event: 'click', Timestamp: expect.any(Number), BounceType: '', Reason: '', Link: 'https://shop.example/offer?id=7', UserAgent: READER, Prefetch: '' },
    ]);
    // The recipient is compared in lower case, as GetSendEmailStatus compares it.
    expect(await events({ MessageId, ToEmailAddress: 'Busy@DEST.test' })).toMatchObject({ EventList: r.EventList, RequestTime: r.RequestTime });
  });

  it('shows a hard bounce with its type and the refusal', async () => {
    const to = 'gone@dest.test';
    f.mx1.mode = { kind: 'reject', code: 550, message: '5.1.1 The email account does not exist' };
    try {
      const MessageId = await send(to);
      const r = await eventsWhen({ MessageId, ToEmailAddress: to }, (l) => l.length > 0);
      expect(r.EventList).toEqual([{
        Event: 'bounce', Timestamp: expect.any(Number), BounceType: 'hard_bounce', Reason: expect.stringContaining('550 5.1.1 The email account does not exist'),
        Link: '', UserAgent: '', Prefetch: '',
      }]);
    } finally {
      f.mx1.mode = { kind: 'accept' };
    }
  });

  it(`keeps the newest ${HISTORY_EVENTS_MAX} events of a mail opened more often, in order`, async () => {
    const to = 'reader@dest.test';
    const before = f.mx1.received.length;
    const MessageId = await send(to);
    await eventsWhen({ MessageId, ToEmailAddress: to }, (l) => l.includes('delivered'));
    const { pixel, click } = await trackingUrls(to, before);
    for (let i = 0; i < HISTORY_EVENTS_MAX; i++) await hit(pixel, `${READER} #${i}`);
    await hit(click, READER);
    await f.t.app.services.tracking.flush();
    const list = (await events({ MessageId, ToEmailAddress: to })).EventList;
    expect(list).toHaveLength(HISTORY_EVENTS_MAX);
    // The delivery and the first open are the oldest: they went.
    expect(list.map((e) => e.UserAgent)).toEqual([...Array.from({ length: HISTORY_EVENTS_MAX - 1 }, (_, i) => `${READER} #${i + 1}`), READER]);
    expect(list.at(-1)).toMatchObject({ Event: 'click', Link: 'https://shop.example/offer?id=7' });
  });

  it('answers another account, and an unknown mail or recipient, an empty list, as GetSendEmailStatus answers them', async () => {
    const to = 'private@dest.test';
    const MessageId = await send(to);
    await statusesOf(f, MessageId, (l) => l[0].DeliverStatus === 1);
    expect((await events({ MessageId, ToEmailAddress: to })).EventList.map((e) => e.Event)).toEqual(['delivered']);
    const empty = { EventList: [], RequestTime: 0 };
    expect(await events({ MessageId, ToEmailAddress: to }, other)).toMatchObject(empty);
    expect(await events({ MessageId, ToEmailAddress: 'someone@dest.test' })).toMatchObject(empty);
    expect(await events({ MessageId: `${MessageId}x`, ToEmailAddress: to })).toMatchObject(empty);
    const status = { RequestDate: new Date().toISOString().slice(0, 10), Offset: 0, Limit: 10, MessageId, ToEmailAddress: to };
    expect((await sdkClient('v4:TC3', f.t.endpoint, other)('GetSendEmailStatus', status)).EmailStatusList).toEqual([]);
  });

  it('refuses a request without MessageId or ToEmailAddress (MissingParameter), or with one too long', async () => {
    expect(await errorCode(events({ MessageId: 'x' } as ListEmailEventsRequest))).toBe('MissingParameter');
    expect(await errorCode(events({ ToEmailAddress: 'a@dest.test' } as ListEmailEventsRequest))).toBe('MissingParameter');
    expect(await errorCode(events({ MessageId: 'x'.repeat(257), ToEmailAddress: 'a@dest.test' }))).toBe('InvalidParameterValue');
  });
});
