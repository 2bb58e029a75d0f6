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
import { ClientGoneError, readBody, SIZE_LIMITS } from './protocol/body.js';
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

/** The request as the protocol reads it, before authentication. */
interface Envelope {
  style: 'TC3' | 'HmacSHA1' | 'HmacSHA256';
  action: string;
  version: string;
  region: string | undefined;
  timestamp: string;
  language: string;
  secretId: string;
  /** TC3 JSON body, or flattened parameters. */
  params: { kind: 'json'; body: Buffer } | { kind: 'flat'; entries: Map<string, string> };
}

/** Handles `GET /` and `POST /`. */
export class ApiEndpoint {
  private readonly limiter = new RateLimiter();
  private readonly replays = new ReplayGuard(SIGNATURE_WINDOW_SECONDS);
  private readonly now: () => number;

  constructor(private readonly deps: EndpointDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Answers one HTTP request with the Tencent envelope. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const started = performance.now();
    let action: string | undefined;
    let key: ApiKey | undefined;
    let code = 'OK';
    let payload: Record<string, unknown>;
    try {
      const method = checkMethod(req);
      const { rawQuery, body } = await readRequest(req, method);
      const env = readEnvelope(req, method, rawQuery, body);
      action = env.action;
      const name = this.checkTarget(env);
      key = await this.authenticate(req, method, rawQuery, body, env);
      this.checkRateLimit(key, name);
      const params = this.decodeParams(env, name);
      const ctx: ActionContext = { requestId, accountId: key.accountId, appId: key.appId, region: env.region ?? this.deps.regions[0], language: env.language };
      payload = await this.run(name, ctx, params);
    } catch (e) {
      const err = this.toCodedError(e, requestId, action);
      code = err.code;
      payload = { Error: { Code: err.code, Message: err.message } };
      if (err.code === 'RequestSizeLimitExceeded') res.setHeader('Connection', 'close');
    }
    const traceId = req.headers['x-tc-traceid'];
    // Echoed for the SDKs' logs; only printable ASCII, so the echo can never break the response.
    if (typeof traceId === 'string' && /^[\x20-\x7e]{1,200}$/.test(traceId)) res.setHeader('X-TC-TraceId', traceId);
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ Response: { ...payload, RequestId: requestId } }));
    this.deps.log.info({
      requestId, action: action?.slice(0, 64), appId: key?.appId, code, ms: Math.round((performance.now() - started) * 100) / 100,
    }, 'api request');
  }

  /** Version, action and region name something this server serves. */
  private checkTarget(env: Envelope): ActionName {
    if (env.version !== API_VERSION) {
      throw new CodedError('NoSuchVersion', `Version ${JSON.stringify(env.version)} does not exist; this service speaks ${API_VERSION}.`);
    }
    if (!this.deps.registry.isAction(env.action)) {
      throw new CodedError('InvalidAction', `There is no action named ${JSON.stringify(env.action)} in SES ${API_VERSION}.`);
    }
    if (env.region !== undefined && !this.deps.regions.includes(env.region)) {
      throw new CodedError('UnsupportedRegion', `Region ${JSON.stringify(env.region)} is not served here; use one of ${this.deps.regions.join(', ')}.`);
    }
    return env.action;
  }

  /** Timestamp, key, credential scope, signature, and (v1) replay. */
  private async authenticate(req: IncomingMessage, method: string, rawQuery: string, body: Buffer, env: Envelope): Promise<ApiKey> {
    const tc3 = env.style === 'TC3' ? parseTc3Authorization(String(req.headers.authorization)) : null;
    const ts = Number(env.timestamp);
    if (!/^\d{1,12}$/.test(env.timestamp)) {
      throw new CodedError('InvalidParameterValue', `${tc3 ? 'X-TC-Timestamp' : 'Timestamp'} must be a UNIX time in seconds.`);
    }
    const nowS = this.now() / 1000;
    if (Math.abs(nowS - ts) > SIGNATURE_WINDOW_SECONDS) {
      throw new CodedError('AuthFailure.SignatureExpire',
        `The request was signed at ${ts}, more than ${SIGNATURE_WINDOW_SECONDS / 60} minutes from the server time ${Math.floor(nowS)}.`);
    }
    const secretId = tc3 ? tc3.secretId : env.secretId;
    const key = await this.deps.findKey(secretId);
    if (!key) throw new CodedError('AuthFailure.SecretIdNotFound', 'No API key has this SecretId.');
    const hosts = hostCandidates(req.headers.host);
    if (tc3) {
      if (tc3.date !== utcDate(ts)) {
        throw new CodedError('AuthFailure.SignatureFailure', `The credential date ${tc3.date} is not the UTC date of X-TC-Timestamp (${utcDate(ts)}).`);
      }
      const firstLabel = (req.headers.host ?? '').split('.')[0];
      if (tc3.service !== 'ses' && tc3.service !== firstLabel) {
        throw new CodedError('AuthFailure.SignatureFailure', `The credential scope names service ${JSON.stringify(tc3.service)}; expected ses.`);
      }
      if (!verifyTc3(tc3, key.secretKey, { method, rawQuery, headers: req.headers, hostCandidates: hosts, body, timestamp: env.timestamp })) {
        throw signatureMismatch();
      }
    } else {
      const entries = (env.params as { entries: Map<string, string> }).entries;
      if (!verifyV1(entries, key.secretKey, method, hosts)) throw signatureMismatch();
      const nonce = entries.get('Nonce') ?? '';
      if (!this.replays.check(secretId, ts, nonce, entries.get('Signature') ?? '', this.now())) {
        throw new CodedError('AuthFailure.SignatureFailure', 'This Nonce and Timestamp were already used by an identical request: replays are refused.');
      }
    }
    return key;
  }

  private checkRateLimit(key: ApiKey, action: ActionName): void {
    const perSecond = key.apiRateLimit ?? this.deps.rateLimits.get(action) ?? this.deps.rateLimit;
    if (!this.limiter.take(key.accountId, action, perSecond)) {
      throw new CodedError('RequestLimitExceeded', `More than ${perSecond} ${action} requests per second from this account; retry shortly.`);
    }
  }

  private decodeParams(env: Envelope, action: ActionName): Record<string, unknown> {
    const model = this.deps.registry.requestModel(action);
    if (env.params.kind === 'flat') {
      const entries = new Map([...env.params.entries].filter(([k]) => !COMMON_PARAMS.has(k)));
      return decodeFlatParams(entries, model, action);
    }
    let parsed: unknown = {};
    if (env.params.body.length > 0) {
      try {
        parsed = JSON.parse(env.params.body.toString('utf8'));
      } catch (e) {
        throw new CodedError('InvalidParameter', `The request body is not valid JSON: ${(e as Error).message}.`);
      }
    }
    return decodeJsonParams(parsed, model, action);
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

/** The raw query string and body, within the size limit of the request's kind. */
async function readRequest(req: IncomingMessage, method: 'GET' | 'POST'): Promise<{ rawQuery: string; body: Buffer }> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  if (method === 'GET') {
    if (url.length > SIZE_LIMITS.get) {
      throw new CodedError('RequestSizeLimitExceeded', `A GET request may carry at most ${SIZE_LIMITS.get} bytes of parameters.`);
    }
    return { rawQuery, body: Buffer.alloc(0) };
  }
  const tc3 = String(req.headers.authorization ?? '').startsWith(TC3_ALGORITHM);
  return { rawQuery, body: await readBody(req, tc3 ? SIZE_LIMITS.tc3Post : SIZE_LIMITS.v1Post) };
}

/** Reads the common parameters from TC3 headers, or from the v1 query or form. */
function readEnvelope(req: IncomingMessage, method: 'GET' | 'POST', rawQuery: string, body: Buffer): Envelope {
  const authorization = req.headers.authorization;
  const contentType = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (authorization !== undefined && authorization.startsWith(TC3_ALGORITHM)) {
    const header = (name: string): string => {
      const v = req.headers[name.toLowerCase()];
      if (typeof v !== 'string' || v === '') throw new CodedError('MissingParameter', `The header ${name} is required.`);
      return v;
    };
    let params: Envelope['params'];
    if (method === 'GET') params = { kind: 'flat', entries: parseForm(rawQuery) };
    else if (contentType === 'application/json') params = { kind: 'json', body };
    else if (contentType === 'application/x-www-form-urlencoded') params = { kind: 'flat', entries: parseForm(body.toString('utf8')) };
    else throw new CodedError('InvalidParameter', `Content-Type ${JSON.stringify(contentType)} is not supported; use application/json.`);
    const region = req.headers['x-tc-region'];
    return {
      style: 'TC3',
      action: header('X-TC-Action'),
      version: header('X-TC-Version'),
      region: typeof region === 'string' && region !== '' ? region : undefined,
      timestamp: header('X-TC-Timestamp'),
      language: String(req.headers['x-tc-language'] ?? 'en-US'),
      secretId: '',
      params,
    };
  }
  if (authorization !== undefined && authorization !== '') {
    throw new CodedError('AuthFailure.InvalidAuthorization', `The Authorization header must start with ${TC3_ALGORITHM}.`);
  }
  if (method === 'POST' && contentType !== 'application/x-www-form-urlencoded') {
    throw new CodedError('AuthFailure.InvalidAuthorization',
      `A POST with Content-Type ${JSON.stringify(contentType)} must be signed with ${TC3_ALGORITHM}; HmacSHA1/HmacSHA256 requests are form-encoded.`);
  }
  const entries = parseForm(method === 'GET' ? rawQuery : body.toString('utf8'));
  const common = (name: string): string => {
    const v = entries.get(name);
    if (v === undefined || v === '') throw new CodedError('MissingParameter', `The common parameter ${name} is required.`);
    return v;
  };
  const action = common('Action');
  const version = common('Version');
  const timestamp = common('Timestamp');
  const secretId = common('SecretId');
  common('Nonce');
  common('Signature');
  const sm = entries.get('SignatureMethod');
  if (sm !== undefined && sm !== 'HmacSHA1' && sm !== 'HmacSHA256') {
    throw new CodedError('InvalidParameterValue', 'SignatureMethod must be HmacSHA1 or HmacSHA256.');
  }
  return {
    style: sm === 'HmacSHA256' ? 'HmacSHA256' : 'HmacSHA1',
    action,
    version,
    region: entries.get('Region') || undefined,
    timestamp,
    language: entries.get('Language') ?? 'en-US',
    secretId,
    params: { kind: 'flat', entries },
  };
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

/** The Host header as sent, and without its port (SDKs sign one or the other). */
function hostCandidates(host: string | undefined): string[] {
  if (!host) return [''];
  try {
    const bare = new URL(`http://${host}`).hostname;
    return bare === host ? [host] : [host, bare];
  } catch {
    return [host];
  }
}
