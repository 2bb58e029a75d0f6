/**
 * The console's HTTP API, under `/console/api/`: sign-in with `SecretId` and `SecretKey`, a session
 * cookie after it, and the account's actions run through the same endpoint as signed requests
 * (ApiEndpoint.runAs: the same decoding, rate limits, handlers and error codes), answered in the
 * same `{"Response": …}` envelope.
 *
 * - `POST sign-in` `{"SecretId", "SecretKey"}` → the cookie (`HttpOnly`, `SameSite=Strict`, `Path=/console`,
 *   `Secure` when SESAME_PUBLIC_URL is https) and `{"AppId", "CsrfToken", "ExpiresAt", "TimeZone", "Capture"}`
 *   (TimeZone: SESAME_TIMEZONE, the zone of the API's dates and times, which the console shows;
 *   Capture: the server keeps mail instead of sending it, SESAME_DELIVERY=capture);
 * - `GET session` → the same without a new cookie (a page reloaded finds its token again);
 * - `POST action` `{"Action", "Params"}` → the action's response;
 * - `POST sign-out` → the session ends, the cookie is cleared.
 *
 * Every POST but sign-in carries the session's CSRF token in `X-CSRF-Token`, is `application/json`
 * (a cross-site HTML form can send neither) and, when the browser says its `Origin`, comes from
 * this host. A session's requests answer 401 once it has ended.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { CodedError } from '../errors/coded-error.js';
import type { ConsoleSession, ConsoleSessions } from '../services/console-sessions.js';
import type { ApiEndpoint } from './endpoint.js';
import { BodyBudget, readBody, SIZE_LIMITS } from './protocol/body.js';
import { errorFields, responseBody } from './protocol/envelope.js';

/** Where the console's API lives. */
export const CONSOLE_API_PATH = '/console/api/';
/** The session cookie's name. */
export const SESSION_COOKIE = 'sesame_console';
/** A sign-in body is two short strings. */
const SIGN_IN_MAX_BYTES = 16 * 1024;
/** Bytes of console request bodies held at once, all sessions together. */
const BODY_BUDGET_BYTES = 64 * 1024 * 1024;

/** What the console API needs. */
export interface ConsoleApiDeps {
  endpoint: Pick<ApiEndpoint, 'runAs'>;
  sessions: ConsoleSessions;
  /** Mark the cookie Secure (SESAME_PUBLIC_URL is https). */
  secureCookie: boolean;
  /** SESAME_TIMEZONE: the zone the API's dates and times are in. */
  timeZone: string;
  /** Mail is captured, not sent (SESAME_DELIVERY=capture): the console then shows what was kept. */
  capture: boolean;
  log: Logger;
}

/** Answers requests under /console/api/. */
export class ConsoleApi {
  private readonly budget = new BodyBudget(BODY_BUDGET_BYTES);

  constructor(private readonly d: ConsoleApiDeps) {}

  /** Answers one request. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const requestId = randomUUID();
    const route = `${req.method} ${path.slice(CONSOLE_API_PATH.length)}`;
    try {
      switch (route) {
        case 'POST sign-in': return await this.signIn(req, res, requestId);
        case 'GET session': return await this.current(req, res, requestId);
        case 'POST action': return await this.action(req, res, requestId);
        case 'POST sign-out': return await this.signOut(req, res, requestId);
        default: throw new ConsoleRefusal(404, new CodedError('InvalidAction', `There is no console request ${JSON.stringify(route.slice(0, 80))}.`));
      }
    } catch (e) {
      const refusal = e instanceof ConsoleRefusal ? e : null;
      const err = refusal?.error ?? (e instanceof CodedError ? e : this.internal(e, requestId));
      send(res, refusal?.status ?? 200, responseBody(errorFields(err), requestId));
    }
  }

  private async signIn(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    this.checkPost(req);
    const body = await this.json(req, SIGN_IN_MAX_BYTES) as { SecretId?: unknown; SecretKey?: unknown };
    if (typeof body.SecretId !== 'string' || typeof body.SecretKey !== 'string' || !body.SecretId || !body.SecretKey) {
      throw new CodedError('MissingParameter', 'Sign in with SecretId and SecretKey.');
    }
    let s;
    try {
      s = await this.d.sessions.signIn(body.SecretId.slice(0, 128), body.SecretKey.slice(0, 256), req.socket.remoteAddress ?? '');
    } catch (e) {
      throw e instanceof CodedError ? new ConsoleRefusal(e.code === 'RequestLimitExceeded' ? 429 : 401, e) : e;
    }
    res.setHeader('Set-Cookie', this.cookie(s.cookie, Math.floor((s.expiresAt - Date.now()) / 1000)));
    send(res, 200, responseBody(this.about(s.appId, s), requestId));
  }

  private async current(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const s = await this.session(req);
    send(res, 200, responseBody(this.about(s.key.appId, s), requestId));
  }

  /**
   * What the page learns of its session: the account, the CSRF token, the expiry, the server's time
   * zone, and whether mail is captured (the console then shows it).
   */
  private about(appId: number, s: { csrf: string; expiresAt: number }): Record<string, unknown> {
    return { AppId: appId, CsrfToken: s.csrf, ExpiresAt: Math.floor(s.expiresAt / 1000), TimeZone: this.d.timeZone, Capture: this.d.capture };
  }

  private async action(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    this.checkPost(req);
    const s = await this.session(req);
    this.checkCsrf(req, s);
    const body = await this.json(req, SIZE_LIMITS.tc3Post) as { Action?: unknown; Params?: unknown };
    if (typeof body.Action !== 'string') throw new CodedError('MissingParameter', 'The request names no Action.');
    const language = req.headers['accept-language']?.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en-US';
    const payload = await this.d.endpoint.runAs(s.key, body.Action, body.Params ?? {}, requestId, language);
    send(res, 200, responseBody(payload, requestId));
    this.d.log.info({ requestId, action: body.Action.slice(0, 64), appId: s.key.appId, via: 'console' }, 'api request');
  }

  private async signOut(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    this.checkPost(req);
    const s = await this.session(req);
    this.checkCsrf(req, s);
    await this.d.sessions.signOut(cookieOf(req) ?? '');
    res.setHeader('Set-Cookie', this.cookie('', 0));
    send(res, 200, responseBody({}, requestId));
  }

  /** The request's session, or 401. */
  private async session(req: IncomingMessage): Promise<ConsoleSession> {
    const cookie = cookieOf(req);
    const s = cookie ? await this.d.sessions.find(cookie) : undefined;
    if (!s) throw new ConsoleRefusal(401, new CodedError('AuthFailure.TokenFailure', 'Not signed in, or the session has ended: sign in again.'));
    return s;
  }

  /** A POST of JSON from this host (what a cross-site form cannot send). */
  private checkPost(req: IncomingMessage): void {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') throw new ConsoleRefusal(415, new CodedError('UnsupportedProtocol', 'Console requests are JSON (Content-Type: application/json).'));
    const origin = req.headers.origin;
    if (origin !== undefined && hostOf(origin) !== (req.headers.host ?? '').toLowerCase()) {
      throw new ConsoleRefusal(403, new CodedError('AuthFailure.UnauthorizedOperation', 'A console request must come from the console\'s own page.'));
    }
  }

  private checkCsrf(req: IncomingMessage, s: ConsoleSession): void {
    const token = req.headers['x-csrf-token'];
    if (!this.d.sessions.csrfMatches(s, typeof token === 'string' ? token : undefined)) {
      throw new ConsoleRefusal(403, new CodedError('AuthFailure.UnauthorizedOperation', 'The request carries no valid X-CSRF-Token.'));
    }
  }

  private async json(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
    const raw = await readBody(req, limit, this.budget);
    try {
      const v: unknown = JSON.parse(raw.toString('utf8') || '{}');
      if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch { /* answered below */ }
    throw new CodedError('InvalidParameter', 'The request body is not a JSON object.');
  }

  private cookie(value: string, maxAgeSeconds: number): string {
    return `${SESSION_COOKIE}=${value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${Math.max(0, maxAgeSeconds)}${this.d.secureCookie ? '; Secure' : ''}`;
  }

  private internal(e: unknown, requestId: string): CodedError {
    this.d.log.error({ requestId, err: e }, 'internal error in the console API');
    return new CodedError('InternalError', `An internal error occurred; quote RequestId ${requestId} when reporting it.`);
  }
}

/** A refusal with its HTTP status (the API itself always answers 200). */
class ConsoleRefusal extends Error {
  constructor(readonly status: number, readonly error: CodedError) { super(error.message); }
}

function send(res: ServerResponse, status: number, body: string): void {
  const bytes = Buffer.from(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': bytes.length, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  res.end(bytes);
}

/** The session cookie's value, if the request carries one. */
function cookieOf(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function hostOf(origin: string): string {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return '';
  }
}
