/**
 * The console's calls to Sesame: sign-in and sign-out, and the account's actions, all through
 * /console/api/ with the session cookie (set by the server, never readable here) and the CSRF token.
 */

/** An error as the API answers it: Tencent's code and message. */
export class ApiError extends Error {
  constructor(readonly code: string, message: string, readonly status: number) { super(message); }
}

/** Dispatched on the window when a request finds the session ended. */
export const SESSION_ENDED = 'sesame-session-ended';

/**
 * The signed-in account, the server's time zone (SESAME_TIMEZONE: the API's dates and times are
 * in it), and whether the worker captures mail instead of sending it (SESAME_DELIVERY=capture).
 */
export interface Session { appId: number; csrf: string; timeZone: string; capture: boolean }

const sessionOf = (r: Record<string, unknown>): Session => ({ appId: Number(r.AppId), csrf: String(r.CsrfToken), timeZone: String(r.TimeZone ?? 'UTC'), capture: r.Capture === true });

type Envelope = { Response: Record<string, unknown> & { Error?: { Code: string; Message: string } } };

async function call(path: string, init: RequestInit): Promise<Record<string, unknown>> {
  const r = await fetch(`/console/api/${path}`, { credentials: 'same-origin', ...init });
  const body = (await r.json()) as Envelope;
  const err = body.Response.Error;
  // The session ended elsewhere (signed out in another tab, expired, its key revoked): the page signs in again.
  if (r.status === 401 && path !== 'sign-in' && path !== 'session') dispatchEvent(new Event(SESSION_ENDED));
  if (err) throw new ApiError(err.Code, err.Message, r.status);
  return body.Response;
}

/** Signs in; the session. */
export async function signIn(secretId: string, secretKey: string): Promise<Session> {
  return sessionOf(await call('sign-in', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ SecretId: secretId, SecretKey: secretKey }) }));
}

/** The current session, or null when not signed in. */
export async function currentSession(): Promise<Session | null> {
  try {
    return sessionOf(await call('session', { method: 'GET' }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

/** Ends the session. */
export async function signOut(s: Session): Promise<void> {
  await call('sign-out', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf }, body: '{}' });
}

/** Runs an action of the account; its response fields. */
export function action<T = Record<string, unknown>>(s: Session, name: string, params: Record<string, unknown> = {}): Promise<T> {
  return call('action', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf },
    body: JSON.stringify({ Action: name, Params: params }),
  }) as Promise<T>;
}
