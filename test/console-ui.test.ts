/**
 * The console in a real Chromium (Debian's, driven by playwright-core) on both stores: the page and
 * its CSP, sign-in with the fields and button a person sees, by keyboard alone, the navigation,
 * the Overview's figures from the account's own actions, the language switch, and sign-out, after
 * which the old session cookie no longer works. Screenshots go to docs/console/.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestApp, startTestAppWithDns, type DnsTestApp, type TestApp } from './helpers/app.js';
import { zoneFor } from './helpers/dns.js';
import { startReceiver } from './helpers/receiver.js';
import { extensionCall, sdkClient } from './helpers/sdk.js';

const SCREENSHOTS = new URL('../docs/console/', import.meta.url);
/** The server's time zone in the screens' tests (SESAME_TIMEZONE). */
const SERVER_ZONE = 'Asia/Shanghai';
const NAV = ['Overview', 'Domains', 'Sender addresses', 'Templates', 'Send', 'Recipient groups', 'Batch tasks', 'Sending status', 'Statistics', 'Blocklists', 'Callbacks', 'Settings'];

describe.each(STORES)('console in Chromium on %s', (store) => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    t = await startTestApp(store);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    page = await (await browser.newContext({ locale: 'en-US' })).newPage();
  });
  afterAll(async () => { await browser?.close(); await t?.stop(); });

  it('serves the page with a strict CSP and signs in by keyboard alone', async () => {
    const answer = await page.goto(`${t.url}console`);
    expect(answer?.headers()['content-security-policy']).toContain("script-src 'self'");
    expect(answer?.headers()['content-security-policy']).not.toContain('unsafe-inline');
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    if (store === 'sqlite') {
      mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: new URL('sign-in.png', SCREENSHOTS).pathname });
    }
    await page.getByLabel('SecretId').focus();
    await page.keyboard.type(t.creds.SecretId);
    await page.keyboard.press('Tab');
    await page.keyboard.type('wrong key');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('AuthFailure.SecretIdNotFound');
    await page.getByLabel('SecretKey').fill('');
    await page.getByLabel('SecretKey').focus();
    await page.keyboard.type(t.creds.SecretKey);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
  });

  it('shows every screen in the navigation, and the Overview from the account\'s own figures', async () => {
    for (const name of NAV) expect(await page.getByRole('link', { name, exact: true }).count(), name).toBe(1);
    // The Outbox is there only when the worker captures mail (SESAME_DELIVERY=capture).
    expect(await page.getByRole('link', { name: 'Outbox' }).count()).toBe(0);
    await page.getByText('Sent').first().waitFor();
    expect(await page.locator('[data-figure="sent"]').textContent()).toBe('0');
    // The language switch: the navigation in Simplified Chinese, and back.
    await page.getByLabel('Language').selectOption('zh');
    await page.getByRole('link', { name: '概览' }).waitFor();
    await page.getByLabel('语言').selectOption('en');
    await page.getByRole('link', { name: 'Overview' }).waitFor();
  });

  it('speaks Simplified Chinese to a browser that asks for it, until the switch says otherwise', async () => {
    const context = await browser.newContext({ locale: 'zh-CN' });
    try {
      const zh = await context.newPage();
      await zh.goto(`${t.url}console/`);
      await zh.getByRole('button', { name: '登录' }).waitFor();
      // The fields keep the names of Tencent's API keys in every language.
      expect(await zh.getByLabel('SecretId').count()).toBe(1);
      expect(await zh.evaluate(() => (globalThis as unknown as { document: { documentElement: { lang: string } } }).document.documentElement.lang)).toBe('zh-CN');
      await zh.getByLabel('语言').selectOption('en');
      await zh.getByRole('button', { name: 'Sign in' }).waitFor();
      await zh.reload();
      await zh.getByRole('button', { name: 'Sign in' }).waitFor();
    } finally {
      await context.close();
    }
  });

  it('refuses what another site makes the browser post, signed in or not', async () => {
    // Another site (localhost is not 127.0.0.1's site) whose page posts a form to the console's
    // API as soon as it loads: text/plain, shaped so its body reads as JSON, no CSRF header.
    const json = JSON.stringify({ Action: 'CreateCustomBlacklist', Params: { Emails: ['victim@dest.example'] }, pad: '' });
    const [name, value] = [json.slice(0, -2), json.slice(-2)];
    const attacker = createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(`<form id="f" method="POST" enctype="text/plain" action="${t.url}console/api/action"><input name='${name}' value='${value}'></form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, 'localhost', resolve));
    try {
      const other = await page.context().newPage();
      const answered = other.waitForResponse((r) => r.url() === `${t.url}console/api/action`);
      await other.goto(`http://localhost:${(attacker.address() as AddressInfo).port}/`);
      // The session cookie is SameSite=Strict (not sent), and the body is not JSON with a token.
      expect((await answered).status()).toBeGreaterThanOrEqual(400);
      await other.close();
    } finally {
      attacker.close();
    }
    const call = sdkClient('v4:TC3', t.endpoint, t.creds);
    expect((await call('ListCustomBlacklist', { Offset: 0, Limit: 10, Status: 2 })).TotalCount).toBe(0);
  });

  it('sends a page whose session ended elsewhere back to sign-in', async () => {
    // A second tab of the same browser signs out; the first finds out at its next request.
    const other = await page.context().newPage();
    await other.goto(`${t.url}console/#/domains`);
    await other.getByRole('button', { name: 'Sign out' }).click();
    await other.getByRole('button', { name: 'Sign in' }).waitFor();
    await other.close();
    await page.getByRole('link', { name: 'Templates' }).click();
    await page.getByText('Your session has ended').waitFor();
    expect(await page.getByRole('button', { name: 'Sign in' }).count()).toBe(1);
    await page.getByLabel('SecretId').fill(t.creds.SecretId);
    await page.getByLabel('SecretKey').fill(t.creds.SecretKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Templates' }).waitFor();
  });

  it('signs out: the page asks to sign in again and the old session cookie is refused', async () => {
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'sesame_console');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const r = await fetch(`${t.url}console/api/session`, { headers: { Cookie: `sesame_console=${session!.value}` } });
    expect(r.status).toBe(401);
  });
});

describe.each(STORES)('console screens in Chromium on %s', { timeout: 60_000 }, (store) => {
  let t: DnsTestApp;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    // The worker delivers in capture mode: sent mail is recorded as delivered, nothing leaves.
    // The callback receiver is on loopback.
    // The server's days and times are Shanghai's, the browser's Los Angeles's: what the console
    // shows and sends must follow the server's calendar.
    t = await startTestAppWithDns(store, { SESAME_DELIVERY: 'capture', SESAME_ALLOW_PRIVATE_NETWORKS: 'true', SESAME_TIMEZONE: SERVER_ZONE, SESAME_DAILY_QUOTA: '5000' }, ['api', 'worker']);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    page = await (await browser.newContext({ locale: 'en-US', timezoneId: 'America/Los_Angeles' })).newPage();
    page.on('dialog', (d) => { void d.accept(); });
    await page.goto(`${t.url}console/`);
    await page.getByLabel('SecretId').fill(t.creds.SecretId);
    await page.getByLabel('SecretKey').fill(t.creds.SecretKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
  });
  afterAll(async () => { await browser?.close(); await t?.stop(); });

  it('creates a domain, shows the records to publish with what DNS holds, and verifies it once they are published', async () => {
    await page.getByRole('link', { name: 'Domains' }).click();
    await page.getByLabel('Domain name').fill('ui.test');
    await page.getByRole('button', { name: 'Create domain' }).click();
    await page.getByRole('heading', { name: 'DNS records: ui.test' }).waitFor();
    const rows = page.locator('.detail tbody tr');
    await expect.poll(() => rows.count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('.detail').textContent()).toContain('._domainkey.ui.test');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText('Not verified yet').waitFor();
    // Publish what the API (the same records) says, then verify from the page.
    const records = await sdkClient('v4:TC3', t.endpoint, t.creds)('GetEmailIdentity', { EmailIdentity: 'ui.test' });
    await t.dns.publish(zoneFor(records.Attributes));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByText('Verified: the domain may send.').waitFor();
    // What changes from run to run (the AppId, the DKIM key) is masked, so the pictures stay put.
    if (store === 'sqlite') await page.screenshot({ path: new URL('domains.png', SCREENSHOTS).pathname, fullPage: true, mask: [page.getByText(/^Account \d+$/), page.locator('code.value')] });
  });

  it('creates a sender address on the verified domain and sets its SMTP password, by the rule', async () => {
    await page.getByRole('link', { name: 'Sender addresses' }).click();
    await page.getByLabel('Address (before @)').fill('news');
    await page.getByLabel('Sender name').fill('UI News');
    await page.getByRole('button', { name: 'Create sender address' }).click();
    await page.getByRole('cell', { name: 'news@ui.test', exact: true }).waitFor();
    const password = page.getByLabel('SMTP password news@ui.test');
    await password.fill('tooshort');
    await page.getByRole('button', { name: 'Set password news@ui.test' }).click();
    await expect.poll(() => page.getByRole('status').first().textContent()).toMatch(/^[A-Za-z.]+: /);
    await password.fill('Sesame2026Mail');
    await page.getByRole('button', { name: 'Set password news@ui.test' }).click();
    await page.getByText('The SMTP password is set.').waitFor();
    const senders = await sdkClient('v4:TC3', t.endpoint, t.creds)('ListEmailAddress', {});
    expect(senders.EmailSenders).toEqual([expect.objectContaining({ EmailAddress: 'news@ui.test', EmailSenderName: 'UI News', SmtpPwdType: 1 })]);
    // The address's unsubscribe link: English on every mail from it, then back to each request's choice.
    const call = sdkClient('v4:TC3', t.endpoint, t.creds);
    const link = page.getByLabel('Unsubscribe link news@ui.test');
    await link.selectOption({ label: 'English' });
    await page.getByText('The unsubscribe setting is saved.').waitFor();
    expect((await call('ListAddressUnsubscribeConfig', { Offset: 0, Limit: '10' })).AddressUnsubscribeConfigList).toEqual([{ Address: 'news@ui.test', UnsubscribeConfig: '1', Status: 1 }]);
    await expect.poll(() => link.inputValue()).toBe('1');
    await link.selectOption({ label: 'As each request says' });
    await expect.poll(async () => (await call('ListAddressUnsubscribeConfig', { Offset: 0, Limit: '10' })).AddressUnsubscribeConfigList).toEqual([]);
    if (store === 'sqlite') await page.screenshot({ path: new URL('sender-addresses.png', SCREENSHOTS).pathname, fullPage: true, mask: [page.getByText(/^Account \d+$/)] });
  });

  it('creates a template from an uploaded HTML file, previews it with sample values in a sandboxed frame, and edits it', async () => {
    await page.getByRole('link', { name: 'Templates' }).click();
    await page.getByRole('button', { name: 'New template' }).click();
    await page.getByLabel('Template name').fill('welcome');
    await page.getByLabel('HTML file').setInputFiles({ name: 'welcome.html', mimeType: 'text/html', buffer: Buffer.from('<html><body><h1>Hello {{name}}</h1><p>Your code: {{code}}</p></body></html>') });
    await page.getByLabel('Sample value of name').fill('Ann <3');
    // The preview's document: the sample value substituted, and escaped (it is text, not markup).
    const preview = page.locator('iframe[title="Preview"]');
    await expect.poll(() => preview.getAttribute('srcdoc')).toContain('<h1>Hello Ann &#60;3</h1>');
    expect(await preview.getAttribute('sandbox')).toBe('');
    // The preview frame paints on its own time: masked too, so the picture does not depend on it.
    if (store === 'sqlite') await page.screenshot({ path: new URL('templates.png', SCREENSHOTS).pathname, fullPage: true, mask: [page.getByText(/^Account \d+$/), preview] });
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'welcome', exact: true }).waitFor();
    const call = sdkClient('v4:TC3', t.endpoint, t.creds);
    const [meta] = (await call('ListEmailTemplates', { Limit: 10, Offset: 0 })).TemplatesMetadata;
    const stored = await call('GetEmailTemplate', { TemplateID: meta.TemplateID });
    expect(Buffer.from(stored.TemplateContent.Html!, 'base64').toString()).toContain('Hello {{name}}');
    // Edit: the name changes, by the same action the SDK uses.
    await page.getByRole('button', { name: 'Edit welcome' }).click();
    await page.getByLabel('Template name').fill('welcome v2');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'welcome v2', exact: true }).waitFor();
    expect((await call('GetEmailTemplate', { TemplateID: meta.TemplateID })).TemplateName).toBe('welcome v2');
  });

  it('finds one recipient\'s delivery in Sending status', async () => {
    const call = sdkClient('v4:TC3', t.endpoint, t.creds);
    const [meta] = (await call('ListEmailTemplates', { Limit: 10, Offset: 0 })).TemplatesMetadata;
    const { MessageId } = await call('SendEmail', {
      FromEmailAddress: 'news@ui.test', Destination: ['reader@dest.example', 'other@dest.example'], Subject: 'Hi',
      Template: { TemplateID: meta.TemplateID, TemplateData: '{"name":"Ann","code":"7"}' },
    });
    await page.getByRole('link', { name: 'Sending status' }).click();
    await page.getByRole('heading', { name: 'Sending status', exact: true }).waitFor();
    await page.getByLabel('Recipient', { exact: true }).fill('reader@dest.example');
    // Delivery (capture) takes a moment: search until it shows.
    await expect.poll(async () => {
      await page.getByRole('button', { name: 'Search' }).click();
      return page.locator('tbody tr').allTextContents();
    }, { timeout: 20_000 }).toEqual([expect.stringMatching(/^reader@dest\.examplenews@ui\.testDelivered.*/)]);
    expect(await page.locator('tbody').textContent()).toContain(MessageId);
    // Its history: accepted, then the (captured) delivery with the reply, from ListEmailEvents.
    await page.getByRole('button', { name: 'History reader@dest.example' }).click();
    const history = page.getByRole('region', { name: 'History: reader@dest.example' });
    await expect.poll(() => history.locator('li').evaluateAll((items) => items.map((li) => (li as unknown as { dataset: { event: string } }).dataset.event))).toEqual(['accepted', 'delivered']);
    expect(await history.locator('li[data-event="delivered"]').textContent()).toContain('250 2.0.0 Captured');
  });

  it('shows the statistics of what was sent, with the daily chart', async () => {
    await page.getByRole('link', { name: 'Statistics' }).click();
    // The two mails of the Sending status test, both delivered (capture).
    await expect.poll(async () => {
      await page.getByRole('button', { name: 'Show' }).click();
      return [await page.locator('[data-figure="requests"]').textContent(), await page.locator('[data-figure="delivered"]').textContent()];
    }, { timeout: 20_000 }).toEqual(['2', '2']);
    expect(await page.getByRole('img', { name: 'Mail per day' }).locator('canvas').count()).toBeGreaterThan(0);
    // Another recipient domain has none.
    await page.getByLabel('Recipient domain').fill('gmail.com');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => page.locator('[data-figure="requests"]').textContent()).toBe('0');
    // A period over 90 days answers Tencent's code.
    await page.getByLabel('From', { exact: true }).fill('2026-01-01');
    await page.getByLabel('To', { exact: true }).fill('2026-06-01');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('InvalidParameterValue');
  });

  it('sets a callback, reveals its secret, and shows the requests made to it', async () => {
    const rx = await startReceiver();
    try {
      await page.getByRole('link', { name: 'Callbacks' }).click();
      await page.getByLabel('Callback URL').fill(`${rx.base}/hook`);
      await page.getByRole('button', { name: 'Set callback' }).click();
      const card = page.getByRole('region', { name: 'Callbacks: The whole account' });
      await card.waitFor();
      expect(await card.textContent()).toContain('Active');
      await card.getByRole('button', { name: 'Reveal' }).click();
      const secret = await card.locator('[data-secret]').textContent();
      expect(secret).toMatch(/^whsec_/);
      const call = sdkClient('v4:TC3', t.endpoint, t.creds);
      const [meta] = (await call('ListEmailTemplates', { Limit: 10, Offset: 0 })).TemplatesMetadata;
      await call('SendEmail', { FromEmailAddress: 'news@ui.test', Destination: ['hooked@dest.example'], Subject: 'Hi', Template: { TemplateID: meta.TemplateID, TemplateData: '{"name":"A","code":"1"}' } });
      await rx.waitFor((r) => r.body.includes('hooked@dest.example'));
      await expect.poll(async () => {
        await card.getByRole('button', { name: 'Refresh' }).click();
        return card.getByRole('table').locator('tbody tr').allTextContents();
      }, { timeout: 20_000 }).toEqual([expect.stringMatching(/evt_[0-9a-z]+200/)]);
      if (store === 'sqlite') {
        await card.getByRole('button', { name: 'Hide' }).click();
        await page.screenshot({ path: new URL('callbacks.png', SCREENSHOTS).pathname, fullPage: true, mask: [page.getByText(/^Account \d+$/), page.locator('code'), page.locator('tbody td')] });
      }
    } finally {
      await rx.stop();
    }
  });

  it('adds a custom blocklist entry with an expiry and removes it', async () => {
    await page.getByRole('link', { name: 'Blocklists' }).click();
    await page.getByLabel('Addresses to block').fill('spamtrap@dest.example');
    await page.getByLabel('Expires').fill('2099-12-31');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const row = page.getByRole('table', { name: 'Your blocklist' }).getByRole('row', { name: /spamtrap@dest\.example/ });
    await row.waitFor();
    expect(await row.textContent()).toContain('2099-12-31');
    const call = sdkClient('v4:TC3', t.endpoint, t.creds);
    expect((await call('ListCustomBlacklist', { Offset: 0, Limit: 10, Status: 2 })).Data.map((d) => d.Email)).toEqual(['spamtrap@dest.example']);
    // A new expiry, by UpdateCustomBlackList.
    await page.getByRole('button', { name: 'Edit spamtrap@dest.example' }).click();
    await page.getByLabel('Expires spamtrap@dest.example').fill('2098-01-15');
    await page.getByRole('button', { name: 'Save spamtrap@dest.example' }).click();
    await expect.poll(() => row.textContent()).toContain('2098-01-15');
    expect((await call('ListCustomBlacklist', { Offset: 0, Limit: 10, Status: 2 })).Data.map((d) => [d.Email, d.ExpireDate])).toEqual([['spamtrap@dest.example', '2098-01-15']]);
    if (store === 'sqlite') await page.screenshot({ path: new URL('blocklists.png', SCREENSHOTS).pathname, fullPage: true, mask: [page.getByText(/^Account \d+$/)] });
    await page.getByRole('button', { name: 'Remove spamtrap@dest.example' }).click();
    await row.waitFor({ state: 'detached' });
    expect((await call('ListCustomBlacklist', { Offset: 0, Limit: 10, Status: 2 })).TotalCount).toBe(0);
  });

  it('imports a CSV of 1,000 recipients with data into a new group, and shows the counts and the invalid rows', async () => {
    await page.getByRole('link', { name: 'Recipient groups' }).click();
    await page.getByLabel('Group name').fill('newsletter');
    await page.getByRole('button', { name: 'Create group' }).click();
    const rows = Array.from({ length: 1000 }, (_, i) => `r${i}@dest.example,"Reader, ${i}",C${i}`);
    const csv = ['email,name,code', ...rows, 'not-an-address,X,Y', 'also bad,Z,W'].join('\r\n');
    await page.getByLabel('Import CSV').setInputFiles({ name: 'group.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await expect.poll(() => page.locator('[data-counts]').textContent(), { timeout: 20_000 }).toBe('Valid: 1000 · Invalid: 2');
    expect(await page.getByRole('progressbar', { name: 'Import progress' }).getAttribute('value')).toBe('1002');
    const call = sdkClient('v4:TC3', t.endpoint, t.creds);
    const [group] = (await call('ListReceivers', { Offset: 0, Limit: 10 })).Data;
    const details = await call('ListReceiverDetails', { ReceiverId: group.ReceiverId, Offset: 0, Limit: 1, Email: 'r7@dest.example' });
    expect(JSON.parse(details.Data[0].TemplateData)).toEqual({ name: 'Reader, 7', code: 'C7' });
    if (store === 'sqlite') await page.screenshot({ path: new URL('recipient-groups.png', SCREENSHOTS).pathname, mask: [page.getByText(/^Account \d+$/)] });
  });

  it('sends a test mail from the Send screen, with the template\'s variables', async () => {
    await page.getByRole('link', { name: 'Send', exact: true }).click();
    await page.getByLabel('Subject').fill('A test');
    await page.getByLabel('Recipients (up to 50)').fill('me@dest.example');
    await page.getByLabel('Value of name').fill('Me');
    await page.getByLabel('Value of code').fill('42');
    await page.getByRole('button', { name: 'Send now' }).click();
    const status = await expect.poll(() => page.getByRole('status').textContent()).toMatch(/MessageId qcloudses-/).then(() => page.getByRole('status').textContent());
    const messageId = /MessageId (\S+)/.exec(status ?? '')![1];
    if (store === 'sqlite') await page.screenshot({ path: new URL('send.png', SCREENSHOTS).pathname, fullPage: true, mask: [page.getByText(/^Account \d+$/), page.getByRole('status').locator('code')] });
    const call = sdkClient('v4:TC3', t.endpoint, t.creds);
    const list = await call('GetSendEmailStatus', { RequestDate: serverTime().slice(0, 10), Offset: 0, Limit: 10, MessageId: messageId });
    expect(list.EmailStatusList.map((x) => [x.ToEmailAddress, x.FromEmailAddress])).toEqual([['me@dest.example', 'news@ui.test']]);
    // What the API refuses shows its code and message.
    await page.getByLabel('Recipients (up to 50)').fill('not an address');
    await page.getByRole('button', { name: 'Send now' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/^[A-Za-z.]+: /);
  });

  it('starts a batch task to the group and watches it reach completion in the list; Statistics and Sending status show its mail', async () => {
    const call = sdkClient('v4:TC3', t.endpoint, t.creds);
    const before = (await call('GetStatisticsReport', { StartDate: serverTime().slice(0, 10), EndDate: serverTime().slice(0, 10) })).OverallVolume.RequestCount;
    await page.getByRole('link', { name: 'Batch tasks' }).click();
    await page.getByRole('button', { name: 'New batch task' }).click();
    await page.getByLabel('Subject').fill('News for {{name}}');
    // The group of the import test: 1,000 valid addresses and 2 invalid ones (not recipients).
    await expect.poll(() => page.getByLabel('Recipient group').locator('option').allTextContents()).toEqual(['newsletter (1002)']);
    await page.getByRole('button', { name: 'Create task' }).click();
    await page.locator('tr[data-task]').first().waitFor();
    const [task] = (await call('ListSendTasks', { Offset: 0, Limit: 10 })).Data;
    expect(task).toMatchObject({ Subject: 'News for {{name}}', TaskType: 1, ReceiversName: 'newsletter' });
    // The list reads itself again while the task runs: nothing is clicked while waiting.
    const row = page.locator(`tr[data-task="${task.TaskId}"]`);
    await expect.poll(() => row.locator('[data-status]').getAttribute('data-status'), { timeout: 45_000 }).toBe('10');
    expect(await row.locator('[data-progress]').textContent()).toBe('1000 / 1000');
    expect(await row.getByRole('progressbar').getAttribute('value')).toBe('1000');
    expect(await row.textContent()).toContain('Sent');
    if (store === 'sqlite') await page.screenshot({ path: new URL('batch-tasks.png', SCREENSHOTS).pathname, fullPage: true, mask: [page.getByText(/^Account \d+$/)] });
    // The statistics count the task's 1,000 requests, all delivered (capture).
    await page.getByRole('link', { name: 'Statistics' }).click();
    await expect.poll(async () => {
      await page.getByRole('button', { name: 'Show' }).click();
      return page.locator('[data-figure="requests"]').textContent();
    }, { timeout: 20_000 }).toBe(String(before + 1000));
    expect(await page.getByRole('img', { name: 'Mail per day' }).locator('canvas').count()).toBeGreaterThan(0);
    if (store === 'sqlite') await page.screenshot({ path: new URL('statistics.png', SCREENSHOTS).pathname, fullPage: true, mask: [page.getByText(/^Account \d+$/), page.locator('input[type="date"]'), page.getByRole('img', { name: 'Mail per day' })] });
    // One recipient of the task in Sending status, with its own subject.
    await page.getByRole('link', { name: 'Sending status' }).click();
    await page.getByRole('heading', { name: 'Sending status', exact: true }).waitFor();
    await page.getByLabel('Recipient', { exact: true }).fill('r7@dest.example');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.locator('tbody tr').allTextContents()).toEqual([expect.stringMatching(/^r7@dest\.examplenews@ui\.testDelivered/)]);
    await page.getByRole('button', { name: 'History r7@dest.example' }).click();
    await page.getByRole('region', { name: 'History: r7@dest.example' }).locator('li[data-event="delivered"]').waitFor();
    if (store === 'sqlite') await page.screenshot({ path: new URL('sending-status.png', SCREENSHOTS).pathname, fullPage: true, mask: [page.getByText(/^Account \d+$/), page.locator('input[type="date"]'), page.locator('tbody td:nth-child(5)'), page.locator('tbody td:nth-child(7)'), page.locator('.history time')] });
  });

  it('creates a scheduled task by keyboard alone, at a time in the server\'s zone, then pauses, resumes and ends it', async () => {
    await tabTo(page, page.getByRole('link', { name: 'Batch tasks' }));
    await page.keyboard.press('Enter');
    await tabTo(page, page.getByRole('button', { name: 'New batch task' }));
    await page.keyboard.press('Enter');
    await tabTo(page, page.getByLabel('Subject'));
    await page.keyboard.type('Weekly');
    // Into the type's radio group (Immediate is checked), then the arrow moves to Scheduled.
    await tabTo(page, page.getByRole('radio', { name: 'Immediate' }));
    await page.keyboard.press('ArrowDown');
    expect(await page.getByRole('radio', { name: 'Scheduled' }).isChecked()).toBe(true);
    // The start is offered ten minutes ahead in the server's zone (not the browser's), and says so.
    const begin = await page.getByLabel('Starts').inputValue();
    expect(minutesBetween(begin, serverTime())).toBeGreaterThanOrEqual(9);
    expect(minutesBetween(begin, serverTime())).toBeLessThanOrEqual(11);
    expect(await page.getByText('Times are in the server\'s time zone:').textContent()).toContain(SERVER_ZONE);
    await tabTo(page, page.getByRole('button', { name: 'Create task' }));
    await page.keyboard.press('Enter');
    // The form closes once the task is created.
    await page.getByRole('button', { name: 'Create task' }).waitFor({ state: 'detached' });
    const call = sdkClient('v4:TC3', t.endpoint, t.creds);
    const [task] = (await call('ListSendTasks', { Offset: 0, Limit: 1, TaskType: 2 })).Data;
    expect(task.TimedParam?.BeginTime).toBe(`${begin.replace('T', ' ')}:00`);
    const status = page.locator(`tr[data-task="${task.TaskId}"] [data-status]`);
    await expect.poll(() => status.getAttribute('data-status')).toBe('1');
    for (const [op, after] of [['Pause', '6'], ['Resume', '1'], ['End', '10']] as const) {
      await tabTo(page, page.getByRole('button', { name: `${op} #${task.TaskId}` }));
      await page.keyboard.press('Enter');
      await expect.poll(() => status.getAttribute('data-status')).toBe(after);
    }
    expect((await call('ListSendTasks', { Offset: 0, Limit: 1, TaskType: 2 })).Data[0]).toMatchObject({ TaskId: task.TaskId, TaskStatus: 10, SendCount: 0 });

    // A recurring task: every 48 hours from the offered start, this run only.
    await page.getByRole('button', { name: 'New batch task' }).click();
    await page.getByLabel('Subject').fill('Every other day');
    await page.getByRole('radio', { name: 'Recurring' }).check();
    await page.getByLabel('Every (hours)').fill('48');
    await page.getByRole('checkbox', { name: 'Run once only' }).check();
    const start = await page.getByLabel('Starts').inputValue();
    await page.getByRole('button', { name: 'Create task' }).click();
    await page.getByRole('button', { name: 'Create task' }).waitFor({ state: 'detached' });
    const [recurring] = (await call('ListSendTasks', { Offset: 0, Limit: 1, TaskType: 3 })).Data;
    expect(recurring.CycleParam).toMatchObject({ BeginTime: `${start.replace('T', ' ')}:00`, IntervalTime: 48, TermCycle: 1 });
    await expect.poll(() => page.locator(`tr[data-task="${recurring.TaskId}"]`).textContent()).toContain('Recurring');
  });

  it('creates a template by keyboard alone, with its preview', async () => {
    await tabTo(page, page.getByRole('link', { name: 'Templates' }));
    await page.keyboard.press('Enter');
    await tabTo(page, page.getByRole('button', { name: 'New template' }));
    await page.keyboard.press('Enter');
    await tabTo(page, page.getByLabel('Template name'));
    await page.keyboard.type('typed');
    await tabTo(page, page.getByLabel('HTML', { exact: true }));
    await page.keyboard.type('<p>Typed for {{who}}</p>');
    await tabTo(page, page.getByLabel('Sample value of who'));
    await page.keyboard.type('Kim');
    await expect.poll(() => page.locator('iframe[title="Preview"]').getAttribute('srcdoc')).toBe('<p>Typed for Kim</p>');
    await tabTo(page, page.getByRole('button', { name: 'Save' }));
    await page.keyboard.press('Enter');
    await page.getByRole('cell', { name: 'typed', exact: true }).waitFor();
    const call = sdkClient('v4:TC3', t.endpoint, t.creds);
    const meta = (await call('ListEmailTemplates', { Limit: 10, Offset: 0 })).TemplatesMetadata.find((m) => m.TemplateName === 'typed');
    const stored = await call('GetEmailTemplate', { TemplateID: meta!.TemplateID });
    expect(Buffer.from(stored.TemplateContent.Html!, 'base64').toString()).toBe('<p>Typed for {{who}}</p>');
  });

  it('shows the Overview: today\'s figures, each domain\'s quota and what is used of it', async () => {
    const call = sdkClient('v4:TC3', t.endpoint, t.creds);
    const volume = async () => (await call('GetStatisticsReport', { StartDate: serverTime().slice(0, 10), EndDate: serverTime().slice(0, 10) })).OverallVolume;
    // Everything sent so far delivered (capture), so the figures are the same from run to run.
    await expect.poll(async () => { const v = await volume(); return v.DeliveredCount === v.RequestCount; }, { timeout: 20_000 }).toBe(true);
    const today = await volume();
    await page.getByRole('link', { name: 'Overview' }).click();
    await expect.poll(() => page.locator('[data-figure="sent"]').textContent()).toBe(String(today.RequestCount));
    expect(today.RequestCount).toBeGreaterThan(1000);
    expect(await page.locator('[data-figure="delivered"]').textContent()).toBe(String(today.DeliveredCount));
    const row = page.getByRole('row', { name: /^ui\.test/ });
    // The use of the quota comes by a call of its own: it shows once that is answered.
    await expect.poll(() => row.getByRole('cell').allTextContents()).toEqual(['ui.test', expect.any(String), '5000', String(today.RequestCount)]);
    if (store === 'sqlite') await page.screenshot({ path: new URL('overview.png', SCREENSHOTS).pathname, fullPage: true, mask: [page.getByText(/^Account \d+$/)] });
  });


  it('shows in the Outbox what a recipient would have got: the HTML in a sandboxed frame, the headers, the .eml', async () => {
    await page.getByRole('link', { name: 'Outbox' }).click();
    await page.getByLabel('Recipient', { exact: true }).fill('me@dest.example');
    await page.getByRole('button', { name: 'Search' }).click();
    const rows = page.getByRole('table', { name: 'Outbox' }).locator('tbody tr');
    await expect.poll(() => rows.allTextContents(), { timeout: 20_000 }).toEqual([expect.stringContaining('me@dest.examplenews@ui.testA test')]);
    await rows.first().getByRole('button').click();
    const message = page.getByRole('region', { name: /^Message #\d+$/ });
    const frame = message.locator('iframe[title="Rendered HTML"]');
    // The recipient's own values, in a frame where nothing runs.
    await expect.poll(() => frame.getAttribute('srcdoc')).toContain('<h1>Hello Me</h1><p>Your code: 42</p>');
    expect(await frame.getAttribute('sandbox')).toBe('');
    const headers = message.getByRole('table', { name: 'Headers' });
    expect(await headers.getByRole('rowheader').allTextContents()).toEqual(expect.arrayContaining(['DKIM-Signature', 'Subject', 'From', 'To', 'Message-ID']));
    if (store === 'sqlite') await page.screenshot({ path: new URL('outbox.png', SCREENSHOTS).pathname, fullPage: true, mask: [page.getByText(/^Account \d+$/), page.locator('tbody td:first-child'), headers.getByRole('row', { name: /^(DKIM-Signature|Message-ID|Date|List-Unsubscribe)/ }).locator('td'), frame] });
    // The .eml is the message's exact bytes, as the API answers them.
    const [download] = await Promise.all([page.waitForEvent('download'), message.getByRole('link', { name: 'Download .eml' }).click()]);
    const saved = readFileSync((await download.path())!);
    const [listed] = (await extensionCall(t.endpoint, t.creds, 'ListCapturedEmails', { Offset: 0, Limit: 1, Recipient: 'me@dest.example' })).CapturedEmailList;
    const kept = await extensionCall(t.endpoint, t.creds, 'GetCapturedEmail', { Id: listed.Id });
    expect(saved.equals(Buffer.from(kept.Raw, 'base64'))).toBe(true);
    expect(saved.toString()).toMatch(/^Subject: A test\r$/m);
  });

  it('creates and revokes an API key in Settings (the SecretKey shown once), and turns tracking off and on', async () => {
    await page.getByRole('link', { name: 'Settings' }).click();
    const keys = page.getByRole('table', { name: 'API keys' });
    await expect.poll(() => keys.locator('tbody tr').allTextContents()).toEqual([expect.stringContaining(`${t.creds.SecretId} (this session)`)]);
    // The key this session signed in with cannot be revoked from here.
    expect(await page.getByRole('button', { name: `Revoke ${t.creds.SecretId}` }).count()).toBe(0);
    await page.getByRole('button', { name: 'Create API key' }).click();
    const fresh = page.getByRole('region', { name: 'New API key' });
    const secretId = (await fresh.locator('[data-new-secret-id]').textContent())!;
    const secretKey = (await fresh.locator('[data-new-secret-key]').textContent())!;
    expect(await fresh.textContent()).toContain('it is not shown again');
    await expect.poll(() => keys.locator('tbody tr').count()).toBe(2);
    expect(await keys.textContent()).not.toContain(secretKey);
    const withFresh = sdkClient('v4:TC3', t.endpoint, { SecretId: secretId, SecretKey: secretKey });
    expect((await withFresh('ListEmailTemplates', { Limit: 1, Offset: 0 })).TotalCount).toBeGreaterThan(0);
    if (store === 'sqlite') await page.screenshot({ path: new URL('settings.png', SCREENSHOTS).pathname, fullPage: true, mask: [page.getByText(/^Account \d+$/), page.locator('code'), keys.locator('td:nth-child(2)')] });
    await page.getByRole('button', { name: `Revoke ${secretId}` }).click();
    await page.getByRole('status').getByText(`Revoked: ${secretId}`).waitFor();
    await expect(withFresh('ListEmailTemplates', { Limit: 1, Offset: 0 })).rejects.toMatchObject({ code: expect.stringMatching(/^AuthFailure/) });

    // Tracking: off, then a mail's HTML has no open pixel; on again, and it has one.
    const tracking = page.getByRole('checkbox', { name: 'Track opens and clicks' });
    expect(await tracking.isChecked()).toBe(true);
    await tracking.uncheck();
    await page.getByText('Tracking is off for new mail.').waitFor();
    const htmlOf = async (to: string) => {
      const call = sdkClient('v4:TC3', t.endpoint, t.creds);
      const [meta] = (await call('ListEmailTemplates', { Limit: 10, Offset: 0 })).TemplatesMetadata.filter((m) => m.TemplateName === 'welcome v2');
      await call('SendEmail', { FromEmailAddress: 'news@ui.test', Destination: [to], Subject: 'Tracked?', Template: { TemplateID: meta.TemplateID, TemplateData: '{"name":"T","code":"1"}' } });
      const captured = async () => (await extensionCall(t.endpoint, t.creds, 'ListCapturedEmails', { Offset: 0, Limit: 1, Recipient: to })).CapturedEmailList;
      await expect.poll(async () => (await captured()).length, { timeout: 20_000 }).toBe(1);
      return (await extensionCall(t.endpoint, t.creds, 'GetCapturedEmail', { Id: (await captured())[0].Id })).Html;
    };
    // Workers see an account's change within their settings cache's bound (5 s on PostgreSQL): a
    // new mail each try, until one shows it.
    let n = 0;
    await expect.poll(() => htmlOf(`untracked${n++}@dest.example`), { timeout: 20_000, interval: 500 }).not.toContain('/t/o/');
    await tracking.check();
    await page.getByText('Tracking is on for new mail.').waitFor();
    await expect.poll(() => htmlOf(`tracked${n++}@dest.example`), { timeout: 20_000, interval: 500 }).toContain('/t/o/');
  });

  it('shows another account, signed in to the same console, none of this account\'s data', async () => {
    const neighbour = await t.app.services.accounts.create({ name: 'neighbour' });
    const context = await browser.newContext({ locale: 'en-US' });
    try {
      const other = await context.newPage();
      await other.goto(`${t.url}console/`);
      await other.getByLabel('SecretId').fill(neighbour.SecretId);
      await other.getByLabel('SecretKey').fill(neighbour.SecretKey);
      await other.getByRole('button', { name: 'Sign in' }).click();
      await other.getByRole('heading', { name: 'Overview' }).waitFor();
      await expect.poll(() => other.locator('[data-figure="sent"]').textContent()).toBe('0');
      for (const [screen, heading] of [['Domains', 'Domains'], ['Batch tasks', 'Batch tasks'], ['Recipient groups', 'Recipient groups']] as const) {
        await other.getByRole('link', { name: screen, exact: true }).click();
        await other.getByRole('heading', { name: heading, exact: true }).waitFor();
        await other.getByText('None', { exact: true }).waitFor();
      }
      await other.getByRole('link', { name: 'Sending status' }).click();
      await other.getByRole('heading', { name: 'Sending status', exact: true }).waitFor();
      await other.getByLabel('Recipient', { exact: true }).fill('r7@dest.example');
      await other.getByRole('button', { name: 'Search' }).click();
      await other.getByText('None', { exact: true }).waitFor();
      expect(await other.locator('tbody tr').count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});

/** Now in the server's zone, as `YYYY-MM-DDThh:mm`. */
function serverTime(): string {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-CA', { timeZone: SERVER_ZONE, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    .formatToParts(new Date()).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}`;
}

/** Minutes from `b` to `a`, both `YYYY-MM-DDThh:mm` of one zone. */
function minutesBetween(a: string, b: string): number {
  return (Date.parse(`${a}Z`) - Date.parse(`${b}Z`)) / 60_000;
}

/** Presses Tab, as a keyboard user does, until `target` has the focus (at most 100 times). */
async function tabTo(page: Page, target: Locator): Promise<void> {
  for (let i = 0; i < 100; i++) {
    // (The test's TypeScript has no DOM types: the element is described by what is used of it.)
    if (await target.evaluate((el: { ownerDocument: { activeElement: unknown } }) => el === el.ownerDocument.activeElement).catch(() => false)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${target.toString()}`);
}
