/**
 * The helpers a UI needs (issue 23): scene parsing, the subscribe prompt, waiting for a phase
 * by the server's clock, countdowns, the cursor pager, wx.chooseAddress, the xlsx export.
 * No server: each takes the part of `wx` or of the API it uses.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import type { Event, Page } from "../src/api.js";
import { addressFromWx, openClaimsWorkbook } from "../src/claims.js";
import { ServerClock, countdown, formatCountdown } from "../src/clock.js";
import { eventIdFromQuery, eventIdFromScene } from "../src/launch.js";
import { collectAll, pager } from "../src/pager.js";
import { waitForPhase } from "../src/phases.js";
import { SUBSCRIBE_LIMIT, subscribe, templatesToAsk } from "../src/subscribe.js";

// --- finding 4: a scanned share code opens the detail page with `scene` ----------------------

test("the detail page finds its event from a share card's id or a scanned code's scene", () => {
  const id = "e_0a1b2c3d4e5f6g7h";
  assert.equal(eventIdFromQuery({ id }), id);
  assert.equal(eventIdFromQuery({ scene: encodeURIComponent(id) }), id); // a scan: no id
  assert.equal(eventIdFromQuery({ scene: id }), id);
  assert.equal(eventIdFromQuery({ scene: encodeURIComponent(`id=${id}`) }), id);
  assert.equal(eventIdFromScene(encodeURIComponent(encodeURIComponent(id))), id);
  assert.equal(eventIdFromQuery({ scene: "u_someone" }), null);
  assert.equal(eventIdFromQuery({ scene: "%E0%A4%A" }), null);
  assert.equal(eventIdFromQuery({}), null);
  assert.equal(eventIdFromQuery(undefined), null);
});

// --- finding 5: the subscribe prompt, from a tap, at most 3 templates --------------------------

test("the subscribe prompt opens synchronously, for at most 3 templates, and reports acceptances", async () => {
  const config = {
    subscribe_templates: {
      result: "t-result",
      cancel: "t-cancel",
      shipped: "t-shipped",
      extra: "t-4",
    },
  } as unknown as Parameters<typeof templatesToAsk>[0];
  const asked: string[][] = [];
  const reported: string[][] = [];
  const wx = {
    requestSubscribeMessage(options: {
      tmplIds: string[];
      success?: (r: Record<string, string>) => void;
    }) {
      asked.push(options.tmplIds);
      setImmediate(() =>
        options.success?.({ "t-result": "accept", "t-cancel": "reject", "t-shipped": "accept" }),
      );
    },
  };
  const api = {
    subscriptions: {
      accept: async (accepted: string[]) => {
        reported.push(accepted);
        return { quota: Object.fromEntries(accepted.map((id) => [id, 1])) };
      },
    },
  };
  const result = subscribe(api, wx, config);
  assert.equal(asked.length, 1, "asked inside the tap, before anything is awaited");
  assert.ok(asked[0]!.length <= SUBSCRIBE_LIMIT);
  assert.deepEqual(asked[0], ["t-result", "t-cancel", "t-shipped"]);
  assert.deepEqual((await result).accepted, ["t-result", "t-shipped"]);
  assert.deepEqual(reported, [["t-result", "t-shipped"]]);
  assert.deepEqual(templatesToAsk(config, ["cancel"]), ["t-cancel"]);
  assert.deepEqual(await subscribe(api, wx, { subscribe_templates: {} }), {
    asked: [],
    accepted: [],
  });
});

// --- finding 6: wait for a phase by the server's clock, reading `phase` ----------------------

function eventAt(
  phase: Event["phase"],
  status: Event["status"],
  times: { lock_at: string; draw_at: string },
  mode: Event["draw_mode"] = "time",
): Event {
  return { id: "e_1", phase, status, draw_mode: mode, ...times } as Event;
}

test("waiting for the draw reads phase, not status, and sleeps by the server's clock", async () => {
  const serverNow = Date.parse("2026-12-24T12:00:00Z");
  // The phone is an hour ahead: its own clock would say the draw is long past.
  const phoneNow = serverNow + 3_600_000;
  const clock = new ServerClock(serverNow - phoneNow);
  const realNow = Date.now;
  Date.now = () => phoneNow + slept;
  let slept = 0;
  const times = { lock_at: "2026-12-24T12:00:20Z", draw_at: "2026-12-24T12:01:20Z" };
  const reads = [
    eventAt("init", "init", times), // 20 s before the lock
    eventAt("opening", "init", times), // past lock_at, the sweeper has not moved `status`
    eventAt("opening", "opening", times),
    eventAt("opened", "opened", times),
  ];
  const sleeps: number[] = [];
  try {
    const api = { events: { get: async () => reads.shift()! } };
    const drawn = await waitForPhase(api, "e_1", "opened", {
      clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        slept += ms;
      },
    });
    assert.equal(drawn.phase, "opened");
  } finally {
    Date.now = realNow;
  }
  assert.equal(sleeps[0], 20_500); // until lock_at, by the server's clock
  assert.ok(sleeps[1]! >= 59_000 && sleeps[1]! <= 61_000, `until draw_at: ${sleeps[1]}`);
  assert.equal(sleeps.length, 3);
});

test("a manual draw is waited for through the reveal gap, then polled less and less often", async () => {
  const now = Date.now();
  const lockAt = new Date(now).toISOString();
  const times = { lock_at: lockAt, draw_at: new Date(now + 86_400_000).toISOString() };
  const reads: Event[] = [
    eventAt("opening", "opening", times, "manual"),
    eventAt("opening", "opening", times, "manual"),
    eventAt("opening", "opening", times, "manual"),
    eventAt("opened", "opened", times, "manual"),
  ];
  const sleeps: number[] = [];
  let slept = 0;
  const realNow = Date.now;
  Date.now = () => now + slept;
  try {
    const api = { events: { get: async () => reads.shift()! } };
    await waitForPhase(api, "e_1", "opened", {
      sleep: async (ms) => {
        sleeps.push(ms);
        slept += ms;
      },
    });
  } finally {
    Date.now = realNow;
  }
  assert.ok(
    sleeps[0]! >= 10_000 && sleeps[0]! <= 10_600,
    `the reveal gap, not draw_at: ${sleeps[0]}`,
  );
  assert.deepEqual(sleeps.slice(1), [2000, 3000]);
});

test("a canceled event ends the wait; a wait past its timeout gives up", async () => {
  const times = { lock_at: "2026-12-24T12:00:20Z", draw_at: "2026-12-24T12:01:20Z" };
  const canceled = { events: { get: async () => eventAt("canceled", "canceled", times) } };
  assert.equal((await waitForPhase(canceled, "e_1", "opened")).phase, "canceled");
  const stuck = {
    events: {
      get: async () =>
        eventAt("opening", "opening", {
          lock_at: "2000-01-01T00:00:00Z",
          draw_at: "2000-01-01T00:01:00Z",
        }),
    },
  };
  await assert.rejects(
    waitForPhase(stuck, "e_1", "opened", {
      timeoutMs: 30,
      pollMs: 10,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    }),
    /still opening/,
  );
});

// --- countdowns from server_time (finding 6) -------------------------------------------------

test("a countdown counts by the server's clock, not the phone's", () => {
  const receivedAt = Date.parse("2026-12-24T13:00:00Z"); // the phone: an hour fast
  const clock = ServerClock.fromConfig({ server_time: "2026-12-24T20:00:00+08:00" }, receivedAt);
  assert.equal(clock.offsetMs, -3_600_000);
  const realNow = Date.now;
  Date.now = () => receivedAt;
  try {
    const left = countdown("2026-12-25T22:02:03+08:00", clock);
    assert.deepEqual([left.days, left.hours, left.minutes, left.seconds], [1, 2, 2, 3]);
    assert.equal(formatCountdown(left), "1天 02:02:03");
    assert.equal(countdown("2026-12-24T19:00:00+08:00", clock).done, true);
  } finally {
    Date.now = realNow;
  }
});

// --- the cursor pager (finding 9) ------------------------------------------------------------

test("the pager follows next through short pages, drops repeats, loads once at a time", async () => {
  const pages: Record<string, Page<{ id: string }>> = {
    start: { results: [{ id: "a" }, { id: "b" }], next: "c1" },
    c1: { results: [], next: "c2" }, // events left the square between two reads
    c2: { results: [{ id: "b" }, { id: "c" }], next: "c3" }, // the hot order moved
    c3: { results: [{ id: "d" }], next: null },
  };
  const asked: string[] = [];
  const square = pager(async (cursor) => {
    asked.push(cursor ?? "start");
    return pages[cursor ?? "start"]!;
  });
  const [first, same] = await Promise.all([square.next(), square.next()]);
  assert.deepEqual(first, [{ id: "a" }, { id: "b" }]);
  assert.equal(same, first);
  assert.deepEqual(await square.next(), [{ id: "c" }]);
  assert.deepEqual(await square.next(), [{ id: "d" }]);
  assert.equal(square.done, true);
  assert.deepEqual(await square.next(), []);
  assert.deepEqual(asked, ["start", "c1", "c2", "c3"]);
  assert.deepEqual(
    square.items.map((item) => item.id),
    ["a", "b", "c", "d"],
  );
  square.reset();
  assert.deepEqual(await square.next(), [{ id: "a" }, { id: "b" }]);
  assert.equal((await collectAll(async (cursor) => pages[cursor ?? "start"]!)).length, 4);
});

// --- finding 10: wx.chooseAddress -> a claim's address; the export opens as xlsx ------------

test("wx.chooseAddress's fields become a shipping claim's address", () => {
  const address = addressFromWx({
    userName: " 张三 ",
    telNumber: "020-81167888",
    provinceName: "广东省",
    cityName: "广州市",
    countyName: "海珠区",
    detailInfo: "新港中路397号",
    detailInfoNew: "",
    postalCode: "510000",
  });
  assert.deepEqual(address, {
    name: "张三",
    phone: "020-81167888",
    province: "广东省",
    city: "广州市",
    county: "海珠区",
    detail: "新港中路397号",
    postal_code: "510000",
  });
});

test("the claims export is downloaded and opened as an xlsx document", async () => {
  const opened: unknown[] = [];
  const api = { claims: { downloadXlsx: async () => "wxfile://tmp/claims.xlsx" } };
  const wx = {
    openDocument(options: { filePath: string; fileType?: string; success?: () => void }) {
      opened.push({ filePath: options.filePath, fileType: options.fileType });
      options.success?.();
    },
  };
  await openClaimsWorkbook(api, wx, "e_1", { state: "claimed" });
  assert.deepEqual(opened, [{ filePath: "wxfile://tmp/claims.xlsx", fileType: "xlsx" }]);
});
