/**
 * TC3-HMAC-SHA256 (FACTS §1.4): the canonical request is rebuilt from the exact bytes and headers
 * received, never from re-serialised JSON, so every SDK's encoding verifies.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { CodedError } from '../../errors/coded-error.js';

export const TC3_ALGORITHM = 'TC3-HMAC-SHA256';

/** The parts of a TC3 Authorization header. */
export interface Tc3Authorization {
  secretId: string;
  date: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

const AUTH_PATTERN = /^TC3-HMAC-SHA256\s+Credential=([^/\s,]+)\/(\d{4}-\d{2}-\d{2})\/([^/\s,]+)\/tc3_request\s*,\s*SignedHeaders=([a-z0-9;._-]+)\s*,\s*Signature=([0-9a-f]{64})\s*$/i;

/** Parses `TC3-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`. */
export function parseTc3Authorization(header: string): Tc3Authorization {
  const m = AUTH_PATTERN.exec(header);
  if (!m) {
    throw new CodedError('AuthFailure.InvalidAuthorization',
      'The Authorization header must read "TC3-HMAC-SHA256 Credential=<SecretId>/<YYYY-MM-DD>/<service>/tc3_request, SignedHeaders=<names>, Signature=<64 hex digits>".');
  }
  const signedHeaders = m[4].toLowerCase().split(';');
  if (!signedHeaders.includes('content-type') || !signedHeaders.includes('host')) {
    throw new CodedError('AuthFailure.InvalidAuthorization', 'SignedHeaders must include at least content-type and host.');
  }
  return { secretId: m[1], date: m[2], service: m[3], signedHeaders, signature: m[5].toLowerCase() };
}

/** The UTC date (YYYY-MM-DD) of a UNIX timestamp, as the credential scope carries it. */
export function utcDate(timestamp: number): string {
  return new Date(timestamp * 1000).toISOString().slice(0, 10);
}

const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();
const UNSIGNED_PAYLOAD_HASH = sha256Hex('UNSIGNED-PAYLOAD');

/** Derived signing keys are reused for the day: four HMACs saved on every request. */
const signingKeys = new Map<string, Buffer>();

function signingKey(secretKey: string, date: string, service: string): Buffer {
  const id = `${secretKey}\n${date}\n${service}`;
  let k = signingKeys.get(id);
  if (!k) {
    k = hmac(hmac(hmac(`TC3${secretKey}`, date), service), 'tc3_request');
    if (signingKeys.size > 1000) signingKeys.clear();
    signingKeys.set(id, k);
  }
  return k;
}

/** What the server received, as the signature covers it. */
export interface Tc3Input {
  method: string;
  rawQuery: string;
  headers: IncomingHttpHeaders;
  /** Host values the client may have signed (as sent, and without the port). */
  hostCandidates: readonly string[];
  body: Buffer;
  timestamp: string;
}

/**
 * True when the signature matches. Tencent's rule lower-cases header values (its example signs
 * `x-tc-action:describeinstances`) while the SDKs sign `content-type` and `host` as sent, so both
 * spellings are tried, for each Host spelling in the order given. Each comparison is constant-time;
 * which spelling matched is no secret.
 */
export function verifyTc3(auth: Tc3Authorization, secretKey: string, input: Tc3Input): boolean {
  const unsigned = String(input.headers['x-tc-content-sha256'] ?? '').trim() === 'UNSIGNED-PAYLOAD';
  const payloadHash = unsigned ? UNSIGNED_PAYLOAD_HASH : sha256Hex(input.body);
  const key = signingKey(secretKey, auth.date, auth.service);
  const given = Buffer.from(auth.signature, 'utf8');
  const candidates = new Set<string>();
  for (const host of input.hostCandidates) {
    const asSent = auth.signedHeaders.map((h) => `${h}:${h === 'host' ? host : headerValue(input.headers, h)}\n`).join('');
    candidates.add(asSent);
    candidates.add(asSent.toLowerCase());
  }
  for (const canonicalHeaders of candidates) {
    const canonicalRequest = [
      input.method, '/', input.rawQuery, canonicalHeaders, auth.signedHeaders.join(';'), payloadHash,
    ].join('\n');
    const stringToSign = [
      TC3_ALGORITHM, input.timestamp, `${auth.date}/${auth.service}/tc3_request`, sha256Hex(canonicalRequest),
    ].join('\n');
    const expected = Buffer.from(createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex'), 'utf8');
    if (timingSafeEqual(expected, given)) return true;
  }
  return false;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name];
  return (Array.isArray(v) ? v.join(',') : v ?? '').trim();
}
