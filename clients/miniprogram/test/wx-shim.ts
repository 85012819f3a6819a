/**
 * `wx.request` and `wx.uploadFile` over Node's fetch, as strict as the real ones where it matters
 * to us: only the methods wx.request has (no PATCH), no body on a DELETE (the mini-program does
 * not send one reliably), headers and status handed back as wx does. Every exchange is recorded
 * so tests can count refreshes and check request ids.
 */

import type { WxLike, WxRequestOptions, WxUploadFileOptions } from "../src/request.js";

const WX_METHODS = new Set(["OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT"]);

export interface Exchange {
  method: string;
  url: string;
  requestHeader: Record<string, string>;
  status: number;
  responseHeader: Record<string, string>;
}

export function wxShim(): WxLike & { log: Exchange[] } {
  const log: Exchange[] = [];
  return {
    log,
    request(options: WxRequestOptions) {
      const method = options.method.toUpperCase();
      if (!WX_METHODS.has(method)) {
        throw new Error(`wx.request cannot send ${method}`);
      }
      if (method === "DELETE" && options.data !== undefined) {
        throw new Error("a DELETE body does not reliably leave wx.request");
      }
      let url = options.url;
      let body: string | undefined;
      if (options.data !== undefined) {
        if (method === "GET") {
          // wx.request turns an object into the query string for a GET.
          const query = new URLSearchParams(options.data as Record<string, string>).toString();
          url += (url.includes("?") ? "&" : "?") + query;
        } else {
          body = typeof options.data === "string" ? options.data : JSON.stringify(options.data);
        }
      }
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), options.timeout ?? 60000);
      fetch(url, { method, headers: options.header, body, signal: controller.signal })
        .then(async (response) => {
          const text = await response.text();
          const header: Record<string, string> = {};
          response.headers.forEach((value, key) => {
            header[key] = value;
          });
          log.push({
            method,
            url,
            requestHeader: options.header,
            status: response.status,
            responseHeader: header,
          });
          let data: unknown = text;
          if (options.dataType !== "text") {
            try {
              data = JSON.parse(text);
            } catch {
              data = text;
            }
          }
          options.success({ data, statusCode: response.status, header });
        })
        .catch((error: Error) => options.fail({ errMsg: `request:fail ${error.message}` }))
        .finally(() => clearTimeout(timer));
      return { abort: () => controller.abort() };
    },
    uploadFile(options: WxUploadFileOptions) {
      options.fail({ errMsg: `uploadFile:fail no file system in tests (${options.filePath})` });
      return {};
    },
  };
}
