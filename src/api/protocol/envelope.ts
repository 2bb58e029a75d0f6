/**
 * The body of every API answer (FACTS §1.6): `{"Response": {...fields, "RequestId"}}`, fields being an
 * action's output or `Error: {Code, Message}`. One writer for the endpoint and for the answers the
 * HTTP listener gives before the endpoint sees a request (headers too large, too many connections).
 */
import { randomUUID } from 'node:crypto';
import type { CodedError } from '../../errors/coded-error.js';

/** The JSON body answering one request. */
export function responseBody(fields: Record<string, unknown>, requestId: string): string {
  return JSON.stringify({ Response: { ...fields, RequestId: requestId } });
}

/** The fields of an error answer. */
export function errorFields(e: CodedError): { Error: { Code: string; Message: string } } {
  return { Error: { Code: e.code, Message: e.message } };
}

/** The body of an error answer under a request id of its own. */
export function errorBody(e: CodedError): string {
  return responseBody(errorFields(e), randomUUID());
}
