/**
 * A mini-program watching a live draw over wx.connectSocket (the shim): every round's result
 * arrives once, also across a lost connection, and equals the round's proof. Against a running
 * server (LOTTERY_API_URL) that serves the websockets too (ci.sh runs uvicorn).
 */

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { createApi } from "../src/api.js";
import { type LiveFrame, createLive, watchLive } from "../src/live.js";
import { memoryTokenStore } from "../src/request.js";
import { wxShim } from "./wx-shim.js";
import { wxSocketShim } from "./wx-socket-shim.js";

const baseUrl = process.env.LOTTERY_API_URL ?? "";
const run = randomUUID().slice(0, 8);

// The privacy policy the server requires, if any (ci.sh runs it with one): accepted at login.
let policy: string | undefined;
async function policyVersion(): Promise<string> {
  if (policy === undefined) {
    const config = (await (await fetch(`${baseUrl}/api/v1/config`)).json()) as {
      data: { privacy_policy?: { version?: string } };
    };
    policy = config.data.privacy_policy?.version ?? "";
  }
  return policy;
}

function user(name: string) {
  const wx = wxShim();
  const code = `live-${name}-${run}`;
  let api: ReturnType<typeof createApi>;
  const options = {
    baseUrl,
    wx,
    tokens: memoryTokenStore(), // shared: the live calls use the login of the api's
    sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.min(ms, 50))),
    login: async () => {
      const version = await policyVersion();
      return api.auth.login({ code, ...(version ? { privacy_version: version } : {}) });
    },
  };
  api = createApi(options);
  const live = createLive(options);
  const login = async () => {
    const version = await policyVersion();
    return api.auth.login({ code, nickname: name, ...(version ? { privacy_version: version } : {}) });
  };
  return { api, live, login };
}

async function until(done: () => boolean, what: string) {
  for (let i = 0; i < 150; i++) {
    if (done()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test("a phone gets every round's result once, across a reconnect", { skip: !baseUrl && "no LOTTERY_API_URL" }, async () => {
  const host = user("host");
  await host.login();
  const config = await host.api.config.get();
  const drawAt = new Date(Date.parse(config.server_time) + 7200 * 1000).toISOString();
  const event = await host.api.events.create({
    title: "年会现场",
    draw_at: drawAt,
    draw_mode: "manual",
    prizes: [
      { name: "一等奖", quantity: 1 },
      { name: "二等奖", quantity: 2 },
    ],
  });
  await host.live.start(event.id);
  const phone = user("phone");
  const phoneToken = (await phone.login()).access;
  await phone.api.events.join(event.id);
  for (let n = 0; n < 6; n++) {
    const someone = user(`guest${n}`);
    await someone.login();
    await someone.api.events.join(event.id);
  }

  const sockets = wxSocketShim();
  const frames: LiveFrame[] = [];
  const watch = watchLive({
    wx: sockets,
    socketUrl: baseUrl.replace(/^http/, "ws"),
    eventId: event.id,
    accessToken: () => phoneToken,
    onFrame: (frame) => frames.push(frame),
    retryMs: 500,
  });
  const drawn = () => frames.filter((f) => f.type === "round_drawn").map((f) => f.data.round);
  await until(() => frames.length > 0, "the snapshot");
  assert.equal(frames[0]?.type, "snapshot");

  await host.live.lock(event.id);
  await host.live.nextRound(event.id);
  await until(() => drawn().length === 1, "round 1");

  sockets.dropAll(); // the network goes; meanwhile the host draws round 2
  await host.live.nextRound(event.id);
  await until(() => drawn().length === 2, "round 2, replayed after the reconnect");
  await host.live.end(event.id);
  await until(() => frames.some((f) => f.type === "ended"), "the end");
  watch.close();

  assert.deepEqual(drawn(), [1, 2]);
  assert.ok(sockets.opened.length >= 2 && sockets.opened.at(-1)?.includes("?after="));
  const seqs = frames.slice(1).map((f) => f.seq);
  const first = seqs[0] ?? 0;
  assert.deepEqual(seqs, seqs.map((_, i) => first + i), "every message once, in order");
  const proof = await host.live.proof(event.id);
  for (const frame of frames.filter((f) => f.type === "round_drawn")) {
    const round = proof.rounds.find((r) => r.round === frame.data.round);
    const shown = (frame.data.winners as Array<{ id: string }>).map((w) => w.id);
    assert.deepEqual(shown, round?.winners.map((w) => w.user.id));
  }
});
