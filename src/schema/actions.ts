/**
 * The actions Sesame answers: the 36 of SES 2020-10-02 (generated into ses.ts) and Sesame's own
 * extensions, declared the same way (request model, fields) so the protocol layer decodes them
 * alike. Extensions fill gaps in Tencent's API (it has no way to pause or stop a batch task) and
 * what Tencent's own console does (callbacks, an account's API keys and settings, a delivery's
 * events); docs/API.md lists them.
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

/** SetEmailCallback request: where the account's (or one sender address's) events are posted. */
export interface SetEmailCallbackRequest {
  /** http(s) URL; the empty string removes the callback. At most 2048 characters. */
  CallbackUrl: string;
  /** A sender address of the account; absent or empty: the account-level callback. At most 320 characters. */
  Address?: string;
}
/** SetEmailCallback response: the endpoint's signing secret. */
export interface SetEmailCallbackResponse {
  /** `whsec_` and base64 of 32 bytes ('' when the callback was removed). */
  Secret: string;
}
/** ListEmailCallbacks request: no parameters. */
export type ListEmailCallbacksRequest = Record<string, never>;
/** One configured callback. */
export interface EmailCallback {
  /** The sender address, or '' for the account level. */
  Address: string;
  CallbackUrl: string;
  Secret: string;
  /** 1 active, 0 disabled after failing for SESAME_WEBHOOK_DISABLE_AFTER. */
  Status: number;
  /** When it was set, Unix seconds. */
  CreatedTimestamp: number;
}
/** ListEmailCallbacks response. */
export interface ListEmailCallbacksResponse {
  CallbackList: EmailCallback[];
  TotalCount: number;
}

/** ListEmailCallbackLogs request: the requests made to one callback, newest first. */
export interface ListEmailCallbackLogsRequest {
  /** The callback's sender address; absent or empty: the account-level callback. At most 320 characters. */
  Address?: string;
  /** At most 100 (default 20). */
  Limit?: number;
}
/** One request made to a callback. */
export interface CallbackLogEntry {
  /** The event's `webhook-id`. */
  EventId: string;
  /** When it was made, Unix seconds. */
  Timestamp: number;
  /** The HTTP status answered; 0 when there was none (refused, timed out, no connection). */
  HttpStatus: number;
  LatencyMs: number;
  /** Why it failed ('' when it did not). */
  Error: string;
}
/** ListEmailCallbackLogs response. */
export interface ListEmailCallbackLogsResponse { LogList: CallbackLogEntry[] }

/** ListApiKeys request: no parameters. */
export type ListApiKeysRequest = Record<string, never>;
/** One API key of the account: never its SecretKey. */
export interface ApiKeySummary {
  SecretId: string;
  /** When it was created, Unix seconds. */
  CreatedTimestamp: number;
  /** True for the key this request is made with (it signed it, or the console signed in with it). */
  Current: boolean;
}
/** ListApiKeys response: the account's keys, oldest first. */
export interface ListApiKeysResponse {
  ApiKeyList: ApiKeySummary[];
  TotalCount: number;
}
/** CreateApiKey request: no parameters. */
export type CreateApiKeyRequest = Record<string, never>;
/** CreateApiKey response: the new key; its SecretKey is shown this once only. */
export interface CreateApiKeyResponse {
  SecretId: string;
  SecretKey: string;
}
/** DeleteApiKey request: one of the account's keys, other than the one making the request. */
export interface DeleteApiKeyRequest {
  /** At most 256 characters. */
  SecretId: string;
}
/** DeleteApiKey response: nothing but the RequestId. */
export type DeleteApiKeyResponse = Record<string, never>;
/** GetAccountSettings request: no parameters. */
export type GetAccountSettingsRequest = Record<string, never>;
/** GetAccountSettings response: the account's settings (1 yes, 0 no). */
export interface GetAccountSettingsResponse {
  /** Open and click tracking in the account's HTML mail. */
  Tracking: number;
  /** Its templates wait for an operator's approval (set by the operator). */
  TemplateReview: number;
  /** It may send content of its own (Simple, SMTP submission), not only templates (set by the operator). */
  Simple: number;
}
/** UpdateAccountSettings request: the settings an account changes itself. */
export interface UpdateAccountSettingsRequest {
  /** 1 on, 0 off: open and click tracking of the account's mail not yet sent. */
  Tracking: number;
}
/** UpdateAccountSettings response: nothing but the RequestId. */
export type UpdateAccountSettingsResponse = Record<string, never>;

/** ListCapturedEmails request: the mail capture mode kept, newest first. */
export interface ListCapturedEmailsRequest {
  Offset: number;
  /** At most 100. */
  Limit: number;
  /** Only mail to this address; absent or empty: all. At most 320 characters. */
  Recipient?: string;
}
/** One captured mail. */
export interface CapturedEmail {
  Id: number;
  /** The MessageId SendEmail (or the batch task's run) answered. */
  MessageId: string;
  FromEmailAddress: string;
  ToEmailAddress: string;
  Subject: string;
  /** Bytes of the message. */
  Size: number;
  /** When it was captured, Unix seconds. */
  CapturedTimestamp: number;
}
/** ListCapturedEmails response. */
export interface ListCapturedEmailsResponse {
  CapturedEmailList: CapturedEmail[];
  TotalCount: number;
}
/** GetCapturedEmail request. */
export interface GetCapturedEmailRequest {
  /** As ListCapturedEmails gave it. */
  Id: number;
}
/** A header field of a captured mail. */
export interface CapturedEmailHeader { Name: string; Value: string }
/** GetCapturedEmail response: the list's fields and the message. */
export interface GetCapturedEmailResponse extends CapturedEmail {
  /** Base64 of the message's exact bytes. */
  Raw: string;
  /** Its header fields in order, values unfolded. */
  Headers: CapturedEmailHeader[];
  /** The HTML part ('' if none). */
  Html: string;
  /** The text part ('' if none). */
  Text: string;
}

/** ListEmailEvents request: one delivery, named by its mail and its recipient. */
export interface ListEmailEventsRequest {
  /** As SendEmail (or a batch task's run) answered it. At most 256 characters. */
  MessageId: string;
  /** The recipient, compared in lower case as GetSendEmailStatus does. At most 320 characters. */
  ToEmailAddress: string;
}
/** One event of a delivery. */
export interface EmailEvent {
  /** The callbacks' name: `delivered`, `dropped`, `bounce`, `open`, `click`, `spamreport`, `unsubscribe` or `deferred`. */
  Event: string;
  /** When it happened, Unix seconds. */
  Timestamp: number;
  /** `hard_bounce` or `soft_bounce` for a bounce, '' otherwise. */
  BounceType: string;
  /** The remote's reply or diagnostic (delivered, deferred, bounce), or why Sesame dropped the mail ('' if none). */
  Reason: string;
  /** The URL clicked ('' but for clicks). */
  Link: string;
  /** The reader's User-Agent ('' but for opens and clicks). */
  UserAgent: string;
  /** The prefetcher or scanner that made this open or click ('' for a person). */
  Prefetch: string;
}
/** ListEmailEvents response: the delivery's events, oldest first (its newest 200 when it has more). */
export interface ListEmailEventsResponse {
  EventList: EmailEvent[];
  /** When the mail was accepted, Unix seconds; 0 when there is no such delivery. */
  RequestTime: number;
}

const EXTENSION_MODELS = {
  UpdateSendTaskRequest: [
    { name: 'TaskId', scalar: 'uint64', model: null, array: false, required: true },
    { name: 'Operation', scalar: 'string', model: null, array: false, required: true, maxLength: STRING_LIMITS.word },
  ],
  UpdateSendTaskResponse: [],
  SetEmailCallbackRequest: [
    { name: 'CallbackUrl', scalar: 'string', model: null, array: false, required: true, maxLength: STRING_LIMITS.url },
    { name: 'Address', scalar: 'string', model: null, array: false, required: false, maxLength: STRING_LIMITS.address },
  ],
  SetEmailCallbackResponse: [
    { name: 'Secret', scalar: 'string', model: null, array: false, required: true },
  ],
  ListEmailCallbacksRequest: [],
  ListEmailCallbackLogsRequest: [
    { name: 'Address', scalar: 'string', model: null, array: false, required: false, maxLength: STRING_LIMITS.address },
    { name: 'Limit', scalar: 'uint64', model: null, array: false, required: false },
  ],
  ListEmailCallbackLogsResponse: [
    { name: 'LogList', scalar: null, model: null, array: true, required: true },
  ],
  ListEmailCallbacksResponse: [
    // Items are EmailCallback (above): responses are encoded by their handlers, never decoded, so
    // the item model is not declared to the decoder.
    { name: 'CallbackList', scalar: null, model: null, array: true, required: true },
    { name: 'TotalCount', scalar: 'uint64', model: null, array: false, required: true },
  ],
  ListApiKeysRequest: [],
  ListApiKeysResponse: [
    // Items are ApiKeySummary (above), encoded by the handler.
    { name: 'ApiKeyList', scalar: null, model: null, array: true, required: true },
    { name: 'TotalCount', scalar: 'uint64', model: null, array: false, required: true },
  ],
  CreateApiKeyRequest: [],
  CreateApiKeyResponse: [
    { name: 'SecretId', scalar: 'string', model: null, array: false, required: true },
    { name: 'SecretKey', scalar: 'string', model: null, array: false, required: true },
  ],
  DeleteApiKeyRequest: [
    { name: 'SecretId', scalar: 'string', model: null, array: false, required: true, maxLength: STRING_LIMITS.identifier },
  ],
  DeleteApiKeyResponse: [],
  GetAccountSettingsRequest: [],
  GetAccountSettingsResponse: [
    { name: 'Tracking', scalar: 'uint64', model: null, array: false, required: true },
    { name: 'TemplateReview', scalar: 'uint64', model: null, array: false, required: true },
    { name: 'Simple', scalar: 'uint64', model: null, array: false, required: true },
  ],
  UpdateAccountSettingsRequest: [
    { name: 'Tracking', scalar: 'uint64', model: null, array: false, required: true },
  ],
  UpdateAccountSettingsResponse: [],
  ListCapturedEmailsRequest: [
    { name: 'Offset', scalar: 'uint64', model: null, array: false, required: true },
    { name: 'Limit', scalar: 'uint64', model: null, array: false, required: true },
    { name: 'Recipient', scalar: 'string', model: null, array: false, required: false, maxLength: STRING_LIMITS.address },
  ],
  ListCapturedEmailsResponse: [
    // Items are CapturedEmail (above), encoded by the handler as ListEmailCallbacks' are.
    { name: 'CapturedEmailList', scalar: null, model: null, array: true, required: true },
    { name: 'TotalCount', scalar: 'uint64', model: null, array: false, required: true },
  ],
  GetCapturedEmailRequest: [
    { name: 'Id', scalar: 'uint64', model: null, array: false, required: true },
  ],
  GetCapturedEmailResponse: [
    { name: 'Id', scalar: 'uint64', model: null, array: false, required: true },
    { name: 'MessageId', scalar: 'string', model: null, array: false, required: true },
    { name: 'FromEmailAddress', scalar: 'string', model: null, array: false, required: true },
    { name: 'ToEmailAddress', scalar: 'string', model: null, array: false, required: true },
    { name: 'Subject', scalar: 'string', model: null, array: false, required: true },
    { name: 'Size', scalar: 'uint64', model: null, array: false, required: true },
    { name: 'CapturedTimestamp', scalar: 'uint64', model: null, array: false, required: true },
    { name: 'Raw', scalar: 'string', model: null, array: false, required: true },
    { name: 'Headers', scalar: null, model: null, array: true, required: true },
    { name: 'Html', scalar: 'string', model: null, array: false, required: true },
    { name: 'Text', scalar: 'string', model: null, array: false, required: true },
  ],
  ListEmailEventsRequest: [
    { name: 'MessageId', scalar: 'string', model: null, array: false, required: true, maxLength: STRING_LIMITS.identifier },
    { name: 'ToEmailAddress', scalar: 'string', model: null, array: false, required: true, maxLength: STRING_LIMITS.address },
  ],
  ListEmailEventsResponse: [
    // Items are EmailEvent (above), encoded by the handler.
    { name: 'EventList', scalar: null, model: null, array: true, required: true },
    { name: 'RequestTime', scalar: 'uint64', model: null, array: false, required: true },
  ],
} as const satisfies Record<string, readonly FieldSpec[]>;

/** Names of Sesame's own actions. */
export const EXTENSION_ACTION_NAMES = [
  'UpdateSendTask', 'SetEmailCallback', 'ListEmailCallbacks', 'ListEmailCallbackLogs',
  'ListApiKeys', 'CreateApiKey', 'DeleteApiKey', 'GetAccountSettings', 'UpdateAccountSettings',
  'ListCapturedEmails', 'GetCapturedEmail', 'ListEmailEvents',
] as const;
export type ExtensionActionName = (typeof EXTENSION_ACTION_NAMES)[number];

export type ActionName = ses.ActionName | ExtensionActionName;
export type ModelName = ses.ModelName | keyof typeof EXTENSION_MODELS;

/** Every model's fields. */
export const MODELS: Record<ModelName, readonly FieldSpec[]> = { ...ses.MODELS, ...EXTENSION_MODELS };

/** Request and response model of every action. */
export const ACTIONS: Record<ActionName, { readonly request: ModelName; readonly response: ModelName }> = {
  ...ses.ACTIONS,
  UpdateSendTask: { request: 'UpdateSendTaskRequest', response: 'UpdateSendTaskResponse' },
  SetEmailCallback: { request: 'SetEmailCallbackRequest', response: 'SetEmailCallbackResponse' },
  ListEmailCallbacks: { request: 'ListEmailCallbacksRequest', response: 'ListEmailCallbacksResponse' },
  ListEmailCallbackLogs: { request: 'ListEmailCallbackLogsRequest', response: 'ListEmailCallbackLogsResponse' },
  ListApiKeys: { request: 'ListApiKeysRequest', response: 'ListApiKeysResponse' },
  CreateApiKey: { request: 'CreateApiKeyRequest', response: 'CreateApiKeyResponse' },
  DeleteApiKey: { request: 'DeleteApiKeyRequest', response: 'DeleteApiKeyResponse' },
  GetAccountSettings: { request: 'GetAccountSettingsRequest', response: 'GetAccountSettingsResponse' },
  UpdateAccountSettings: { request: 'UpdateAccountSettingsRequest', response: 'UpdateAccountSettingsResponse' },
  ListCapturedEmails: { request: 'ListCapturedEmailsRequest', response: 'ListCapturedEmailsResponse' },
  GetCapturedEmail: { request: 'GetCapturedEmailRequest', response: 'GetCapturedEmailResponse' },
  ListEmailEvents: { request: 'ListEmailEventsRequest', response: 'ListEmailEventsResponse' },
};

/** Every action, Tencent's first. */
export const ACTION_NAMES: readonly ActionName[] = [...ses.ACTION_NAMES, ...EXTENSION_ACTION_NAMES];

export interface Requests extends ses.Requests {
  UpdateSendTask: UpdateSendTaskRequest;
  SetEmailCallback: SetEmailCallbackRequest;
  ListEmailCallbacks: ListEmailCallbacksRequest;
  ListEmailCallbackLogs: ListEmailCallbackLogsRequest;
  ListApiKeys: ListApiKeysRequest;
  CreateApiKey: CreateApiKeyRequest;
  DeleteApiKey: DeleteApiKeyRequest;
  GetAccountSettings: GetAccountSettingsRequest;
  UpdateAccountSettings: UpdateAccountSettingsRequest;
  ListCapturedEmails: ListCapturedEmailsRequest;
  GetCapturedEmail: GetCapturedEmailRequest;
  ListEmailEvents: ListEmailEventsRequest;
}
export interface Responses extends ses.Responses {
  UpdateSendTask: UpdateSendTaskResponse;
  SetEmailCallback: SetEmailCallbackResponse;
  ListEmailCallbacks: ListEmailCallbacksResponse;
  ListEmailCallbackLogs: ListEmailCallbackLogsResponse;
  ListApiKeys: ListApiKeysResponse;
  CreateApiKey: CreateApiKeyResponse;
  DeleteApiKey: DeleteApiKeyResponse;
  GetAccountSettings: GetAccountSettingsResponse;
  UpdateAccountSettings: UpdateAccountSettingsResponse;
  ListCapturedEmails: ListCapturedEmailsResponse;
  GetCapturedEmail: GetCapturedEmailResponse;
  ListEmailEvents: ListEmailEventsResponse;
}
