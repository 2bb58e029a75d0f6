/** Reads a request body up to a limit, without ever holding more than the limit in memory. */
import type { IncomingMessage } from 'node:http';
import { CodedError } from '../../errors/coded-error.js';
import { KeyedCounts } from '../../lib/keyed-counts.js';

/** Request size limits of API 3.0 (FACTS §1.2), in bytes. */
export const SIZE_LIMITS = { get: 32 * 1024, v1Post: 1024 * 1024, tc3Post: 10 * 1024 * 1024 } as const;

/** The client went away before the body was complete: nobody is left to answer. */
export class ClientGoneError extends Error {}

/** Bytes of request bodies held in memory by all requests together. */
export class BodyBudget {
  private used = 0;
  constructor(readonly max: number) {}
  /** Takes `n` bytes; false when that would pass the maximum. */
  take(n: number): boolean {
    if (this.used + n > this.max) return false;
    this.used += n;
    return true;
  }
  give(n: number): void {
    this.used -= n;
  }
}

/**
 * Bytes of request bodies held in memory per client (lib/client-network.ts clientKey), for bodies read before
 * anything proves who sent them. Without it a few hundred connections announcing large bodies and
 * trickling them would hold the whole BodyBudget, and every tenant's POST would be refused; with it
 * they hold at most this much per client, and other clients are unaffected.
 */
export class ClientBodyBudget {
  private readonly used = new KeyedCounts<string>();
  constructor(readonly maxPerClient: number) {}
  /** Takes `n` bytes for `client`; false when that would pass its maximum. */
  take(client: string, n: number): boolean {
    if (this.used.get(client) + n > this.maxPerClient) return false;
    this.used.add(client, n);
    return true;
  }
  give(client: string, n: number): void {
    this.used.subtract(client, n);
  }
}

/** A body also counted against its client's share. */
export interface ClientShare { budget: ClientBodyBudget; client: string }

const tooLarge = (limit: number): CodedError =>
  new CodedError('RequestSizeLimitExceeded', `The request is larger than ${limit} bytes, the most this kind of request may carry.`);

/**
 * The whole body, or RequestSizeLimitExceeded as soon as it is known to exceed `limit`. Every byte
 * received counts against `budget` (and the client's share, when given) until the body is complete
 * or refused, or the client goes away (which includes being cut for a stalled body, http/body-watch.ts).
 */
export function readBody(req: IncomingMessage, limit: number, budget: BodyBudget, share?: ClientShare): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      budget.give(size);
      share?.budget.give(share.client, size);
      if (error) { chunks.length = 0; reject(error); } else resolve(Buffer.concat(chunks, size));
    };
    const onData = (c: Buffer): void => {
      if (size + c.length > limit) { settle(tooLarge(limit)); return; }
      if (share && !share.budget.take(share.client, c.length)) {
        settle(new CodedError('RequestLimitExceeded.IPLimitExceeded',
          `Your address is sending too many request bodies at once (at most ${share.budget.maxPerClient} bytes before their signatures are checked); retry shortly.`));
        return;
      }
      if (!budget.take(c.length)) {
        share?.budget.give(share.client, c.length);
        settle(new CodedError('RequestLimitExceeded', 'The server is receiving too many large requests at once; retry shortly.'));
        return;
      }
      size += c.length;
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => settle(null));
    req.once('error', (e) => settle(e));
    // A client that goes away mid-body: nothing more will come.
    req.once('close', () => { if (!req.complete) settle(new ClientGoneError('the client closed the connection before sending the whole body')); });
  });
}
