/**
 * The API's refusals as typed errors. Every error body is `{code, msg, data}`; `code` is stable
 * (docs/api.md) and starts with the HTTP status, `msg` is ready for a toast, and `data` has a
 * shape fixed by the code. `scripts/check-drift.mjs` fails when this list and the OpenAPI
 * document disagree.
 */

export const ErrorCode = {
  InvalidInput: 40000,
  MalformedJson: 40001,
  WechatCodeInvalid: 40010,
  TemplateUnknown: 40020,
  ImageInvalid: 40030,
  ImageTooLarge: 40031,
  ImageTooManyPixels: 40032,
  UploadUnusable: 40033,
  ContentRisky: 40034,
  NotAuthenticated: 40100,
  TokenInvalid: 40101,
  UserInactive: 40102,
  NotOwner: 40301,
  AccountDisabled: 40302,
  NotWinner: 40303,
  WechatRiskyUser: 40310,
  WechatSignatureInvalid: 40311,
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
  LiveAlready: 40920,
  LivePaused: 40921,
  LiveEnded: 40922,
  LiveRoundInProgress: 40923,
  LiveNoRoundsLeft: 40924,
  PayloadTooLarge: 41300,
  UnsupportedMediaType: 41500,
  Throttled: 42900,
  WechatRateLimited: 42910,
  InternalError: 50000,
  WechatBadGateway: 50200,
  WechatUnavailable: 50300,
  ServiceUnavailable: 50301,
  ClaimsUnavailable: 50302,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Field name -> messages; nested serializers nest, lists of objects give one map per item. */
export interface FieldErrors {
  [field: string]: string[] | FieldErrors | FieldErrors[];
}

/** What `data` holds for each code (null for the codes not named here). */
export type ErrorData<C extends number> = C extends 40000
  ? FieldErrors
  : C extends 40020
    ? { accepted: string[] }
    : C extends 42900
      ? { retry_after: number }
      : null;

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

  /** The first field error, for a form that shows one message at a time. */
  firstFieldError(): string | undefined {
    return this.code === ErrorCode.InvalidInput ? first(this.data as FieldErrors) : undefined;
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

/** `isApiError(e, ErrorCode.EventLocked)` narrows `e.data` to that code's shape. */
export function isApiError<C extends ErrorCodeValue>(error: unknown, code: C): error is ApiError<C>;
export function isApiError(error: unknown): error is ApiError;
export function isApiError(error: unknown, code?: number): boolean {
  return error instanceof ApiError && (code === undefined || error.code === code);
}

function first(errors: FieldErrors | FieldErrors[] | string[] | undefined): string | undefined {
  if (errors === undefined || errors === null) return undefined;
  if (Array.isArray(errors)) {
    for (const item of errors) {
      const found = typeof item === "string" ? item : first(item);
      if (found) return found;
    }
    return undefined;
  }
  for (const value of Object.values(errors)) {
    const found = first(value);
    if (found) return found;
  }
  return undefined;
}
