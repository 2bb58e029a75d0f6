/**
 * The actions Sesame answers: the 36 of SES 2020-10-02 (generated into ses.ts) and Sesame's own
 * extensions, declared the same way (request model, fields) so the protocol layer decodes them
 * alike. Extensions fill gaps in Tencent's API (it has no way to pause or stop a batch task);
 * docs/API.md lists them.
 */
import * as ses from './ses.js';
import type { FieldSpec } from './ses.js';
import { STRING_LIMITS } from './limits.js';

/** UpdateSendTask request: pause, resume or end a batch task. */
export interface UpdateSendTaskRequest {
  /** The task, as BatchSendEmail returned it. */
  TaskId: number;
  /** `pause`, `resume` or `end`. At most 64 characters. */
  Operation: string;
}
/** UpdateSendTask response: nothing but the RequestId. */
export type UpdateSendTaskResponse = Record<string, never>;

const EXTENSION_MODELS = {
  UpdateSendTaskRequest: [
    { name: 'TaskId', scalar: 'uint64', model: null, array: false, required: true },
    { name: 'Operation', scalar: 'string', model: null, array: false, required: true, maxLength: STRING_LIMITS.word },
  ],
  UpdateSendTaskResponse: [],
} as const satisfies Record<string, readonly FieldSpec[]>;

/** Names of Sesame's own actions. */
export const EXTENSION_ACTION_NAMES = ['UpdateSendTask'] as const;
export type ExtensionActionName = (typeof EXTENSION_ACTION_NAMES)[number];

export type ActionName = ses.ActionName | ExtensionActionName;
export type ModelName = ses.ModelName | keyof typeof EXTENSION_MODELS;

/** Every model's fields. */
export const MODELS: Record<ModelName, readonly FieldSpec[]> = { ...ses.MODELS, ...EXTENSION_MODELS };

/** Request and response model of every action. */
export const ACTIONS: Record<ActionName, { readonly request: ModelName; readonly response: ModelName }> = {
  ...ses.ACTIONS,
  UpdateSendTask: { request: 'UpdateSendTaskRequest', response: 'UpdateSendTaskResponse' },
};

/** Every action, Tencent's first. */
export const ACTION_NAMES: readonly ActionName[] = [...ses.ACTION_NAMES, ...EXTENSION_ACTION_NAMES];

export interface Requests extends ses.Requests { UpdateSendTask: UpdateSendTaskRequest }
export interface Responses extends ses.Responses { UpdateSendTask: UpdateSendTaskResponse }
