/**
 * The one API client of the mini-program, and what every page shares: the configuration, the
 * server's clock, and how a refusal is shown.
 */

import {
  type ApiError,
  type Config,
  createApi,
  isApiCompatible,
  isApiError,
  isCanceled,
  ServerClock,
  type Tokens,
  type TokenStore,
} from "@lottery/miniprogram-sdk";
import { mockWx } from "@lottery/miniprogram-sdk/mock";

/** The API's domain: a request, uploadFile *and* downloadFile legal domain in the console. */
const BASE_URL = "https://lottery.example.com";
/**
 * Mock mode: every call answers data recorded from the real API (no backend, no login). For
 * laying out pages; false in a release (and drop the import above: it carries the fixtures).
 */
const MOCK = false;

// Tokens survive a restart of the mini-program in its storage.
const storage: TokenStore = {
  get: () => (wx.getStorageSync("tokens") as Tokens | "") || null,
  set: (tokens) => (tokens ? wx.setStorageSync("tokens", tokens) : wx.removeStorageSync("tokens")),
};

export function wxLoginCode(): Promise<string> {
  return new Promise((resolve, reject) =>
    wx.login({ success: (result) => resolve(result.code), fail: reject }),
  );
}

export const api = createApi({
  baseUrl: BASE_URL,
  wx: MOCK ? mockWx() : wx,
  tokens: storage,
  // When the refresh token is gone or refused, log in again silently and retry the call.
  login: async () => api.auth.login({ code: await wxLoginCode() }),
  // Only what the SDK could not recover from reaches here: log it with its request id.
  onError: (error) => console.warn(error.name, error.message, error.requestId),
  onDeprecation: (notice) => console.warn("deprecated API in use", notice),
});

let config: Config | null = null;
let clock = new ServerClock();

/** The configuration (ETag-revalidated, so cheap to ask again) and the server's clock. */
export async function loadConfig(): Promise<Config> {
  config = await api.config.get();
  clock = ServerClock.fromConfig(config);
  if (!isApiCompatible(config.api_version)) {
    console.warn(`API ${config.api_version} is not the one this build speaks: update the SDK`);
  }
  return config;
}

/** The configuration loaded last (null before the first `loadConfig`). */
export function currentConfig(): Config | null {
  return config;
}

export function serverClock(): ServerClock {
  return clock;
}

/** A refusal in a toast: the field's message for a form error, else the server's msg. */
export function showError(error: unknown): void {
  if (isCanceled(error)) return;
  if (isApiError(error)) {
    const refused: ApiError = error;
    wx.showToast({ title: refused.firstFieldError() ?? refused.msg, icon: "none" });
  } else {
    wx.showToast({ title: "网络不佳，请重试", icon: "none" });
  }
}
