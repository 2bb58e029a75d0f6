/**
 * Template rules through the SDK, on both stores: content and name checks, limits, review, and
 * tenant isolation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES, startTestApp, type TestApp } from './helpers/app.js';
import { b64, errorCode, sdkClient, type Caller } from './helpers/sdk.js';

describe.each(STORES)('templates on %s', (store) => {
  let t: TestApp;
  let call: Caller;
  beforeAll(async () => {
    t = await startTestApp(store, { SESAME_TEMPLATE_LIMIT: '5', SESAME_TEMPLATE_MAX_BYTES: '2048' });
    call = sdkClient('v4:TC3', t.endpoint, t.creds);
  });
  afterAll(async () => { await t?.stop(); });

  const create = (name: string, content: { Html?: string; Text?: string }, c: Caller = call) =>
    c('CreateEmailTemplate', { TemplateName: name, TemplateContent: content });

  it('refuses content that is not base64 UTF-8, or empty', async () => {
    expect(await errorCode(create('x', { Html: 'not base64!' }))).toBe('InvalidParameterValue.TemplateContentIsWrong');
    expect(await errorCode(create('x', { Text: 'QQ=Q' }))).toBe('InvalidParameterValue.TemplateContentIsWrong');
    expect(await errorCode(create('x', { Text: Buffer.from([0xff, 0xfe, 0x41]).toString('base64') }))).toBe('InvalidParameterValue.TemplateContentIsWrong');
    expect(await errorCode(create('x', {}))).toBe('InvalidParameterValue.TemplateContentIsNULL');
    expect(await errorCode(create('x', { Html: '', Text: '' }))).toBe('InvalidParameterValue.TemplateContentIsNULL');
    expect(await errorCode(create('x', { Text: b64('   \n') }))).toBe('InvalidParameterValue.TemplateContentIsNULL');
  });

  it('checks names', async () => {
    expect(await errorCode(create('', { Text: b64('a') }))).toBe('InvalidParameterValue.TemplateNameIsNULL');
    expect(await errorCode(create('   ', { Text: b64('a') }))).toBe('InvalidParameterValue.TemplateNameIsNULL');
    expect(await errorCode(create('n'.repeat(101), { Text: b64('a') }))).toBe('InvalidParameterValue.TemplateNameIllegal');
    expect(await errorCode(create('line\nbreak', { Text: b64('a') }))).toBe('InvalidParameterValue.TemplateNameIllegal');
    expect(await errorCode(create('<script>', { Text: b64('a') }))).toBe('InvalidParameterValue.TemplateNameIllegal');
  });

  it('enforces the size limit on decoded content', async () => {
    expect(await errorCode(create('big', { Html: b64('x'.repeat(1500)), Text: b64('y'.repeat(600)) }))).toBe('FailedOperation.TemplateContentToolarge');
    // Multi-byte characters count as their UTF-8 bytes.
    expect(await errorCode(create('big', { Text: b64('é'.repeat(1025)) }))).toBe('FailedOperation.TemplateContentToolarge');
  });

  it('enforces the per-account template count, and frees a slot on delete', async () => {
    const other = await t.app.services.accounts.create({ name: 'count' });
    const c = sdkClient('intl:HmacSHA256:POST', t.endpoint, other);
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push((await create(`t${i}`, { Text: b64('a') }, c)).TemplateID);
    expect(await errorCode(create('t5', { Text: b64('a') }, c))).toBe('FailedOperation.ExceedTemplateLimit');
    await c('DeleteEmailTemplate', { TemplateID: ids[0] });
    expect((await create('t5', { Text: b64('a') }, c)).TemplateID).toBeGreaterThan(ids[4]);
  });

  it('holds the count under concurrent creates', async () => {
    const other = await t.app.services.accounts.create({ name: 'race' });
    const c = sdkClient('v4:TC3', t.endpoint, other);
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => create(`r${i}`, { Text: b64('a') }, c)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    const list = await c('ListEmailTemplates', { Limit: 100, Offset: 0 });
    expect(list.TotalCount).toBe(5);
  });

  it('refuses Limit above 100', async () => {
    expect(await errorCode(call('ListEmailTemplates', { Limit: 101, Offset: 0 }))).toBe('FailedOperation.InvalidLimit');
    expect((await call('ListEmailTemplates', { Limit: 100, Offset: 0 })).TotalCount).toBeTypeOf('number');
  });

  it('update needs an existing template of this account', async () => {
    expect(await errorCode(call('UpdateEmailTemplate', { TemplateID: 987654, TemplateName: 'x', TemplateContent: { Text: b64('a') } })))
      .toBe('InvalidParameterValue.TemplateNotExist');
  });

  it('keeps each account to its own templates', async () => {
    const owner = await t.app.services.accounts.create({ name: 'owner' });
    const intruder = await t.app.services.accounts.create({ name: 'intruder' });
    const a = sdkClient('v4:TC3', t.endpoint, owner);
    const b = sdkClient('intl:HmacSHA256:POST', t.endpoint, intruder);
    const id = (await create('private', { Text: b64('secret plan') }, a)).TemplateID;

    const seen = await b('ListEmailTemplates', { Limit: 100, Offset: 0 });
    expect(seen.TemplatesMetadata.map((m) => m.TemplateID)).not.toContain(id);
    expect(seen.TotalCount).toBe(0);
    expect(await errorCode(b('GetEmailTemplate', { TemplateID: id }))).toBe('InvalidParameterValue.TemplateNotExist');
    expect(await errorCode(b('UpdateEmailTemplate', { TemplateID: id, TemplateName: 'mine', TemplateContent: { Text: b64('x') } })))
      .toBe('InvalidParameterValue.TemplateNotExist');
    expect(await errorCode(b('DeleteEmailTemplate', { TemplateID: id }))).toBe('InvalidParameterValue.TemplateNotExist');

    const still = await a('GetEmailTemplate', { TemplateID: id });
    expect(still.TemplateName).toBe('private');
    expect(Buffer.from(still.TemplateContent.Text ?? '', 'base64').toString()).toBe('secret plan');
  });

  it('review: pending until an operator approves or rejects; an update goes back to pending', async () => {
    const creds = await t.app.services.accounts.create({ name: 'reviewed', templateReview: true });
    const c = sdkClient('intl:HmacSHA1:GET', t.endpoint, creds);
    const account = await t.app.services.accounts.byAppId(creds.AppId);
    const id = (await create('newsletter', { Html: b64('<p>{{name}}</p>') }, c)).TemplateID;
    expect((await c('GetEmailTemplate', { TemplateID: id })).TemplateStatus).toBe(1);

    await t.app.services.templates.review(account!.id, id, 'reject', 'Contains a link shortener.');
    let meta = (await c('ListEmailTemplates', { Limit: 10, Offset: 0 })).TemplatesMetadata[0];
    expect(meta).toMatchObject({ TemplateID: id, TemplateStatus: 2, ReviewReason: 'Contains a link shortener.' });

    await c('UpdateEmailTemplate', { TemplateID: id, TemplateName: 'newsletter', TemplateContent: { Html: b64('<p>Hi {{name}}</p>') } });
    meta = (await c('ListEmailTemplates', { Limit: 10, Offset: 0 })).TemplatesMetadata[0];
    expect(meta).toMatchObject({ TemplateStatus: 1, ReviewReason: '' });

    await t.app.services.templates.review(account!.id, id, 'approve', 'Approved');
    meta = (await c('ListEmailTemplates', { Limit: 10, Offset: 0 })).TemplatesMetadata[0];
    expect(meta).toMatchObject({ TemplateStatus: 0, ReviewReason: 'Approved' });

    // Without review, an update of an approved template stays approved.
    const plain = (await create('plain', { Text: b64('a') })).TemplateID;
    await call('UpdateEmailTemplate', { TemplateID: plain, TemplateName: 'plain 2', TemplateContent: { Text: b64('b') } });
    expect((await call('GetEmailTemplate', { TemplateID: plain })).TemplateStatus).toBe(0);
  });

  it('keeps the variables it finds', async () => {
    const id = (await create('vars', { Html: b64('<p>{{ first }} {{last}}</p>'), Text: b64('{{first}} {{code}} {{ bad var }}') })).TemplateID;
    const view = await t.app.services.templates.get((await t.app.services.accounts.byAppId(t.creds.AppId))!.id, id);
    expect(view.variables).toEqual(['first', 'last', 'code']);
  });
});
