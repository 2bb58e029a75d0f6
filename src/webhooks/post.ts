/**
 * One webhook request: a JSON POST to a callback URL, never following a redirect, given up after a
 * deadline. Every new connection is made to an address the destination rule allows: a host given
 * as an address is checked before the request, a name is resolved and checked by the connection's
 * own lookup (so a kept-alive connection costs no lookup, and a new one always gets a fresh one).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import type { DnsClient } from '../net/dns.js';
import { resolveDestination } from './destination.js';

/** What a request came to: the HTTP status (null when there was none) and why it failed, if it did. */
export interface PostResult { status: number | null; error: string; latencyMs: number }

/** How requests are made. */
export interface PostOptions {
  dns: Pick<DnsClient, 'addresses'>;
  allowPrivateNetworks: boolean;
  /** The whole request, connection to last byte of the answer. */
  timeoutMs: number;
  /** Ends the request early (a stopping worker). */
  signal?: AbortSignal;
}

/** Bytes of an answer read at most (the status is all that counts). */
const MAX_ANSWER_BYTES = 64 * 1024;

// Connections are kept for the next request to the same host and port: each was made to an address
// the rule allowed when it was opened.
const agents = { 'http:': new HttpAgent({ keepAlive: true, maxSockets: 256 }), 'https:': new HttpsAgent({ keepAlive: true, maxSockets: 256 }) };

/** Posts `body` to `url` with `headers`. */
export async function postJson(url: URL, headers: Record<string, string>, body: string, o: PostOptions): Promise<PostResult> {
  const t0 = performance.now();
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    const dest = await resolveDestination(host, o.dns, o.allowPrivateNetworks);
    if (!dest.ok) return { status: null, error: dest.reason, latencyMs: performance.now() - t0 };
  }
  // Node calls this for a name, once per new connection: the connection goes to the address checked.
  const lookup: LookupFunction = (name, opts, cb) => {
    resolveDestination(name, o.dns, o.allowPrivateNetworks).then((dest) => {
      if (!dest.ok) { cb(new Error(dest.reason), '', 4); return; }
      const address = dest.addresses[0];
      const family = isIP(address);
      if ((opts as { all?: boolean }).all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
      else cb(null, address, family);
    }, (err: Error) => cb(err, '', 4));
  };
  const secure = url.protocol === 'https:';
  return new Promise<PostResult>((resolve) => {
    let settled = false;
    const done = (status: number | null, error: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ status, error, latencyMs: performance.now() - t0 });
    };
    const req = (secure ? httpsRequest : httpRequest)({
      protocol: url.protocol,
      hostname: host,
      port: url.port || (secure ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)), 'User-Agent': 'Sesame-Webhooks/1' },
      agent: agents[secure ? 'https:' : 'http:'],
      lookup,
      signal: o.signal,
    }, (res: IncomingMessage) => {
      let read = 0;
      res.on('data', (c: Buffer) => {
        read += c.length;
        if (read > MAX_ANSWER_BYTES) res.destroy();
      });
      res.on('end', () => done(res.statusCode ?? null, ''));
      res.on('close', () => done(res.statusCode ?? null, ''));
      res.on('error', () => done(res.statusCode ?? null, ''));
    });
    const timer = setTimeout(() => {
      req.destroy();
      done(null, `no answer within ${Math.round(o.timeoutMs / 1000)} s`);
    }, o.timeoutMs);
    req.on('error', (err) => done(null, err.message));
    req.end(body);
  });
}
