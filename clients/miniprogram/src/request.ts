/**
 * One request path over `wx.request` / `wx.uploadFile`.
 *
 * - unwraps the envelope `{code, msg, data}`: a call resolves to `data` or throws `ApiError`;
 * - sends `X-Request-ID` (one id per call, kept across its retries, so the server's logs tie
 *   them together) and `Authorization: Bearer <access>`;
 * - on a 401 refreshes the tokens once for all the calls that met it at the same time (the
 *   refresh token is single-use: two refreshes racing would log the user out), then retries;
 *   when refreshing fails it logs in again through `login()` if one was given;
 * - on a 429 waits `Retry-After` (when short enough) and retries: the server did nothing;
 * - on a 503 or a network failure retries idempotent calls only, with exponential backoff.
 *
 * Only the methods wx.request has that the API needs: GET, POST, PUT, DELETE, and no DELETE
 * body (wx.request does not send one reliably).
 */

import { ApiError, ErrorCode, NetworkError } from "./errors.js";

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
  success: (result: { data: string; statusCode: number }) => void;
  fail: (error: { errMsg: string }) => void;
}

/** `wx` itself in a mini-program; a shim in tests. */
export interface WxLike {
  request(options: WxRequestOptions): unknown;
  uploadFile(options: WxUploadFileOptions): unknown;
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

export interface ClientOptions {
  /** e.g. "https://lottery.example.com" (a request-legal domain of the mini-program). */
  baseUrl: string;
  wx?: WxLike;
  tokens?: TokenStore;
  /**
   * Logs in again when the refresh token is gone or refused: typically
   * `() => wxLoginCode().then((code) => api.login({ code }))`. Without it such a call throws.
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
  /** Replaced in tests to keep them fast. */
  sleep?: (ms: number) => Promise<void>;
  /** Called with every error before it is thrown (logging, a toast...). */
  onError?: (error: ApiError | NetworkError) => void;
}

export interface CallOptions {
  /** A query string for GET (values are encoded), a JSON body otherwise. */
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Safe to send twice: GET, PUT and DELETE are; some POSTs (join) are too. */
  idempotent?: boolean;
  /** Public endpoints send no token and never refresh. */
  auth?: boolean;
}

interface Attempt {
  status: number;
  body: unknown;
  header: Record<string, string>;
}

const RETRYABLE_STATUS = 503;

export class Transport {
  readonly tokens: TokenStore;
  private readonly wx: WxLike;
  private refreshing: Promise<void> | null = null;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: ClientOptions) {
    const wx = options.wx ?? (globalThis as { wx?: WxLike }).wx;
    if (!wx) throw new Error("no wx: pass options.wx outside a mini-program");
    this.wx = wx;
    this.tokens = options.tokens ?? memoryTokenStore();
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** One API call: resolves to the envelope's `data`. */
  async call<T>(method: Method, path: string, options: CallOptions = {}): Promise<T> {
    if (method === "DELETE" && options.body !== undefined) {
      throw new Error("DELETE takes no body from wx.request: use the POST form of the call");
    }
    const requestId = newRequestId();
    const auth = options.auth ?? true;
    const idempotent = options.idempotent ?? method !== "POST";
    let refreshed = false;
    let retries = 0;
    let throttledWaits = 0;
    for (;;) {
      const access = auth ? this.tokens.get()?.access : undefined;
      let attempt: Attempt;
      try {
        attempt = await this.send(method, path, options, requestId, access);
      } catch (error) {
        if (error instanceof NetworkError && idempotent && retries < this.maxRetries) {
          await this.sleep(this.backoff(retries++));
          continue;
        }
        throw this.report(error as NetworkError);
      }
      if (attempt.status >= 200 && attempt.status < 300) {
        return unwrap<T>(attempt, requestId);
      }
      const error = toApiError(attempt, requestId);
      if (error.status === 401 && auth && !refreshed && error.code !== ErrorCode.UserInactive) {
        refreshed = true;
        await this.renewTokens(access);
        continue;
      }
      if (error.status === 429 && throttledWaits < 2) {
        const wait = retryAfterSeconds(attempt);
        if (wait !== null && wait <= (this.options.maxRetryAfterSeconds ?? 5)) {
          throttledWaits++;
          await this.sleep(wait * 1000);
          continue;
        }
      }
      if (error.status === RETRYABLE_STATUS && idempotent && retries < this.maxRetries) {
        const wait = retryAfterSeconds(attempt);
        await this.sleep(wait !== null ? wait * 1000 : this.backoff(retries));
        retries++;
        continue;
      }
      throw this.report(error);
    }
  }

  /** `wx.uploadFile` to an endpoint that answers with the envelope (multipart/form-data). */
  async upload<T>(
    path: string,
    file: { filePath: string; name: string; formData?: Record<string, string> },
  ): Promise<T> {
    const requestId = newRequestId();
    const header: Record<string, string> = { "X-Request-ID": requestId, ...this.languageHeader() };
    const access = this.tokens.get()?.access;
    if (access) header.Authorization = `Bearer ${access}`;
    const attempt = await new Promise<Attempt>((resolve, reject) => {
      this.wx.uploadFile({
        url: this.options.baseUrl + path,
        ...file,
        header,
        timeout: this.options.timeoutMs ?? 15000,
        success: (result) =>
          resolve({ status: result.statusCode, body: parseJson(result.data), header: {} }),
        fail: (error) => reject(new NetworkError(error.errMsg, requestId)),
      });
    });
    if (attempt.status >= 200 && attempt.status < 300) return unwrap<T>(attempt, requestId);
    throw this.report(toApiError(attempt, requestId));
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

  private send(
    method: Method,
    path: string,
    options: CallOptions,
    requestId: string,
    access: string | undefined,
  ): Promise<Attempt> {
    const header: Record<string, string> = {
      "X-Request-ID": requestId,
      Accept: "application/json",
      ...this.languageHeader(),
    };
    if (access) header.Authorization = `Bearer ${access}`;
    let url = this.options.baseUrl + path;
    let data: string | undefined;
    if (options.query) url += queryString(options.query);
    if (options.body !== undefined) {
      header["Content-Type"] = "application/json";
      data = JSON.stringify(options.body);
    }
    return new Promise((resolve, reject) => {
      this.wx.request({
        url,
        method,
        header,
        timeout: this.options.timeoutMs ?? 10000,
        dataType: "text", // parsed here, so a non-JSON answer (a proxy's page) cannot crash
        responseType: "text",
        ...(data !== undefined ? { data } : {}),
        success: (result) =>
          resolve({
            status: result.statusCode,
            body: typeof result.data === "string" ? parseJson(result.data) : result.data,
            header: result.header ?? {},
          }),
        fail: (error) => reject(new NetworkError(error.errMsg, requestId)),
      });
    });
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

  private report<E extends ApiError | NetworkError>(error: E): E {
    this.options.onError?.(error);
    return error;
  }
}

// Every host (mini-program, Node) has setTimeout; the ES library types alone do not name it.
const host = globalThis as unknown as { setTimeout(callback: () => void, ms: number): unknown };

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => host.setTimeout(resolve, ms));
}

function unwrap<T>(attempt: Attempt, requestId: string): T {
  const body = attempt.body as { code?: unknown; data?: unknown } | string;
  if (typeof body === "string") return body as T; // a text/plain download
  if (body && body.code === 0) return body.data as T;
  throw toApiError(attempt, requestId);
}

function toApiError(attempt: Attempt, requestId: string): ApiError {
  const body = attempt.body as { code?: unknown; msg?: unknown; data?: unknown } | null;
  if (body && typeof body === "object" && typeof body.code === "number") {
    return new ApiError(
      attempt.status,
      body.code,
      String(body.msg ?? ""),
      (body.data ?? null) as never,
      header(attempt, "x-request-id") ?? requestId,
    );
  }
  // Not our envelope (a gateway's error page): keep the status, name it by the status's class.
  const code = attempt.status >= 500 ? ErrorCode.InternalError : attempt.status * 100;
  return new ApiError(attempt.status, code, `HTTP ${attempt.status}`, null as never, requestId);
}

function retryAfterSeconds(attempt: Attempt): number | null {
  const raw = header(attempt, "retry-after");
  const fromHeader = raw !== undefined ? Number(raw) : NaN;
  if (Number.isFinite(fromHeader)) return Math.max(0, fromHeader);
  const data = (attempt.body as { data?: { retry_after?: unknown } } | null)?.data;
  return typeof data?.retry_after === "number" ? Math.max(0, data.retry_after) : null;
}

/** Header names come back in whatever case the platform gives: look them up without case. */
function header(attempt: Attempt, name: string): string | undefined {
  for (const [key, value] of Object.entries(attempt.header)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function queryString(query: Record<string, string | number | boolean | undefined>): string {
  const parts = Object.entries(query)
    .filter(([, value]) => value !== undefined)
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
