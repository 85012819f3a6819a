/**
 * The API's refusals as typed errors. Every error body is `{code, msg, data}`; `code` is stable
 * (docs/api.md) and starts with the HTTP status, `msg` is ready for a toast, and `data` has a
 * shape fixed by the code. `scripts/check-drift.mjs` fails when this list and the OpenAPI
 * document disagree; the shape of `data` per code is read from the document itself
 * (`ErrorData`), so it cannot drift.
 */

import type { operations } from "./schema.js";

export const ErrorCode = {
  InvalidInput: 40000,
  MalformedJson: 40001,
  WechatCodeInvalid: 40010,
  WechatSessionExpired: 40011,
  TemplateUnknown: 40020,
  ImageInvalid: 40030,
  ImageTooLarge: 40031,
  ImageTooManyPixels: 40032,
  UploadUnusable: 40033,
  ContentRisky: 40034,
  EntryPasswordRequired: 40040,
  EntryPasswordWrong: 40041,
  EntryAnswerRequired: 40042,
  EntryAnswerWrong: 40043,
  EntryGroupRequired: 40044,
  EntryGroupDataInvalid: 40045,
  RuleFollowForbidden: 40050,
  RuleShareForbidden: 40051,
  RulePaidEntryForbidden: 40052,
  RuleFakeCountForbidden: 40053,
  NotAuthenticated: 40100,
  TokenInvalid: 40101,
  UserInactive: 40102,
  NotOwner: 40301,
  AccountDisabled: 40302,
  NotWinner: 40303,
  WechatRiskyUser: 40310,
  WechatSignatureInvalid: 40311,
  WechatCallbackStale: 40312,
  WechatCallbackReplayed: 40313,
  WechatCallbackPlainRefused: 40314,
  PrivacyConsentRequired: 40320,
  EntryGroupMismatch: 40330,
  EntryNewUsersOnly: 40331,
  EntryRiskRefused: 40332,
  EntryExcluded: 40333,
  EventNotFound: 40401,
  ClaimNotFound: 40402,
  WinnerNotFound: 40403,
  LiveNotFound: 40420,
  ScreenLinkInvalid: 40421,
  EventLocked: 40901,
  EventDrawn: 40902,
  EventCanceled: 40903,
  EventHasEntrants: 40904,
  EventNotDrawn: 40905,
  EventNotLocked: 40906,
  EventNoEntrants: 40907,
  ClaimNotOffered: 40908,
  ClaimExpired: 40909,
  ClaimShipped: 40910,
  ClaimNotClaimed: 40911,
  ConditionsFrozen: 40912,
  EntrantNotFlagged: 40913,
  PrivacyVersionOutdated: 40920,
  AccountHasOpenEvents: 40921,
  LiveAlready: 40930,
  LivePaused: 40931,
  LiveEnded: 40932,
  LiveRoundInProgress: 40933,
  LiveNoRoundsLeft: 40934,
  PayloadTooLarge: 41300,
  UriTooLong: 41400,
  UnsupportedMediaType: 41500,
  Throttled: 42900,
  WechatRateLimited: 42910,
  EntryAttemptsExceeded: 42920,
  InternalError: 50000,
  WechatBadGateway: 50200,
  WechatUnavailable: 50300,
  ServiceUnavailable: 50301,
  ClaimsUnavailable: 50302,
  EntryRiskUnavailable: 50303,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Field name -> messages; nested serializers nest, lists of objects give one map per item. */
export interface FieldErrors {
  [field: string]: string[] | FieldErrors | FieldErrors[];
}

/** The codes whose `data` is a field map: the first message is what a form shows. */
const FIELD_ERROR_CODES: ReadonlySet<number> = new Set([
  ErrorCode.InvalidInput,
  ErrorCode.UploadUnusable,
  ErrorCode.ContentRisky,
]);

// Every error body any operation of the document can answer: the envelopes whose code is not 0.
type Responses<K extends keyof operations> = operations[K]["responses"];
type JsonOf<R> = R extends { content: { "application/json": infer B } } ? B : never;
type BodiesOf<K extends keyof operations> = JsonOf<Responses<K>[keyof Responses<K>]>;
type ErrorBody = {
  [K in keyof operations]: Exclude<BodiesOf<K>, { code: 0 }>;
}[keyof operations];
// The `data` of the bodies whose `code` enum holds C (each alternative lists its codes).
type DataFor<C extends number, B = ErrorBody> = B extends { code: infer Codes; data: infer D }
  ? C extends Codes
    ? D
    : never
  : never;
// "Always null for these codes" comes out of the generator as `Record<string, never> | null`.
type NullWhenEmpty<D> = [D] extends [Record<string, never> | null] ? null : D;

/**
 * What `data` holds for code C, as the OpenAPI document says: `FieldErrors` for 40000, 40033
 * and 40034, `{max_bytes}` for 40031, `{max_pixels}` for 40032, `{retry_after}` for 42900...
 * and null for the codes that carry nothing. `unknown` while the code is not known.
 */
export type ErrorData<C extends number> = number extends C ? unknown : NullWhenEmpty<DataFor<C>>;

export class ApiError<C extends number = number> extends Error {
  override readonly name = "ApiError";

  constructor(
    readonly status: number,
    readonly code: C,
    /** For people: show it in a toast. */
    readonly msg: string,
    readonly data: ErrorData<C>,
    /** Quote it when reporting a problem: it is in the server's logs. */
    readonly requestId: string,
  ) {
    super(`${code} ${msg}`);
  }

  /**
   * The first field message, for a form that shows one at a time: for an invalid input
   * (40000), an upload id that cannot be used there (40033, the id under the field's name) and
   * a text WeChat judged risky (40034). Undefined for any other code.
   */
  firstFieldError(): string | undefined {
    return FIELD_ERROR_CODES.has(this.code) ? first(this.data as FieldErrors) : undefined;
  }

  /** The fields at fault (top level), for highlighting them: empty for other codes. */
  fields(): string[] {
    if (!FIELD_ERROR_CODES.has(this.code) || !this.data || typeof this.data !== "object") return [];
    return Object.keys(this.data as FieldErrors);
  }
}

/** wx.request's `fail`: no answer at all (offline, DNS, timeout, domain not whitelisted). */
export class NetworkError extends Error {
  override readonly name = "NetworkError";

  constructor(
    readonly errMsg: string,
    readonly requestId: string,
  ) {
    super(errMsg);
  }
}

/** The call was canceled by its caller (`signal`): nothing to show, nothing reported. */
export class CanceledError extends Error {
  override readonly name = "CanceledError";

  constructor(readonly requestId: string) {
    super("canceled");
  }
}

/** `isApiError(e, ErrorCode.EventLocked)` narrows `e.data` to that code's shape. */
export function isApiError<C extends ErrorCodeValue>(error: unknown, code: C): error is ApiError<C>;
export function isApiError(error: unknown): error is ApiError;
export function isApiError(error: unknown, code?: number): boolean {
  return error instanceof ApiError && (code === undefined || error.code === code);
}

export function isCanceled(error: unknown): error is CanceledError {
  return error instanceof CanceledError;
}

function first(
  errors: FieldErrors | FieldErrors[] | string[] | undefined | null,
): string | undefined {
  if (errors === undefined || errors === null) return undefined;
  if (Array.isArray(errors)) {
    for (const item of errors) {
      const found = typeof item === "string" ? item : first(item);
      if (found) return found;
    }
    return undefined;
  }
  if (typeof errors !== "object") return undefined;
  for (const value of Object.values(errors)) {
    const found = first(value);
    if (found) return found;
  }
  return undefined;
}
