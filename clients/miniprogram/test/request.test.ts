/**
 * The request module's own rules, against a scripted wx (no server): how it retries, refreshes
 * and refuses. The whole flow against a real server is in flow.test.ts.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, ErrorCode, isApiError } from "../src/errors.js";
import {
  Transport,
  type WxLike,
  type WxRequestOptions,
  memoryTokenStore,
} from "../src/request.js";

type Answer = { status: number; body: unknown; header?: Record<string, string> };

/** A wx whose answers are chosen per call by `script`; records what was sent. */
function scriptedWx(script: (options: WxRequestOptions, index: number) => Answer) {
  const sent: WxRequestOptions[] = [];
  const wx: WxLike = {
    request(options) {
      sent.push(options);
      const answer = script(options, sent.length - 1);
      // Answer asynchronously, as the real one does, so concurrent calls interleave.
      setImmediate(() =>
        options.success({
          data: JSON.stringify(answer.body),
          statusCode: answer.status,
          header: answer.header ?? {},
        }),
      );
      return {};
    },
    uploadFile(options) {
      setImmediate(() =>
        options.success({ data: JSON.stringify({ code: 0, msg: "ok", data: "uploaded" }), statusCode: 200 }),
      );
      return {};
    },
  };
  return { wx, sent };
}

const ok = (data: unknown): Answer => ({ status: 200, body: { code: 0, msg: "ok", data } });
const refusal = (status: number, code: number, data: unknown = null, header = {}): Answer => ({
  status,
  body: { code, msg: "refused", data },
  header,
});

function transport(wx: WxLike, sleeps: number[] = [], tokens = { access: "a1", refresh: "r1" }) {
  return new Transport({
    baseUrl: "http://api.test",
    wx,
    tokens: memoryTokenStore(tokens),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
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
  const { wx } = scriptedWx(() => refusal(429, 42900, { retry_after: 60 }, { "retry-after": "60" }));
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
  const { wx } = scriptedWx(() => ok(null));
  const result = await transport(wx).upload<string>("/api/v1/upload", {
    filePath: "wxfile://tmp/a.png",
    name: "file",
  });
  assert.equal(result, "uploaded");
});
