/**
 * The official SDKs against a live Sesame on both stores: every signature method and both HTTP
 * methods run the five template actions end to end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestApp, type TestApp } from './helpers/app.js';
import { b64, CLIENT_KINDS, errorCode, sdkClient, type ClientKind } from './helpers/sdk.js';

const ALL_KINDS: readonly ClientKind[] = [...CLIENT_KINDS, 'intl:TC3-HMAC-SHA256:GET'];

describe.each(STORES)('official SDKs on %s', (store) => {
  let t: TestApp;
  beforeAll(async () => { t = await startTestApp(store); });
  afterAll(async () => { await t?.stop(); });

  it.each(ALL_KINDS)('%s runs the template lifecycle', async (kind) => {
    const call = sdkClient(kind, t.endpoint, t.creds);
    const name = `Welcome ${kind} ✓`;
    const html = '<p>Hello {{name}}, your code is {{ code }}.</p>';
    const text = 'Hello {{name}}, your code is {{code}}.';

    const created = await call('CreateEmailTemplate', { TemplateName: name, TemplateContent: { Html: b64(html), Text: b64(text) } });
    expect(created.TemplateID).toBeGreaterThan(0);
    expect(created.RequestId).toMatch(/^[0-9a-f-]{36}$/);

    const got = await call('GetEmailTemplate', { TemplateID: created.TemplateID });
    expect(got.TemplateName).toBe(name);
    expect(got.TemplateStatus).toBe(0);
    expect(Buffer.from(got.TemplateContent.Html ?? '', 'base64').toString('utf8')).toBe(html);
    expect(Buffer.from(got.TemplateContent.Text ?? '', 'base64').toString('utf8')).toBe(text);

    const list = await call('ListEmailTemplates', { Limit: 100, Offset: 0 });
    const meta = list.TemplatesMetadata.find((m) => m.TemplateID === created.TemplateID);
    expect(meta).toMatchObject({ TemplateName: name, TemplateStatus: 0, ReviewReason: '' });
    expect(Math.abs((meta?.CreatedTimestamp ?? 0) - Date.now() / 1000)).toBeLessThan(60);
    expect(list.TotalCount).toBe(list.TemplatesMetadata.length);

    await call('UpdateEmailTemplate', { TemplateID: created.TemplateID, TemplateName: `${name} v2`, TemplateContent: { Text: b64('Only text now') } });
    const updated = await call('GetEmailTemplate', { TemplateID: created.TemplateID });
    expect(updated.TemplateName).toBe(`${name} v2`);
    expect(updated.TemplateContent.Html ?? '').toBe('');
    expect(Buffer.from(updated.TemplateContent.Text ?? '', 'base64').toString('utf8')).toBe('Only text now');

    await call('DeleteEmailTemplate', { TemplateID: created.TemplateID });
    expect(await errorCode(call('GetEmailTemplate', { TemplateID: created.TemplateID }))).toBe('InvalidParameterValue.TemplateNotExist');
    expect(await errorCode(call('DeleteEmailTemplate', { TemplateID: created.TemplateID }))).toBe('InvalidParameterValue.TemplateNotExist');
  });

  it('pages ListEmailTemplates newest first with an exact TotalCount', async () => {
    const call = sdkClient('v4:TC3', t.endpoint, t.creds);
    const before = await call('ListEmailTemplates', { Limit: 0, Offset: 0 });
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) {
      ids.push((await call('CreateEmailTemplate', { TemplateName: `page ${i}`, TemplateContent: { Text: b64(`body ${i}`) } })).TemplateID);
    }
    const first = await call('ListEmailTemplates', { Limit: 3, Offset: 0 });
    const second = await call('ListEmailTemplates', { Limit: 3, Offset: 3 });
    expect(first.TotalCount).toBe(before.TotalCount + 7);
    expect(first.TemplatesMetadata.map((m) => m.TemplateID)).toEqual([ids[6], ids[5], ids[4]]);
    expect(second.TemplatesMetadata.map((m) => m.TemplateID)).toEqual([ids[3], ids[2], ids[1]]);
    const past = await call('ListEmailTemplates', { Limit: 10, Offset: 10_000 });
    expect(past.TemplatesMetadata).toEqual([]);
    expect(past.TotalCount).toBe(first.TotalCount);
  });

  it('answers the SDKs\' error path with the exact code', async () => {
    const intl = sdkClient('intl:HmacSHA256:POST', t.endpoint, t.creds);
    expect(await errorCode(intl('ListEmailTemplates', { Limit: 101, Offset: 0 }))).toBe('FailedOperation.InvalidLimit');
    const wrong = sdkClient('v4:TC3', t.endpoint, { SecretId: t.creds.SecretId, SecretKey: 'x'.repeat(32) });
    expect(await errorCode(wrong('ListEmailTemplates', { Limit: 1, Offset: 0 }))).toBe('AuthFailure.SignatureFailure');
    const unknown = sdkClient('intl:HmacSHA1:GET', t.endpoint, { SecretId: `AKID${'0'.repeat(32)}`, SecretKey: t.creds.SecretKey });
    expect(await errorCode(unknown('ListEmailTemplates', { Limit: 1, Offset: 0 }))).toBe('AuthFailure.SecretIdNotFound');
  });
});
