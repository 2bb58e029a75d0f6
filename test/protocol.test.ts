/**
 * The API 3.0 protocol, request by request: every error of the common list the issue names, with
 * its exact code, over real HTTP; signatures over exact bytes; replays; limits; the envelope.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { send, sendTc3, sendV1, signV1, tc3Headers, type RawResponse } from './helpers/raw.js';
import { b64 } from './helpers/sdk.js';
import { ACTION_NAMES } from '../src/schema/ses.js';

let t: TestApp;
beforeAll(async () => { t = await startTestApp('sqlite', { SESAME_API_RATE_LIMIT: '0', SESAME_API_RATE_LIMITS: 'GetEmailTemplate=4' }); });
afterAll(async () => { await t?.stop(); });

const tc3 = (action: string, body: string, extra: Partial<Parameters<typeof sendTc3>[0]> = {}): Promise<RawResponse> =>
  sendTc3({ url: t.url, action, body, secretId: t.creds.SecretId, secretKey: t.creds.SecretKey, ...extra });
const v1 = (params: Record<string, string | number>, extra: Partial<Parameters<typeof sendV1>[0]> = {}): Promise<RawResponse> =>
  sendV1({ url: t.url, params, secretId: t.creds.SecretId, secretKey: t.creds.SecretKey, ...extra });
const codeOf = (r: RawResponse): string | undefined => r.json.Response.Error?.Code;

describe('signatures', () => {
  it('verifies a Python-style JSON body over its exact bytes', async () => {
    // json.dumps puts a space after ':' and ',' and escapes non-ASCII: re-serialising would break it.
    const r = await tc3('ListEmailTemplates', '{"Limit": 1, "Offset": 0}');
    expect(r.status).toBe(200);
    expect(r.json.Response.Error).toBeUndefined();
    expect(r.json.Response.TotalCount).toBeTypeOf('number');
    const created = await tc3('CreateEmailTemplate', `{"TemplateName": "\\u672a\\u547d\\u540d", "TemplateContent": {"Text": "${b64('hi')}"}}`);
    expect(created.json.Response.Error).toBeUndefined();
    const got = await tc3('GetEmailTemplate', JSON.stringify({ TemplateID: created.json.Response.TemplateID }));
    expect(got.json.Response.TemplateName).toBe('未命名');
  });

  it('accepts the Host signed with or without the port', async () => {
    // TC3: the SDKs sign the hostname without the port; v1: the intl SDK signs host:port.
    expect(codeOf(await tc3('ListEmailTemplates', '{"Limit":1,"Offset":0}'))).toBeUndefined();
    const v1WithoutPort = await v1({ Action: 'ListEmailTemplates', Limit: 1, Offset: 0 }, { signedHost: '127.0.0.1' });
    expect(codeOf(v1WithoutPort)).toBeUndefined();
    const v1WithPort = await v1({ Action: 'ListEmailTemplates', Limit: 1, Offset: 0 });
    expect(codeOf(v1WithPort)).toBeUndefined();
    const v1OtherHost = await v1({ Action: 'ListEmailTemplates', Limit: 1, Offset: 0 }, { signedHost: 'example.com' });
    expect(codeOf(v1OtherHost)).toBe('AuthFailure.SignatureFailure');
  });

  it('accepts an unsigned payload when the client says so, and only then', async () => {
    const r = await tc3('ListEmailTemplates', '{"Limit":1,"Offset":0}', { unsignedPayload: true });
    expect(codeOf(r)).toBeUndefined();
    const headers = signedHeaders('{"Limit":1,"Offset":0}');
    const withHeader = await send(t.url, { method: 'POST', headers: { ...headers, 'X-TC-Content-SHA256': 'UNSIGNED-PAYLOAD' }, body: '{"Limit":1,"Offset":0}' });
    expect(codeOf(withHeader)).toBe('AuthFailure.SignatureFailure');
  });

  it('refuses a body changed after signing', async () => {
    const headers = signedHeaders('{"Limit":1,"Offset":0}');
    expect(codeOf(await send(t.url, { method: 'POST', headers, body: '{"Limit":1,"Offset":0}' }))).toBeUndefined();
    const tampered = await send(t.url, { method: 'POST', headers, body: '{"Limit":2,"Offset":0}' });
    expect(codeOf(tampered)).toBe('AuthFailure.SignatureFailure');
  });

  it('signs HmacSHA1 and HmacSHA256, GET and POST', async () => {
    for (const signatureMethod of ['HmacSHA1', 'HmacSHA256'] as const) {
      for (const method of ['GET', 'POST'] as const) {
        const r = await v1({ Action: 'ListEmailTemplates', Limit: 2, Offset: 0 }, { signatureMethod, method });
        expect(codeOf(r), `${signatureMethod} ${method}`).toBeUndefined();
      }
    }
  });
});

/** Headers of a valid TC3 ListEmailTemplates request for `body` (to send with another body). */
function signedHeaders(body: string): Record<string, string> {
  return tc3Headers({ url: t.url, action: 'ListEmailTemplates', body, secretId: t.creds.SecretId, secretKey: t.creds.SecretKey });
}

describe('authentication errors', () => {
  it('SignatureExpire: timestamp more than 5 minutes off, both ways, both methods', async () => {
    const old = Math.floor(Date.now() / 1000) - 301;
    const future = Math.floor(Date.now() / 1000) + 400;
    expect(codeOf(await tc3('ListEmailTemplates', '{"Limit":1,"Offset":0}', { timestamp: old }))).toBe('AuthFailure.SignatureExpire');
    expect(codeOf(await tc3('ListEmailTemplates', '{"Limit":1,"Offset":0}', { timestamp: future }))).toBe('AuthFailure.SignatureExpire');
    expect(codeOf(await v1({ Action: 'ListEmailTemplates', Limit: 1, Offset: 0 }, { timestamp: old }))).toBe('AuthFailure.SignatureExpire');
    // Inside the window is fine.
    expect(codeOf(await tc3('ListEmailTemplates', '{"Limit":1,"Offset":0}', { timestamp: Math.floor(Date.now() / 1000) - 240 }))).toBeUndefined();
  });

  it('SecretIdNotFound for an unknown key', async () => {
    expect(codeOf(await tc3('ListEmailTemplates', '{}', { secretId: `AKID${'x'.repeat(32)}` }))).toBe('AuthFailure.SecretIdNotFound');
    expect(codeOf(await v1({ Action: 'ListEmailTemplates', Limit: 1, Offset: 0 }, { secretId: 'AKIDnope' }))).toBe('AuthFailure.SecretIdNotFound');
  });

  it('SignatureFailure for a wrong key, a wrong credential date or service', async () => {
    expect(codeOf(await tc3('ListEmailTemplates', '{"Limit":1,"Offset":0}', { secretKey: 'k'.repeat(32) }))).toBe('AuthFailure.SignatureFailure');
    expect(codeOf(await v1({ Action: 'ListEmailTemplates', Limit: 1, Offset: 0 }, { secretKey: 'k'.repeat(32) }))).toBe('AuthFailure.SignatureFailure');
    expect(codeOf(await tc3('ListEmailTemplates', '{"Limit":1,"Offset":0}', { service: 'cvm' }))).toBe('AuthFailure.SignatureFailure');
    // A credential date other than the timestamp's UTC date.
    const headers = signedHeaders('{}');
    headers.Authorization = headers.Authorization.replace(/\/\d{4}-\d{2}-\d{2}\//, '/2001-01-01/');
    expect(codeOf(await send(t.url, { method: 'POST', headers, body: '{}' }))).toBe('AuthFailure.SignatureFailure');
  });

  it('InvalidAuthorization for a malformed Authorization header', async () => {
    const headers = signedHeaders('{}');
    for (const bad of [
      'TC3-HMAC-SHA256 Credential=abc',
      'TC3-HMAC-SHA256 Credential=AKID/2024-01-01/ses/tc3_request, SignedHeaders=host, Signature=' + '0'.repeat(64),
      'Basic dXNlcjpwYXNz',
    ]) {
      const r = await send(t.url, { method: 'POST', headers: { ...headers, Authorization: bad }, body: '{}' });
      expect(codeOf(r), bad).toBe('AuthFailure.InvalidAuthorization');
    }
    // JSON must be TC3-signed.
    const r = await send(t.url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(codeOf(r)).toBe('AuthFailure.InvalidAuthorization');
  });

  it('refuses a replayed v1 request, but not two requests that drew the same Nonce', async () => {
    const params = signV1({ url: t.url, params: { Action: 'ListEmailTemplates', Limit: 1, Offset: 0 }, secretId: t.creds.SecretId, secretKey: t.creds.SecretKey, nonce: 4242 });
    const form = new URLSearchParams(params).toString();
    const post = (): Promise<RawResponse> => send(t.url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form });
    expect(codeOf(await post())).toBeUndefined();
    const replay = await post();
    expect(codeOf(replay)).toBe('AuthFailure.SignatureFailure');
    expect(replay.json.Response.Error?.Message).toMatch(/replay/i);
    const ts = Number(params.Timestamp);
    const other = await v1({ Action: 'ListEmailTemplates', Limit: 2, Offset: 0 }, { nonce: 4242, timestamp: ts });
    expect(codeOf(other)).toBeUndefined();
    // Another spelling of the same signature is the same signature.
    for (const spelling of [params.Signature.replace(/=+$/, ''), `${params.Signature}\n`, ` ${params.Signature}`]) {
      const respelled = new URLSearchParams({ ...params, Signature: spelling }).toString();
      const r = await send(t.url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: respelled });
      expect(codeOf(r), JSON.stringify(spelling)).toBe('AuthFailure.SignatureFailure');
    }
  });

  it('refuses a parameter folded into the Nonce (signed strings join raw values with &)', async () => {
    const params = signV1({ url: t.url, params: { Action: 'ListEmailTemplates', Limit: 1, Offset: 0 }, secretId: t.creds.SecretId, secretKey: t.creds.SecretKey, nonce: 77 });
    // "Nonce=77&Offset=0" signs the same as a Nonce of "77&Offset=0" with no Offset.
    const { Offset: _dropped, ...rest } = params;
    const folded = new URLSearchParams({ ...rest, Nonce: '77&Offset=0' }).toString();
    const r = await send(t.url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: folded });
    expect(codeOf(r)).toBe('InvalidParameterValue');
    expect(r.json.Response.Error?.Message).toContain('Nonce');
  });
});

describe('request errors', () => {
  it('InvalidAction, NoSuchVersion, UnsupportedRegion', async () => {
    expect(codeOf(await tc3('SendSms', '{}'))).toBe('InvalidAction');
    expect(codeOf(await v1({ Action: 'DescribeInstances' }))).toBe('InvalidAction');
    expect(codeOf(await tc3('ListEmailTemplates', '{}', { version: '2019-01-01' }))).toBe('NoSuchVersion');
    expect(codeOf(await v1({ Action: 'ListEmailTemplates', Version: '2017-03-12', Limit: 1, Offset: 0 }))).toBe('NoSuchVersion');
    expect(codeOf(await tc3('ListEmailTemplates', '{}', { region: 'ap-tokyo' }))).toBe('UnsupportedRegion');
    expect(codeOf(await v1({ Action: 'ListEmailTemplates', Region: 'eu-frankfurt', Limit: 1, Offset: 0 }))).toBe('UnsupportedRegion');
    for (const region of ['ap-singapore', 'ap-hongkong', 'ap-guangzhou']) {
      expect(codeOf(await tc3('ListEmailTemplates', '{"Limit":1,"Offset":0}', { region }))).toBeUndefined();
    }
  });

  it('UnsupportedProtocol for methods other than GET and POST, still HTTP 200', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const r = await send(t.url, { method, body: '{}' });
      expect(r.status).toBe(200);
      expect(codeOf(r)).toBe('UnsupportedProtocol');
    }
  });

  it('InvalidParameter for malformed JSON, UnknownParameter, MissingParameter, InvalidParameterValue', async () => {
    const bad = await tc3('ListEmailTemplates', '{"Limit": 1,');
    expect(codeOf(bad)).toBe('InvalidParameter');
    expect(codeOf(await tc3('ListEmailTemplates', '[1,2]'))).toBe('InvalidParameter');

    const unknown = await tc3('ListEmailTemplates', '{"Limit":1,"Offset":0,"Colour":"red"}');
    expect(codeOf(unknown)).toBe('UnknownParameter');
    expect(unknown.json.Response.Error?.Message).toContain('Colour');
    expect(codeOf(await v1({ Action: 'ListEmailTemplates', Limit: 1, Offset: 0, 'Foo.0': 'x' }))).toBe('UnknownParameter');
    const nested = await tc3('CreateEmailTemplate', JSON.stringify({ TemplateName: 'n', TemplateContent: { Text: b64('t'), Markdown: 'x' } }));
    expect(codeOf(nested)).toBe('UnknownParameter');
    expect(nested.json.Response.Error?.Message).toContain('TemplateContent.Markdown');

    const missing = await tc3('ListEmailTemplates', '{"Limit":1}');
    expect(codeOf(missing)).toBe('MissingParameter');
    expect(missing.json.Response.Error?.Message).toContain('Offset');
    expect(codeOf(await v1({ Action: 'GetEmailTemplate' }))).toBe('MissingParameter');
    const missingNested = await tc3('CreateEmailTemplate', '{"TemplateName":"x"}');
    expect(missingNested.json.Response.Error?.Message).toContain('TemplateContent');

    for (const body of ['{"Limit":"ten","Offset":0}', '{"Limit":-1,"Offset":0}', '{"Limit":1.5,"Offset":0}', '{"Limit":1,"Offset":true}', '{"Limit":1e300,"Offset":0}']) {
      const r = await tc3('ListEmailTemplates', body);
      expect(codeOf(r), body).toBe('InvalidParameterValue');
      expect(r.json.Response.Error?.Message, body).toMatch(/Limit|Offset/);
    }
    expect(codeOf(await v1({ Action: 'ListEmailTemplates', Limit: 'x', Offset: 0 }))).toBe('InvalidParameterValue');
    expect(codeOf(await tc3('CreateEmailTemplate', '{"TemplateName":"x","TemplateContent":"notanobject"}'))).toBe('InvalidParameterValue');
  });

  it('MissingParameter for absent common parameters', async () => {
    const headers = signedHeaders('{}');
    delete headers['X-TC-Action'];
    const r = await send(t.url, { method: 'POST', headers, body: '{}' });
    expect(codeOf(r)).toBe('MissingParameter');
    expect(r.json.Response.Error?.Message).toContain('X-TC-Action');
    const form = new URLSearchParams({ Action: 'ListEmailTemplates', Version: '2020-10-02' }).toString();
    const v = await send(t.url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form });
    expect(codeOf(v)).toBe('MissingParameter');
  });

  it('decodes flattened parameters into the same request as JSON', async () => {
    const viaForm = await v1({ Action: 'CreateEmailTemplate', TemplateName: 'flat', 'TemplateContent.Html': b64('<b>{{x}}</b>'), 'TemplateContent.Text': b64('{{x}}') });
    const viaJson = await tc3('CreateEmailTemplate', JSON.stringify({ TemplateName: 'flat', TemplateContent: { Html: b64('<b>{{x}}</b>'), Text: b64('{{x}}') } }));
    const a = await tc3('GetEmailTemplate', JSON.stringify({ TemplateID: viaForm.json.Response.TemplateID }));
    const b = await tc3('GetEmailTemplate', JSON.stringify({ TemplateID: viaJson.json.Response.TemplateID }));
    const strip = (r: RawResponse): unknown => ({ ...r.json.Response, RequestId: undefined });
    expect(strip(a)).toEqual(strip(b));
    expect(a.json.Response.TemplateName).toBe('flat');
  });

  it('every one of the 36 actions is built: none answers UnsupportedOperation', async () => {
    expect(ACTION_NAMES).toHaveLength(36);
    for (const action of ACTION_NAMES) {
      const r = await tc3(action, '{}');
      expect(codeOf(r) ?? 'ok', action).not.toBe('UnsupportedOperation');
    }
  });
});

describe('size limits', () => {
  it('GET over 32 KB', async () => {
    const r = await v1({ Action: 'ListEmailTemplates', Limit: 1, Offset: 0, Pad: 'x'.repeat(33 * 1024) }, { method: 'GET' });
    expect(codeOf(r)).toBe('RequestSizeLimitExceeded');
  });

  it('v1 POST over 1 MB', async () => {
    const r = await v1({ Action: 'CreateEmailTemplate', TemplateName: 'big', 'TemplateContent.Text': 'A'.repeat(1024 * 1024 + 10) });
    expect(codeOf(r)).toBe('RequestSizeLimitExceeded');
  });

  it('TC3 POST over 10 MB is refused from its Content-Length, before the body is read', async () => {
    const size = 10 * 1024 * 1024 + 1;
    const r = await new Promise<RawResponse>((resolve, reject) => {
      const req = request(t.url, {
        method: 'POST',
        headers: { ...signedHeaders('{}'), 'Content-Length': String(size) },
      }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: JSON.parse(text) as RawResponse['json'] }));
      });
      req.on('error', reject);
      // Send only the first megabyte: the answer must come without the rest.
      req.write(Buffer.alloc(1024 * 1024, 0x20));
    });
    expect(r.status).toBe(200);
    expect(codeOf(r)).toBe('RequestSizeLimitExceeded');
  });

  it('authenticates a TC3 request from its headers before reading any of its body', async () => {
    const headers = tc3Headers({ url: t.url, action: 'ListEmailTemplates', body: '{}', secretId: `AKID${'z'.repeat(32)}`, secretKey: 'k'.repeat(32) });
    const r = await new Promise<string>((resolve, reject) => {
      const req = request(t.url, { method: 'POST', headers: { ...headers, 'Content-Length': String(5 * 1024 * 1024) } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      // Not one byte of the declared 5 MB is sent: the answer comes anyway.
      req.flushHeaders();
    });
    expect((JSON.parse(r) as RawResponse['json']).Response.Error?.Code).toBe('AuthFailure.SecretIdNotFound');
  });

  it('TC3 POST over 10 MB without Content-Length (chunked)', async () => {
    const r = await new Promise<RawResponse>((resolve, reject) => {
      const req = request(t.url, { method: 'POST', headers: signedHeaders('{}') }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => { text += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: JSON.parse(text) as RawResponse['json'] }));
      });
      req.on('error', () => { /* the server may close once it has answered */ });
      const chunk = Buffer.alloc(256 * 1024, 0x20);
      let sent = 0;
      const pump = (): void => {
        while (sent < 11 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) { req.once('drain', pump); return; }
        }
        req.end();
      };
      pump();
      setTimeout(() => reject(new Error('no answer')), 20_000).unref();
    });
    expect(codeOf(r)).toBe('RequestSizeLimitExceeded');
  });
});

describe('rate limits and the envelope', () => {
  it('RequestLimitExceeded beyond the per-action limit', async () => {
    // A fresh account has a full budget whatever the other tests spent.
    const other = await t.app.services.accounts.create({ name: 'rate' });
    const body = JSON.stringify({ TemplateID: 1 });
    const results = await Promise.all(Array.from({ length: 10 }, () => tc3('GetEmailTemplate', body, { secretId: other.SecretId, secretKey: other.SecretKey })));
    const limited = results.filter((r) => codeOf(r) === 'RequestLimitExceeded').length;
    // GetEmailTemplate is limited to 4 per second in this server: a burst of 10 cannot all pass.
    expect(limited).toBeGreaterThanOrEqual(5);
    expect(limited).toBeLessThanOrEqual(6);
    // Other actions and other accounts keep their own budget.
    expect(codeOf(await tc3('ListEmailTemplates', '{"Limit":1,"Offset":0}', { secretId: other.SecretId, secretKey: other.SecretKey }))).toBeUndefined();
    const third = await t.app.services.accounts.create({ name: 'rate 2' });
    expect(codeOf(await tc3('GetEmailTemplate', body, { secretId: third.SecretId, secretKey: third.SecretKey }))).toBe('InvalidParameterValue.TemplateNotExist');
  });

  it('every answer has a fresh RequestId that its log line carries; logs hold no secrets', async () => {
    const a = await tc3('ListEmailTemplates', '{"Limit":1,"Offset":0}');
    const b = await tc3('ListEmailTemplates', '{"Limit":1,"Offset":0,"Bad":1}');
    const ids = [a.json.Response.RequestId, b.json.Response.RequestId];
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids[0]).not.toBe(ids[1]);
    const lines = t.logs().filter((l) => ids.includes(l.requestId as string));
    expect(lines.map((l) => l.code)).toEqual(['OK', 'UnknownParameter']);
    const raw = t.rawLog();
    expect(raw).not.toContain(t.creds.SecretKey);
    expect(raw).not.toContain('Signature=');
    expect(raw).not.toContain(b64('hi'));
  });

  it('answers /healthz', async () => {
    const r = await send(t.url.replace(/\/$/, '/healthz'), { method: 'GET' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ status: 'ok' });
  });
});
