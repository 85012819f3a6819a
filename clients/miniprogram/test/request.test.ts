/**
 * The request module's own rules, against a scripted wx (no server): how it retries, refreshes
 * and refuses. The whole flow against a real server is in flow.test.ts.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, CanceledError, ErrorCode, NetworkError, isApiError } from "../src/errors.js";
import {
  type ClientOptions,
  Transport,
  type WxLike,
  type WxRequestOptions,
  cancellation,
  headerValue,
  memoryTokenStore,
} from "../src/request.js";

type Answer = { status: number; body: unknown; header?: Record<string, string> };

/**
 * A wx whose answers are chosen per call by `script` (uploads and downloads too, by URL);
 * records what was sent. An answer of `null` never comes (a hung request, for cancellation).
 */
function scriptedWx(script: (options: WxRequestOptions, index: number) => Answer | null) {
  const sent: WxRequestOptions[] = [];
  const aborted: string[] = [];
  const wx: WxLike = {
    request(options) {
      sent.push(options);
      const answer = script(options, sent.length - 1);
      let timer: NodeJS.Immediate | undefined;
      // Answer asynchronously, as the real one does, so concurrent calls interleave.
      if (answer) {
        timer = setImmediate(() =>
          options.success({
            data: typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body),
            statusCode: answer.status,
            header: answer.header ?? {},
          }),
        );
      }
      return {
        abort() {
          if (timer) clearImmediate(timer);
          aborted.push(options.url);
        },
      };
    },
    uploadFile(options) {
      // As WeChat: the answer's body as a string, whatever its status; no headers here.
      const asRequest = {
        ...options,
        method: "POST",
        data: undefined,
      } as unknown as WxRequestOptions;
      sent.push(asRequest);
      const answer = script(asRequest, sent.length - 1);
      const listeners: Array<
        (p: { progress: number; totalBytesSent: number; totalBytesExpectedToSend: number }) => void
      > = [];
      const headerListeners: Array<(r: { header: Record<string, string> }) => void> = [];
      let timer: NodeJS.Immediate | undefined;
      if (answer) {
        timer = setImmediate(() => {
          for (const listener of listeners) {
            listener({ progress: 50, totalBytesSent: 5, totalBytesExpectedToSend: 10 });
            listener({ progress: 100, totalBytesSent: 10, totalBytesExpectedToSend: 10 });
          }
          for (const listener of headerListeners) listener({ header: answer.header ?? {} });
          options.success({
            data: typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body),
            statusCode: answer.status,
          });
        });
      }
      return {
        abort() {
          if (timer) clearImmediate(timer);
          aborted.push(options.url);
        },
        onProgressUpdate: (listener: (typeof listeners)[number]) => listeners.push(listener),
        onHeadersReceived: (listener: (typeof headerListeners)[number]) =>
          headerListeners.push(listener),
      };
    },
  };
  return { wx, sent, aborted };
}

const ok = (data: unknown): Answer => ({ status: 200, body: { code: 0, msg: "ok", data } });
const refusal = (status: number, code: number, data: unknown = null, header = {}): Answer => ({
  status,
  body: { code, msg: "refused", data },
  header,
});

function transport(
  wx: WxLike,
  sleeps: number[] = [],
  tokens = { access: "a1", refresh: "r1" },
  options: Partial<ClientOptions> = {},
) {
  return new Transport({
    baseUrl: "http://api.test",
    wx,
    tokens: memoryTokenStore(tokens),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
}

test("a success resolves to the envelope's data and sends a request id and the token", async () => {
  const { wx, sent } = scriptedWx(() => ok({ id: "u_1" }));
  const me = await transport(wx).call<{ id: string }>("GET", "/api/v1/me");
  assert.deepEqual(me, { id: "u_1" });
  assert.match(sent[0]!.header["X-Request-ID"]!, /^[A-Za-z0-9._-]{1,64}$/);
  assert.equal(sent[0]!.header.Authorization, "Bearer a1");
});

test("a refusal is an ApiError whose data is typed by its code", async () => {
  const { wx } = scriptedWx(() =>
    refusal(400, 40000, { title: ["该字段是必填项。"], prizes: [{}, { quantity: ["太大"] }] }),
  );
  const error = await transport(wx)
    .call("POST", "/api/v1/events", { body: {} })
    .catch((e: unknown) => e);
  assert.ok(isApiError(error, ErrorCode.InvalidInput));
  assert.deepEqual(error.data.title, ["该字段是必填项。"]);
  assert.equal(error.firstFieldError(), "该字段是必填项。");
});

test("concurrent 401s share one refresh, then every call is retried with the new token", async () => {
  const { wx, sent } = scriptedWx((options) => {
    if (options.url.endsWith("/auth/refresh")) return ok({ access: "a2", refresh: "r2" });
    return options.header.Authorization === "Bearer a2" ? ok("fine") : refusal(401, 40101);
  });
  const http = transport(wx);
  const results = await Promise.all([1, 2, 3, 4].map(() => http.call("GET", "/api/v1/me")));
  assert.deepEqual(results, ["fine", "fine", "fine", "fine"]);
  const refreshes = sent.filter((options) => options.url.endsWith("/auth/refresh"));
  assert.equal(refreshes.length, 1);
  assert.equal(refreshes[0]!.data, JSON.stringify({ refresh: "r1" }));
  assert.deepEqual(http.tokens.get(), { access: "a2", refresh: "r2" });
});

test("a refused refresh logs in again through login() when one is given", async () => {
  let logins = 0;
  const tokens = memoryTokenStore({ access: "a1", refresh: "r1" });
  const { wx } = scriptedWx((options) => {
    if (options.url.endsWith("/auth/refresh")) return refusal(401, 40101);
    return options.header.Authorization === "Bearer a3" ? ok("fine") : refusal(401, 40101);
  });
  const http = new Transport({
    baseUrl: "http://api.test",
    wx,
    tokens,
    login: async () => {
      logins++;
      tokens.set({ access: "a3", refresh: "r3" });
    },
  });
  assert.equal(await http.call("GET", "/api/v1/me"), "fine");
  assert.equal(logins, 1);
});

test("a 401 for a deactivated account is not refreshed", async () => {
  const { wx, sent } = scriptedWx(() => refusal(401, 40102));
  await assert.rejects(transport(wx).call("GET", "/api/v1/me"), (e: unknown) =>
    isApiError(e, ErrorCode.UserInactive),
  );
  assert.equal(sent.length, 1);
});

test("a 429 waits Retry-After and tries again", async () => {
  const sleeps: number[] = [];
  const { wx, sent } = scriptedWx((_options, index) =>
    index === 0 ? refusal(429, 42900, { retry_after: 2 }, { "Retry-After": "2" }) : ok("done"),
  );
  assert.equal(await transport(wx, sleeps).call("POST", "/api/v1/events", { body: {} }), "done");
  assert.deepEqual(sleeps, [2000]);
  assert.equal(sent.length, 2);
  assert.equal(sent[0]!.header["X-Request-ID"], sent[1]!.header["X-Request-ID"]);
});

test("a 429 asking for a long wait is thrown with its retry_after", async () => {
  const { wx } = scriptedWx(() =>
    refusal(429, 42900, { retry_after: 60 }, { "retry-after": "60" }),
  );
  const error = await transport(wx)
    .call("GET", "/api/v1/me")
    .catch((e: unknown) => e);
  assert.ok(isApiError(error, ErrorCode.Throttled));
  assert.equal(error.data.retry_after, 60);
});

test("a 503 is retried with growing backoff for idempotent calls only", async () => {
  const sleeps: number[] = [];
  const { wx, sent } = scriptedWx((_options, index) =>
    index < 2 ? refusal(503, 50301) : ok("back"),
  );
  assert.equal(await transport(wx, sleeps).call("GET", "/api/v1/me"), "back");
  assert.equal(sleeps.length, 2);
  assert.ok(sleeps[1]! > sleeps[0]! / 2 && sleeps[0]! <= 300 && sleeps[1]! <= 600);

  const post = scriptedWx(() => refusal(503, 50301));
  await assert.rejects(
    transport(post.wx).call("POST", "/api/v1/events", { body: {} }),
    (e: unknown) => e instanceof ApiError && e.status === 503,
  );
  assert.equal(post.sent.length, 1);

  const join = scriptedWx((_options, index) => (index === 0 ? refusal(503, 50301) : ok("in")));
  const joined = await transport(join.wx).call("POST", "/api/v1/events/e_1/entry", {
    idempotent: true,
  });
  assert.equal(joined, "in");
});

test("a DELETE never carries a body", async () => {
  const { wx, sent } = scriptedWx(() => ok(null));
  await assert.rejects(
    transport(wx).call("DELETE", "/api/v1/events/e_1", { body: { reason: "x" } }),
    /DELETE takes no body/,
  );
  assert.equal(sent.length, 0);
});

test("an answer that is not our envelope keeps its status", async () => {
  const { wx } = scriptedWx(() => ({ status: 502, body: "<html>Bad Gateway</html>" }));
  const error = await transport(wx)
    .call("GET", "/api/v1/me")
    .catch((e: unknown) => e);
  assert.ok(error instanceof ApiError && error.status === 502);
});

test("an upload goes through wx.uploadFile and is unwrapped the same way", async () => {
  const { wx, sent } = scriptedWx(() => ok({ id: "img_1" }));
  const result = await transport(wx).upload<{ id: string }>("/api/v1/uploads", {
    filePath: "wxfile://tmp/a.png",
    name: "file",
  });
  assert.deepEqual(result, { id: "img_1" });
  assert.equal(sent[0]!.header.Authorization, "Bearer a1");
});

// --- uploads recover like every other call (issue 23, finding 3) ------------------------------

test("an upload with an expired token refreshes once and is sent again", async () => {
  const { wx, sent } = scriptedWx((options) => {
    if (options.url.endsWith("/auth/refresh")) return ok({ access: "a2", refresh: "r2" });
    return options.header.Authorization === "Bearer a2" ? ok({ id: "img_2" }) : refusal(401, 40101);
  });
  const http = transport(wx);
  const upload = await http.upload<{ id: string }>("/api/v1/uploads", {
    filePath: "wxfile://tmp/a.jpg",
    name: "file",
    formData: { purpose: "cover" },
  });
  assert.equal(upload.id, "img_2");
  assert.deepEqual(
    sent.map((options) => options.url.replace("http://api.test/api/v1", "")),
    ["/uploads", "/auth/refresh", "/uploads"],
  );
  assert.equal(sent[0]!.header["X-Request-ID"], sent[2]!.header["X-Request-ID"]);
});

test("a throttled upload waits Retry-After and an upload cut off by the network is retried", async () => {
  const sleeps: number[] = [];
  let uploads = 0;
  const wx: WxLike = {
    request: () => assert.fail("no request expected"),
    uploadFile(options) {
      uploads++;
      if (uploads === 1) {
        setImmediate(() =>
          options.success({
            data: JSON.stringify({ code: 42900, msg: "慢点", data: { retry_after: 2 } }),
            statusCode: 429,
          }),
        );
      } else if (uploads === 2) {
        setImmediate(() => options.fail({ errMsg: "uploadFile:fail timeout" }));
      } else {
        setImmediate(() =>
          options.success({
            data: JSON.stringify({ code: 0, msg: "ok", data: { id: "img_3" } }),
            statusCode: 201,
          }),
        );
      }
      return {};
    },
  };
  const upload = await transport(wx, sleeps).upload<{ id: string }>("/api/v1/uploads", {
    filePath: "wxfile://tmp/a.jpg",
    name: "file",
  });
  assert.equal(upload.id, "img_3");
  assert.equal(uploads, 3);
  assert.equal(sleeps[0], 2000); // Retry-After from the body: uploadFile gives no headers
});

test("an upload reports its progress", async () => {
  const { wx } = scriptedWx(() => ok({ id: "img_4" }));
  const seen: number[] = [];
  await transport(wx).upload(
    "/api/v1/uploads",
    { filePath: "a.jpg", name: "file" },
    {
      onProgress: (progress) => seen.push(progress.progress),
    },
  );
  assert.deepEqual(seen, [50, 100]);
});

test("an upload refused for its picture is an ApiError typed by its code", async () => {
  const { wx } = scriptedWx(() => refusal(400, 40032, { max_pixels: 40_000_000 }));
  const error = await transport(wx)
    .upload("/api/v1/uploads", { filePath: "a.jpg", name: "file" })
    .catch((e: unknown) => e);
  assert.ok(isApiError(error, ErrorCode.ImageTooManyPixels));
  const limit: number = error.data.max_pixels; // typed from the OpenAPI document
  assert.equal(limit, 40_000_000);
});

// --- cancellation (finding 9) -------------------------------------------------------------------

test("a canceled call aborts its wx task and rejects with CanceledError, unreported", async () => {
  const errors: unknown[] = [];
  const { wx, aborted } = scriptedWx(() => null); // never answers
  const http = transport(wx, [], undefined, { onError: (error) => errors.push(error) });
  const control = cancellation();
  const call = http.call("GET", "/api/v1/square", { signal: control.signal });
  control.cancel();
  await assert.rejects(call, (e: unknown) => e instanceof CanceledError);
  assert.deepEqual(aborted, ["http://api.test/api/v1/square"]);
  assert.deepEqual(errors, []);
});

test("an AbortSignal cancels an upload and a wait between retries", async () => {
  const upload = scriptedWx(() => null);
  const controller = new AbortController();
  const pending = transport(upload.wx).upload(
    "/api/v1/uploads",
    { filePath: "a.jpg", name: "file" },
    {
      signal: controller.signal,
    },
  );
  controller.abort();
  await assert.rejects(pending, CanceledError);
  assert.equal(upload.aborted.length, 1);

  const busy = scriptedWx(() => refusal(503, 50301));
  const waiting = cancellation();
  const http = transport(busy.wx, [], undefined, {
    sleep: () => new Promise(() => undefined), // a backoff that would never end
  });
  const call = http.call("GET", "/api/v1/me", { signal: waiting.signal });
  await new Promise((resolve) => setTimeout(resolve, 10));
  waiting.cancel();
  await assert.rejects(call, CanceledError);
  assert.equal(busy.sent.length, 1);
});

// --- onError only for what the SDK did not recover from (finding 7) ----------------------------

test("onError is not called for a 401 recovered by logging in again", async () => {
  const errors: unknown[] = [];
  const tokens = memoryTokenStore({ access: "a1", refresh: "r1" });
  const { wx } = scriptedWx((options) => {
    if (options.url.endsWith("/auth/refresh")) return refusal(401, 40101); // refused refresh
    return options.header.Authorization === "Bearer a3" ? ok("fine") : refusal(401, 40101);
  });
  const http = new Transport({
    baseUrl: "http://api.test",
    wx,
    tokens,
    login: async () => tokens.set({ access: "a3", refresh: "r3" }),
    onError: (error) => errors.push(error),
  });
  assert.equal(await http.call("GET", "/api/v1/me"), "fine");
  assert.deepEqual(errors, []);
});

test("onError is called once with the error a call finally throws", async () => {
  const errors: unknown[] = [];
  const { wx } = scriptedWx((options) =>
    options.url.endsWith("/auth/refresh") ? refusal(401, 40101) : refusal(401, 40101),
  );
  const http = transport(wx, [], undefined, { onError: (error) => errors.push(error) });
  const thrown = await http.call("GET", "/api/v1/me").catch((e: unknown) => e);
  assert.deepEqual(errors, [thrown]);

  const offline = scriptedWx(() => null);
  const network: WxLike = {
    request: (options) => setImmediate(() => options.fail({ errMsg: "request:fail offline" })),
    uploadFile: offline.wx.uploadFile,
  };
  const reported: unknown[] = [];
  const sleeps: number[] = [];
  const failing = transport(network, sleeps, undefined, {
    onError: (error) => reported.push(error),
  });
  const error = await failing.call("GET", "/api/v1/me").catch((e: unknown) => e);
  assert.ok(error instanceof NetworkError);
  assert.equal(sleeps.length, 3); // retried, silently
  assert.deepEqual(reported, [error]);
});

// --- response headers and the ETag cache (finding 9) --------------------------------------------

test("onResponse hands over the status and headers of the answer", async () => {
  const { wx } = scriptedWx(() => ({
    ...ok({ a: 1 }),
    header: { ETag: '"v1"', "X-Request-ID": "srv-1" },
  }));
  let seen: { status: number; header: Record<string, string>; requestId: string } | undefined;
  await transport(wx).call("GET", "/api/v1/config", {
    onResponse: (response) => (seen = response),
  });
  assert.equal(seen?.status, 200);
  assert.equal(headerValue(seen?.header ?? {}, "etag"), '"v1"');
  assert.equal(seen?.requestId, "srv-1");
});

test("a cacheable read sends its ETag back and a 304 answers the copy it kept", async () => {
  const { wx, sent } = scriptedWx((_options, index) =>
    index === 0
      ? { ...ok({ results: [1], next: null }), header: { ETag: '"p1"' } }
      : { status: 304, body: "", header: { ETag: '"p1"' } },
  );
  const http = transport(wx);
  const first = await http.call("GET", "/api/v1/square", { cache: true, query: { sort: "hot" } });
  let fromCache = false;
  const second = await http.call("GET", "/api/v1/square", {
    cache: true,
    query: { sort: "hot" },
    onResponse: (response) => (fromCache = response.fromCache),
  });
  assert.deepEqual(second, first);
  assert.equal(sent[0]!.header["If-None-Match"], undefined);
  assert.equal(sent[1]!.header["If-None-Match"], '"p1"');
  assert.ok(fromCache);
});

test("a Deprecation header is reported once per operation", async () => {
  const notices: unknown[] = [];
  const { wx } = scriptedWx(() => ({
    ...ok([]),
    header: {
      Deprecation: "@1796601600",
      Sunset: "Wed, 30 Jun 2027 00:00:00 GMT",
      Link: '</x>; rel="successor-version"',
    },
  }));
  const http = transport(wx, [], undefined, { onDeprecation: (notice) => notices.push(notice) });
  await http.call("GET", "/api/v1/events/e_abc/claims");
  await http.call("GET", "/api/v1/events/e_def/claims");
  assert.equal(notices.length, 1);
  assert.deepEqual(notices[0], {
    method: "GET",
    path: "/api/v1/events/e_abc/claims",
    deprecation: "@1796601600",
    sunset: "Wed, 30 Jun 2027 00:00:00 GMT",
    link: '</x>; rel="successor-version"',
  });
});

test("a download is refreshed on a 401 like any call and resolves to the file", async () => {
  let downloads = 0;
  const { wx } = scriptedWx((options) =>
    options.url.endsWith("/auth/refresh") ? ok({ access: "a2", refresh: "r2" }) : null,
  );
  wx.downloadFile = (options) => {
    downloads++;
    const status = options.header.Authorization === "Bearer a2" ? 200 : 401;
    setImmediate(() =>
      options.success({ tempFilePath: "wxfile://tmp/claims.xlsx", statusCode: status }),
    );
    return {};
  };
  const path = await transport(wx).download("/api/v1/events/e_1/claims.xlsx");
  assert.equal(path, "wxfile://tmp/claims.xlsx");
  assert.equal(downloads, 2);
});
