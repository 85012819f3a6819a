/**
 * The whole mini-program flow through the SDK, against a running server (LOTTERY_API_URL, in
 * development mode: the login accepts any code, draws run at once). The wx shim refuses PATCH
 * and DELETE bodies, so this also proves every step is reachable from wx.request.
 */

import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { test } from "node:test";

import { type Api, createApi } from "../src/api.js";
import { ErrorCode, isApiError } from "../src/errors.js";
import { wxShim } from "./wx-shim.js";

const baseUrl = process.env.LOTTERY_API_URL ?? "";
const inCi = ["1", "true", "yes"].includes((process.env.CI ?? "").toLowerCase());
if (!baseUrl && inCi) {
  throw new Error("LOTTERY_API_URL must name a running server in CI (clients/miniprogram/ci.sh)");
}
const run = randomUUID().slice(0, 8);

function client(name: string) {
  const wx = wxShim();
  const code = `sdk-${name}-${run}`; // the development login: one code, one user
  let api: Api;
  api = createApi({
    baseUrl,
    wx,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 50))),
    login: () => api.auth.login({ code }),
  });
  return { api, wx, login: () => api.auth.login({ code, nickname: name }) };
}

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let i = 0; i < 50; i++) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error("timed out waiting");
}

test("the whole flow from a mini-program", { skip: !baseUrl && "no LOTTERY_API_URL" }, async (t) => {
  const creator = client("creator");
  const entrant = client("entrant");
  const outsider = client("outsider");

  const config = await creator.api.config.get();
  const lead = config.limits.min_draw_lead_seconds;
  const drawAt = new Date(Date.parse(config.server_time) + (lead + 3600) * 1000).toISOString();

  await t.test("login, profile", async () => {
    const first = await creator.login();
    assert.equal(first.user.nickname, "creator");
    await entrant.login();
    await outsider.login();
    const me = await creator.api.me.update({ nickname: "创建者" });
    assert.equal(me.nickname, "创建者");
    assert.equal((await creator.api.me.get()).nickname, "创建者");
  });

  let eventId = "";
  await t.test("create, edit, join, withdraw", async () => {
    const event = await creator.api.events.create({
      title: "SDK 抽奖",
      draw_at: drawAt,
      draw_mode: "manual",
      prizes: [{ name: "iPad Air", quantity: 1 }],
    });
    eventId = event.id;
    assert.equal(event.status, "init");
    assert.equal(event.joinable, true);
    const edited = await creator.api.events.update(eventId, { title: "SDK 抽奖（改）" });
    assert.equal(edited.title, "SDK 抽奖（改）");

    const joined = await entrant.api.events.join(eventId);
    assert.equal(joined.joined, true);
    assert.equal((await entrant.api.events.join(eventId)).joined, true); // idempotent
    assert.equal((await entrant.api.events.withdraw(eventId)).joined, false);
    await entrant.api.events.join(eventId);
    const entries = await entrant.api.events.entries(eventId, { page_size: 10 });
    assert.equal(entries.results.length, 1);
    const mine = await entrant.api.me.events({ role: "joined" });
    assert.ok(mine.results.some((item) => item.id === eventId));
  });

  await t.test("refusals are typed errors by code", async () => {
    const notYours = await outsider.api.events.cancel(eventId, "no").catch((e: unknown) => e);
    assert.ok(isApiError(notYours, ErrorCode.NotOwner));
    const invalid = await creator.api.events
      .create({ title: "", draw_at: drawAt, prizes: [] })
      .catch((e: unknown) => e);
    assert.ok(isApiError(invalid, ErrorCode.InvalidInput));
    assert.ok(invalid.data.title && invalid.firstFieldError());
    const missing = await entrant.api.events.get("e_doesnotexist").catch((e: unknown) => e);
    assert.ok(isApiError(missing, ErrorCode.EventNotFound));
  });

  await t.test("cancel with a reason (POST, not a DELETE body)", async () => {
    const other = await creator.api.events.create({
      title: "要取消的活动",
      draw_at: drawAt,
      prizes: [{ name: "京东卡", quantity: 2 }],
    });
    const canceled = await creator.api.events.cancel(other.id, "奖品缺货");
    assert.equal(canceled.status, "canceled");
    assert.equal(canceled.cancel_reason, "奖品缺货");
  });

  await t.test("draw, winners, proof", async () => {
    const proof = await creator.api.events.draw(eventId);
    assert.equal(proof.event_id, eventId);
    const drawn = await until(
      () => entrant.api.events.get(eventId),
      (event) => event.status === "opened",
    );
    assert.equal(drawn.my_entry.prize?.name, "iPad Air");
    const winners = await outsider.api.events.winners(eventId);
    assert.equal(winners.winners.length, 1);
    const published = await outsider.api.events.proof(eventId);
    assert.ok(published.seed);
    const entrants = await outsider.api.events.entrants(eventId);
    const digest = createHash("sha256").update(entrants).digest("hex");
    assert.equal(digest, published.entrants_digest);
  });

  await t.test("inbox, subscriptions", async () => {
    const inbox = await until(
      () => entrant.api.notifications.list({ page_size: 20 }),
      (page) => page.results.some((item) => item.kind === "result"),
    );
    const result = inbox.results.find((item) => item.kind === "result");
    assert.equal(result?.prize?.name, "iPad Air");
    const read = await entrant.api.notifications.markRead();
    assert.equal(read.unread_count, 0);
    const templates = Object.values(config.subscribe_templates);
    const quota = await entrant.api.subscriptions.accept(templates);
    assert.equal(typeof quota.quota, "object");
  });

  await t.test("an expired access token is refreshed once for concurrent calls", async () => {
    const tokens = entrant.api.tokens.get();
    assert.ok(tokens);
    entrant.api.tokens.set({ ...tokens, access: "expired.or.forged" });
    const before = entrant.wx.log.length;
    const answers = await Promise.all([
      entrant.api.me.get(),
      entrant.api.events.get(eventId),
      entrant.api.notifications.list(),
    ]);
    assert.equal(answers.length, 3);
    const refreshes = entrant.wx.log
      .slice(before)
      .filter((exchange) => exchange.url.endsWith("/auth/refresh"));
    assert.equal(refreshes.length, 1);
    assert.notEqual(entrant.api.tokens.get()?.refresh, tokens.refresh);
  });

  await t.test("every answer echoes the request id the SDK sent", () => {
    for (const exchange of [...creator.wx.log, ...entrant.wx.log]) {
      assert.equal(exchange.responseHeader["x-request-id"], exchange.requestHeader["X-Request-ID"]);
    }
  });

  await t.test("logout blacklists the refresh token", async () => {
    const refresh = creator.api.tokens.get()?.refresh ?? "";
    await creator.api.auth.logout();
    assert.equal(creator.api.tokens.get(), null);
    creator.api.tokens.set({ access: "x", refresh });
    const error = await creator.api.auth.refresh().catch((e: unknown) => e);
    assert.ok(isApiError(error, ErrorCode.TokenInvalid));
  });
});
