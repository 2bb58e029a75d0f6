/** The console's HTTP API (/console/api/) driven as its page does: JSON posts, the session cookie, the CSRF token. */
import { expect } from 'vitest';

/** An answer: its HTTP status, the Set-Cookie it carries, and the `{"Response": …}` body. */
export interface ConsoleAnswer { status: number; cookie: string | null; body: { Response: Record<string, unknown> & { Error?: { Code: string; Message: string } } } }

/** A signed-in browser: the cookie to send back, the CSRF token, and the Set-Cookie it was given. */
export interface ConsoleSignIn { cookie: string; csrf: string; setCookie: string }

/** What a request may carry: method, body (JSON unless a string), cookie, CSRF token, Content-Type and Origin. */
export interface ConsoleRequest { method?: string; body?: unknown; cookie?: string; csrf?: string; type?: string; origin?: string }

/** A client of the console API of the server at `url` (`http://host:port/`). */
export function consoleClient(url: string) {
  async function request(path: string, o: ConsoleRequest = {}): Promise<ConsoleAnswer> {
    const headers: Record<string, string> = { 'Content-Type': o.type ?? 'application/json' };
    if (o.cookie) headers.Cookie = o.cookie;
    if (o.csrf) headers['X-CSRF-Token'] = o.csrf;
    if (o.origin) headers.Origin = o.origin;
    const r = await fetch(`${url}console/api/${path}`, { method: o.method ?? 'POST', headers, body: o.method === 'GET' ? undefined : (typeof o.body === 'string' ? o.body : JSON.stringify(o.body ?? {})) });
    return { status: r.status, cookie: r.headers.get('set-cookie'), body: await r.json() as ConsoleAnswer['body'] };
  }
  return {
    request,
    /** Signs in (the test fails if refused). */
    async signIn(creds: { SecretId: string; SecretKey: string }): Promise<ConsoleSignIn> {
      const r = await request('sign-in', { body: { SecretId: creds.SecretId, SecretKey: creds.SecretKey } });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return { cookie: r.cookie!.split(';')[0], csrf: String(r.body.Response.CsrfToken), setCookie: r.cookie! };
    },
    /** Runs an action in the session. */
    action: (s: { cookie: string; csrf: string }, Action: string, Params: unknown = {}) => request('action', { cookie: s.cookie, csrf: s.csrf, body: { Action, Params } }),
  };
}

/** A console API client. */
export type ConsoleClient = ReturnType<typeof consoleClient>;
