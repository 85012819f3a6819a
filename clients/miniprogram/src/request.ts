/**
 * One request path over `wx.request`, `wx.uploadFile` and `wx.downloadFile`: every call, an
 * upload and a download included, gets the same treatment.
 *
 * - unwraps the envelope `{code, msg, data}`: a call resolves to `data` or throws `ApiError`;
 * - sends `X-Request-ID` (one id per call, kept across its retries, so the server's logs tie
 *   them together) and `Authorization: Bearer <access>`;
 * - on a 401 refreshes the tokens once for all the calls that met it at the same time (the
 *   refresh token is single-use: two refreshes racing would log the user out), then retries;
 *   when refreshing fails it logs in again through `login()` if one was given;
 * - on a 429 waits `Retry-After` (when short enough) and retries: the server did nothing;
 * - on a 503 or a network failure retries idempotent calls only, with exponential backoff;
 * - revalidates cacheable reads (`/config`, `/square`) with their `ETag`: a 304 answers the
 *   copy it kept;
 * - can be canceled (`signal`), hands the response's status and headers to `onResponse`, and
 *   reports to `onError` only what it finally throws (not what it recovered from).
 *
 * Only the methods wx.request has that the API needs: GET, POST, PUT, DELETE, and no DELETE
 * body (wx.request does not send one reliably).
 */

import { ApiError, CanceledError, ErrorCode, NetworkError } from "./errors.js";

export type Method = "GET" | "POST" | "PUT" | "DELETE";

/** The part of `wx.request`'s options and answer this module uses. */
export interface WxRequestOptions {
  url: string;
  method: Method;
  data?: string | Record<string, unknown>;
  header: Record<string, string>;
  timeout?: number;
  dataType?: "json" | "text";
  responseType?: "text";
  success: (result: WxResponse) => void;
  fail: (error: { errMsg: string }) => void;
}

export interface WxResponse {
  data: unknown;
  statusCode: number;
  header: Record<string, string>;
}

export interface WxUploadFileOptions {
  url: string;
  filePath: string;
  name: string;
  header: Record<string, string>;
  formData?: Record<string, string>;
  timeout?: number;
  /** As WeChat gives it: `data` is the body as a string, whatever its status. */
  success: (result: { data: string; statusCode: number }) => void;
  /** Network errors only: a 4xx or 5xx is a `success`. */
  fail: (error: { errMsg: string }) => void;
}

export interface WxDownloadFileOptions {
  url: string;
  header: Record<string, string>;
  timeout?: number;
  success: (result: { tempFilePath: string; statusCode: number }) => void;
  fail: (error: { errMsg: string }) => void;
}

/** What an upload reports while it sends (UploadTask.onProgressUpdate). */
export interface UploadProgress {
  /** 0-100 */
  progress: number;
  totalBytesSent: number;
  totalBytesExpectedToSend: number;
}

/** `wx` itself in a mini-program; a shim in tests; `mockWx(fixtures)` without a backend. */
export interface WxLike {
  /** Returns a RequestTask (abort, onHeadersReceived). */
  request(options: WxRequestOptions): unknown;
  /** Returns an UploadTask (abort, onProgressUpdate, onHeadersReceived). */
  uploadFile(options: WxUploadFileOptions): unknown;
  /** Returns a DownloadTask; only the claims export needs it. */
  downloadFile?(options: WxDownloadFileOptions): unknown;
}

export interface Tokens {
  access: string;
  refresh: string;
}

/** Where tokens live between launches: `wx.setStorageSync` in a mini-program. */
export interface TokenStore {
  get(): Tokens | null;
  set(tokens: Tokens | null): void;
}

export function memoryTokenStore(initial: Tokens | null = null): TokenStore {
  let tokens = initial;
  return {
    get: () => tokens,
    set: (next) => {
      tokens = next;
    },
  };
}

/**
 * What cancels a call: an `AbortSignal` where there is one (Node, tests), or `cancellation()`'s
 * in a mini-program (whose base library may have no AbortController).
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: () => void): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/** `const c = cancellation(); api.square.list({}, { signal: c.signal }); c.cancel();` */
export function cancellation(): { signal: CancelSignal; cancel(): void } {
  const listeners = new Set<() => void>();
  const signal = {
    aborted: false,
    addEventListener: (_type: "abort", listener: () => void) => listeners.add(listener),
    removeEventListener: (_type: "abort", listener: () => void) => listeners.delete(listener),
  };
  return {
    signal,
    cancel() {
      if (signal.aborted) return;
      signal.aborted = true;
      for (const listener of [...listeners]) listener();
      listeners.clear();
    },
  };
}

/** What a call's final answer said besides its body: status and headers. */
export interface ResponseInfo {
  status: number;
  /** As the platform gives them; read with `headerValue` (names in any case). */
  header: Record<string, string>;
  requestId: string;
  /** A 304 answered from the ETag cache: the body is the copy kept from before. */
  fromCache: boolean;
}

/** A `Deprecation` header met on an answer (docs/miniprogram.md, "Versions"). */
export interface DeprecationNotice {
  method: Method;
  path: string;
  /** The Deprecation header: `@<unix seconds>` since when (RFC 9745). */
  deprecation: string;
  /** The Sunset header: the HTTP date it stops working, if announced (RFC 8594). */
  sunset?: string;
  /** The Link header: the successor and the documentation. */
  link?: string;
}

export interface ClientOptions {
  /** e.g. "https://lottery.example.com" (a request-legal domain of the mini-program). */
  baseUrl: string;
  wx?: WxLike;
  tokens?: TokenStore;
  /**
   * Logs in again when the refresh token is gone or refused: typically
   * `() => wxLoginCode().then((code) => api.auth.login({ code }))`. Without it such a call throws.
   */
  login?: () => Promise<unknown>;
  /** Sent as Accept-Language: "en" for English messages, Chinese by default. */
  language?: string;
  /** The longest Retry-After (seconds) worth waiting for inside a call; longer ones throw. */
  maxRetryAfterSeconds?: number;
  /** Retries of an idempotent call after a 503 or a network failure. */
  maxRetries?: number;
  /** First backoff delay in ms; doubled on each retry, with jitter. */
  backoffMs?: number;
  timeoutMs?: number;
  /** Uploads take longer than calls: their own timeout (ms). */
  uploadTimeoutMs?: number;
  /** Keep ETag-revalidated answers (`/config`, `/square`); true by default. */
  etagCache?: boolean;
  /** Replaced in tests to keep them fast. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Called with each error a call finally throws (logging, a toast...); not with the ones the
   * SDK recovered from (a 401 refreshed, a 429 waited for, a 503 retried), nor cancellations.
   */
  onError?: (error: ApiError | NetworkError) => void;
  /** Called once per operation that answers with a `Deprecation` header (default: console.warn). */
  onDeprecation?: (notice: DeprecationNotice) => void;
}

/** What every SDK function takes as its last argument. */
export interface RequestOptions {
  /** Cancels the call (and its retries and waits): it then rejects with `CanceledError`. */
  signal?: CancelSignal;
  /** Extra request headers. */
  header?: Record<string, string>;
  /** Called with the final answer's status and headers (ETag, Date, Deprecation...). */
  onResponse?: (response: ResponseInfo) => void;
}

export interface CallOptions extends RequestOptions {
  /** A query string (values are encoded; undefined and null are left out). */
  query?: Record<string, string | number | boolean | undefined | null>;
  /** A JSON body. */
  body?: unknown;
  /** Safe to send twice: GET, PUT and DELETE are; some POSTs (join) are too. */
  idempotent?: boolean;
  /** Public endpoints send no token and never refresh. */
  auth?: boolean;
  /** Revalidate with the ETag of the last answer kept for this URL. */
  cache?: boolean;
  /** Not reported to onError: a call made inside a recovery (the refresh). */
  silent?: boolean;
}

export interface UploadOptions extends RequestOptions {
  /** UploadTask.onProgressUpdate, for a progress bar. */
  onProgress?: (progress: UploadProgress) => void;
}

interface Attempt {
  status: number;
  body: unknown;
  header: Record<string, string>;
}

/** One HTTP exchange, whatever carries it (request, uploadFile, downloadFile). */
interface Exchange {
  method: Method;
  path: string;
  auth: boolean;
  idempotent: boolean;
  send(header: Record<string, string>, signal: CancelSignal | undefined): Promise<Attempt>;
}

const RETRYABLE_STATUS = 503;
const CACHE_SIZE = 50;

export class Transport {
  readonly tokens: TokenStore;
  private readonly wx: WxLike;
  private refreshing: Promise<void> | null = null;
  private readonly sleepFor: (ms: number) => Promise<void>;
  private readonly reported = new WeakSet<object>();
  private readonly etags = new Map<string, { etag: string; body: unknown }>();
  private readonly deprecations = new Set<string>();

  constructor(private readonly options: ClientOptions) {
    const wx = options.wx ?? (globalThis as { wx?: WxLike }).wx;
    if (!wx) throw new Error("no wx: pass options.wx outside a mini-program");
    this.wx = wx;
    this.tokens = options.tokens ?? memoryTokenStore();
    this.sleepFor = options.sleep ?? defaultSleep;
  }

  /** One API call over wx.request: resolves to the envelope's `data`. */
  call<T>(method: Method, path: string, options: CallOptions = {}): Promise<T> {
    if (method === "DELETE" && options.body !== undefined) {
      return Promise.reject(
        new Error("DELETE takes no body from wx.request: use the POST form of the call"),
      );
    }
    let url = this.options.baseUrl + path;
    if (options.query) url += queryString(options.query);
    const cacheable = options.cache && method === "GET" && this.options.etagCache !== false;
    const exchange: Exchange = {
      method,
      path,
      auth: options.auth ?? true,
      idempotent: options.idempotent ?? method !== "POST",
      send: (header, signal) => {
        const kept = cacheable ? this.etags.get(url) : undefined;
        if (kept) header["If-None-Match"] = kept.etag;
        header.Accept = "application/json";
        let data: string | undefined;
        if (options.body !== undefined) {
          header["Content-Type"] = "application/json";
          data = JSON.stringify(options.body);
        }
        return this.exchange(signal, (settle) =>
          this.wx.request({
            url,
            method,
            header,
            timeout: this.options.timeoutMs ?? 10000,
            dataType: "text", // parsed here, so a non-JSON answer (a proxy's page) cannot crash
            responseType: "text",
            ...(data !== undefined ? { data } : {}),
            success: (result) =>
              settle.ok({
                status: result.statusCode,
                body: decode(result.data, result.header ?? {}),
                header: result.header ?? {},
              }),
            fail: (error) => settle.fail(error.errMsg),
          }),
        ).then((attempt) => {
          if (!cacheable) return attempt;
          if (attempt.status === 304 && kept) {
            return { ...attempt, status: 200, body: kept.body, fromCache: true };
          }
          const etag = headerValue(attempt.header, "etag");
          if (attempt.status === 200 && etag) this.keep(url, etag, attempt.body);
          return attempt;
        });
      },
    };
    return this.run<T>(exchange, options);
  }

  /**
   * `wx.uploadFile` (multipart/form-data) to an endpoint that answers with the envelope: the
   * same refresh, Retry-After, retries and errors as any call. An upload is idempotent enough
   * to retry: a duplicate nobody uses is deleted within a day (UPLOAD_UNATTACHED_TTL_SECONDS).
   */
  upload<T>(
    path: string,
    file: { filePath: string; name: string; formData?: Record<string, string> },
    options: UploadOptions = {},
  ): Promise<T> {
    const exchange: Exchange = {
      method: "POST",
      path,
      auth: true,
      idempotent: true,
      send: (header, signal) =>
        this.exchange(signal, (settle) => {
          const task = this.wx.uploadFile({
            url: this.options.baseUrl + path,
            ...file,
            header,
            timeout: this.options.uploadTimeoutMs ?? 60000,
            success: (result) =>
              settle.ok({
                status: result.statusCode,
                body: decode(result.data, {}),
                header: settle.header,
              }),
            fail: (error) => settle.fail(error.errMsg),
          });
          const onProgress = options.onProgress;
          if (onProgress && hasMethod(task, "onProgressUpdate")) {
            (task.onProgressUpdate as (listener: (p: UploadProgress) => void) => void)((p) =>
              onProgress({
                progress: p.progress,
                totalBytesSent: p.totalBytesSent,
                totalBytesExpectedToSend: p.totalBytesExpectedToSend,
              }),
            );
          }
          return task;
        }),
    };
    return this.run<T>(exchange, options);
  }

  /**
   * `wx.downloadFile` of a file the API serves (an export): resolves to the temporary file's
   * path. Its body is not read here, so a refusal is known by its status only.
   */
  download(path: string, options: CallOptions = {}): Promise<string> {
    const downloadFile = this.wx.downloadFile?.bind(this.wx);
    if (!downloadFile) return Promise.reject(new Error("this wx has no downloadFile"));
    const url = this.options.baseUrl + path + (options.query ? queryString(options.query) : "");
    const exchange: Exchange = {
      method: "GET",
      path,
      auth: options.auth ?? true,
      idempotent: true,
      send: (header, signal) =>
        this.exchange(signal, (settle) =>
          downloadFile({
            url,
            header,
            timeout: this.options.uploadTimeoutMs ?? 60000,
            success: (result) =>
              settle.ok({
                status: result.statusCode,
                body:
                  result.statusCode >= 200 && result.statusCode < 300
                    ? { code: 0, msg: "ok", data: result.tempFilePath }
                    : null,
                header: settle.header,
              }),
            fail: (error) => settle.fail(error.errMsg),
          }),
        ),
    };
    return this.run<string>(exchange, options);
  }

  /** The attempts of one call, and the one place its final error is reported. */
  private async run<T>(exchange: Exchange, options: CallOptions): Promise<T> {
    const requestId = newRequestId();
    try {
      return await this.attempts<T>(exchange, options, requestId);
    } catch (error) {
      if (!options.silent) this.report(error);
      throw error;
    }
  }

  private async attempts<T>(
    exchange: Exchange,
    options: CallOptions,
    requestId: string,
  ): Promise<T> {
    const { signal } = options;
    let refreshed = false;
    let retries = 0;
    let throttledWaits = 0;
    for (;;) {
      if (signal?.aborted) throw new CanceledError(requestId);
      const access = exchange.auth ? this.tokens.get()?.access : undefined;
      const header: Record<string, string> = {
        "X-Request-ID": requestId,
        ...this.languageHeader(),
        ...options.header,
      };
      if (access) header.Authorization = `Bearer ${access}`;
      let attempt: Attempt & { fromCache?: boolean };
      try {
        attempt = await exchange.send(header, signal);
      } catch (error) {
        if (error === CANCELED) throw new CanceledError(requestId);
        if (!(error instanceof NetworkFailure)) throw error;
        if (exchange.idempotent && retries < this.maxRetries) {
          await this.sleep(this.backoff(retries++), signal, requestId);
          continue;
        }
        throw new NetworkError(error.errMsg, requestId);
      }
      this.noticeDeprecation(exchange, attempt);
      if (attempt.status >= 200 && attempt.status < 300) {
        const value = unwrap<T>(attempt, requestId);
        options.onResponse?.(this.info(attempt, requestId));
        return value;
      }
      const error = toApiError(attempt, requestId);
      if (
        error.status === 401 &&
        exchange.auth &&
        !refreshed &&
        error.code !== ErrorCode.UserInactive
      ) {
        refreshed = true;
        await this.renewTokens(access);
        continue;
      }
      if (error.status === 429 && throttledWaits < 2) {
        const wait = retryAfterSeconds(attempt);
        if (wait !== null && wait <= (this.options.maxRetryAfterSeconds ?? 5)) {
          throttledWaits++;
          await this.sleep(wait * 1000, signal, requestId);
          continue;
        }
      }
      if (error.status === RETRYABLE_STATUS && exchange.idempotent && retries < this.maxRetries) {
        const wait = retryAfterSeconds(attempt);
        await this.sleep(wait !== null ? wait * 1000 : this.backoff(retries), signal, requestId);
        retries++;
        continue;
      }
      options.onResponse?.(this.info(attempt, requestId));
      throw error;
    }
  }

  /**
   * Runs one platform call and settles on its callbacks, or on the signal (which aborts the
   * platform's task). The headers a task reports before its body (onHeadersReceived) are kept
   * for uploads and downloads, whose success callback has none.
   */
  private exchange(
    signal: CancelSignal | undefined,
    start: (settle: {
      ok(attempt: Attempt): void;
      fail(errMsg: string): void;
      header: Record<string, string>;
    }) => unknown,
  ): Promise<Attempt> {
    return new Promise<Attempt>((resolve, reject) => {
      let done = false;
      const finish = () => {
        done = true;
        signal?.removeEventListener("abort", onAbort);
      };
      const settle = {
        header: {} as Record<string, string>,
        ok(attempt: Attempt) {
          if (done) return;
          finish();
          resolve(attempt);
        },
        fail(errMsg: string) {
          if (done) return;
          finish();
          reject(new NetworkFailure(errMsg));
        },
      };
      let task: unknown;
      const onAbort = () => {
        if (done) return;
        finish();
        if (hasMethod(task, "abort")) (task.abort as () => void)();
        reject(CANCELED);
      };
      signal?.addEventListener("abort", onAbort);
      task = start(settle);
      if (hasMethod(task, "onHeadersReceived")) {
        (
          task.onHeadersReceived as (
            listener: (r: { header?: Record<string, string> }) => void,
          ) => void
        )((received) => {
          Object.assign(settle.header, received.header ?? {});
        });
      }
    });
  }

  /**
   * Get fresh tokens after a 401, once for every call that met it meanwhile: the first one
   * refreshes, the others wait for the same promise. A call whose token was already replaced
   * just retries with the new one.
   */
  private async renewTokens(usedAccess: string | undefined): Promise<void> {
    const current = this.tokens.get();
    if (current && current.access !== usedAccess) return;
    this.refreshing ??= this.refreshOrLogin().finally(() => {
      this.refreshing = null;
    });
    await this.refreshing;
  }

  private async refreshOrLogin(): Promise<void> {
    const refresh = this.tokens.get()?.refresh;
    if (refresh) {
      try {
        const pair = await this.call<Tokens>("POST", "/api/v1/auth/refresh", {
          body: { refresh },
          auth: false,
          silent: true, // a refused refresh is recovered from by logging in again
        });
        this.tokens.set({ access: pair.access, refresh: pair.refresh });
        return;
      } catch (error) {
        if (!(error instanceof ApiError) || error.status !== 401) throw error;
        this.tokens.set(null);
      }
    }
    if (!this.options.login) return; // the retried call then throws its 401
    await this.options.login();
  }

  private sleep(ms: number, signal: CancelSignal | undefined, requestId: string): Promise<void> {
    if (!signal) return this.sleepFor(ms);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(new CanceledError(requestId));
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort);
      this.sleepFor(ms).then(() => {
        signal.removeEventListener("abort", onAbort);
        if (signal.aborted) onAbort();
        else resolve();
      });
    });
  }

  private keep(url: string, etag: string, body: unknown): void {
    this.etags.delete(url);
    this.etags.set(url, { etag, body });
    if (this.etags.size > CACHE_SIZE) {
      const oldest = this.etags.keys().next().value;
      if (oldest !== undefined) this.etags.delete(oldest);
    }
  }

  private info(attempt: Attempt & { fromCache?: boolean }, requestId: string): ResponseInfo {
    return {
      status: attempt.status === 200 && attempt.fromCache ? 304 : attempt.status,
      header: attempt.header,
      requestId: headerValue(attempt.header, "x-request-id") ?? requestId,
      fromCache: attempt.fromCache === true,
    };
  }

  private noticeDeprecation(exchange: Exchange, attempt: Attempt): void {
    const deprecation = headerValue(attempt.header, "deprecation");
    if (!deprecation) return;
    // Once per operation, not per event id in its path.
    const key = `${exchange.method} ${exchange.path.replace(/\/[a-z]+_[0-9A-Za-z]+/g, "/{id}")}`;
    if (this.deprecations.has(key)) return;
    this.deprecations.add(key);
    const sunset = headerValue(attempt.header, "sunset");
    const link = headerValue(attempt.header, "link");
    const notice: DeprecationNotice = {
      method: exchange.method,
      path: exchange.path,
      deprecation,
      ...(sunset ? { sunset } : {}),
      ...(link ? { link } : {}),
    };
    if (this.options.onDeprecation) return this.options.onDeprecation(notice);
    const console = (globalThis as { console?: { warn(...args: unknown[]): void } }).console;
    console?.warn(`lottery API: ${key} is deprecated`, notice);
  }

  private languageHeader(): Record<string, string> {
    return this.options.language ? { "Accept-Language": this.options.language } : {};
  }

  private get maxRetries(): number {
    return this.options.maxRetries ?? 3;
  }

  private backoff(retry: number): number {
    const base = (this.options.backoffMs ?? 300) * 2 ** retry;
    return base / 2 + Math.random() * (base / 2);
  }

  /** Each error once, however many layers rethrow it (a login inside a refresh, say). */
  private report(error: unknown): void {
    if (!(error instanceof ApiError || error instanceof NetworkError)) return;
    if (this.reported.has(error)) return;
    this.reported.add(error);
    this.options.onError?.(error);
  }
}

/** A wx `fail`: no answer at all; a NetworkError once the retries are spent. */
class NetworkFailure {
  constructor(readonly errMsg: string) {}
}

const CANCELED = Symbol("canceled");

// Every host (mini-program, Node) has setTimeout; the ES library types alone do not name it.
const host = globalThis as unknown as { setTimeout(callback: () => void, ms: number): unknown };

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => host.setTimeout(resolve, ms));
}

function hasMethod<K extends string>(value: unknown, name: K): value is Record<K, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Record<string, unknown>)[name] === "function"
  );
}

/** JSON unless the answer says it is something else (the entrant list, a CSV). */
function decode(data: unknown, header: Record<string, string>): unknown {
  if (typeof data !== "string") return data;
  const type = headerValue(header, "content-type");
  if (type && !type.includes("json")) return data;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

function unwrap<T>(attempt: Attempt, requestId: string): T {
  const body = attempt.body as { code?: unknown; data?: unknown } | string;
  if (typeof body === "string") return body as T; // a text/plain download
  if (body && body.code === 0) return body.data as T;
  throw toApiError(attempt, requestId);
}

function toApiError(attempt: Attempt, requestId: string): ApiError {
  const body = attempt.body as { code?: unknown; msg?: unknown; data?: unknown } | null;
  const id = headerValue(attempt.header, "x-request-id") ?? requestId;
  if (body && typeof body === "object" && typeof body.code === "number") {
    return new ApiError(
      attempt.status,
      body.code,
      String(body.msg ?? ""),
      (body.data ?? null) as never,
      id,
    );
  }
  // Not our envelope (a gateway's error page, a download's status): name it by the status.
  const code = attempt.status >= 500 ? ErrorCode.InternalError : attempt.status * 100;
  return new ApiError(attempt.status, code, `HTTP ${attempt.status}`, null as never, id);
}

function retryAfterSeconds(attempt: Attempt): number | null {
  const raw = headerValue(attempt.header, "retry-after");
  const fromHeader = raw !== undefined ? Number(raw) : NaN;
  if (Number.isFinite(fromHeader)) return Math.max(0, fromHeader);
  const data = (attempt.body as { data?: { retry_after?: unknown } } | null)?.data;
  return typeof data?.retry_after === "number" ? Math.max(0, data.retry_after) : null;
}

/** Header names come back in whatever case the platform gives: look them up without case. */
export function headerValue(header: Record<string, string>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(header)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

function queryString(query: Record<string, string | number | boolean | undefined | null>): string {
  const parts = Object.entries(query)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

let counter = 0;

/** Letters, digits and `-` only, at most 64: what the server accepts and echoes. */
export function newRequestId(): string {
  counter = (counter + 1) % 1_000_000;
  const random = Math.floor(Math.random() * 36 ** 6).toString(36);
  return `mp-${Date.now().toString(36)}-${counter.toString(36)}-${random}`;
}
