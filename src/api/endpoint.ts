/**
 * The Tencent Cloud API 3.0 endpoint: one request, as a list of named steps. Every answer is HTTP
 * 200 with the `{"Response":…}` envelope (FACTS §1.6), carrying a fresh RequestId that also appears
 * in the request's log line. Logs never hold secrets, signatures or bodies.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { CodedError } from '../errors/coded-error.js';
import type { ApiKey } from '../services/accounts.js';
import { decodeBase64 } from '../domain/base64.js';
import { BodyBudget, ClientGoneError, readBody, SIZE_LIMITS } from './protocol/body.js';
import { decodeFlatParams, decodeJsonParams } from './protocol/params.js';
import { RateLimiter } from './protocol/rate-limit.js';
import { ReplayGuard } from './protocol/replay.js';
import { parseTc3Authorization, TC3_ALGORITHM, utcDate, verifyTc3 } from './protocol/tc3.js';
import { verifyV1 } from './protocol/v1.js';
import type { ActionContext, Registry } from './registry.js';
import type { ActionName } from './schema/ses.js';

export const API_VERSION = '2020-10-02';
/** Allowed clock difference between client and server (FACTS §1.4). */
export const SIGNATURE_WINDOW_SECONDS = 300;

/** An unread body up to this size is drained to keep the connection; a larger one closes it. */
const UNREAD_BODY_KEEP = 64 * 1024;

/** Common parameters of v1 requests; they are never action parameters. */
const COMMON_PARAMS = new Set([
  'Action', 'Version', 'Region', 'Timestamp', 'Nonce', 'SecretId', 'Signature', 'SignatureMethod', 'Token', 'Language', 'RequestClient',
]);

/** What the endpoint needs from the rest of the program. */
export interface EndpointDeps {
  registry: Registry;
  findKey(secretId: string): Promise<ApiKey | undefined>;
  regions: readonly string[];
  rateLimit: number;
  rateLimits: ReadonlyMap<string, number>;
  log: Logger;
  now?: () => number;
}

/** Who is calling and what they ask, once the signature has been verified. */
interface Verified {
  key: ApiKey;
  action: ActionName;
  region: string | undefined;
  language: string;
  /** A TC3 JSON body, or flattened parameters (form, query). */
  params: { kind: 'json'; body: Buffer } | { kind: 'flat'; entries: Map<string, string> };
}

/** The common parameters every request names, however it is signed. */
interface Target { action: string; version: string; region: string | undefined; timestamp: string }

/** Handles `GET /` and `POST /`. */
export class ApiEndpoint {
  private readonly limiter = new RateLimiter();
  private readonly replays = new ReplayGuard(SIGNATURE_WINDOW_SECONDS);
  /** Bodies being received, all requests together, are held to this many bytes. */
  private readonly budget = new BodyBudget(256 * 1024 * 1024);
  private readonly now: () => number;

  constructor(private readonly deps: EndpointDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Answers one HTTP request with the Tencent envelope. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const started = performance.now();
    const seen: { action?: string; key?: ApiKey } = {};
    let code = 'OK';
    let payload: Record<string, unknown>;
    try {
      const method = checkMethod(req);
      const rawQuery = readQuery(req, method);
      const v = isTc3(req) ? await this.verifyTc3(req, method, rawQuery, seen) : await this.verifyV1(req, method, rawQuery, seen);
      this.checkRateLimit(v.key, v.action);
      const params = this.decodeParams(v);
      const ctx: ActionContext = {
        requestId, accountId: v.key.accountId, appId: v.key.appId, region: v.region ?? this.deps.regions[0], language: v.language,
      };
      payload = await this.run(v.action, ctx, params);
    } catch (e) {
      const err = this.toCodedError(e, requestId, seen.action);
      code = err.code;
      payload = { Error: { Code: err.code, Message: err.message } };
    }
    // A large body left unread (too large, or refused before it was needed) is not worth waiting
    // for; a small one is read and dropped by the server so the connection can be kept.
    if (!req.complete && !(Number(req.headers['content-length']) <= UNREAD_BODY_KEEP)) res.setHeader('Connection', 'close');
    const traceId = req.headers['x-tc-traceid'];
    // Echoed for the SDKs' logs; only printable ASCII, so the echo can never break the response.
    if (typeof traceId === 'string' && /^[\x20-\x7e]{1,200}$/.test(traceId)) res.setHeader('X-TC-TraceId', traceId);
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ Response: { ...payload, RequestId: requestId } }));
    this.deps.log.info({
      requestId, action: seen.action?.slice(0, 64), appId: seen.key?.appId, code, ms: Math.round((performance.now() - started) * 100) / 100,
    }, 'api request');
  }

  /**
   * TC3: everything but the signature itself is in the headers, so the key is found before the body
   * is read; a caller without a valid SecretId never gets 10 MB of memory.
   */
  private async verifyTc3(req: IncomingMessage, method: 'GET' | 'POST', rawQuery: string, seen: { action?: string; key?: ApiKey }): Promise<Verified> {
    const header = (name: string): string => {
      const v = req.headers[name.toLowerCase()];
      if (typeof v !== 'string' || v === '') throw new CodedError('MissingParameter', `The header ${name} is required.`);
      return v;
    };
    const region = req.headers['x-tc-region'];
    const target: Target = {
      action: (seen.action = header('X-TC-Action')),
      version: header('X-TC-Version'),
      region: typeof region === 'string' && region !== '' ? region : undefined,
      timestamp: header('X-TC-Timestamp'),
    };
    const action = this.checkTarget(target);
    const auth = parseTc3Authorization(String(req.headers.authorization));
    const ts = this.checkTimestamp(target.timestamp, 'X-TC-Timestamp');
    const key = (seen.key = await this.findKey(auth.secretId));
    if (auth.date !== utcDate(ts)) {
      throw new CodedError('AuthFailure.SignatureFailure', `The credential date ${auth.date} is not the UTC date of X-TC-Timestamp (${utcDate(ts)}).`);
    }
    // The SDKs derive the service from the endpoint's first label (127.0.0.1:8080 signs "127").
    if (auth.service !== 'ses' && auth.service !== (req.headers.host ?? '').split('.')[0]) {
      throw new CodedError('AuthFailure.SignatureFailure', `The credential scope names service ${JSON.stringify(auth.service)}; expected ses.`);
    }
    const body = method === 'POST' ? await readBody(req, SIZE_LIMITS.tc3Post, this.budget) : Buffer.alloc(0);
    const input = { method, rawQuery, headers: req.headers, hostCandidates: hostCandidates(req.headers.host).reverse(), body, timestamp: target.timestamp };
    if (!verifyTc3(auth, key.secretKey, input)) throw signatureMismatch();
    const contentType = mediaType(req);
    let params: Verified['params'];
    if (method === 'GET') params = { kind: 'flat', entries: parseForm(rawQuery) };
    else if (contentType === 'application/json') params = { kind: 'json', body };
    else if (contentType === 'application/x-www-form-urlencoded') params = { kind: 'flat', entries: parseForm(body.toString('utf8')) };
    else throw new CodedError('InvalidParameter', `Content-Type ${JSON.stringify(contentType)} is not supported; use application/json.`);
    return { key, action, region: target.region, language: String(req.headers['x-tc-language'] ?? 'en-US'), params };
  }

  /** HmacSHA1/HmacSHA256: the common parameters travel with the others, in the query or the form body. */
  private async verifyV1(req: IncomingMessage, method: 'GET' | 'POST', rawQuery: string, seen: { action?: string; key?: ApiKey }): Promise<Verified> {
    if (req.headers.authorization) {
      throw new CodedError('AuthFailure.InvalidAuthorization', `The Authorization header must start with ${TC3_ALGORITHM}.`);
    }
    const contentType = mediaType(req);
    if (method === 'POST' && contentType !== 'application/x-www-form-urlencoded') {
      throw new CodedError('AuthFailure.InvalidAuthorization',
        `A POST with Content-Type ${JSON.stringify(contentType)} must be signed with ${TC3_ALGORITHM}; HmacSHA1/HmacSHA256 requests are form-encoded.`);
    }
    const text = method === 'POST' ? (await readBody(req, SIZE_LIMITS.v1Post, this.budget)).toString('utf8') : rawQuery;
    const entries = parseForm(text);
    const common = (name: string): string => {
      const v = entries.get(name);
      if (v === undefined || v === '') throw new CodedError('MissingParameter', `The common parameter ${name} is required.`);
      return v;
    };
    const target: Target = {
      action: (seen.action = common('Action')),
      version: common('Version'),
      region: entries.get('Region') || undefined,
      timestamp: common('Timestamp'),
    };
    const action = this.checkTarget(target);
    const ts = this.checkTimestamp(target.timestamp, 'Timestamp');
    // A random positive integer (FACTS §1.3); digits only, so no parameter can be folded into it.
    if (!/^\d{1,20}$/.test(common('Nonce'))) throw new CodedError('InvalidParameterValue', 'Nonce must be a positive integer.');
    const signature = decodeSignature(common('Signature'));
    const method1 = entries.get('SignatureMethod');
    if (method1 !== undefined && method1 !== 'HmacSHA1' && method1 !== 'HmacSHA256') {
      throw new CodedError('InvalidParameterValue', 'SignatureMethod must be HmacSHA1 or HmacSHA256.');
    }
    const secretId = common('SecretId');
    const key = (seen.key = await this.findKey(secretId));
    if (!verifyV1(entries, signature, key.secretKey, method, hostCandidates(req.headers.host))) throw signatureMismatch();
    // Checked after the signature, so forged requests cannot fill the memory of seen ones.
    if (!this.replays.check(secretId, signature, ts, this.now())) {
      throw new CodedError('AuthFailure.SignatureFailure', 'This signed request was already used: replays are refused.');
    }
    return { key, action, region: target.region, language: entries.get('Language') ?? 'en-US', params: { kind: 'flat', entries } };
  }

  /** Version, action and region name something this server serves. */
  private checkTarget(t: Target): ActionName {
    if (t.version !== API_VERSION) {
      throw new CodedError('NoSuchVersion', `Version ${JSON.stringify(t.version)} does not exist; this service speaks ${API_VERSION}.`);
    }
    if (!this.deps.registry.isAction(t.action)) {
      throw new CodedError('InvalidAction', `There is no action named ${JSON.stringify(t.action)} in SES ${API_VERSION}.`);
    }
    if (t.region !== undefined && !this.deps.regions.includes(t.region)) {
      throw new CodedError('UnsupportedRegion', `Region ${JSON.stringify(t.region)} is not served here; use one of ${this.deps.regions.join(', ')}.`);
    }
    return t.action;
  }

  /** The timestamp as a number, within the signature window. */
  private checkTimestamp(text: string, name: string): number {
    if (!/^\d{1,12}$/.test(text)) throw new CodedError('InvalidParameterValue', `${name} must be a UNIX time in seconds.`);
    const ts = Number(text);
    const nowS = this.now() / 1000;
    if (Math.abs(nowS - ts) > SIGNATURE_WINDOW_SECONDS) {
      throw new CodedError('AuthFailure.SignatureExpire',
        `The request was signed at ${ts}, more than ${SIGNATURE_WINDOW_SECONDS / 60} minutes from the server time ${Math.floor(nowS)}.`);
    }
    return ts;
  }

  private async findKey(secretId: string): Promise<ApiKey> {
    const key = await this.deps.findKey(secretId);
    if (!key) throw new CodedError('AuthFailure.SecretIdNotFound', 'No API key has this SecretId.');
    return key;
  }

  private checkRateLimit(key: ApiKey, action: ActionName): void {
    const perSecond = key.apiRateLimit ?? this.deps.rateLimits.get(action) ?? this.deps.rateLimit;
    if (!this.limiter.take(key.accountId, action, perSecond)) {
      throw new CodedError('RequestLimitExceeded', `More than ${perSecond} ${action} requests per second from this account; retry shortly.`);
    }
  }

  private decodeParams(v: Verified): Record<string, unknown> {
    const model = this.deps.registry.requestModel(v.action);
    if (v.params.kind === 'flat') {
      const entries = new Map([...v.params.entries].filter(([k]) => !COMMON_PARAMS.has(k)));
      return decodeFlatParams(entries, model, v.action);
    }
    let parsed: unknown = {};
    if (v.params.body.length > 0) {
      try {
        parsed = JSON.parse(v.params.body.toString('utf8'));
      } catch (e) {
        throw new CodedError('InvalidParameter', `The request body is not valid JSON: ${(e as Error).message}.`);
      }
    }
    return decodeJsonParams(parsed, model, v.action);
  }

  private async run(action: ActionName, ctx: ActionContext, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const handler = this.deps.registry.handler(action);
    if (!handler) {
      throw new CodedError('UnsupportedOperation', `${action} is part of SES ${API_VERSION} but is not implemented by this Sesame yet (see docs/API.md).`);
    }
    return (await handler(ctx, params as never)) as unknown as Record<string, unknown>;
  }

  private toCodedError(e: unknown, requestId: string, action: string | undefined): CodedError {
    if (e instanceof CodedError) return e;
    if (e instanceof ClientGoneError) {
      this.deps.log.debug({ requestId, action }, e.message);
    } else {
      this.deps.log.error({ requestId, action, err: e }, 'internal error');
    }
    return new CodedError('InternalError', `An internal error occurred; quote RequestId ${requestId} when reporting it.`);
  }
}

function signatureMismatch(): CodedError {
  return new CodedError('AuthFailure.SignatureFailure', 'The signature does not match what the server computed from this request and the SecretKey of this SecretId.');
}

function checkMethod(req: IncomingMessage): 'GET' | 'POST' {
  if (req.method === 'GET' || req.method === 'POST') return req.method;
  throw new CodedError('UnsupportedProtocol', `HTTP method ${req.method} is not supported; use GET or POST.`);
}

/** The raw query string; a GET carries at most 32 KB of it. */
function readQuery(req: IncomingMessage, method: 'GET' | 'POST'): string {
  const url = req.url ?? '/';
  if (method === 'GET' && url.length > SIZE_LIMITS.get) {
    throw new CodedError('RequestSizeLimitExceeded', `A GET request may carry at most ${SIZE_LIMITS.get} bytes of parameters.`);
  }
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q + 1);
}

const isTc3 = (req: IncomingMessage): boolean => String(req.headers.authorization ?? '').startsWith(TC3_ALGORITHM);

/** The Content-Type without parameters, lower-case. */
const mediaType = (req: IncomingMessage): string => String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();

/** The v1 signature's bytes; only the canonical base64 spelling is accepted, so one signature has one spelling. */
function decodeSignature(text: string): Buffer {
  const bytes = decodeBase64(text);
  if (!bytes || bytes.length === 0 || bytes.toString('base64') !== text) {
    throw new CodedError('AuthFailure.SignatureFailure', 'Signature must be the base64 of the HMAC, padded, with no other characters.');
  }
  return bytes;
}

/** `a=1&b=2` into a map; a name given twice is refused (it would be ambiguous to sign). */
function parseForm(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(text)) {
    if (out.has(k)) throw new CodedError('InvalidParameter', `The parameter ${k} is given more than once.`);
    out.set(k, v);
  }
  return out;
}

/**
 * The Host header as sent, then without its port: the intl SDK's v1 signs `host:port`, while TC3
 * signers use the bare host name (so TC3 tries the list in reverse).
 */
function hostCandidates(host: string | undefined): string[] {
  if (!host) return [''];
  try {
    const bare = new URL(`http://${host}`).hostname;
    return bare === host ? [host] : [host, bare];
  } catch {
    return [host];
  }
}
