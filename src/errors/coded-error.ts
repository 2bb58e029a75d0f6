/**
 * The one error the core throws: a catalogue code and a message. The API edge turns it into
 * `{"Response":{"Error":{"Code","Message"}}}`; the SMTP edge into a reply.
 */
import { ERROR_CATALOGUE, type ErrorCode } from './catalogue.js';

/** A failure with a stable Tencent error code. */
export class CodedError extends Error {
  constructor(readonly code: ErrorCode, message?: string) {
    super(message ?? ERROR_CATALOGUE[code].message);
    this.name = 'CodedError';
  }
}

/** Shorthand for `throw new CodedError(code, message)` in expressions. */
export function fail(code: ErrorCode, message?: string): never {
  throw new CodedError(code, message);
}
