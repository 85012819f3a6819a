/**
 * Mock mode: the SDK against recorded answers, for UI work without a backend.
 *
 *   import { createApi } from "@lottery/miniprogram-sdk";
 *   import { mockWx } from "@lottery/miniprogram-sdk/mock";
 *   const api = createApi({ baseUrl: "https://mock", wx: mockWx() });
 *
 * The answers (`fixtures.ts`) are recorded from the SDK's whole flow against a real server in
 * CI, one per operation, with ids, times and tokens replaced by stable placeholders; CI records
 * them again on every run and fails when they differ from the committed ones, so they cannot
 * drift from what the API answers. Any path parameter gets the recorded answer (`events.get`
 * of any id answers the recorded event). `overrides` replaces answers, e.g. to see a refusal.
 */

import { type Fixture, type Fixtures, fixtures as recorded } from "./fixtures.js";
import { type ClientOperationId, operationOf } from "./operations.js";
import type {
  WxDownloadFileOptions,
  WxLike,
  WxRequestOptions,
  WxUploadFileOptions,
} from "./request.js";

export type { Fixture, Fixtures };
export { recorded as fixtures };

export interface MockOptions {
  /** Answer after this long (ms), as a network would; 0 by default. */
  latencyMs?: number;
  /** Answers to use instead of the recorded ones, by operation. */
  overrides?: Partial<Record<ClientOperationId, Fixture>>;
  /** Each request the mock answers, for a test or a log. */
  onRequest?: (operation: ClientOperationId | undefined, url: string) => void;
}

const host = globalThis as unknown as { setTimeout(callback: () => void, ms: number): unknown };

/** A `wx` whose request, uploadFile and downloadFile answer from the fixtures. */
export function mockWx(
  source: Fixtures = recorded,
  options: MockOptions = {},
): WxLike & {
  downloadFile(options: WxDownloadFileOptions): unknown;
} {
  const answer = (method: string, url: string, header: Record<string, string>) => {
    const operation = operationOf(method, url);
    options.onRequest?.(operation, url);
    const fixture = operation && (options.overrides?.[operation] ?? source.operations[operation]);
    const requestId = header["X-Request-ID"] ?? "mock";
    if (!fixture) {
      const body = { code: 40400, msg: "mock: no recorded answer", data: null };
      return { status: 404, body, header: { "X-Request-ID": requestId } };
    }
    return {
      status: fixture.status,
      body: fixture.body,
      header: { ...fixture.header, "X-Request-ID": requestId },
    };
  };
  const later = (run: () => void) => {
    let aborted = false;
    host.setTimeout(() => aborted || run(), options.latencyMs ?? 0);
    return { abort: () => (aborted = true), onProgressUpdate: () => undefined };
  };
  return {
    request(request: WxRequestOptions) {
      const result = answer(request.method, request.url, request.header);
      const text = typeof result.body === "string" ? result.body : JSON.stringify(result.body);
      return later(() =>
        request.success({ data: text, statusCode: result.status, header: result.header }),
      );
    },
    uploadFile(upload: WxUploadFileOptions) {
      const result = answer("POST", upload.url, upload.header);
      return later(() =>
        upload.success({ data: JSON.stringify(result.body), statusCode: result.status }),
      );
    },
    downloadFile(download: WxDownloadFileOptions) {
      const result = answer("GET", download.url, download.header);
      const name = download.url.split("?", 1)[0]?.split("/").pop() ?? "download";
      return later(() =>
        download.success({ tempFilePath: `mock://${name}`, statusCode: result.status }),
      );
    },
  };
}
