/**
 * The official Tencent Cloud SDKs as clients: `tencentcloud-sdk-nodejs-intl-en` (v1 HmacSHA256 form
 * POST by default, HmacSHA1, TC3) and `tencentcloud-sdk-nodejs-ses` (v4, TC3 over JSON).
 */
import { createRequire } from 'node:module';
import type { Requests, Responses, ActionName } from '../../src/schema/ses.js';
import type { ExtensionActionName, Requests as AllRequests, Responses as AllResponses } from '../../src/schema/actions.js';

const require = createRequire(import.meta.url);
// The intl-en SDK ships no type declarations; this is the small surface the tests use.
interface IntlSdk {
  common: {
    Credential: new (id: string, key: string) => unknown;
    HttpProfile: new () => { endpoint: string; protocol: string; reqMethod: string; reqTimeout: number };
    ClientProfile: new (signMethod: string, http: unknown) => unknown;
  };
  ses: { v20201002: { Client: new (cred: unknown, region: string, profile: unknown) => Record<string, (req: unknown, cb: (e: unknown, r: unknown) => void) => void> } };
}
const intl = require('tencentcloud-sdk-nodejs-intl-en') as IntlSdk;
const v4 = require('tencentcloud-sdk-nodejs-ses') as {
  ses: { v20201002: { Client: new (cfg: unknown) => Record<string, (req: unknown) => Promise<unknown>> } };
};

/** Calls any action and resolves with its typed response (RequestId included). */
export type Caller = <A extends ActionName>(action: A, req: Requests[A]) => Promise<Responses[A] & { RequestId: string }>;

/** The error the SDKs throw for an API error. */
export interface SdkError { code: string; message: string; requestId: string }

/** How an SDK client signs and sends. */
export type ClientKind = 'intl:HmacSHA256:POST' | 'intl:HmacSHA1:GET' | 'intl:TC3-HMAC-SHA256:POST' | 'intl:TC3-HMAC-SHA256:GET' | 'v4:TC3';
export const CLIENT_KINDS: readonly ClientKind[] = ['intl:HmacSHA256:POST', 'intl:HmacSHA1:GET', 'intl:TC3-HMAC-SHA256:POST', 'v4:TC3'];

/** A client of the given kind for `endpoint` (host:port) with these credentials. */
export function sdkClient(kind: ClientKind, endpoint: string, creds: { SecretId: string; SecretKey: string }, region = 'ap-singapore'): Caller {
  if (kind === 'v4:TC3') {
    const c = new v4.ses.v20201002.Client({
      credential: { secretId: creds.SecretId, secretKey: creds.SecretKey },
      region,
      profile: { httpProfile: { endpoint, protocol: 'http://' } },
    });
    // An action the SDK has no method for yet (GetAbuseReport in 4.1.76) goes through its generic
    // request(), signed and sent the same way.
    const generic = c as unknown as { request(action: string, req: unknown): Promise<unknown> };
    return ((action: string, req: unknown) => (typeof c[action] === 'function' ? c[action](req) : generic.request(action, req))) as Caller;
  }
  const [, signMethod, reqMethod] = kind.split(':');
  const http = new intl.common.HttpProfile();
  http.endpoint = endpoint;
  http.protocol = 'http://';
  http.reqMethod = reqMethod;
  const c = new intl.ses.v20201002.Client(
    new intl.common.Credential(creds.SecretId, creds.SecretKey), region, new intl.common.ClientProfile(signMethod, http),
  );
  return ((action: string, req: unknown) => new Promise<unknown>((resolve, reject) => {
    c[action](req, (e, r) => (e ? reject(e) : resolve(r)));
  })) as Caller;
}

/** Resolves with the error an SDK call fails with (fails the test if it succeeds). */
export async function errorOf(p: Promise<unknown>): Promise<SdkError> {
  try {
    await p;
  } catch (e) {
    return e as SdkError;
  }
  throw new Error('expected the call to fail');
}

/** Resolves with the error code an SDK call fails with (fails the test if it succeeds). */
export async function errorCode(p: Promise<unknown>): Promise<string> {
  return (await errorOf(p)).code;
}

/** Base64 of UTF-8 text. */
export const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/**
 * Calls one of Sesame's own actions (schema/actions.ts) through the v4 SDK's generic request, signed
 * with TC3 like any other: the SDK has no method of that name.
 */
export function extensionCall<A extends ExtensionActionName>(endpoint: string, creds: { SecretId: string; SecretKey: string }, action: A, req: AllRequests[A]): Promise<AllResponses[A] & { RequestId: string }> {
  const c = new v4.ses.v20201002.Client({
    credential: { secretId: creds.SecretId, secretKey: creds.SecretKey },
    region: 'ap-singapore',
    profile: { httpProfile: { endpoint, protocol: 'http://' } },
  }) as unknown as { request(action: string, req: unknown): Promise<AllResponses[A] & { RequestId: string }> };
  return c.request(action, req);
}
