/**
 * The Tencent Cloud API 3.0 endpoint: one request, as a list of named steps (authenticate, limit,
 * decode, run, answer). Every answer is HTTP 200 with the `{"Response":…}` envelope (FACTS §1.6),
 * carrying a fresh RequestId that also appears in the request's log line. Logs never hold secrets,
 * signatures or bodies.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { CodedError } from '../errors/coded-error.js';
import type { ApiKey } from '../services/accounts.js';
import { API_VERSION, Authenticator, type AuthenticatorDeps, type Seen, type Verified } from './authenticate.js';
import { ClientGoneError, SIZE_LIMITS } from './protocol/body.js';
import { errorFields, responseBody } from './protocol/envelope.js';
import { decodeFlatParams, decodeJsonParams } from './protocol/params.js';
import { RateLimiter } from '../lib/rate-limit.js';
import type { ActionContext } from './registry.js';
import type { ActionName } from '../schema/actions.js';

/** An unread body up to this size is drained to keep the connection; a larger one closes it. */
const UNREAD_BODY_KEEP = 64 * 1024;

/** Common parameters of v1 requests; they are never action parameters. */
const COMMON_PARAMS = new Set([
  'Action', 'Version', 'Region', 'Timestamp', 'Nonce', 'SecretId', 'Signature', 'SignatureMethod', 'Token', 'Language', 'RequestClient',
]);

/** What the endpoint needs from the rest of the program. */
export interface EndpointDeps extends AuthenticatorDeps {
  rateLimit: number;
  rateLimits: ReadonlyMap<string, number>;
  log: Logger;
  /** Told each answered request: its action (an SES action name, or `unknown`), code and time (the metrics). */
  onAnswer?: (action: string, code: string, seconds: number) => void;
}

/** What the endpoint uses of the key a request is made with. */
type CallerKey = Pick<ApiKey, 'accountId' | 'appId' | 'secretId' | 'apiRateLimit'>;

/** Handles `GET /` and `POST /`. */
export class ApiEndpoint {
  private readonly limiter = new RateLimiter();
  private readonly auth: Authenticator;

  constructor(private readonly deps: EndpointDeps) {
    this.auth = new Authenticator(deps);
  }

  /** Answers one HTTP request with the Tencent envelope. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const started = performance.now();
    const seen: Seen = {};
    let code = 'OK';
    let payload: Record<string, unknown>;
    try {
      const method = checkMethod(req);
      const rawQuery = readQuery(req, method);
      const v = await this.auth.verify(req, method, rawQuery, seen);
      this.checkRateLimit(v.key, v.action);
      const params = this.decodeParams(v);
      payload = await this.run(v.action, this.context(v.key, requestId, v.region, v.language), params);
    } catch (e) {
      const err = this.toCodedError(e, requestId, seen.action);
      code = err.code;
      payload = errorFields(err);
    }
    // A large body left unread (too large, or refused before it was needed) is not worth waiting
    // for; a small one is read and dropped by the server so the connection can be kept.
    if (!req.complete && !(Number(req.headers['content-length']) <= UNREAD_BODY_KEEP)) res.setHeader('Connection', 'close');
    const traceId = req.headers['x-tc-traceid'];
    // Echoed for the SDKs' logs; only printable ASCII, so the echo can never break the response.
    if (typeof traceId === 'string' && /^[\x20-\x7e]{1,200}$/.test(traceId)) res.setHeader('X-TC-TraceId', traceId);
    res.setHeader('Content-Type', 'application/json');
    res.end(responseBody(payload, requestId));
    const seconds = (performance.now() - started) / 1000;
    this.deps.onAnswer?.(seen.action !== undefined && this.deps.registry.isAction(seen.action) ? seen.action : 'unknown', code, seconds);
    this.deps.log.info({
      requestId, action: seen.action?.slice(0, 64), appId: seen.key?.appId, code, ms: Math.round((performance.now() - started) * 100) / 100,
    }, 'api request');
  }

  /**
   * Runs `action` for a caller already known by other means (a console session, which proved the
   * SecretKey at sign-in): the same rate limit, parameter decoding and handler as a signed request,
   * so the console has no rules of its own. Answers the response fields, or throws a CodedError.
   */
  async runAs(key: CallerKey, action: string, params: unknown, requestId: string, language = 'en-US'): Promise<Record<string, unknown>> {
    try {
      if (!this.deps.registry.isAction(action)) throw new CodedError('InvalidAction', `There is no action named ${JSON.stringify(action.slice(0, 64))} in SES ${API_VERSION}.`);
      this.checkRateLimit(key, action);
      const decoded = decodeJsonParams(params ?? {}, this.deps.registry.requestModel(action), action);
      return await this.run(action, this.context(key, requestId, undefined, language), decoded);
    } catch (e) {
      throw this.toCodedError(e, requestId, action);
    }
  }

  /** Who is calling, as handlers see it: the key's account and the key itself. */
  private context(key: CallerKey, requestId: string, region: string | undefined, language: string): ActionContext {
    return { requestId, accountId: key.accountId, appId: key.appId, secretId: key.secretId, region: region ?? this.deps.regions[0], language };
  }

  private checkRateLimit(key: Pick<ApiKey, 'accountId' | 'apiRateLimit'>, action: ActionName): void {
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

