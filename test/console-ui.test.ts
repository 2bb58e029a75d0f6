/**
 * The console in a real Chromium (Debian's, driven by playwright-core) on both stores: the page and
 * its CSP, sign-in with the fields and button a person sees, by keyboard alone, the navigation,
 * the Overview's figures from the account's own actions, the language switch, and sign-out, after
 * which the old session cookie no longer works. Screenshots go to docs/console/.
 */
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestApp, type TestApp } from './helpers/app.js';

const SCREENSHOTS = new URL('../docs/console/', import.meta.url);
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
    await page.getByLabel('SecretId').focus();
    await page.keyboard.type(t.creds.SecretId);
    await page.keyboard.press('Tab');
    await page.keyboard.type('wrong key');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('AuthFailure.SecretIdNotFound');
    await page.getByLabel('SecretKey').fill('');
    await page.getByLabel('SecretKey').focus();
    await page.keyboard.type(t.creds.SecretKey);
    if (store === 'sqlite') {
      mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: new URL('sign-in.png', SCREENSHOTS).pathname });
    }
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
  });

  it('shows every screen in the navigation, and the Overview from the account\'s own figures', async () => {
    for (const name of NAV) expect(await page.getByRole('link', { name, exact: true }).count(), name).toBe(1);
    await page.getByText('Sent').first().waitFor();
    expect(await page.locator('[data-figure="sent"]').textContent()).toBe('0');
    // The AppId is masked: the picture stays the same from run to run.
    if (store === 'sqlite') await page.screenshot({ path: new URL('overview.png', SCREENSHOTS).pathname, mask: [page.getByText(/^Account \d+$/)] });
    // The language switch: the navigation in Simplified Chinese, and back.
    await page.getByLabel('Language').selectOption('zh');
    await page.getByRole('link', { name: '概览' }).waitFor();
    await page.getByLabel('语言').selectOption('en');
    await page.getByRole('link', { name: 'Overview' }).waitFor();
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
