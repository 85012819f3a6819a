/**
 * The `wx` a mini-program has, over Node's fetch and file system, as strict as the real one
 * where it matters to us:
 *
 * - `request`: only the methods wx.request has (no PATCH), no body on a DELETE, `data` an
 *   object turned into a query string for a GET, headers and status handed back as wx does;
 * - `uploadFile`: multipart/form-data with the file read from `filePath` and `formData`;
 *   `success` whatever the status, with `data` the body **as a string** and no headers (those
 *   come through `onHeadersReceived`); `fail` only when there is no answer; progress reported
 *   through `onProgressUpdate`;
 * - `downloadFile`: the body written to a temporary file, `success` whatever the status;
 * - `openDocument`: opens doc/xls/xlsx/ppt/pdf only, and only a file that is one (an .xlsx is a
 *   zip with a workbook in it), as WeChat's viewer does;
 * - `chooseMedia`, `compressImage`, `chooseAddress`, `requestSubscribeMessage`: what a user's
 *   choice would give (a real JPEG, an address, acceptances).
 *
 * Every exchange is recorded (`log`, and an optional shared `recorder` in call order) so tests
 * can count refreshes, check request ids and turn the answers into the mock's fixtures.
 */

import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

import type { WxAddress } from "../src/claims.js";
import type {
  WxDownloadFileOptions,
  WxLike,
  WxRequestOptions,
  WxUploadFileOptions,
} from "../src/request.js";

const WX_METHODS = new Set(["OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT"]);
const DOCUMENT_TYPES = new Set(["doc", "docx", "xls", "xlsx", "ppt", "pptx", "pdf"]);
const files = mkdtempSync(join(tmpdir(), "wx-shim-"));
let fileCount = 0;

export interface Exchange {
  /** The order requests were sent in, across every shim sharing a recorder. */
  seq: number;
  via: "request" | "uploadFile" | "downloadFile";
  method: string;
  url: string;
  requestHeader: Record<string, string>;
  status: number;
  responseHeader: Record<string, string>;
  /** The body as text (null for a download: it went to a file). */
  text: string | null;
}

/** Shared by several shims (one per user): every exchange in the order it was sent. */
export class Recorder {
  readonly exchanges: Exchange[] = [];
  private next = 0;

  seq(): number {
    return this.next++;
  }
}

export interface ShimOptions {
  recorder?: Recorder;
  /** The picture wx.chooseMedia hands over (a real JPEG by default). */
  photo?: string;
  address?: WxAddress;
  /** What the user answers in the subscribe prompt, per template id (accept by default). */
  subscribeAnswer?: (tmplId: string) => "accept" | "reject";
}

export const PHOTO = new URL("../../test/photo.jpg", import.meta.url).pathname;

export const ADDRESS: WxAddress = {
  userName: "张三",
  telNumber: "13800000000",
  provinceName: "广东省",
  cityName: "广州市",
  countyName: "天河区",
  detailInfo: "体育西路 1 号",
  detailInfoNew: "",
  postalCode: "510000",
};

type Listener<T> = (value: T) => void;

export function wxShim(options: ShimOptions = {}) {
  const log: Exchange[] = [];
  const subscribePrompts: string[][] = [];
  const openedDocuments: Array<{ filePath: string; fileType: string }> = [];

  const record = (exchange: Exchange) => {
    log.push(exchange);
    options.recorder?.exchanges.push(exchange);
  };
  const headersOf = (response: Response) => {
    const header: Record<string, string> = {};
    response.headers.forEach((value, key) => {
      header[key] = value;
    });
    return header;
  };

  return {
    log,
    subscribePrompts,
    openedDocuments,

    request(request: WxRequestOptions) {
      const method = request.method.toUpperCase();
      if (!WX_METHODS.has(method)) throw new Error(`wx.request cannot send ${method}`);
      if (method === "DELETE" && request.data !== undefined) {
        throw new Error("a DELETE body does not reliably leave wx.request");
      }
      const seq = options.recorder?.seq() ?? log.length;
      let url = request.url;
      let body: string | undefined;
      if (request.data !== undefined) {
        if (method === "GET") {
          // wx.request turns an object into the query string for a GET.
          const query = new URLSearchParams(request.data as Record<string, string>).toString();
          url += (url.includes("?") ? "&" : "?") + query;
        } else {
          body = typeof request.data === "string" ? request.data : JSON.stringify(request.data);
        }
      }
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), request.timeout ?? 60000);
      fetch(url, { method, headers: request.header, body, signal: controller.signal })
        .then(async (response) => {
          const text = await response.text();
          const header = headersOf(response);
          record({
            seq,
            via: "request",
            method,
            url,
            requestHeader: request.header,
            status: response.status,
            responseHeader: header,
            text,
          });
          let data: unknown = text;
          if (request.dataType !== "text") {
            try {
              data = JSON.parse(text);
            } catch {
              data = text;
            }
          }
          request.success({ data, statusCode: response.status, header });
        })
        .catch((error: Error) => request.fail({ errMsg: `request:fail ${error.message}` }))
        .finally(() => clearTimeout(timer));
      return { abort: () => controller.abort() };
    },

    uploadFile(upload: WxUploadFileOptions) {
      const seq = options.recorder?.seq() ?? log.length;
      const progress: Listener<{
        progress: number;
        totalBytesSent: number;
        totalBytesExpectedToSend: number;
      }>[] = [];
      const headers: Listener<{ header: Record<string, string> }>[] = [];
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), upload.timeout ?? 60000);
      setImmediate(() => {
        if (!existsSync(upload.filePath)) {
          clearTimeout(timer);
          return upload.fail({ errMsg: `uploadFile:fail file not found ${upload.filePath}` });
        }
        const bytes = readFileSync(upload.filePath);
        const form = new FormData();
        for (const [key, value] of Object.entries(upload.formData ?? {}))
          form.append(key, String(value));
        form.append(
          upload.name,
          new Blob([bytes], { type: "image/jpeg" }),
          basename(upload.filePath),
        );
        const header = { ...upload.header };
        delete header["Content-Type"]; // the platform writes the multipart boundary itself
        fetch(upload.url, {
          method: "POST",
          headers: header,
          body: form,
          signal: controller.signal,
        })
          .then(async (response) => {
            for (const listener of progress) {
              listener({
                progress: 100,
                totalBytesSent: bytes.length,
                totalBytesExpectedToSend: bytes.length,
              });
            }
            const text = await response.text();
            const responseHeader = headersOf(response);
            for (const listener of headers) listener({ header: responseHeader });
            record({
              seq,
              via: "uploadFile",
              method: "POST",
              url: upload.url,
              requestHeader: upload.header,
              status: response.status,
              responseHeader,
              text,
            });
            // As WeChat: data is the body as a string, whatever the status; no header here.
            upload.success({ data: text, statusCode: response.status });
          })
          .catch((error: Error) => upload.fail({ errMsg: `uploadFile:fail ${error.message}` }))
          .finally(() => clearTimeout(timer));
      });
      return {
        abort: () => controller.abort(),
        onProgressUpdate: (listener: (typeof progress)[number]) => progress.push(listener),
        offProgressUpdate: () => undefined,
        onHeadersReceived: (listener: (typeof headers)[number]) => headers.push(listener),
        offHeadersReceived: () => undefined,
      };
    },

    downloadFile(download: WxDownloadFileOptions) {
      const seq = options.recorder?.seq() ?? log.length;
      const headers: Listener<{ header: Record<string, string> }>[] = [];
      const controller = new AbortController();
      fetch(download.url, { headers: download.header, signal: controller.signal })
        .then(async (response) => {
          const bytes = Buffer.from(await response.arrayBuffer());
          const responseHeader = headersOf(response);
          for (const listener of headers) listener({ header: responseHeader });
          const extension = download.url.split("?", 1)[0]!.split(".").pop() ?? "tmp";
          const tempFilePath = join(files, `download-${++fileCount}.${extension}`);
          writeFileSync(tempFilePath, bytes);
          record({
            seq,
            via: "downloadFile",
            method: "GET",
            url: download.url,
            requestHeader: download.header,
            status: response.status,
            responseHeader,
            text: null,
          });
          download.success({ tempFilePath, statusCode: response.status });
        })
        .catch((error: Error) => download.fail({ errMsg: `downloadFile:fail ${error.message}` }));
      return {
        abort: () => controller.abort(),
        onHeadersReceived: (listener: (typeof headers)[number]) => headers.push(listener),
      };
    },

    openDocument(open: {
      filePath: string;
      fileType?: string;
      success?: () => void;
      fail?: (error: { errMsg: string }) => void;
    }) {
      const type = open.fileType ?? open.filePath.split(".").pop() ?? "";
      const refuse = (why: string) =>
        setImmediate(() => open.fail?.({ errMsg: `openDocument:fail ${why}` }));
      if (!DOCUMENT_TYPES.has(type)) return refuse(`filetype not supported: ${type}`);
      const bytes = readFileSync(open.filePath);
      const isZip = bytes.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
      const text = bytes.toString("latin1");
      if (
        type === "xlsx" &&
        !(isZip && text.includes("[Content_Types].xml") && text.includes("xl/workbook.xml"))
      ) {
        return refuse("not an xlsx document");
      }
      openedDocuments.push({ filePath: open.filePath, fileType: type });
      setImmediate(() => open.success?.());
    },

    chooseMedia(choose: {
      success?: (result: {
        tempFiles: Array<{ tempFilePath: string; size: number }>;
        type: string;
      }) => void;
    }) {
      const photo = options.photo ?? PHOTO;
      const tempFilePath = join(files, `tmp-${++fileCount}.jpg`);
      copyFileSync(photo, tempFilePath);
      const size = readFileSync(tempFilePath).length;
      setImmediate(() => choose.success?.({ tempFiles: [{ tempFilePath, size }], type: "image" }));
    },

    compressImage(compress: { src: string; success?: (result: { tempFilePath: string }) => void }) {
      const tempFilePath = join(files, `compressed-${++fileCount}.jpg`);
      copyFileSync(compress.src, tempFilePath); // the server re-encodes: a copy stands in
      setImmediate(() => compress.success?.({ tempFilePath }));
    },

    chooseAddress(choose: { success?: (result: WxAddress) => void }) {
      setImmediate(() => choose.success?.(options.address ?? ADDRESS));
    },

    requestSubscribeMessage(prompt: {
      tmplIds: string[];
      success?: (result: Record<string, string>) => void;
    }) {
      subscribePrompts.push(prompt.tmplIds);
      if (prompt.tmplIds.length > 3)
        throw new Error("requestSubscribeMessage: at most 3 templates");
      const answer = options.subscribeAnswer ?? (() => "accept");
      const result = Object.fromEntries(prompt.tmplIds.map((id) => [id, answer(id)]));
      setImmediate(() => prompt.success?.({ ...result, errMsg: "requestSubscribeMessage:ok" }));
    },
  } satisfies WxLike & Record<string, unknown>;
}

export type WxShim = ReturnType<typeof wxShim>;
