/**
 * Hand-built signed requests, for the protocol cases no SDK produces (Python-style JSON, skewed
 * clocks, odd hosts). Signatures are computed by the intl-en SDK's own signer where it fits.
 */
import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Sign = require('tencentcloud-sdk-nodejs-intl-en/tencentcloud/common/sign.js') as {
  sign(secretKey: string, signStr: string, method: string): string;
  sign3(o: Record<string, unknown>): string;
};

/** A raw HTTP answer. */
export interface RawResponse { status: number; headers: Record<string, string | string[] | undefined>; text: string; json: { Response: Record<string, unknown> & { Error?: { Code: string; Message: string }; RequestId: string } } }

/** Sends bytes as they are (from `localAddress` when given, e.g. 127.0.0.2: loopback takes any 127/8 source). */
export function send(url: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string; localAddress?: string }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // Content-Length always: Node sends DELETE bodies unframed otherwise.
    const length = opts.body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(opts.body)) };
    const req = request(url, { method: opts.method ?? 'POST', headers: { ...length, ...opts.headers }, agent: false, localAddress: opts.localAddress }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: RawResponse['json'];
        try { json = JSON.parse(text) as RawResponse['json']; } catch { json = { Response: { RequestId: '' } }; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/** Options of a TC3-signed request. */
export interface Tc3Options {
  url: string;
  action: string;
  body: string | Buffer;
  secretId: string;
  secretKey: string;
  version?: string;
  region?: string | null;
  timestamp?: number;
  contentType?: string;
  /** The Host to sign (default: the URL's hostname, as the SDKs do). */
  signedHost?: string;
  service?: string;
  method?: 'POST' | 'GET';
  extraHeaders?: Record<string, string>;
  /** Sign with X-TC-Content-SHA256: UNSIGNED-PAYLOAD instead of the body's hash. */
  unsignedPayload?: boolean;
  /** Source address of the connection. */
  localAddress?: string;
}

/** The headers of a TC3-signed request, computed by the SDK's signer over the exact body. */
export function tc3Headers(o: Tc3Options): Record<string, string> {
  const timestamp = o.timestamp ?? Math.floor(Date.now() / 1000);
  const contentType = o.contentType ?? 'application/json';
  const signUrl = new URL(o.url);
  if (o.signedHost) signUrl.hostname = o.signedHost;
  const body = Buffer.isBuffer(o.body) ? o.body : Buffer.from(o.body, 'utf8');
  const authorization = Sign.sign3({
    method: o.method ?? 'POST',
    url: signUrl.href,
    payload: o.method === 'GET' ? '' : o.unsignedPayload ? Buffer.from('UNSIGNED-PAYLOAD') : body,
    timestamp,
    service: o.service ?? 'ses',
    secretId: o.secretId,
    secretKey: o.secretKey,
    headers: { 'Content-Type': contentType },
  });
  const headers: Record<string, string> = {
    'Content-Type': contentType,
    'X-TC-Action': o.action,
    'X-TC-Version': o.version ?? '2020-10-02',
    'X-TC-Timestamp': String(timestamp),
    Authorization: authorization,
    ...(o.unsignedPayload ? { 'X-TC-Content-SHA256': 'UNSIGNED-PAYLOAD' } : {}),
    ...o.extraHeaders,
  };
  if (o.region !== null) headers['X-TC-Region'] = o.region ?? 'ap-singapore';
  return headers;
}

/** Signs with TC3 using the SDK's signer over the exact body bytes, then sends. */
export function sendTc3(o: Tc3Options): Promise<RawResponse> {
  return send(o.url, { method: o.method ?? 'POST', headers: tc3Headers(o), body: o.method === 'GET' ? undefined : o.body, localAddress: o.localAddress });
}

/** Options of a v1-signed request. */
export interface V1Options {
  url: string;
  params: Record<string, string | number>;
  secretId: string;
  secretKey: string;
  method?: 'POST' | 'GET';
  signatureMethod?: 'HmacSHA1' | 'HmacSHA256';
  timestamp?: number;
  nonce?: number;
  /** The host string to sign (default: host:port as the intl SDK does). */
  signedHost?: string;
  /** Source address of the connection. */
  localAddress?: string;
}

/** Builds the signed v1 parameters (common parameters included). */
export function signV1(o: V1Options): Record<string, string> {
  const u = new URL(o.url);
  const params: Record<string, string> = {
    Version: '2020-10-02',
    Region: 'ap-singapore',
    Timestamp: String(o.timestamp ?? Math.floor(Date.now() / 1000)),
    Nonce: String(o.nonce ?? Math.floor(Math.random() * 1e9)),
    SecretId: o.secretId,
    SignatureMethod: o.signatureMethod ?? 'HmacSHA256',
    ...Object.fromEntries(Object.entries(o.params).map(([k, v]) => [k, String(v)])),
  };
  const joined = Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join('&');
  const str = `${o.method ?? 'POST'}${o.signedHost ?? u.host}/?${joined}`;
  params.Signature = Sign.sign(o.secretKey, str, params.SignatureMethod);
  return params;
}

/** Signs with v1 and sends as a form POST or a GET query. */
export function sendV1(o: V1Options): Promise<RawResponse> {
  const params = signV1(o);
  const form = new URLSearchParams(params).toString();
  if ((o.method ?? 'POST') === 'GET') return send(`${o.url}?${form}`, { method: 'GET', localAddress: o.localAddress });
  return send(o.url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form, localAddress: o.localAddress });
}

/** HMAC helper for tests that build a signature by hand. */
export const hmacHex = (key: string | Buffer, data: string): string => createHmac('sha256', key).update(data).digest('hex');
