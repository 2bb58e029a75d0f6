/** Reads a request body up to a limit, without ever holding more than the limit in memory. */
import type { IncomingMessage } from 'node:http';
import { CodedError } from '../../errors/coded-error.js';

/** Request size limits of API 3.0 (FACTS §1.2), in bytes. */
export const SIZE_LIMITS = { get: 32 * 1024, v1Post: 1024 * 1024, tc3Post: 10 * 1024 * 1024 } as const;

/** The client went away before the body was complete: nobody is left to answer. */
export class ClientGoneError extends Error {}

const tooLarge = (limit: number): CodedError =>
  new CodedError('RequestSizeLimitExceeded', `The request is larger than ${limit} bytes, the most this kind of request may carry.`);

/** The whole body, or RequestSizeLimitExceeded as soon as it is known to exceed `limit`. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        req.off('data', onData);
        chunks.length = 0;
        // Whatever else arrives is discarded by the server once the answer is sent.
        reject(tooLarge(limit));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => { if (size <= limit) resolve(Buffer.concat(chunks, size)); });
    req.once('error', reject);
    // A client that goes away mid-body: nothing more will come (no-op once settled).
    req.once('close', () => { if (!req.complete) reject(new ClientGoneError('the client closed the connection before sending the whole body')); });
  });
}
