/**
 * Unsubscribe links end to end on both stores: the link and List-Unsubscribe headers in the mail
 * that arrives, the RFC 8058 one-click POST (both encodings), the GET/HEAD confirmation page in the
 * link's language that changes nothing (link scanners fetch every link) and its form's POST, hostile
 * language options, forged tokens, and later sends refused. Also: dual DKIM signatures (RSA and Ed25519) verified by mailauth.
 */
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unsubscribeTokens } from '../src/main.js';
import { STORES } from './helpers/app.js';
import { send as httpSend } from './helpers/raw.js';
import { errorCode } from './helpers/sdk.js';
import { eventually, rawHeader, startSending, statusesOf, unsubscribeLinkFor, type SendingFixture } from './helpers/sending.js';

/** The security headers every unsubscribe page carries. */
function expectPageHeaders(h: Record<string, string | string[] | undefined>): void {
  const csp = String(h['content-security-policy']);
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("form-action 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toMatch(/script-src|unsafe-eval/);
  expect(h['cache-control']).toBe('no-store');
  expect(h['referrer-policy']).toBe('no-referrer');
  expect(h['x-frame-options']).toBe('DENY');
}

/** The one form of a page: its method, its action (as written) and its hidden fields. */
function formOf(html: string): { method: string; action: string; fields: Map<string, string> } {
  const unescape = (s: string): string => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const forms = [...html.matchAll(/<form\b([^>]*)>/gi)];
  expect(forms).toHaveLength(1);
  const attr = (name: string): string => unescape(new RegExp(`\\b${name}="([^"]*)"`, 'i').exec(forms[0][1])?.[1] ?? '');
  const fields = new Map([...html.matchAll(/<input\b[^>]*\bname="([^"]*)"[^>]*\bvalue="([^"]*)"/gi)].map((m) => [unescape(m[1]), unescape(m[2])] as [string, string]));
  return { method: attr('method').toLowerCase(), action: attr('action'), fields };
}

describe.each(STORES)('unsubscribe links on %s', (store) => {
  let f: SendingFixture;
  const send = async (to: string, unsubscribe?: string): Promise<string> => (await f.call('SendEmail', {
    FromEmailAddress: f.sender, Destination: [to], Subject: 'Newsletter', Unsubscribe: unsubscribe,
    Template: { TemplateID: f.templateId, TemplateData: '{"name":"Ann","code":"1"}' },
  })).MessageId;
  /** The link of the mail that arrived for `to`, pointed at the test server. */
  const linkFor = async (to: string, from: number): Promise<{ url: string; headers: string; text: string; html: string }> => {
    const { url, mail } = await unsubscribeLinkFor(f, to, from);
    return { url, headers: rawHeader(mail, 'list-unsubscribe'), text: mail.text ?? '', html: String(mail.html) };
  };

  beforeAll(async () => { f = await startSending(store); });
  afterAll(async () => { await f?.stop(); });

  it('adds the link and the RFC 8058 headers, in the chosen language, under the DKIM signature', async () => {
    const before = f.mx1.received.length;
    await send('reader@dest.test', '6');
    const got = (await f.mx1.waitFor(before + 1)).slice(before)[0];
    expect(await f.verifyDkim(got.raw)).toEqual([{ result: 'pass', domain: 'mail.shop.test', algorithm: 'rsa-sha256' }]);
    const mail = await simpleParser(got.raw);
    expect(rawHeader(mail, 'list-unsubscribe')).toMatch(/^<http:\/\/localhost:8080\/unsubscribe\/[A-Za-z0-9_-]{60,}\?l=6>, <mailto:unsubscribe-[0-9a-z]+\.[a-z2-7]{26}@mail\.shop\.test\?subject=unsubscribe>$/);
    // The link's token is sealed: its bytes show neither whom nor which delivery it names.
    const token = /\/unsubscribe\/([A-Za-z0-9_-]+)\?/.exec(rawHeader(mail, 'list-unsubscribe'))![1];
    const bytes = Buffer.from(token, 'base64url').toString('latin1');
    const { id, account_id } = (await f.t.app.services.db.get<{ id: number; account_id: number }>('SELECT id, account_id FROM deliveries WHERE recipient = ?', ['reader@dest.test']))!;
    for (const clear of ['reader@dest.test', 'mail.shop.test', `${Number(id).toString(36)}\n${Number(account_id).toString(36)}\n`]) expect(bytes).not.toContain(clear);
    expect(rawHeader(mail, 'list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(mail.text).toContain('Abmelden: http://localhost:8080/unsubscribe/');
    expect(mail.html).toMatch(/<a href="http:\/\/localhost:8080\/unsubscribe\/[^"]+"[^>]*>Abmelden<\/a><\/p><\/body>/);
    const signed = /DKIM-Signature:[^]*?h=([^;]+);/.exec(got.raw.toString())![1].replace(/\s+/g, '').toLowerCase();
    expect(signed.split(':')).toEqual(expect.arrayContaining(['list-unsubscribe', 'list-unsubscribe-post', 'from', 'subject']));
  });

  it('one-click POST unsubscribes: 200 with no page, status flagged, later sends refused', async () => {
    const before = f.mx1.received.length;
    const id = await send('oneclick@dest.test', '1');
    const { url } = await linkFor('oneclick@dest.test', before);
    const r = await httpSend(url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
    const [s] = await statusesOf(f, id, (l) => l[0].DeliverStatus === 1);
    expect((s as { UserUnsubscribed?: boolean }).UserUnsubscribed).toBe(true);
    expect(await errorCode(send('oneclick@dest.test'))).toBe('FailedOperation.ReceiverHasUnsubscribed');
    // Per sender domain: the same address is still reachable from another domain of the account.
    await f.domains.verified(f.call, 'other.shop.test');
    await f.call('CreateEmailAddress', { EmailAddress: 'hi@other.shop.test' });
    await f.call('SendEmail', { FromEmailAddress: 'hi@other.shop.test', Destination: ['oneclick@dest.test'], Subject: 'Other list', Template: { TemplateID: f.templateId, TemplateData: '{"name":"A","code":"1"}' } });
  });

  it('GET and HEAD only ask: a page in the link\'s language with a button; the form\'s POST unsubscribes', async () => {
    const before = f.mx1.received.length;
    const id = await send('reader2@dest.test', '2');
    const { url } = await linkFor('reader2@dest.test', before);
    // What a link scanner does: fetch (and HEAD) the link, more than once.
    const page = await httpSend(url, { method: 'GET' });
    expect(page.status).toBe(200);
    // Still subscribed: the status says so and a new mail to the address is accepted.
    const [s] = await statusesOf(f, id, (l) => l[0].DeliverStatus === 1);
    expect((s as { UserUnsubscribed?: boolean }).UserUnsubscribed).toBe(false);
    await send('reader2@dest.test', '2');
    for (let i = 0; i < 2; i++) {
      const head = await httpSend(url, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.text).toBe('');
      expect(head.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(head.headers['content-length']).toBe(String(Buffer.byteLength(page.text)));
    }
    expect((await httpSend(url, { method: 'GET' })).status).toBe(200);
    const [still] = await statusesOf(f, id, (l) => l[0].DeliverStatus === 1);
    expect((still as { UserUnsubscribed?: boolean }).UserUnsubscribed).toBe(false);
    await send('reader2@dest.test', '2');
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('lang="zh-Hans"');
    expect(page.text).toContain('确定不再接收该发件人的邮件吗？');
    expect(page.text).toContain('确认退订');
    expect(page.text).not.toContain('您已成功退订');
    expectPageHeaders(page.headers);

    // The page's form, submitted as a browser would: a POST of its fields to its action, the link itself.
    const form = formOf(page.text);
    expect(form.method).toBe('post');
    expect(new URL(form.action, url).href).toBe(url);
    expect(form.fields.get('List-Unsubscribe')).toBe('One-Click');
    const done = await httpSend(new URL(form.action, url).href, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams([...form.fields]).toString(),
    });
    expect(done.status).toBe(200);
    expect(done.text).toContain('lang="zh-Hans"');
    expect(done.text).toContain('您已成功退订');
    expectPageHeaders(done.headers);
    const [after] = await statusesOf(f, id, (l) => l[0].DeliverStatus === 1);
    expect((after as { UserUnsubscribed?: boolean }).UserUnsubscribed).toBe(true);
    expect(await errorCode(send('reader2@dest.test'))).toBe('FailedOperation.ReceiverHasUnsubscribed');
  });

  it('one-click POST as multipart/form-data (RFC 8058\'s SHOULD) unsubscribes; a POST without the one-click pair does not', async () => {
    const before = f.mx1.received.length;
    const id = await send('multipart@dest.test', '1');
    const { url } = await linkFor('multipart@dest.test', before);
    for (const body of ['', 'List-Unsubscribe=Yes', 'unsubscribe=1']) {
      const r = await httpSend(url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
      expect(r.status, body).toBe(400);
    }
    expect((await httpSend(url, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'List-Unsubscribe=One-Click' })).status).toBe(400);
    expect((await httpSend(url, { method: 'PUT', body: 'List-Unsubscribe=One-Click' })).status).toBe(405);
    const [s] = await statusesOf(f, id, (l) => l[0].DeliverStatus === 1);
    expect((s as { UserUnsubscribed?: boolean }).UserUnsubscribed).toBe(false);
    await send('multipart@dest.test', '1');
    // fetch (undici) encodes FormData as multipart/form-data with a boundary of its own.
    const data = new FormData();
    data.append('List-Unsubscribe', 'One-Click');
    const r = await fetch(url, { method: 'POST', body: data });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('');
    expect(await errorCode(send('multipart@dest.test'))).toBe('FailedOperation.ReceiverHasUnsubscribed');
  });

  it('a language option that is not one (?l=__proto__ and the like) gives the English pages, never a server error', async () => {
    const before = f.mx1.received.length;
    await send('lang@dest.test', '1');
    const { url } = await linkFor('lang@dest.test', before);
    const forged = url.replace(/unsubscribe\/[^?]+/, 'unsubscribe/garbage');
    const odd = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '', '0', '12', '01', '1.0', ' 1', '%00', 'x'.repeat(20_000)];
    for (const l of odd) {
      const link = url.replace(/\?l=.*$/, `?l=${encodeURIComponent(l)}`);
      const page = await httpSend(link, { method: 'GET' });
      expect(page.status, l).toBe(200);
      expect(page.text, l).toContain('lang="en"');
      expect(page.text, l).toContain('Do you want to stop receiving emails from this sender?');
      const bad = await httpSend(forged.replace(/\?l=.*$/, `?l=${encodeURIComponent(l)}`), { method: 'GET' });
      expect(bad.status, l).toBe(400);
      expect(bad.text, l).toContain('This unsubscribe link is not valid.');
      const post = await httpSend(forged.replace(/\?l=.*$/, `?l=${encodeURIComponent(l)}`), {
        method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click&reply=page',
      });
      expect(post.status, l).toBe(400);
      expect(post.text, l).toContain('This unsubscribe link is not valid.');
    }
    // No link at all is English too; and a form POST under an odd option answers the English page.
    expect((await httpSend(url.replace(/\?l=.*$/, ''), { method: 'GET' })).text).toContain('lang="en"');
    const done = await httpSend(url.replace(/\?l=.*$/, '?l=__proto__'), {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click&reply=page',
    });
    expect(done.status).toBe(200);
    expect(done.text).toContain('You have been unsubscribed');
    expect(f.t.logs().some((l) => Number(l.level) >= 50)).toBe(false);
  });

  it('mail to the List-Unsubscribe address unsubscribes, whatever the case it arrives in', async () => {
    const before = f.mx1.received.length;
    const id = await send('bymail@dest.test', '1');
    const { headers } = await linkFor('bymail@dest.test', before);
    const address = /<mailto:([^?>]+)/.exec(headers)![1];
    const inbound = nodemailer.createTransport({ host: '127.0.0.1', port: f.t.app.mxPort, secure: false, tls: { rejectUnauthorized: false } });
    try {
      // Addresses nobody gave out are refused at RCPT: the listener takes nothing it cannot act on.
      for (const stranger of ['postmaster@mail.shop.test', `unsubscribe-1.${'a'.repeat(26)}@mail.shop.test`, address.replace(/\.[a-z2-7]+@/, '.zzzz@')]) {
        await expect(inbound.sendMail({ from: 'bymail@dest.test', to: stranger, subject: 'unsubscribe', text: 'please' }), stranger)
          .rejects.toMatchObject({ responseCode: 550 });
      }
      // Still subscribed after those.
      await send('bymail@dest.test', '1');
      const r = await inbound.sendMail({ from: 'bymail@dest.test', to: address.toUpperCase(), subject: 'unsubscribe', text: 'please' });
      expect(r.response).toMatch(/^250 /);
    } finally {
      inbound.close();
    }
    const [s] = await statusesOf(f, id, (l) => l[0].DeliverStatus === 1);
    expect((s as { UserUnsubscribed?: boolean }).UserUnsubscribed).toBe(true);
    expect(await errorCode(send('bymail@dest.test'))).toBe('FailedOperation.ReceiverHasUnsubscribed');
  });

  it('a malformed escape in the link is a bad link (400), not a server error', async () => {
    for (const method of ['GET', 'POST']) {
      expect((await httpSend(`${f.t.url}unsubscribe/%E0%A4%A`, { method })).status).toBe(400);
    }
    expect(f.t.logs().some((l) => Number(l.level) >= 50)).toBe(false);
  });

  it('a forged or altered token changes nothing', async () => {
    const before = f.mx1.received.length;
    const id = await send('victim@dest.test', '1');
    const { url } = await linkFor('victim@dest.test', before);
    const token = /unsubscribe\/([^?]+)/.exec(url)![1];
    // A different character in its two top bits (base64url's last character may carry only padding in its low bits).
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const flipped = (t: string, at: number): string => `${t.slice(0, at)}${B64[B64.indexOf(t[at]) ^ 48]}${t.slice(at + 1)}`;
    // A token of the form mail carried before links were sealed (`<id>.<mac>`), with a made-up MAC.
    const row = await f.t.app.services.db.get<{ id: number }>('SELECT d.id FROM deliveries d JOIN messages m ON m.id = d.message_row WHERE m.message_id = ?', [id]);
    const legacyForged = `${row!.id.toString(36)}.${'A'.repeat(22)}`;
    for (const forged of [
      url.replace(token, flipped(token, 5)),
      url.replace(token, flipped(token, Math.floor(token.length / 2))),
      url.replace(token, flipped(token, token.length - 1)),
      url.replace(token, token.slice(0, -4)),
      url.replace(token, `${token}AAAA`),
      url.replace(token, legacyForged),
      url.replace(/unsubscribe\/.*/, 'unsubscribe/garbage'),
    ]) {
      expect((await httpSend(forged, { method: 'POST', body: 'List-Unsubscribe=One-Click' })).status, forged).toBe(400);
      const page = await httpSend(forged, { method: 'GET' });
      expect(page.status).toBe(400);
      expect(page.text).toContain('not valid');
      expect(page.text).not.toContain('<form');
      expect((await httpSend(forged, { method: 'HEAD' })).status).toBe(400);
      const form = await httpSend(forged, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click&reply=page' });
      expect(form.status).toBe(400);
      expect(form.text).toContain('not valid');
    }
    // Still subscribed: a new mail goes out.
    await send('victim@dest.test');
  });

  it('a link keeps working after retention has deleted its delivery and message (the mailto address is refused then, not silently taken); a link of the former kind still works', async () => {
    const before = f.mx1.received.length;
    const id = await send('months-later@dest.test', '1');
    const { url, headers } = await linkFor('months-later@dest.test', before);
    const mailto = /<mailto:([^?>]+)/.exec(headers)![1];
    await statusesOf(f, id, (l) => l[0].DeliverStatus === 1);
    // What the retention job does once the mail is past SESAME_STATUS_RETENTION_DAYS.
    const db = f.t.app.services.db;
    const row = await db.get<{ message_row: number }>('SELECT d.message_row FROM deliveries d JOIN messages m ON m.id = d.message_row WHERE m.message_id = ?', [id]);
    await db.run('DELETE FROM deliveries WHERE message_row = ?', [row!.message_row]);
    await db.run('DELETE FROM messages WHERE id = ?', [row!.message_row]);
    const inbound = nodemailer.createTransport({ host: '127.0.0.1', port: f.t.app.mxPort, secure: false, tls: { rejectUnauthorized: false } });
    try {
      await expect(inbound.sendMail({ from: 'months-later@dest.test', to: mailto, subject: 'unsubscribe', text: 'please' }))
        .rejects.toMatchObject({ responseCode: 550 });
    } finally {
      inbound.close();
    }
    expect((await httpSend(url, { method: 'GET' })).text).toContain('<form');
    expect((await httpSend(url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' })).status).toBe(200);
    expect(await errorCode(send('months-later@dest.test'))).toBe('FailedOperation.ReceiverHasUnsubscribed');

    // Mail sent before links were sealed named the delivery under an HMAC: honoured while it exists.
    const before2 = f.mx1.received.length;
    const id2 = await send('old-link@dest.test', '1');
    await linkFor('old-link@dest.test', before2);
    const delivery = await db.get<{ id: number }>('SELECT d.id FROM deliveries d JOIN messages m ON m.id = d.message_row WHERE m.message_id = ?', [id2]);
    const legacy = unsubscribeTokens(f.t.app.services.box).sign(delivery!.id);
    expect((await httpSend(`${f.t.url}unsubscribe/${legacy}?l=1`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' })).status).toBe(200);
    expect(await errorCode(send('old-link@dest.test'))).toBe('FailedOperation.ReceiverHasUnsubscribed');
  });

  it('the sender address setting applies when the request says nothing', async () => {
    await f.call('CreateAddressUnsubscribeConfig', { Address: f.sender, UnsubscribeConfig: '5', Status: 1 });
    const before = f.mx1.received.length;
    await send('fr@dest.test');
    const { text } = await linkFor('fr@dest.test', before);
    expect(text).toContain('Se désabonner:');
    await f.call('DeleteAddressUnsubscribeConfig', { Address: f.sender });
    const b2 = f.mx1.received.length;
    await send('none@dest.test');
    const got = await eventually(async () => f.mx1.received.slice(b2).find((g) => g.to.includes('none@dest.test')));
    // mailparser files List-* headers under 'list'; the raw header lines tell.
    expect((await simpleParser(got.raw)).headerLines.map((h) => h.key)).not.toContain('list-unsubscribe');
    expect(got.raw.toString()).not.toMatch(/^list-unsubscribe:/im);
  });

  it('signs twice, RSA-2048 and Ed25519, for a dual-signature domain', async () => {
    await f.domains.verified(f.call, 'dual.shop.test', 2);
    await f.call('CreateEmailAddress', { EmailAddress: 'hi@dual.shop.test' });
    const before = f.mx1.received.length;
    await f.call('SendEmail', { FromEmailAddress: 'hi@dual.shop.test', Destination: ['dual@dest.test'], Subject: 'Two signatures', Template: { TemplateID: f.templateId, TemplateData: '{"name":"A","code":"1"}' } });
    const got = (await f.mx1.waitFor(before + 1)).slice(before)[0];
    const results = await f.verifyDkim(got.raw);
    expect(results.map((r) => [r.result, r.algorithm]).sort()).toEqual([['pass', 'ed25519-sha256'], ['pass', 'rsa-sha256']]);
  });
});
