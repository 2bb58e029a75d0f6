/**
 * Who is calling: reads the common parameters of a request, TC3 from its headers or v1 from its
 * query or form, checks version, action, region and timestamp, finds the key, verifies the
 * signature and (v1) refuses replays.
 */
import type { IncomingMessage } from 'node:http';
import { decodeBase64 } from '../domain/base64.js';
import { CodedError } from '../errors/coded-error.js';
import { clientKey } from '../lib/client-network.js';
import type { ApiKey } from '../services/accounts.js';
import { BodyBudget, ClientBodyBudget, readBody, SIZE_LIMITS } from './protocol/body.js';
import { ReplayGuard } from './protocol/replay.js';
import { parseTc3Authorization, TC3_ALGORITHM, utcDate, verifyTc3 } from './protocol/tc3.js';
import { verifyV1 } from './protocol/v1.js';
import type { Registry } from './registry.js';
import type { ActionName } from '../schema/actions.js';

export const API_VERSION = '2020-10-02';
/** Allowed clock difference between client and server (FACTS §1.4). */
export const SIGNATURE_WINDOW_SECONDS = 300;
/** All request bodies being received at once are held to this many bytes. */
const BODY_BUDGET_BYTES = 256 * 1024 * 1024;

/** What authentication needs from the rest of the program. */
export interface AuthenticatorDeps {
  registry: Registry;
  findKey(secretId: string): Promise<ApiKey | undefined>;
  regions: readonly string[];
  /** Bytes of v1 bodies one client address may have in flight before their signatures are checked (SESAME_HTTP_PREAUTH_BYTES_PER_IP). */
  preauthBytesPerClient: number;
  now?: () => number;
}

/** What is known of a request so far, for its log line even when it fails. */
export interface Seen { action?: string; key?: ApiKey }

/** Who is calling and what they ask, once the signature has been verified. */
export interface Verified {
  key: ApiKey;
  action: ActionName;
  region: string | undefined;
  language: string;
  /** A TC3 JSON body, or flattened parameters (form, query). */
  params: { kind: 'json'; body: Buffer } | { kind: 'flat'; entries: Map<string, string> };
}

/** The common parameters every request names, however it is signed. */
interface Target { action: string; version: string; region: string | undefined; timestamp: string }

/** Verifies requests signed either way. */
export class Authenticator {
  private readonly replays = new ReplayGuard(SIGNATURE_WINDOW_SECONDS);
  private readonly budget = new BodyBudget(BODY_BUDGET_BYTES);
  private readonly preauth: ClientBodyBudget;
  private readonly now: () => number;

  constructor(private readonly deps: AuthenticatorDeps) {
    this.now = deps.now ?? Date.now;
    this.preauth = new ClientBodyBudget(deps.preauthBytesPerClient);
  }

  /** The verified caller and request, or the protocol error that refuses it. */
  async verify(req: IncomingMessage, method: 'GET' | 'POST', rawQuery: string, seen: Seen): Promise<Verified> {
    const v = await (isTc3(req) ? this.verifyTc3(req, method, rawQuery, seen) : this.verifyV1(req, method, rawQuery, seen));
    // After the signature: only a caller holding the key learns that its account is suspended.
    if (v.key.suspended) {
      throw new CodedError('AuthFailure.UnauthorizedOperation', 'This account is suspended by the operator of this service: its requests are refused until it is enabled again.');
    }
    return v;
  }

  /**
   * TC3: everything but the signature itself is in the headers, so the key is found before the body
   * is read; a caller without a valid SecretId never gets 10 MB of memory. But a SecretId is no
   * secret (v1 GET requests carry theirs in the URL, proxies log it), and the body must be read
   * before the signature over it can be checked: its bytes count against the client address's share
   * too, as a v1 body's do. The share holds several of the largest bodies at once (an application
   * server sending attachments in parallel); behind a reverse proxy the operator raises it.
   */
  private async verifyTc3(req: IncomingMessage, method: 'GET' | 'POST', rawQuery: string, seen: Seen): Promise<Verified> {
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
    const share = { budget: this.preauth, client: clientKey(req.socket.remoteAddress) };
    const body = method === 'POST' ? await readBody(req, SIZE_LIMITS.tc3Post, this.budget, share) : Buffer.alloc(0);
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

  /**
   * HmacSHA1/HmacSHA256: the common parameters travel with the others, in the query or the form body.
   * A POST's body must therefore be read before anything about its sender is checked: anyone may send
   * one, so its bytes count against the client address's share (ClientBodyBudget) as well as the
   * global budget, and one address trickling many bodies cannot take the memory every tenant shares.
   * (TC3 bodies, read before their signature is checked, count against the same share.)
   */
  private async verifyV1(req: IncomingMessage, method: 'GET' | 'POST', rawQuery: string, seen: Seen): Promise<Verified> {
    if (req.headers.authorization) {
      throw new CodedError('AuthFailure.InvalidAuthorization', `The Authorization header must start with ${TC3_ALGORITHM}.`);
    }
    const contentType = mediaType(req);
    if (method === 'POST' && contentType !== 'application/x-www-form-urlencoded') {
      throw new CodedError('AuthFailure.InvalidAuthorization',
        `A POST with Content-Type ${JSON.stringify(contentType)} must be signed with ${TC3_ALGORITHM}; HmacSHA1/HmacSHA256 requests are form-encoded.`);
    }
    const share = { budget: this.preauth, client: clientKey(req.socket.remoteAddress) };
    const text = method === 'POST' ? (await readBody(req, SIZE_LIMITS.v1Post, this.budget, share)).toString('utf8') : rawQuery;
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
}

function signatureMismatch(): CodedError {
  return new CodedError('AuthFailure.SignatureFailure', 'The signature does not match what the server computed from this request and the SecretKey of this SecretId.');
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
